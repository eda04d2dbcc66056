/*
 * conf_keys.c: the meaning of each ipsec.conf key of a conn (DESIGN.md
 * section 3) and the defaults that depend on other keys (conf_finish).
 *
 * One table row per key. A value that does not parse, or a feature the
 * engine does not have (authby=pubkey, reauth=yes), is an error naming the
 * key and the line: silently ignoring it would give an operator a tunnel
 * unlike the one configured. Additions to the contract: leftikeport=,
 * rightikeport= (strongSwan keywords) and keyexchange=ikev2.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "ike/err.h"
#include "ike/kernel.h"

#define DEFAULT_IKE "aes256gcm16-prfsha256-x25519,aes256-sha256-modp2048"
#define DEFAULT_ESP "aes256gcm16,aes256-sha256"

bool conf_parse_addr(const char *s, struct ike_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, a->bytes) == 1) {
        a->family = IKE_AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->bytes) == 1) {
        a->family = IKE_AF_INET6;
        return true;
    }
    return false;
}

void conf_addr_text(const struct ike_addr *a, char *buf, size_t cap)
{
    if (!a->family ||
        !inet_ntop(a->family == IKE_AF_INET ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)cap))
        snprintf(buf, cap, "%%any");
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return !*end;
}

/* ipsec.conf identities: %any, an address, @fqdn, user@fqdn, or a bare
 * name (FQDN). Distinguished names need certificates: not supported. */
static bool parse_id(const char *s, struct ike_id_cfg *id)
{
    struct ike_addr a;
    memset(id, 0, sizeof(*id));
    if (!strcmp(s, "%any")) {
        id->any = true;
        return true;
    }
    if (conf_parse_addr(s, &a)) {
        id->type = a.family == IKE_AF_INET ? ID_IPV4_ADDR : ID_IPV6_ADDR;
        id->len = a.family == IKE_AF_INET ? 4 : 16;
        memcpy(id->data, a.bytes, id->len);
        return true;
    }
    if (strchr(s, '=') || strchr(s, ' '))
        return false;
    const char *d = s[0] == '@' ? s + 1 : s;
    size_t n = strlen(d);
    if (!n || n > IKE_ID_MAX)
        return false;
    id->type = (s[0] != '@' && strchr(s, '@')) ? ID_RFC822_ADDR : ID_FQDN;
    id->len = (uint8_t)n;
    memcpy(id->data, d, n);
    return true;
}

/* a.b.c.d/nn or v6/nn, optionally [proto/port]; a bare address is a host. */
static bool parse_subnet(const char *s, struct ike_subnet *sn)
{
    char buf[128];
    memset(sn, 0, sizeof(*sn));
    if (strlen(s) >= sizeof(buf) || strchr(s, ','))
        return false;
    snprintf(buf, sizeof(buf), "%s", s);
    char *br = strchr(buf, '[');
    if (br) {
        char *slash = strchr(br, '/'), *end = strchr(br, ']');
        if (!slash || !end || end[1] || slash > end)
            return false;
        *slash = *end = *br = '\0';
        const char *proto = br + 1;
        sn->ip_proto = !strcmp(proto, "tcp")    ? 6
                       : !strcmp(proto, "udp")  ? 17
                       : !strcmp(proto, "icmp") ? 1
                                                : 0;
        uint64_t port;
        if ((!sn->ip_proto && strcmp(proto, "%any")) ||
            (strcmp(slash + 1, "%any") && (!parse_u64(slash + 1, &port) || port > 65535)))
            return false;
        sn->port = strcmp(slash + 1, "%any") ? (uint16_t)port : 0;
    }
    char *pfx = strchr(buf, '/');
    if (pfx)
        *pfx++ = '\0';
    if (!conf_parse_addr(buf, &sn->addr))
        return false;
    uint64_t max = sn->addr.family == IKE_AF_INET ? 32 : 128, p = max;
    if (pfx && (!parse_u64(pfx, &p) || p > max))
        return false;
    sn->prefix = (uint8_t)p;
    return true;
}

static bool parse_host(const char *s, struct ike_addr *a, bool *any)
{
    *any = !strcmp(s, "%any") || !strcmp(s, "%defaultroute");
    if (*any) {
        memset(a, 0, sizeof(*a));
        return true;
    }
    return conf_parse_addr(s, a);
}

static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return -1;
}

typedef bool (*key_fn)(struct conf_build *b, const char *v);

static bool k_left(struct conf_build *b, const char *v)
{
    bool any;
    b->have_left = true;
    if (!parse_host(v, &b->cc->cfg.local.addr, &any))
        return false;
    b->cc->local_from_route = any;
    return true;
}

static bool k_right(struct conf_build *b, const char *v)
{
    b->have_right = true;
    return parse_host(v, &b->cc->cfg.remote.addr, &b->cc->cfg.remote_any) &&
           strcmp(v, "%defaultroute");
}

static bool k_leftid(struct conf_build *b, const char *v)
{
    b->have_lid = true;
    snprintf(b->cc->local_id, sizeof(b->cc->local_id), "%s", v);
    return parse_id(v, &b->cc->cfg.local_id) && !b->cc->cfg.local_id.any;
}

static bool k_rightid(struct conf_build *b, const char *v)
{
    b->have_rid = true;
    snprintf(b->cc->remote_id, sizeof(b->cc->remote_id), "%s", v);
    return parse_id(v, &b->cc->cfg.remote_id);
}

static bool k_lsub(struct conf_build *b, const char *v)
{
    return parse_subnet(v, &b->cc->cfg.local_ts);
}

static bool k_rsub(struct conf_build *b, const char *v)
{
    return parse_subnet(v, &b->cc->cfg.remote_ts);
}

/* Only pre-shared keys exist in the engine so far. */
static bool k_auth(struct conf_build *b, const char *v)
{
    b->cc->psk_auth = true;
    return !strcmp(v, "psk") || !strcmp(v, "secret");
}

static bool k_ike(struct conf_build *b, const char *v)
{
    b->have_ike = true;
    return ike_conf_parse_proposals(v, false, b->cc->cfg.ike, &b->cc->cfg.n_ike) == 0;
}

static bool k_esp(struct conf_build *b, const char *v)
{
    b->have_esp = true;
    return ike_conf_parse_proposals(v, true, b->cc->cfg.esp, &b->cc->cfg.n_esp) == 0;
}

#define DURATION_KEY(fn, field)                                                                    \
    static bool fn(struct conf_build *b, const char *v)                                            \
    {                                                                                              \
        return ike_conf_parse_duration(v, &b->cc->cfg.field) == 0;                                 \
    }
DURATION_KEY(k_ikelife, ike_lifetime_ms)
DURATION_KEY(k_life, child_lifetime_ms)
DURATION_KEY(k_margin, rekey_margin_ms)
DURATION_KEY(k_dpddelay, dpd_delay_ms)
DURATION_KEY(k_dpdtimeout, dpd_timeout_ms)

#define COUNT_KEY(fn, field)                                                                       \
    static bool fn(struct conf_build *b, const char *v)                                            \
    {                                                                                              \
        return parse_u64(v, &b->cc->cfg.field);                                                    \
    }
COUNT_KEY(k_lifebytes, life_bytes)
COUNT_KEY(k_lifepackets, life_packets)
COUNT_KEY(k_marginbytes, margin_bytes)
COUNT_KEY(k_marginpackets, margin_packets)

static bool k_fuzz(struct conf_build *b, const char *v)
{
    char buf[16];
    uint64_t p;
    size_t n = strlen(v);
    if (!n || n >= sizeof(buf))
        return false;
    memcpy(buf, v, n + 1);
    if (buf[n - 1] == '%')
        buf[n - 1] = '\0';
    if (!parse_u64(buf, &p) || p > 100000)
        return false;
    b->cc->cfg.rekey_fuzz_pct = (uint32_t)p;
    return true;
}

static bool k_rekey(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"no", "yes"};
    int i = pick(v, n, 2);
    b->cc->cfg.rekey = i == 1;
    return i >= 0;
}

/* rekeycheck=yes|no: rekey the first Child SA once, soon after set-up
 * (ike/diag.h), so a PFS mismatch shows at once. */
static bool k_rekeycheck(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"no", "yes"};
    int i = pick(v, n, 2);
    b->cc->cfg.rekey_check = i == 1;
    return i >= 0;
}

static bool k_reauth(struct conf_build *b, const char *v)
{
    (void)b;
    return !strcmp(v, "no"); /* reauthentication is not implemented */
}

static bool k_dpdaction(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"clear", "hold", "restart", "none"};
    int i = pick(v, n, 4);
    b->cc->cfg.dpd_action = (uint8_t)(i == 3 ? IKE_DPD_CLEAR : i);
    return i >= 0;
}

static bool k_closeaction(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"clear", "hold", "restart", "none"};
    int i = pick(v, n, 4);
    b->cc->cfg.close_action = (uint8_t)(i == 3 ? IKE_DPD_CLEAR : i);
    return i >= 0;
}

static bool k_type(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"transport", "tunnel"};
    int i = pick(v, n, 2);
    b->cc->cfg.mode = (uint8_t)(i == 1 ? IKE_MODE_TUNNEL : IKE_MODE_TRANSPORT);
    return i >= 0;
}

static bool k_auto(struct conf_build *b, const char *v)
{
    static const char *const n[] = {"ignore", "add", "start", "route"};
    int i = pick(v, n, 4);
    b->cc->cfg.auto_mode = (uint8_t)(i < 0 ? 0 : i);
    return i >= 0;
}

static bool k_tries(struct conf_build *b, const char *v)
{
    uint64_t n = 0;
    if (strcmp(v, "%forever") && (!parse_u64(v, &n) || n > 1000000))
        return false;
    b->cc->cfg.keyingtries = (uint32_t)n;
    return true;
}

/* How long a request may go unanswered before the peer is declared dead
 * (RFC 7296 2.4): strongSwan's charon.retransmit_tries and
 * retransmit_timeout, per conn here. The budget is timeout * (1 + 1.8 +
 * 1.8^2 + ... ) over tries + 1 sends: 165 s by default (5, 4 s). */
static bool k_rtries(struct conf_build *b, const char *v)
{
    uint64_t n = 0;
    if (!parse_u64(v, &n) || n > 20)
        return false;
    b->cc->cfg.retransmit_tries = (uint32_t)n;
    return true;
}

static bool k_rtimeout(struct conf_build *b, const char *v)
{
    uint64_t ms = 0;
    size_t n = strlen(v);
    char num[16];
    if (n > 2 && n - 2 < sizeof(num) && !strcmp(v + n - 2, "ms")) { /* "500ms" */
        memcpy(num, v, n - 2);
        num[n - 2] = 0;
        if (!parse_u64(num, &ms))
            return false;
    } else if (ike_conf_parse_duration(v, &ms) < 0) {
        return false;
    }
    if (ms < 100 || ms > 600000)
        return false;
    b->cc->cfg.retransmit_base_ms = (uint32_t)ms;
    return true;
}

static bool k_port(uint16_t *port, const char *v)
{
    uint64_t n;
    if (!parse_u64(v, &n) || !n || n > 65535)
        return false;
    *port = (uint16_t)n;
    return true;
}

static bool k_lport(struct conf_build *b, const char *v)
{
    return k_port(&b->left_port, v);
}

static bool k_rport(struct conf_build *b, const char *v)
{
    return k_port(&b->right_port, v);
}

static bool k_keyexchange(struct conf_build *b, const char *v)
{
    (void)b;
    return !strcmp(v, "ikev2");
}

static const struct {
    const char *key;
    key_fn fn;
} keys[] = {
    {"left", k_left},
    {"right", k_right},
    {"leftid", k_leftid},
    {"rightid", k_rightid},
    {"leftsubnet", k_lsub},
    {"rightsubnet", k_rsub},
    {"leftauth", k_auth},
    {"rightauth", k_auth},
    {"authby", k_auth},
    {"ike", k_ike},
    {"esp", k_esp},
    {"ikelifetime", k_ikelife},
    {"lifetime", k_life},
    {"keylife", k_life},
    {"rekeymargin", k_margin},
    {"margintime", k_margin},
    {"rekeyfuzz", k_fuzz},
    {"marginbytes", k_marginbytes},
    {"marginpackets", k_marginpackets},
    {"lifebytes", k_lifebytes},
    {"lifepackets", k_lifepackets},
    {"rekey", k_rekey},
    {"rekeycheck", k_rekeycheck},
    {"reauth", k_reauth},
    {"dpddelay", k_dpddelay},
    {"dpdtimeout", k_dpdtimeout},
    {"dpdaction", k_dpdaction},
    {"closeaction", k_closeaction},
    {"type", k_type},
    {"auto", k_auto},
    {"keyingtries", k_tries},
    {"retransmit_tries", k_rtries},
    {"retransmit_timeout", k_rtimeout},
    {"leftikeport", k_lport},
    {"rightikeport", k_rport},
    {"keyexchange", k_keyexchange},
};

int conf_apply_key(struct conf_build *b, const char *key, const char *val, int line,
                   const struct conf_err *e)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].key, key))
            continue;
        if (!keys[i].fn(b, val)) {
            conf_errf(e, line, "bad value for '%s': '%.64s'", key, val);
            return IKE_ERR_CONFIG;
        }
        return 0;
    }
    conf_errf(e, line, "unknown key '%.31s'", key);
    return IKE_ERR_CONFIG;
}

static int conn_err(const struct conf_build *b, const struct conf_err *e, const char *what)
{
    conf_errf(e, b->cc->line, "conn '%s': %s", b->cc->cfg.name, what);
    return IKE_ERR_CONFIG;
}

int conf_finish(struct conf_build *b, const struct conf_err *e)
{
    struct ike_conf_conn *cc = b->cc;
    struct ike_conn_cfg *c = &cc->cfg;
    if (c->auto_mode == IKE_AUTO_IGNORE)
        return 0; /* a template for also=: need not be complete */
    if (!b->have_right)
        return conn_err(b, e, "right= is missing");
    if (c->remote_any && (c->auto_mode == IKE_AUTO_START || c->auto_mode == IKE_AUTO_ROUTE))
        return conn_err(b, e, "auto=start/route needs a right= address, not %any");
    if (!b->have_left)
        cc->local_from_route = true;
    if (c->local.addr.family && c->remote.addr.family &&
        c->local.addr.family != c->remote.addr.family)
        return conn_err(b, e, "left= and right= are of different address families");
    if (!b->have_ike)
        ike_conf_parse_proposals(DEFAULT_IKE, false, c->ike, &c->n_ike);
    if (!b->have_esp)
        ike_conf_parse_proposals(DEFAULT_ESP, true, c->esp, &c->n_esp);
    if (c->rekey_margin_ms >= c->child_lifetime_ms || c->rekey_margin_ms >= c->ike_lifetime_ms)
        return conn_err(b, e, "rekeymargin must be shorter than lifetime and ikelifetime");
    c->local.port = b->left_port ? b->left_port : b->opts->ike_port;
    c->remote.port = b->right_port ? b->right_port : b->opts->ike_port;
    if (!b->have_lid)
        conf_addr_text(&c->local.addr, cc->local_id, sizeof(cc->local_id));
    if (!b->have_rid)
        conf_addr_text(&c->remote.addr, cc->remote_id, sizeof(cc->remote_id));
    cc->psk_auth = true; /* the only method the engine has */
    return 0;
}

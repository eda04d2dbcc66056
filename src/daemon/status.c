/*
 * status.c: the text of `rekeyctl status [--json]` and `rekeyctl
 * diagnose [CONN]`, from ike_engine_foreach(), the kernel backend's
 * counters (GETSA) and the daemon's record of the last failure per conn.
 *
 * JSON layout (one object): {"ike_sas": [ {conn, spi_i, spi_r, initiator,
 * state, local, remote, encr, encr_keylen, integ, prf, dh, rekey_in_s,
 * expire_in_s, rekeys, last_failure, children: [ {spi_in, spi_out, state,
 * encr, encr_keylen, integ, dh, reqid, rekey_in_s, expire_in_s, rekeys,
 * bytes_in, bytes_out, packets_in, packets_out} ] } ], "conns": [ {name,
 * auto, ike_sas, last_failure} ]}. last_failure is the cause sentence of the
 * newest failure the engine classified (ike/diag.h), else the event's
 * error text. SPIs are lower-case hex strings; times
 * are seconds from now (null when not scheduled). Never prints keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/wire.h"
#include "rekeyd.h"

void rd_buf_printf(struct rd_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void rd_buf_free(struct rd_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

struct walk {
    const struct rekeyd *d;
    struct rd_buf *b;
    uint64_t now;
    bool json, first_sa, first_child, open_sa;
    const char *only; /* diagnose CONN: this conn's SAs only */
};

static const char *tname(uint8_t type, uint16_t id)
{
    if (!id && (type == IKE_TRANSFORM_INTEG || type == IKE_TRANSFORM_DH))
        return "none"; /* AEAD: no integrity transform; no PFS group */
    const char *n = ike_transform_name(type, id);
    return n ? n : "?";
}

/* "null" or seconds until t (0 when already due). */
static void secs_until(struct rd_buf *b, uint64_t t, uint64_t now, bool json)
{
    if (!t)
        rd_buf_printf(b, json ? "null" : "-");
    else
        rd_buf_printf(b, "%llu", (unsigned long long)(t > now ? (t - now) / 1000 : 0));
}

/* Text: "rekey in 12s expires in 60s"; a time that is not set (rekey=no,
 * or no hard limit) is "rekey off" / "expires never", not "in -s". */
static void text_times(struct rd_buf *b, uint64_t rekey_at, uint64_t expire_at, uint64_t now)
{
    if (rekey_at) {
        rd_buf_printf(b, "rekey in ");
        secs_until(b, rekey_at, now, false);
        rd_buf_printf(b, "s");
    } else {
        rd_buf_printf(b, "rekey off");
    }
    if (expire_at) {
        rd_buf_printf(b, " expires in ");
        secs_until(b, expire_at, now, false);
        rd_buf_printf(b, "s\n");
    } else {
        rd_buf_printf(b, " expires never\n");
    }
}

/* Conn names are printable ASCII (checked by the parser), but quote and
 * backslash still need escaping in JSON. */
void rd_json_str(struct rd_buf *b, const char *s)
{
    rd_buf_printf(b, "\"");
    for (; *s; s++)
        rd_buf_printf(b, (*s == '"' || *s == '\\') ? "\\%c" : "%c", *s);
    rd_buf_printf(b, "\"");
}

static void close_sa(struct walk *w)
{
    if (w->open_sa)
        rd_buf_printf(w->b, "]}");
    w->open_sa = false;
}

static void ike_cb(void *ctx, const struct ike_sa_info *sa)
{
    struct walk *w = ctx;
    struct rd_buf *b = w->b;
    char l[IKE_ENDPOINT_STRLEN], r[IKE_ENDPOINT_STRLEN];
    if (w->only && strcmp(w->only, sa->conn))
        return;
    ike_endpoint_fmt(&sa->local, l, sizeof(l));
    ike_endpoint_fmt(&sa->remote, r, sizeof(r));
    char last[RD_FAILURE_TEXT];
    bool failed = rd_last_failure(w->d, sa->conn, last, sizeof(last), NULL);
    if (!w->json) {
        rd_buf_printf(b, "%s: IKE %016llx/%016llx %s %s %s <-> %s %s/%s/%s/%s rekeys %u ", sa->conn,
                      (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
                      sa->initiator ? "initiator" : "responder", sa->state, l, r,
                      tname(IKE_TRANSFORM_ENCR, sa->encr), tname(IKE_TRANSFORM_INTEG, sa->integ),
                      tname(IKE_TRANSFORM_PRF, sa->prf), tname(IKE_TRANSFORM_DH, sa->dh),
                      sa->rekeys);
        text_times(b, sa->rekey_at_ms, sa->expire_at_ms, w->now);
        return;
    }
    close_sa(w);
    rd_buf_printf(b, "%s{\"conn\":", w->first_sa ? "" : ",");
    rd_json_str(b, sa->conn);
    rd_buf_printf(b,
                  ",\"spi_i\":\"%016llx\",\"spi_r\":\"%016llx\",\"initiator\":%s,"
                  "\"state\":\"%s\",\"local\":\"%s\",\"remote\":\"%s\",\"encr\":\"%s\","
                  "\"encr_keylen\":%u,\"integ\":\"%s\",\"prf\":\"%s\",\"dh\":\"%s\",",
                  (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
                  sa->initiator ? "true" : "false", sa->state, l, r,
                  tname(IKE_TRANSFORM_ENCR, sa->encr), sa->encr_keylen,
                  tname(IKE_TRANSFORM_INTEG, sa->integ), tname(IKE_TRANSFORM_PRF, sa->prf),
                  tname(IKE_TRANSFORM_DH, sa->dh));
    rd_buf_printf(b, "\"rekey_in_s\":");
    secs_until(b, sa->rekey_at_ms, w->now, true);
    rd_buf_printf(b, ",\"expire_in_s\":");
    secs_until(b, sa->expire_at_ms, w->now, true);
    rd_buf_printf(b, ",\"rekeys\":%u,\"last_failure\":", sa->rekeys);
    if (failed)
        rd_json_str(b, last);
    else
        rd_buf_printf(b, "null");
    rd_buf_printf(b, ",\"children\":[");
    w->first_sa = false;
    w->first_child = true;
    w->open_sa = true;
}

static void stats_of(const struct rekeyd *d, const struct ike_addr *dst, uint32_t spi,
                     struct ike_sa_stats *st)
{
    memset(st, 0, sizeof(*st));
    struct ike_sa_id id = {.dst = *dst, .spi = spi, .proto = IKE_IPPROTO_ESP};
    if (d->kb.get_stats)
        d->kb.get_stats(d->kb.ctx, &id, st);
}

static void child_cb(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *c)
{
    struct walk *w = ctx;
    struct rd_buf *b = w->b;
    struct ike_sa_stats in, out;
    if (w->only && strcmp(w->only, sa->conn))
        return;
    stats_of(w->d, &sa->local.addr, c->spi_in, &in);
    stats_of(w->d, &sa->remote.addr, c->spi_out, &out);
    const char *encr = tname(IKE_TRANSFORM_ENCR, c->encr);
    const char *integ = tname(IKE_TRANSFORM_INTEG, c->integ);
    const char *dh = tname(IKE_TRANSFORM_DH, c->dh);
    if (!w->json) {
        rd_buf_printf(b,
                      "  child %08x/%08x %s %s/%s pfs %s reqid %u rekeys %u in %llu B out "
                      "%llu B ",
                      c->spi_in, c->spi_out, c->state, encr, integ, dh, c->reqid, c->rekeys,
                      (unsigned long long)in.bytes, (unsigned long long)out.bytes);
        text_times(b, c->rekey_at_ms, c->expire_at_ms, w->now);
        return;
    }
    rd_buf_printf(b,
                  "%s{\"spi_in\":\"%08x\",\"spi_out\":\"%08x\",\"state\":\"%s\","
                  "\"encr\":\"%s\",\"encr_keylen\":%u,\"integ\":\"%s\",\"dh\":\"%s\","
                  "\"reqid\":%u,\"rekey_in_s\":",
                  w->first_child ? "" : ",", c->spi_in, c->spi_out, c->state, encr, c->encr_keylen,
                  integ, dh, c->reqid);
    secs_until(b, c->rekey_at_ms, w->now, true);
    rd_buf_printf(b, ",\"expire_in_s\":");
    secs_until(b, c->expire_at_ms, w->now, true);
    rd_buf_printf(b,
                  ",\"rekeys\":%u,\"bytes_in\":%llu,\"bytes_out\":%llu,\"packets_in\":%llu,"
                  "\"packets_out\":%llu}",
                  c->rekeys, (unsigned long long)in.bytes, (unsigned long long)out.bytes,
                  (unsigned long long)in.packets, (unsigned long long)out.packets);
    w->first_child = false;
}

const char *rd_auto_name(uint8_t a)
{
    static const char *const n[] = {"ignore", "add", "start", "route"};
    return a < 4 ? n[a] : "?";
}

/* A count the engine keeps per connection: no walk over every SA per
 * connection (status --json of a hub with many conns). */
size_t rd_sa_count(const struct rekeyd *d, const char *conn)
{
    return ike_engine_conn_sa_count(d->eng, conn);
}

void rd_status_json(const struct rekeyd *d, struct rd_buf *b)
{
    struct walk w = {.d = d, .b = b, .now = rd_now_ms(), .json = true, .first_sa = true};
    rd_buf_printf(b, "{\"ike_sas\":[");
    ike_engine_foreach(d->eng, ike_cb, child_cb, &w);
    close_sa(&w);
    rd_buf_printf(b, "],\"conns\":[");
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        const struct ike_conf_conn *cc = &d->conf.conns[i];
        char last[RD_FAILURE_TEXT];
        bool failed = rd_last_failure(d, cc->cfg.name, last, sizeof(last), NULL);
        rd_buf_printf(b, "%s{\"name\":", i ? "," : "");
        rd_json_str(b, cc->cfg.name);
        rd_buf_printf(b, ",\"auto\":\"%s\",\"ike_sas\":%zu,\"last_failure\":",
                      rd_auto_name(cc->cfg.auto_mode), rd_sa_count(d, cc->cfg.name));
        if (failed)
            rd_json_str(b, last);
        else
            rd_buf_printf(b, "null");
        rd_buf_printf(b, "}");
    }
    rd_buf_printf(b, "]}\n");
}

void rd_status_text(const struct rekeyd *d, struct rd_buf *b)
{
    struct walk w = {.d = d, .b = b, .now = rd_now_ms()};
    rd_buf_printf(b, "%zu conns, %zu IKE SAs, kernel %s\n", d->conf.n_conns,
                  ike_engine_ike_sa_count(d->eng), d->kb.name);
    ike_engine_foreach(d->eng, ike_cb, child_cb, &w);
    /* The last failure of each conn, in words (rekeyctl diagnose has all). */
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        char last[RD_FAILURE_TEXT];
        uint64_t at;
        const char *name = d->conf.conns[i].cfg.name;
        if (rd_last_failure(d, name, last, sizeof(last), &at))
            rd_buf_printf(b, "%s: last failure %llu s ago: %s\n", name,
                          (unsigned long long)(w.now > at ? (w.now - at) / 1000 : 0), last);
    }
}

/* The SAs of one conn (only) or all: text lines, or JSON objects separated
 * by commas (the caller writes the brackets). For `diagnose`. */
void rd_status_sas(const struct rekeyd *d, const char *only, bool json, struct rd_buf *b)
{
    struct walk w = {
        .d = d, .b = b, .now = rd_now_ms(), .json = json, .first_sa = true, .only = only};
    if (only)
        ike_engine_foreach_conn(d->eng, only, ike_cb, child_cb, &w); /* its SAs only */
    else
        ike_engine_foreach(d->eng, ike_cb, child_cb, &w);
    close_sa(&w);
}

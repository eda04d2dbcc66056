/*
 * child_sa.c: the Child SA object, its state machine, and the kernel
 * operations that install and remove it.
 *
 * Install order (make-before-break at the smallest scale): the inbound SA
 * first, so the peer's first packet can be decrypted; then the outbound SA;
 * then the policies, the outbound one pinned to our outbound SPI so the
 * kernel never picks an SA the peer lacks. Removal runs the other way:
 * policies, outbound SA, inbound SA last (packets still in flight from the
 * peer are accepted until the very end).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/err.h"

static const char *const state_names[CHILD_STATE_COUNT] = {
    [CHILD_CREATING] = "CREATING", [CHILD_INSTALLED] = "INSTALLED", [CHILD_REKEYING] = "REKEYING",
    [CHILD_REKEYED] = "REKEYED",   [CHILD_DELETING] = "DELETING",   [CHILD_DEAD] = "DEAD",
};

#define B(s) (1u << (s))
static const uint32_t allowed[CHILD_STATE_COUNT] = {
    [CHILD_CREATING] = B(CHILD_INSTALLED) | B(CHILD_DEAD),
    [CHILD_INSTALLED] = B(CHILD_REKEYING) | B(CHILD_REKEYED) | B(CHILD_DELETING) | B(CHILD_DEAD),
    [CHILD_REKEYING] = B(CHILD_INSTALLED) | B(CHILD_REKEYED) | B(CHILD_DELETING) | B(CHILD_DEAD),
    [CHILD_REKEYED] = B(CHILD_DELETING) | B(CHILD_DEAD),
    [CHILD_DELETING] = B(CHILD_DEAD),
    [CHILD_DEAD] = 0,
};

const char *ike_child_state_name(enum ike_child_state s)
{
    return s < CHILD_STATE_COUNT ? state_names[s] : "?";
}

void ike_child_set_state(struct ike_engine *e, struct ike_child *ch, enum ike_child_state to,
                         const char *reason)
{
    if (!(allowed[ch->state] & B(to))) {
        ike_log(e, IKE_LOG_ERROR, "Child SA %08x/%08x: refused transition %s -> %s (%s)",
                ch->spi_in, ch->spi_out, ike_child_state_name(ch->state), ike_child_state_name(to),
                reason);
        return;
    }
    ike_log(e, IKE_LOG_INFO, "Child SA %08x/%08x (%s): %s -> %s (%s)", ch->spi_in, ch->spi_out,
            ch->ike->conn->cfg.name, ike_child_state_name(ch->state), ike_child_state_name(to),
            reason);
    ch->state = to;
}

/* A fresh inbound SPI: random, outside the reserved range 1..255
 * (RFC 4303 2.1), unique among our Child SAs. */
uint32_t ike_child_alloc_spi(struct ike_engine *e)
{
    uint32_t spi;
    do {
        ike_random(e, &spi, sizeof(spi));
    } while (spi < 256 || ike_map_get(&e->child_by_spi, spi));
    return spi;
}

struct ike_child *ike_child_new(struct ike_engine *e, struct ike_sa *sa)
{
    struct ike_child *ch = e->free_children;
    if (ch)
        e->free_children = ch->next;
    else if (!(ch = malloc(sizeof(*ch))))
        return NULL;
    memset(ch, 0, sizeof(*ch));
    ch->ike = sa;
    ch->proto = IKE_PROTO_ESP;
    ch->reqid = sa->conn->reqid;
    ch->spi_in = ike_child_alloc_spi(e);
    /* Reserve the SPI now, so no other child picks it meanwhile. */
    if (ike_map_put(&e->child_by_spi, ch->spi_in, ch) < 0) {
        ch->next = e->free_children;
        e->free_children = ch;
        return NULL;
    }
    return ch;
}

bool ike_child_in_kernel(const struct ike_child *ch)
{
    return ch->state >= CHILD_INSTALLED && ch->state <= CHILD_DELETING;
}

static uint64_t out_key(const struct ike_addr *dst, uint32_t spi)
{
    uint32_t h = 2166136261u; /* FNV-1a over the peer address */
    for (int i = 0; i < 16; i++)
        h = (h ^ dst->bytes[i]) * 16777619u;
    return (uint64_t)spi << 32 | h;
}

struct ike_child *ike_child_find_out(struct ike_engine *e, const struct ike_addr *dst, uint32_t spi)
{
    return ike_map_get(&e->child_by_out, out_key(dst, spi));
}

/* Free a child that is not (or no longer) linked into its IKE SA. */
void ike_child_release(struct ike_engine *e, struct ike_child *ch)
{
    ike_rekey_forget_child(ch);
    if (ch->ike && ch->spi_out) {
        uint64_t k = out_key(&ch->ike->remote.addr, ch->spi_out);
        if (ike_map_get(&e->child_by_out, k) == ch)
            ike_map_del(&e->child_by_out, k);
    }
    if (ike_map_get(&e->child_by_spi, ch->spi_in) == ch)
        ike_map_del(&e->child_by_spi, ch->spi_in);
    ike_child_keys_clear(&ch->keys);
    memset(ch, 0, sizeof(*ch));
    ch->state = CHILD_DEAD;
    ch->next = e->free_children;
    e->free_children = ch;
}

void ike_child_attach(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch)
{
    (void)e;
    ch->ike = sa;
    ch->next = sa->children;
    sa->children = ch;
}

struct ike_child *ike_child_by_out_spi(struct ike_sa *sa, uint32_t spi_out)
{
    for (struct ike_child *c = sa->children; c; c = c->next)
        if (c->spi_out == spi_out)
            return c;
    return NULL;
}

/* ---- kernel operations ---- */
static void fill_sa(const struct ike_child *ch, bool inbound, struct ike_kernel_sa *k)
{
    const struct ike_sa *sa = ch->ike;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_encr_info ei;
    memset(k, 0, sizeof(*k));
    k->id.dst = inbound ? sa->local.addr : sa->remote.addr;
    k->src = inbound ? sa->remote.addr : sa->local.addr;
    k->id.spi = inbound ? ch->spi_in : ch->spi_out;
    k->id.proto = IKE_IPPROTO_ESP;
    k->mode = c->mode;
    k->reqid = ch->reqid;
    k->encr_id = ch->algs.encr;
    if (ike_alg_encr(ch->algs.encr, ch->algs.encr_keylen, &ei) == 0) {
        k->encr_key_bits = ei.key_bits;
        k->icv_len = ei.icv_len;
    }
    k->integ_id = ch->algs.integ;
    /* The exchange initiator's keys protect initiator -> responder (2.17). */
    bool use_i = inbound != ch->we_initiated;
    k->encr_key = use_i ? ch->keys.encr_i : ch->keys.encr_r;
    k->integ_key = use_i ? ch->keys.integ_i : ch->keys.integ_r;
    k->esn = ch->algs.esn;
    k->replay_window = inbound ? 32 : 0;
    k->life.hard_add_s = (c->child_lifetime_ms + 999) / 1000;
    if (ch->rekey_at_ms && ch->expire_at_ms > ch->rekey_at_ms) {
        /* The kernel's soft expiry backs up our rekey timer, and is what
         * keeps the margin: the kernel counts both limits in whole seconds
         * from one truncated add time, so its hard expiry comes up to 1 s
         * before our expire_at_ms and our timer leaves margin - 1 s to
         * margin before it, while the soft-to-hard distance is exact.
         * Rounded down, that distance was margin - 1 s at worst too (B35,
         * seed 27768 --rekey: lifetime 5 s, margin 1.6 s; the soft expiry
         * started the rekey 1.0 s before the kernel's hard expiry, a 2.25
         * refusal cost 550 ms, and the peer, rekey responder, still sent
         * on the old SA when it expired; seeds 7, 42, 819, 984: one lost
         * datagram in such a cut window). Rounded up, the rekey starts at
         * least the whole margin before the kernel's hard expiry, at or
         * before our own timer. */
        uint64_t life_left = (ch->expire_at_ms - ch->rekey_at_ms + 999) / 1000;
        k->life.soft_add_s = k->life.hard_add_s > life_left ? k->life.hard_add_s - life_left : 0;
    }
    k->life.hard_bytes = c->life_bytes;
    k->life.hard_packets = c->life_packets;
    if (c->life_bytes > c->margin_bytes)
        k->life.soft_bytes = c->life_bytes - c->margin_bytes;
    if (c->life_packets > c->margin_packets)
        k->life.soft_packets = c->life_packets - c->margin_packets;
}

/*
 * What a set of policies needs: the selector lists, the template's
 * endpoints, mode and reqid, and the outbound SPI to pin. A child fills it
 * from itself; a conn's trap (auto=route) from the conn's config.
 */
struct pol_desc {
    const struct ike_ts_set *l, *r;
    uint8_t mode; /* enum ike_ipsec_mode */
    struct ike_addr local, remote;
    uint32_t reqid, spi_out;
};

/*
 * The transitions. A trap is only an outbound policy (ACQUIRE comes from
 * outbound traffic); the first child over it UPDATEs that policy to an
 * IPsec one and adds in/fwd, the last child UPDATEs it back to the trap,
 * so the selector never goes uncovered and plaintext never leaks.
 */
enum pol_mode {
    POL_ADD,      /* out + in + fwd */
    POL_DEL,      /* out + in + fwd */
    POL_PIN,      /* out: point at another outbound SPI */
    POL_TRAP_ADD, /* out only, action TRAP */
    POL_TRAP_DEL, /* out only */
    POL_UNTRAP,   /* out: trap -> IPsec; in + fwd added */
    POL_RETRAP,   /* out: IPsec -> trap; in + fwd deleted */
};

static void emit_policy(struct ike_engine *e, const struct pol_desc *d,
                        const struct ike_selector *sel, uint8_t dir, enum pol_mode mode)
{
    bool is_out = dir == IKE_DIR_OUT;
    bool del = mode == POL_DEL || mode == POL_TRAP_DEL || (mode == POL_RETRAP && !is_out);
    bool update = is_out && (mode == POL_PIN || mode == POL_UNTRAP || mode == POL_RETRAP);
    struct ike_kernel_op op = {.type = del      ? IKE_KOP_DEL_POLICY
                                       : update ? IKE_KOP_UPDATE_POLICY
                                                : IKE_KOP_ADD_POLICY};
    if (del) {
        op.u.policy_id.sel = *sel;
        op.u.policy_id.dir = dir;
    } else {
        bool trap = mode == POL_TRAP_ADD || mode == POL_RETRAP;
        struct ike_kernel_policy *p = &op.u.policy;
        p->sel = *sel;
        p->dir = dir;
        p->action = trap ? IKE_POLICY_TRAP : IKE_POLICY_IPSEC;
        p->priority = 1000;
        p->mode = d->mode;
        p->tmpl_src = is_out ? d->local : d->remote;
        p->tmpl_dst = is_out ? d->remote : d->local;
        p->reqid = d->reqid;
        p->spi = is_out && !trap ? d->spi_out : 0; /* pin the outbound SA */
    }
    ike_out_kernel(e, &op);
}

/* Emit the policies of every TS pair for one transition. */
static int policies_of(struct ike_engine *e, const struct pol_desc *d, enum pol_mode mode)
{
    bool tunnel = d->mode == IKE_MODE_TUNNEL;
    bool out_only = mode == POL_PIN || mode == POL_TRAP_ADD || mode == POL_TRAP_DEL;
    for (uint8_t i = 0; i < d->l->n; i++) {
        for (uint8_t j = 0; j < d->r->n; j++) {
            const struct ike_ts *l = &d->l->ts[i], *r = &d->r->ts[j];
            struct ike_selector out = {0};
            int rc = ike_ts_to_selector(l, &out.src, &out.src_prefix);
            if (rc == 0)
                rc = ike_ts_to_selector(r, &out.dst, &out.dst_prefix);
            if (rc < 0)
                return rc;
            out.ip_proto = r->ip_proto;
            out.sport = l->start_port == l->end_port ? l->start_port : 0;
            out.dport = r->start_port == r->end_port ? r->start_port : 0;
            struct ike_selector in = {.src = out.dst,
                                      .dst = out.src,
                                      .src_prefix = out.dst_prefix,
                                      .dst_prefix = out.src_prefix,
                                      .ip_proto = out.ip_proto,
                                      .sport = out.dport,
                                      .dport = out.sport};
            emit_policy(e, d, &out, IKE_DIR_OUT, mode);
            if (out_only)
                continue;
            emit_policy(e, d, &in, IKE_DIR_IN, mode);
            if (tunnel)
                emit_policy(e, d, &in, IKE_DIR_FWD, mode);
        }
    }
    return 0;
}

static int policies(struct ike_engine *e, const struct ike_child *ch, enum pol_mode mode)
{
    const struct ike_sa *sa = ch->ike;
    struct pol_desc d = {.l = &ch->ts_local,
                         .r = &ch->ts_remote,
                         .mode = sa->conn->cfg.mode,
                         .local = sa->local.addr,
                         .remote = sa->remote.addr,
                         .reqid = ch->reqid,
                         .spi_out = ch->spi_out};
    return policies_of(e, &d, mode);
}

/* FNV-1a over reqid and both selector lists: children with equal keys
 * share their policies (and a trap with the same key becomes theirs). */
static uint64_t policy_key_of(uint32_t reqid, const struct ike_ts_set *l,
                              const struct ike_ts_set *r)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *parts[3] = {(const uint8_t *)&reqid, (const uint8_t *)l, (const uint8_t *)r};
    size_t lens[3] = {sizeof(reqid), offsetof(struct ike_ts_set, ts) + l->n * sizeof(struct ike_ts),
                      offsetof(struct ike_ts_set, ts) + r->n * sizeof(struct ike_ts)};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < lens[k]; i++)
            h = (h ^ parts[k][i]) * 0x100000001b3ULL;
    return h;
}

/* How good a user of shared policies is as the outbound SA, 0 = unusable.
 * An SA the peer has proved it holds beats one it may lack (the peer may
 * not have our CREATE_CHILD_SA response yet, B13): a confirmed new SA,
 * then a confirmed older one still in the kernel (REKEYING/REKEYED: the
 * peer keeps it until its DELETE), then an unconfirmed new SA as the last
 * resort. A redundant SA (collision) is about to go. */
static int pin_rank(const struct ike_child *u)
{
    if (u->redundant || !ike_child_in_kernel(u) || u->state == CHILD_DELETING)
        return 0;
    if (u->confirmed)
        return u->state == CHILD_INSTALLED ? 3 : 2;
    return u->state == CHILD_INSTALLED ? 1 : 0;
}

/* The best other user to carry outbound traffic (newest first on ties),
 * or NULL. */
static struct ike_child *pin_best(struct ike_policy_ref *ref, const struct ike_child *not_this)
{
    struct ike_child *best = NULL;
    int rank = 0;
    for (struct ike_child *u = ref->users; u; u = u->pol_next) {
        int r = u == not_this ? 0 : pin_rank(u);
        if (r > rank) {
            best = u;
            rank = r;
        }
    }
    return best;
}

static uint64_t policy_key(const struct ike_child *ch)
{
    return policy_key_of(ch->reqid, &ch->ts_local, &ch->ts_remote);
}

/*
 * auto=route: install (on) or remove (off) the conn's trap, an outbound
 * policy for its configured subnets with no SA behind it. It is a policy
 * ref like any child's, marked trap, so a child with the same selectors
 * takes it over (POL_UNTRAP) and hands it back when it goes (POL_RETRAP).
 * A narrowed child has other selectors and lives beside the trap.
 */
static struct pol_desc trap_desc(const struct ike_conn *c)
{
    return (struct pol_desc){.l = &c->trap_ts[0],
                             .r = &c->trap_ts[1],
                             .mode = c->cfg.mode,
                             .local = c->cfg.local.addr,
                             .remote = c->cfg.remote.addr,
                             .reqid = c->reqid};
}

static int trap_off(struct ike_engine *e, struct ike_conn *c)
{
    struct ike_policy_ref *ref = c->trap;
    c->trap = NULL;
    if (!ref)
        return 0;
    ref->trap = false;
    if (!ref->users) { /* else the last child removes the policies */
        struct pol_desc d = trap_desc(c);
        policies_of(e, &d, POL_TRAP_DEL);
        ike_map_del(&e->pol_refs, ref->key);
        free(ref);
    }
    return 0;
}

int ike_policy_trap(struct ike_engine *e, struct ike_conn *c, bool on)
{
    const struct ike_conn_cfg *cfg = &c->cfg;
    if (!on)
        return trap_off(e, c);
    if (c->trap)
        return 0;
    if (!cfg->local.addr.family || cfg->remote_any)
        return IKE_ERR_INVALID_ARG; /* a trap needs both tunnel endpoints */
    struct ike_ts_payload l, r;
    ike_ts_from_subnet(&cfg->local_ts, &cfg->local.addr, &l);
    ike_ts_from_subnet(&cfg->remote_ts, &cfg->remote.addr, &r);
    memset(&c->trap_ts, 0, sizeof(c->trap_ts));
    ike_ts_set_from(&c->trap_ts[0], &l);
    ike_ts_set_from(&c->trap_ts[1], &r);
    uint64_t key = policy_key_of(c->reqid, &c->trap_ts[0], &c->trap_ts[1]);
    struct ike_policy_ref *ref = ike_map_get(&e->pol_refs, key);
    if (ref) { /* children already hold these policies (a reload) */
        ref->trap = true;
        c->trap = ref;
        return 0;
    }
    if (!(ref = calloc(1, sizeof(*ref))))
        return IKE_ERR_NOMEM;
    ref->key = key;
    ref->trap = true;
    if (ike_map_put(&e->pol_refs, key, ref) < 0) {
        free(ref);
        return IKE_ERR_NOMEM;
    }
    c->trap = ref;
    struct pol_desc d = trap_desc(c);
    return policies_of(e, &d, POL_TRAP_ADD);
}

/* Before we delete a child, move outbound traffic off it: the peer drops
 * its inbound SA the moment our DELETE arrives. */
void ike_child_unpin(struct ike_engine *e, struct ike_child *ch)
{
    if (!ch->pol || ch->pol->pinned_spi != ch->spi_out)
        return;
    struct ike_child *u = pin_best(ch->pol, ch);
    if (u)
        ike_child_pin_outbound(e, u);
}

/* The SA that would take over outbound traffic from ch, if it is one the
 * peer has not confirmed: then leaving ch now would send on an SA the
 * peer may lack, so a passive delete of ch waits (B10, B19). NULL if ch
 * carries no traffic or a confirmed SA would take over. */
const struct ike_child *ike_child_unconfirmed_successor(const struct ike_child *ch)
{
    if (!ch->pol || ch->pol->pinned_spi != ch->spi_out)
        return NULL;
    struct ike_child *u = pin_best(ch->pol, ch);
    return u && !u->confirmed ? u : NULL;
}

/* The peer has proved it holds ch (recv.c: a new request on its IKE SA).
 * If ch is now the newest usable SA of its policies it takes outbound
 * traffic, as it would have at once had we initiated it (policies_join).
 * Without this a child the peer made beside an older one never carries
 * our traffic, although the peer already sends on it: when the peer has
 * given up on the older one's IKE SA (DPD at its end only, G4) and made a
 * new child on another IKE SA, our traffic stayed on the SA the peer had
 * deleted (seed 101132). */
void ike_child_confirm(struct ike_engine *e, struct ike_child *ch)
{
    if (ch->confirmed || !ike_child_in_kernel(ch))
        return;
    ch->confirmed = true;
    if (!ch->pol)
        return;
    for (struct ike_child *u = ch->pol->users; u; u = u->pol_next) {
        if (pin_rank(u) == 3) { /* the newest confirmed INSTALLED user */
            if (u == ch)
                ike_child_pin_outbound(e, ch);
            break;
        }
    }
    /* Our redundant SA of a lost collision waited for this (rekey.c): its
     * DELETE goes from the timer, not from here, where the peer's request
     * that confirmed ch is still being read (a request built now would
     * reuse its buffers). */
    for (struct ike_child *u = ch->pol->users; u; u = u->pol_next) {
        if (u->delete_when_confirmed && u->ike == ch->ike && u->state == CHILD_INSTALLED) {
            u->delete_when_confirmed = false;
            u->delete_at_ms = e->now_ms;
            ike_timers_update(e, u->ike);
            break;
        }
    }
}

/* Whether another child with ch's selectors, one the peer has confirmed
 * and not yet replaced, carries their outbound traffic now. */
bool ike_child_policy_carried(struct ike_engine *e, const struct ike_child *ch)
{
    const struct ike_policy_ref *ref = ike_map_get(&e->pol_refs, policy_key(ch));
    if (!ref)
        return false;
    for (const struct ike_child *u = ref->users; u; u = u->pol_next)
        if (u != ch && u->spi_out == ref->pinned_spi)
            return pin_rank(u) == 3 && !u->out_gone;
    return false;
}

void ike_child_pin_outbound(struct ike_engine *e, struct ike_child *ch)
{
    if (!ch->pol || ch->pol->pinned_spi == ch->spi_out)
        return;
    ch->pol->pinned_spi = ch->spi_out;
    policies(e, ch, POL_PIN);
}

/* Whether the outbound policy points at an SA the kernel removed at its
 * hard limit (ike_child_out_expired found no other user to move to). */
static bool pinned_gone(const struct ike_policy_ref *ref)
{
    for (const struct ike_child *u = ref->users; u; u = u->pol_next)
        if (u->spi_out == ref->pinned_spi && u->out_gone)
            return true;
    return false;
}

/* Join the shared policies (installing them for the first user). */
static int policies_join(struct ike_engine *e, struct ike_child *ch, bool pin_out)
{
    uint64_t key = policy_key(ch);
    struct ike_policy_ref *ref = ike_map_get(&e->pol_refs, key);
    if (!ref) {
        if (!(ref = calloc(1, sizeof(*ref))))
            return IKE_ERR_NOMEM;
        ref->key = key;
        if (ike_map_put(&e->pol_refs, key, ref) < 0) {
            free(ref);
            return IKE_ERR_NOMEM;
        }
    }
    bool first = !ref->users;
    ch->pol = ref;
    ch->pol_next = ref->users;
    ref->users = ch;
    if (!first) {
        if (pin_out || pinned_gone(ref))
            ike_child_pin_outbound(e, ch); /* the newest SA carries traffic */
        return 0;
    }
    ref->pinned_spi = ch->spi_out;
    return policies(e, ch, ref->trap ? POL_UNTRAP : POL_ADD);
}

/* Leave the shared policies; the last user removes them. */
static void policies_leave(struct ike_engine *e, struct ike_child *ch)
{
    struct ike_policy_ref *ref = ch->pol;
    if (!ref)
        return;
    for (struct ike_child **pp = &ref->users; *pp; pp = &(*pp)->pol_next) {
        if (*pp == ch) {
            *pp = ch->pol_next;
            break;
        }
    }
    ch->pol = NULL;
    if (!ref->users && ref->trap) {
        policies(e, ch, POL_RETRAP); /* auto=route: the next packet ACQUIREs */
        ref->pinned_spi = 0;
    } else if (!ref->users) {
        policies(e, ch, POL_DEL);
        ike_map_del(&e->pol_refs, ref->key);
        free(ref);
    } else if (ref->pinned_spi == ch->spi_out) {
        /* Repoint at the best remaining user (pin_rank); with none
         * usable, the newest keeps the policy valid until it goes too. */
        struct ike_child *best = pin_best(ref, ch);
        ike_child_pin_outbound(e, best ? best : ref->users);
    }
}

int ike_child_install(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms, bool pin_out)
{
    ike_timers_child_lifetime(e, ch, now_ms); /* the kernel's soft limit follows it */
    ch->installed_ms = now_ms;
    struct ike_kernel_op op = {.type = IKE_KOP_ADD_SA};
    fill_sa(ch, true, &op.u.sa);
    ike_out_kernel(e, &op); /* inbound first: the peer may send at once */
    fill_sa(ch, false, &op.u.sa);
    ike_out_kernel(e, &op);
    ike_wipe(&op, sizeof(op));
    int rc = policies_join(e, ch, pin_out);
    if (rc < 0)
        return rc;
    ike_child_set_state(e, ch, CHILD_INSTALLED, "keys installed");
    if (ch->we_initiated)
        ch->confirmed = true; /* we hold the peer's response */
    /* A peer's SPI may collide with another peer's; such a child is then
     * found only through its inbound SA, which carries the same limits. */
    ike_map_put(&e->child_by_out, out_key(&ch->ike->remote.addr, ch->spi_out), ch);
    ike_timers_child_installed(e, ch, now_ms);
    ike_out_event(e, ch->ike, ch, IKE_EV_CHILD_UP, 0);
    return 0;
}

/* Remove a child from the kernel and from its IKE SA, then free it. */
void ike_child_remove(struct ike_engine *e, struct ike_child *ch, int err)
{
    struct ike_sa *sa = ch->ike;
    if (ike_child_in_kernel(ch)) {
        policies_leave(e, ch);
        struct ike_kernel_op op = {.type = IKE_KOP_DEL_SA};
        op.u.sa_id = (struct ike_sa_id){
            .dst = sa->remote.addr, .spi = ch->spi_out, .proto = IKE_IPPROTO_ESP};
        if (!ch->out_gone) /* the kernel removed it at its hard limit */
            ike_out_kernel(e, &op);
        op.u.sa_id =
            (struct ike_sa_id){.dst = sa->local.addr, .spi = ch->spi_in, .proto = IKE_IPPROTO_ESP};
        ike_out_kernel(e, &op);
        ike_out_event(e, sa, ch, IKE_EV_CHILD_DOWN, err);
    }
    ike_child_set_state(e, ch, CHILD_DEAD, err ? ike_err_str(err) : "deleted");
    for (struct ike_child **pp = &sa->children; *pp; pp = &(*pp)->next) {
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    }
    ike_child_release(e, ch);
    ike_timers_update(e, sa);
}

void ike_child_hard_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    struct ike_sa *sa = ch->ike;
    uint32_t spi_in = ch->spi_in;
    if (ch->out_gone) { /* its DELETE is under way, or queued: ask again (a full queue) */
        bool unsent = ch->delete_unsent;
        ike_child_remove(e, ch, IKE_ERR_TIMEOUT);
        if (unsent) { /* not an outstanding one again; a queued one is not doubled */
            struct ike_task d = {.type = TASK_CHILD_DELETE, .del_spi = spi_in};
            ike_task_queue(e, sa, &d, now_ms);
        }
        return;
    }
    ike_diag_hard_expired(e, ch, now_ms);
    sa->child_expired_ms = now_ms;
    ike_child_remove(e, ch, IKE_ERR_TIMEOUT);
    struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = spi_in};
    ike_task_queue(e, sa, &t, now_ms);
    if (ike_child_recreate(e, sa, now_ms))
        ike_log(e, IKE_LOG_WARN, "%s: Child SA expired without a replacement, creating a new one",
                sa->conn->cfg.name);
}

/* Ch goes to DELETING at once, its outbound traffic moved off it, and its
 * DELETE is queued; its kernel SAs stay until that exchange completes. */
void ike_child_retire(struct ike_engine *e, struct ike_child *ch, const char *why, uint64_t now_ms)
{
    ike_child_unpin(e, ch);
    ike_child_set_state(e, ch, CHILD_DELETING, why);
    ch->rekey_at_ms = 0;
    ch->delete_at_ms = 0;
    ch->delete_when_confirmed = false;
    ch->delete_unsent = true;
    struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = ch->spi_in};
    ike_task_queue(e, ch->ike, &t, now_ms); /* a full queue asks again (delete_later) */
}

/* Our OUTBOUND SA reached its hard limit (bytes or packets: the peer's
 * traffic, counted on the inbound SA, may be far from its own) and the
 * kernel removed it. The pair is closed together (RFC 7296 1.4.1), but
 * through a DELETE whose initiator removes the incoming SA only while
 * processing the response (1.4.1, crossing DELETEs): the peer sends on
 * that SA until our DELETE arrives, and then moves its traffic to
 * another SA of the same policies. Removing the inbound SA at once cut
 * the peer's direction although the peer held a confirmed second Child
 * SA to move to (seed 1584 --rekey: two IKE SAs, lifebytes at L only,
 * L's rekey lost): B43. The child goes DELETING now (never rekeyed or
 * pinned again, a rekey of it is refused as unknown), its traffic off
 * it; the DELETE's response, the peer's DELETE or the inbound SA's own
 * hard expiry removes it. */
void ike_child_out_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    struct ike_sa *sa = ch->ike;
    ch->out_gone = true;
    if (ch->state == CHILD_DELETING)
        return; /* our DELETE is on its way already */
    ike_diag_hard_expired(e, ch, now_ms);
    sa->child_expired_ms = now_ms;
    ike_child_retire(e, ch, "outbound SA expired", now_ms);
    if (ike_child_recreate(e, sa, now_ms))
        ike_log(e, IKE_LOG_WARN, "%s: Child SA expired without a replacement, creating a new one",
                sa->conn->cfg.name);
    ike_timers_update(e, sa);
}

/* The rekey never happened (an outage past the margin, say): the IKE SA
 * survived, so make the tunnel again rather than leave it down. A full
 * task queue (DELETEs of expired children, an IKE rekey retransmitting)
 * refused the CREATE_CHILD_SA and nothing asked again: the tunnel stayed
 * down for minutes (seeds 76, 222). The recreate timer asks again.
 * Whatever auto=, dpdaction= and closeaction= say: an expiry is neither
 * side's decision to close, and the side whose SA expired is the only
 * one that knows the tunnel is gone for want of a rekey; its DELETE reads
 * to the peer like an operator's close, which closeaction=clear leaves
 * down. With auto=add here and closeaction=clear there nobody made the
 * tunnel again, for good (seed 754). Returns true if a create was queued
 * or is due. */
bool ike_child_recreate(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    sa->recreate_at_ms = 0;
    if (sa->state != IKE_SA_ESTABLISHED)
        return false;
    for (struct ike_child *c = sa->children; c; c = c->next)
        if ((c->state == CHILD_INSTALLED && !c->redundant) || c->state == CHILD_CREATING)
            return false; /* another child still carries the tunnel, or one is coming */
    if (ike_task_has(sa, TASK_CHILD_CREATE))
        return false;
    struct ike_task c = {.type = TASK_CHILD_CREATE};
    if (ike_task_queue(e, sa, &c, now_ms) < 0) {
        sa->recreate_at_ms = now_ms + 1000; /* queue full: ask again */
        ike_timers_update(e, sa);
    }
    return true;
}

/*
 * ike_sa.c: the IKE SA object: allocation from a free list, the state
 * machine (one transition function checking an allowed-transition table and
 * logging `A -> B (reason)`), lookup by SPI, and destruction, which removes
 * every Child SA's kernel state.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/err.h"

static const char *const state_names[IKE_SA_STATE_COUNT] = {
    [IKE_SA_CREATED] = "CREATED",         [IKE_SA_INIT_SENT] = "INIT_SENT",
    [IKE_SA_INIT_DONE] = "INIT_DONE",     [IKE_SA_AUTH_SENT] = "AUTH_SENT",
    [IKE_SA_ESTABLISHED] = "ESTABLISHED", [IKE_SA_REKEYED] = "REKEYED",
    [IKE_SA_DELETING] = "DELETING",       [IKE_SA_DEAD] = "DEAD",
};

/* allowed[from] is a bit set of the states `from` may move to. */
#define B(s) (1u << (s))
static const uint32_t allowed[IKE_SA_STATE_COUNT] = {
    /* CREATED -> ESTABLISHED: a rekey makes a keyed IKE SA directly. */
    [IKE_SA_CREATED] =
        B(IKE_SA_INIT_SENT) | B(IKE_SA_INIT_DONE) | B(IKE_SA_ESTABLISHED) | B(IKE_SA_DEAD),
    [IKE_SA_INIT_SENT] = B(IKE_SA_INIT_SENT) | B(IKE_SA_AUTH_SENT) | B(IKE_SA_DEAD),
    [IKE_SA_INIT_DONE] = B(IKE_SA_ESTABLISHED) | B(IKE_SA_DEAD),
    [IKE_SA_AUTH_SENT] = B(IKE_SA_ESTABLISHED) | B(IKE_SA_DEAD),
    [IKE_SA_ESTABLISHED] = B(IKE_SA_REKEYED) | B(IKE_SA_DELETING) | B(IKE_SA_DEAD),
    [IKE_SA_REKEYED] = B(IKE_SA_DELETING) | B(IKE_SA_DEAD),
    [IKE_SA_DELETING] = B(IKE_SA_DEAD),
    [IKE_SA_DEAD] = 0,
};

const char *ike_sa_state_name(enum ike_sa_state s)
{
    return s < IKE_SA_STATE_COUNT ? state_names[s] : "?";
}

void ike_sa_set_state(struct ike_engine *e, struct ike_sa *sa, enum ike_sa_state to,
                      const char *reason)
{
    if (!(allowed[sa->state] & B(to))) {
        /* A bug, not a peer's doing: refuse and say so loudly. */
        ike_log(e, IKE_LOG_ERROR, "IKE SA %016llx_%016llx: refused transition %s -> %s (%s)",
                (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
                ike_sa_state_name(sa->state), ike_sa_state_name(to), reason);
        return;
    }
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx (%s): %s -> %s (%s)",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, sa->conn->cfg.name,
            ike_sa_state_name(sa->state), ike_sa_state_name(to), reason);
    ike_index_state(e, sa, sa->state, to);
    sa->state = to;
}

uint64_t ike_sa_our_spi(const struct ike_sa *sa)
{
    return sa->initiator ? sa->spi_i : sa->spi_r;
}

struct ike_sa *ike_sa_find(struct ike_engine *e, uint64_t our_spi)
{
    return our_spi ? ike_map_get(&e->sa_by_spi, our_spi) : NULL;
}

struct ike_sa *ike_sa_new(struct ike_engine *e, struct ike_conn *conn, bool initiator)
{
    struct ike_sa *sa = e->free_sas;
    if (sa)
        e->free_sas = sa->next_free;
    else if (!(sa = malloc(sizeof(*sa))))
        return NULL;
    memset(sa, 0, sizeof(*sa));
    sa->conn = conn;
    sa->initiator = initiator;
    sa->heap_idx = UINT32_MAX;
    sa->created_ms = e->now_ms;
    /* Our SPI: random, non-zero, unique among our SAs. */
    uint64_t spi;
    do {
        ike_random(e, &spi, sizeof(spi));
    } while (!spi || ike_map_get(&e->sa_by_spi, spi));
    if (initiator)
        sa->spi_i = spi;
    else
        sa->spi_r = spi;
    sa->setup = calloc(1, sizeof(*sa->setup));
    if (!sa->setup || ike_map_put(&e->sa_by_spi, spi, sa) < 0) {
        free(sa->setup);
        sa->next_free = e->free_sas;
        e->free_sas = sa;
        return NULL;
    }
    ike_index_sa_add(sa);
    e->n_sas++;
    return sa;
}

/* Drop what only the setup needs (RealMessage1/2, nonces, KE, the child
 * negotiated in IKE_AUTH if it never got installed). */
void ike_sa_free_setup(struct ike_engine *e, struct ike_sa *sa)
{
    struct ike_setup *s = sa->setup;
    if (!s)
        return;
    if (s->ke)
        e->c->ke_free(s->ke);
    if (s->first_child)
        ike_child_release(e, s->first_child);
    free(s->init_req);
    free(s->init_resp);
    ike_wipe(s, sizeof(*s)); /* nonces feed the keys: wipe them too */
    free(s);
    sa->setup = NULL;
}

void ike_sa_destroy(struct ike_engine *e, struct ike_sa *sa, int err)
{
    if (sa->state == IKE_SA_DEAD)
        return;
    if (err == IKE_ERR_TIMEOUT && sa->passive_old) {
        /* The peer is declared dead on the SA its rekey made: the old SA,
         * REKEYED and waiting for its DELETE, has no children and no
         * role left, and the DELETE will not come (the peer never got our
         * response, or is gone). Without this it lingered until its
         * passive timeout, 30 s, well after the peer had given up on it
         * too (seed 712 --rekey). */
        struct ike_sa *old = ike_sa_find(e, sa->passive_old);
        sa->passive_old = 0;
        if (old && old != sa && old->state == IKE_SA_REKEYED && !old->children) {
            old->release_on_delete = 0; /* sa is going too */
            ike_sa_destroy(e, old, 0);  /* replaced: no IKE_DOWN of its own */
        }
    }
    ike_rekey_ike_deleted(e, sa); /* hand children to a rekey's survivor */
    bool was_up = (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_DELETING ||
                   sa->state == IKE_SA_REKEYED) &&
                  !sa->replaced;
    while (sa->children) {
        struct ike_child *ch = sa->children;
        ike_child_remove(e, ch, err); /* unlinks and frees */
    }
    ike_sa_free_setup(e, sa);
    ike_sa_set_state(e, sa, IKE_SA_DEAD, err ? ike_err_str(err) : "deleted");
    if (was_up || err)
        ike_out_event(e, sa, NULL, IKE_EV_IKE_DOWN, err);
    ike_timers_remove(e, sa);
    ike_index_sa_del(sa);
    struct ike_conn *conn = sa->conn;
    /* A responder's half-open SA (IKE_SA_INIT answered, no IKE_AUTH in
     * time) carried no tunnel: its loss is no dead peer. Restarting for it
     * went through ike_engine_initiate, which with an IKE SA up adds one
     * more Child SA: tiny Child SAs multiplied until their rekeys no longer
     * fit the margin (seed 726). An initiator's failed setup still retries
     * (keyingtries). */
    bool restart = !e->shutting_down && !sa->replaced && err == IKE_ERR_TIMEOUT &&
                   conn->cfg.dpd_action == IKE_DPD_RESTART && (was_up || sa->initiator);
    ike_map_del(&e->sa_by_spi, ike_sa_our_spi(sa));
    if (!sa->initiator && ike_map_get(&e->halfopen_by_spi, sa->spi_i) == sa)
        ike_map_del(&e->halfopen_by_spi, sa->spi_i);
    if (sa->half_open)
        e->n_half_open--;
    ike_task_clear(e, &sa->out_task);
    for (uint8_t i = 0; i < sa->n_pending; i++)
        ike_task_clear(e, &sa->pending[i]);
    free(sa->out_req);
    free(sa->last_resp);
    ike_sa_keys_clear(&sa->keys);
    ike_wipe(sa, sizeof(*sa));
    sa->state = IKE_SA_DEAD;
    sa->heap_idx = UINT32_MAX;
    sa->next_free = e->free_sas;
    e->free_sas = sa;
    e->n_sas--;
    if (restart)
        ike_sa_restart(e, conn);
}

/* The peer left an unreplaced IKE SA of ours unanswered (retransmissions
 * exhausted): RFC 7296 2.4 concludes the other ENDPOINT has failed, so
 * every IKE SA we hold with it goes, not just this one. Two of them exist
 * when both sides initiated (auto=start at both ends); keeping the other
 * left it as our only IKE SA, so nothing re-established (dpdaction, the
 * auto=start supervisor) and, holding it, we could not send INITIAL_CONTACT
 * either: the peer, which may run no DPD, kept the SA we had just dropped
 * pinned for its outbound traffic, a black hole until its own next request
 * on it (seeds 1365; 11, 12 --rekey: each side declared a different one
 * dead). Dropped silently like the dead one; our next setup carries
 * INITIAL_CONTACT, which clears them all at a live peer (2.4). A replaced
 * SA carries no tunnel: its DELETE unanswered says nothing new. */
void ike_sa_peer_dead(struct ike_engine *e, struct ike_sa *dead)
{
    if (dead->replaced || dead->state != IKE_SA_ESTABLISHED)
        return;
    struct ike_sa *o = ike_index_peer_first(e, dead->conn, &dead->remote.addr);
    while (o) {
        if (o == dead) {
            o = ike_index_peer_next(o);
            continue;
        }
        ike_log(e, IKE_LOG_INFO, "%s: peer declared dead: dropping IKE SA %016llx_%016llx with it",
                dead->conn->cfg.name, (unsigned long long)o->spi_i, (unsigned long long)o->spi_r);
        ike_sa_destroy(e, o, 0);
        /* a destroy unlinks from the index: look again from the first */
        o = ike_index_peer_first(e, dead->conn, &dead->remote.addr);
    }
}

/* dpdaction=restart / closeaction=restart: the tunnel is wanted, so a lost
 * IKE SA is set up again from scratch (keyingtries attempts, 0 = forever). */
void ike_sa_restart(struct ike_engine *e, struct ike_conn *conn)
{
    uint32_t max = conn->cfg.keyingtries;
    if (conn->cfg.remote_any)
        return; /* a responder for %any cannot initiate */
    if (max && conn->restart_tries >= max) {
        ike_log(e, IKE_LOG_WARN, "%s: giving up after %u attempts to re-establish (keyingtries)",
                conn->cfg.name, conn->restart_tries);
        return;
    }
    conn->restart_tries++;
    ike_log(e, IKE_LOG_INFO, "%s: IKE SA lost, re-establishing (attempt %u)", conn->cfg.name,
            conn->restart_tries);
    ike_engine_initiate(e, conn->cfg.name, e->now_ms);
}

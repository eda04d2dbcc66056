/*
 * exchange_info.c: INFORMATIONAL exchanges (RFC 7296 1.4, 1.5, 2.4):
 * DELETE of Child SAs and of the IKE SA, and the empty request that checks
 * liveness (DPD).
 *
 *   Initiator                         Responder
 *   HDR, SK {D(ESP, our inbound SPIs)} -->
 *                               <--  HDR, SK {D(ESP, their inbound SPIs)}
 *   HDR, SK {D(IKE)}                  -->
 *                               <--  HDR, SK {}
 *   HDR, SK {}                        -->        (liveness)
 *                               <--  HDR, SK {}
 *
 * A Child SA delete names the sender's INBOUND SPI; the answer names the
 * responder's inbound SPIs of the same pairs (1.4.1). When both sides
 * delete the same Child SA at once, each answers with an empty Delete for
 * a pair it already removed.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* The SPIs a CHILD_DELETE task still has to delete, kept in t (its first
 * and further ones, window.c join_queued_delete); each child goes to
 * DELETING with its outbound traffic moved off it. Returns how many. */
static int delete_spis(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t)
{
    uint32_t all[1 + IKE_DELETE_BATCH];
    int n = 1 + t->n_more, m = 0;
    for (int k = 0; k < n; k++)
        all[k] = ike_task_del_spi(t, k);
    for (int k = 0; k < n; k++) {
        struct ike_child *ch = ike_map_get(&e->child_by_spi, all[k]);
        if (ch &&
            (ch->ike != sa || (ch->state == CHILD_DELETING && !t->resend && !ch->delete_unsent) ||
             ch->state == CHILD_CREATING))
            continue; /* not ours to delete, or already on its way */
        if (ch)
            ch->delete_unsent = false; /* DELETING since its outbound SA expired */
        /* A child we removed at hard expiry is gone here but not yet at
         * the peer: its DELETE still goes out. */
        all[m++] = all[k];
        if (ch && ch->state != CHILD_DELETING) {
            ike_child_unpin(e, ch);
            ike_child_set_state(e, ch, CHILD_DELETING, "deleting");
        }
    }
    t->del_spi = m ? all[0] : 0;
    t->n_more = (uint8_t)(m ? m - 1 : 0);
    for (int k = 1; k < m; k++)
        t->more_del[k - 1] = all[k];
    return m;
}

int ike_info_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                           uint64_t now_ms)
{
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    if (t->type == TASK_CHILD_DELETE) {
        int n = delete_spis(e, sa, t);
        if (!n)
            return IKE_ERR_NO_SA;
        uint8_t spis[4 * (1 + IKE_DELETE_BATCH)];
        for (int k = 0; k < n; k++)
            ike_put_be32(spis + 4 * k, ike_task_del_spi(t, k));
        ike_delete_encode(&mb, IKE_PROTO_ESP, 4, spis, (uint16_t)n);
    } else if (t->type == TASK_IKE_DELETE) {
        ike_delete_encode(&mb, IKE_PROTO_IKE, 0, NULL, 0);
        ike_sa_set_state(e, sa, IKE_SA_DELETING, "deleting");
    }
    return ike_msg_send_request(e, sa, INFORMATIONAL, &mb, now_ms);
}

int ike_info_process_response(struct ike_engine *e, struct ike_sa *sa,
                              const struct ike_payload_list *in, uint64_t now_ms)
{
    (void)in;
    struct ike_task *t = &sa->out_task;
    if (t->type == TASK_IKE_DELETE) {
        ike_log(e, IKE_LOG_INFO, "%s: IKE SA deleted", sa->conn->cfg.name);
        ike_sa_destroy(e, sa, 0);
        return 0;
    }
    for (int k = 0; t->type == TASK_CHILD_DELETE && k <= t->n_more; k++) {
        struct ike_child *ch = ike_map_get(&e->child_by_spi, ike_task_del_spi(t, k));
        if (ch && ch->ike == sa)
            ike_child_remove(e, ch, 0);
    }
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}

/* Remove the Child SAs a Delete names (their inbound = our outbound SPIs);
 * append our inbound SPIs of those pairs to spis_out. */
static int delete_children(struct ike_engine *e, struct ike_sa *sa,
                           const struct ike_delete_payload *d, uint8_t *spis_out, uint16_t *n_out,
                           struct ike_sa **from)
{
    if (d->spi_size != 4)
        return IKE_ERR_INVALID_SYNTAX;
    /* A new IKE SA we answered while our own rekey of the old one is
     * outstanding (2.8.2: decided at its end) does not hold the children
     * yet, but the peer, which has our response, already deletes them on
     * it: they are still on the old SA. Ignoring that DELETE left the
     * replaced child REKEYED until the passive timeout (seed 122). */
    struct ike_sa *old = sa->rekey_old && sa->rekey_old->collision == sa ? sa->rekey_old : NULL;
    for (uint16_t i = 0; i < d->n_spi; i++) {
        struct ike_child *ch = ike_child_by_out_spi(sa, ike_delete_spi32(d, i));
        if (!ch && old)
            ch = ike_child_by_out_spi(old, ike_delete_spi32(d, i));
        if (!ch && sa->successor) {
            /* The peer's DELETE on the SA our IKE rekey replaced came after
             * the rekey moved the children (2.25.2: answer it as usual). */
            struct ike_sa *n = ike_sa_find(e, sa->successor);
            ch = n ? ike_child_by_out_spi(n, ike_delete_spi32(d, i)) : NULL;
        }
        if (!ch) {
            ike_log(e, IKE_LOG_INFO, "peer deleted unknown Child SA %08x", ike_delete_spi32(d, i));
            ike_child_note_gone(sa, ike_delete_spi32(d, i)); /* our CREATE_CHILD_SA's? (B34) */
            continue;
        }
        if (*n_out < IKE_MAX_DELETE_SPIS)
            ike_put_be32(spis_out + 4 * (*n_out)++, ch->spi_in);
        ike_log(e, IKE_LOG_INFO, "Child SA %08x/%08x deleted by peer", ch->spi_in, ch->spi_out);
        ike_diag_peer_deleted(e, ch, e->now_ms); /* before our rekey: the peer's lifetime */
        *from = ch->ike;
        uint32_t reqid = ch->reqid;
        ike_child_remove(e, ch, 0);
        ike_rekey_redundant_stands(e, *from, reqid, e->now_ms); /* B76 */
    }
    return 0;
}

/* The peer's DELETE took our last Child SA of the tunnel while our own
 * DELETE of a child that reached its hard lifetime here is still queued or
 * unanswered: the two crossed. Each side's expiry had left the tunnel to
 * the other child, and each side's DELETE of its expired SA (1.4.1) then
 * took that one at the other side: nobody made a new one (B28 makes one
 * only for an expiry that leaves no child) and the tunnel stayed down for
 * minutes (seeds 68131, 39210: 337 s, 766 s). A DELETE is no close here:
 * the peer could not know it removed our last child, and ours tells the
 * peer only of an expiry. Make the tunnel again as for an expiry without
 * a replacement; if both sides do, both children are usable (B28). */
static void recreate_if_crossed(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (!sa->child_expired_ms ||
        now_ms > sa->child_expired_ms + ike_timers_retransmit_budget(&sa->conn->cfg))
        return;
    if (ike_task_has(sa, TASK_CHILD_DELETE) && ike_child_recreate(e, sa, now_ms))
        ike_log(e, IKE_LOG_WARN,
                "%s: the peer deleted our last Child SA while our DELETE of an expired one "
                "was under way, creating a new one",
                sa->conn->cfg.name);
}

int ike_info_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                             const struct ike_payload_list *in, uint64_t now_ms)
{
    uint8_t spis[4 * IKE_MAX_DELETE_SPIS];
    uint16_t n_spis = 0;
    bool delete_ike = false, saw_esp = false;
    struct ike_sa *from = NULL; /* whose Child SA the peer deleted */
    for (size_t i = 0; i < in->n; i++) {
        struct ike_delete_payload d;
        if (in->pl[i].type != IKE_PL_DELETE)
            continue;
        if (ike_delete_decode(in->pl[i].body, &d) < 0)
            return ike_msg_notify_response(e, sa, INFORMATIONAL, h->msg_id, IKE_N_INVALID_SYNTAX,
                                           NULL, 0);
        if (d.proto == IKE_PROTO_IKE) {
            delete_ike = true;
        } else if (d.proto == IKE_PROTO_ESP) {
            saw_esp = true;
            delete_children(e, sa, &d, spis, &n_spis, &from);
        }
    }
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain + IKE_MSG_MAX / 2, IKE_MSG_MAX / 2);
    if (saw_esp && !delete_ike)
        ike_delete_encode(&mb, IKE_PROTO_ESP, 4, spis, n_spis);
    int rc = ike_msg_send_response(e, sa, INFORMATIONAL, h->msg_id, &mb);
    if (saw_esp && !delete_ike)
        ike_timers_peer_child_done(e, sa, now_ms); /* a held IKE rekey may go */
    if (from && !delete_ike)
        recreate_if_crossed(e, from, now_ms); /* after our response: e->plain is free */
    if (delete_ike) {
        ike_log(e, IKE_LOG_INFO, "%s: IKE SA %016llx_%016llx deleted by peer", sa->conn->cfg.name,
                (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
        ike_diag_ike_peer_deleted(e, sa, e->now_ms); /* before our rekey: its IKE lifetime */
        ike_rekey_ike_deleted(e, sa);                /* a rekey's survivor keeps the children */
        struct ike_conn *conn = sa->conn;
        bool restart = !sa->replaced && sa->state == IKE_SA_ESTABLISHED &&
                       conn->cfg.close_action == IKE_DPD_RESTART;
        ike_sa_destroy(e, sa, 0);
        if (restart) /* closeaction=restart: the tunnel is wanted */
            ike_sa_restart(e, conn);
    }
    return rc;
}

/*
 * window.c: message IDs and the request/response discipline (RFC 7296 2.3)
 * with a window of one: we have at most one request outstanding; further
 * work waits in a small per-SA task queue and starts when the response
 * arrives. The bytes of our outstanding request are kept for retransmission
 * (2.1) and the bytes of our last response for the peer's retransmissions.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/err.h"

static void log_sent(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len)
{
    if (!ike_log_on(e, IKE_LOG_INFO) || len < IKE_HDR_LEN)
        return;
    char to[IKE_ENDPOINT_STRLEN];
    ike_log(e, IKE_LOG_INFO, "%s: sending %s %s #%u [%016llx_%016llx] to %s (%zu bytes)",
            sa->conn->cfg.name, ike_exchange_name(msg[18]),
            (msg[19] & IKE_FLAG_RESPONSE) ? "response" : "request", ike_be32(msg + 20),
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
            ike_endpoint_fmt(&sa->remote, to, sizeof(to)), len);
}

int ike_send_request(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len,
                     uint64_t now_ms)
{
    uint8_t *copy = malloc(len);
    if (!copy)
        return IKE_ERR_NOMEM;
    memcpy(copy, msg, len);
    free(sa->out_req);
    sa->out_req = copy;
    sa->out_req_len = len;
    sa->retransmits = 0;
    log_sent(e, sa, msg, len);
    int rc = ike_out_datagram(e, &sa->local, &sa->remote, msg, len);
    ike_timers_request_sent(e, sa, now_ms);
    return rc;
}

int ike_send_response(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len)
{
    uint8_t *copy = realloc(sa->last_resp, len);
    if (!copy)
        return IKE_ERR_NOMEM;
    memcpy(copy, msg, len);
    sa->last_resp = copy;
    sa->last_resp_len = len;
    sa->have_last_resp = true;
    sa->msg_id_in++;
    log_sent(e, sa, msg, len);
    return ike_out_datagram(e, &sa->local, &sa->remote, msg, len);
}

void ike_task_clear(struct ike_engine *e, struct ike_task *t)
{
    if (t->ke)
        e->c->ke_free(t->ke);
    if (t->child && t->child->state == CHILD_CREATING)
        ike_child_release(e, t->child);
    if (t->new_sa && t->new_sa->state == IKE_SA_CREATED)
        ike_sa_destroy(e, t->new_sa, 0); /* an IKE rekey that did not finish */
    ike_wipe(t, sizeof(*t));
}

/* The response to our request arrived and was handled. */
void ike_request_done(struct ike_engine *e, struct ike_sa *sa)
{
    free(sa->out_req);
    sa->out_req = NULL;
    sa->out_req_len = 0;
    sa->retransmit_at_ms = 0;
    sa->retransmits = 0;
    ike_task_clear(e, &sa->out_task);
    sa->msg_id_out++;
    ike_timers_update(e, sa);
}

static int start_task(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    switch (sa->out_task.type) {
    case TASK_CHILD_CREATE:
        return ike_child_build_request(e, sa, &sa->out_task, now_ms);
    case TASK_CHILD_DELETE:
    case TASK_IKE_DELETE:
    case TASK_DPD:
        return ike_info_build_request(e, sa, &sa->out_task, now_ms);
    case TASK_CHILD_REKEY:
        return ike_rekey_child_build_request(e, sa, &sa->out_task, now_ms);
    case TASK_IKE_REKEY:
        return ike_rekey_ike_build_request(e, sa, &sa->out_task, now_ms);
    }
    return IKE_ERR_INVALID_ARG;
}

/* While yielding to the peer's IKE rekey, Child work waits; a rekey of a
 * child whose end of life comes within 0.5 s of the pause's end does not
 * (time for a round trip after it). With 1 s, a child 1.4 s from its end
 * of life went 0.4 s into the pause and met the peer's retry: three mutual
 * refusals (2.25.1, 2.25.2), and the peer's IKE SA expired with every
 * child (seed 87346 --rekey: ikelifetime 42 s, margin 2 s, delays up to
 * 175 ms). */
static bool yield_exempt(struct ike_engine *e, const struct ike_sa *sa, const struct ike_task *t)
{
    if (t->type == TASK_CHILD_CREATE)
        return false;
    if (t->type != TASK_CHILD_REKEY)
        return true;
    const struct ike_child *ch = ike_map_get(&e->child_by_spi, t->del_spi);
    uint64_t eol = ch ? ike_rekey_end_of_life(ch) : 0;
    return eol && eol < sa->yield_until_ms + 500;
}

/* While yielding, bring the first task that may go now to the front (a
 * DELETE of a replaced child must not wait behind a Child rekey: seed
 * 101597); false if none may. */
static bool yield_pick(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->yield_until_ms <= now_ms)
        return true;
    for (uint8_t k = 0; k < sa->n_pending; k++) {
        if (!yield_exempt(e, sa, &sa->pending[k]))
            continue;
        struct ike_task t = sa->pending[k];
        memmove(&sa->pending[1], &sa->pending[0], k * sizeof(sa->pending[0]));
        sa->pending[0] = t;
        return true;
    }
    return false;
}

bool ike_task_has(const struct ike_sa *sa, uint8_t type)
{
    if (sa->out_task.type == type)
        return true;
    for (uint8_t k = 0; k < sa->n_pending; k++)
        if (sa->pending[k].type == type)
            return true;
    return false;
}

/* Start the next queued task if nothing is outstanding. */
void ike_task_next(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    /* A replaced IKE SA still carries its own DELETE, and the question
     * whether the peer still holds it (rekey_ike.c B72). A new one we made as
     * rekey responder waits until the peer has it (rekey_ike.c). */
    if (sa->hold_until_ms > now_ms)
        return;
    while (sa->out_task.type == TASK_NONE && sa->n_pending && yield_pick(e, sa, now_ms) &&
           (sa->state == IKE_SA_ESTABLISHED ||
            (sa->state == IKE_SA_REKEYED &&
             (sa->pending[0].type == TASK_IKE_DELETE || sa->pending[0].type == TASK_DPD)))) {
        sa->out_task = sa->pending[0];
        memmove(&sa->pending[0], &sa->pending[1], --sa->n_pending * sizeof(sa->pending[0]));
        memset(&sa->pending[sa->n_pending], 0, sizeof(sa->pending[0]));
        int rc = start_task(e, sa, now_ms);
        if (rc == IKE_ERR_NO_SA || rc == IKE_ERR_STATE) {
            ike_task_clear(e, &sa->out_task); /* overtaken by events: nothing to do */
        } else if (rc < 0) {
            ike_log(e, IKE_LOG_WARN, "IKE SA %016llx_%016llx: could not start request: %s",
                    (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, ike_err_str(rc));
            ike_task_clear(e, &sa->out_task);
        }
        if (sa->state == IKE_SA_DEAD)
            return;
    }
}

/* Take spi out of a queued DELETE that carries more than one: from its
 * further SPIs, or, if it is the first, the last further one takes its
 * place. A DELETE of spi alone is left to ike_task_drop. */
static void unbatch_delete(struct ike_task *t, uint32_t spi)
{
    for (uint8_t k = 0; k < t->n_more; k++) {
        if (t->more_del[k] == spi) {
            t->more_del[k] = t->more_del[--t->n_more];
            return;
        }
    }
    if (t->del_spi == spi && t->n_more)
        t->del_spi = t->more_del[--t->n_more];
}

bool ike_task_deletes(const struct ike_task *t, uint32_t spi)
{
    for (int k = 0; k <= t->n_more; k++)
        if (ike_task_del_spi(t, k) == spi)
            return true;
    return false;
}

/* Forget a queued (not yet started) task of this type and SPI. */
void ike_task_drop(struct ike_engine *e, struct ike_sa *sa, uint8_t type, uint32_t del_spi)
{
    if (type == TASK_CHILD_DELETE)
        for (uint8_t i = 0; i < sa->n_pending; i++)
            if (sa->pending[i].type == type)
                unbatch_delete(&sa->pending[i], del_spi);
    uint8_t keep = 0;
    for (uint8_t i = 0; i < sa->n_pending; i++) {
        if (sa->pending[i].type == type && sa->pending[i].del_spi == del_spi)
            ike_task_clear(e, &sa->pending[i]);
        else
            sa->pending[keep++] = sa->pending[i];
    }
    for (uint8_t i = keep; i < sa->n_pending; i++)
        memset(&sa->pending[i], 0, sizeof(sa->pending[i]));
    sa->n_pending = keep;
}

/* The queue holds no Child rekey to put back (DELETEs and an IKE rekey,
 * seed 5779: the DELETE of the SA our rekey had just replaced was lost,
 * and the peer kept it REKEYED until its passive timeout): the child's
 * delete timer asks again in a second. A child already gone needs none. */
static void delete_later(struct ike_engine *e, struct ike_sa *sa, uint32_t spi, uint64_t now_ms)
{
    struct ike_child *ch = ike_map_get(&e->child_by_spi, spi);
    if (!ch || ch->ike != sa || (ch->delete_at_ms && ch->delete_at_ms <= now_ms + 1000))
        return;
    ch->delete_at_ms = now_ms + 1000;
    ike_timers_update(e, sa);
}

/* A DELETE must never be lost to a full queue (a rekey of every child at
 * once fills it, and the old SAs' DELETEs then went nowhere: seed
 * 1013851). Room is made by putting back the last queued Child rekey,
 * which its rekey timer starts again a second later. */
static bool make_room_for_delete(struct ike_engine *e, struct ike_sa *sa, const struct ike_task *t,
                                 uint64_t now_ms)
{
    if (t->type != TASK_CHILD_DELETE && t->type != TASK_IKE_DELETE)
        return false;
    for (int i = sa->n_pending - 1; i >= 0; i--) {
        if (sa->pending[i].type != TASK_CHILD_REKEY)
            continue;
        struct ike_child *ch = ike_map_get(&e->child_by_spi, sa->pending[i].del_spi);
        if (ch && ch->ike == sa && ch->state == CHILD_INSTALLED)
            ch->rekey_at_ms = ike_rekey_requeue_at(ch->expire_at_ms, now_ms);
        ike_task_drop(e, sa, TASK_CHILD_REKEY, sa->pending[i].del_spi);
        ike_timers_update(e, sa);
        return true;
    }
    return false;
}

/* The queue is full and a Child SA is to be deleted: a queued DELETE
 * takes it in, as one INFORMATIONAL may delete several Child SAs (RFC
 * 7296 1.4.1). Several children replaced at once (our lost rekey
 * collisions, each redundant SA deleted when the peer's survivor is
 * confirmed) filled the queue with DELETEs, and the DELETE of a child
 * our own rekey had just replaced waited a second in REKEYED with
 * nothing under way (seed 1381 --rekey --without outage,loss). */
static bool join_queued_delete(struct ike_sa *sa, const struct ike_task *t)
{
    for (uint8_t i = 0; i < sa->n_pending; i++) {
        struct ike_task *p = &sa->pending[i];
        if (p->type == TASK_CHILD_DELETE && p->resend == t->resend &&
            p->n_more < IKE_DELETE_BATCH) {
            p->more_del[p->n_more++] = t->del_spi;
            return true;
        }
    }
    return false;
}

int ike_task_queue(struct ike_engine *e, struct ike_sa *sa, const struct ike_task *t,
                   uint64_t now_ms)
{
    for (uint8_t i = 0; i < sa->n_pending; i++) {
        /* One DPD or IKE delete in the queue is enough. */
        if (sa->pending[i].type == t->type &&
            (t->type == TASK_DPD || t->type == TASK_IKE_DELETE ||
             (t->type == TASK_CHILD_DELETE && ike_task_deletes(&sa->pending[i], t->del_spi))))
            return 0;
    }
    if (sa->out_task.type == t->type &&
        (t->type == TASK_IKE_DELETE || t->type == TASK_IKE_REKEY ||
         (t->type == TASK_CHILD_REKEY && sa->out_task.del_spi == t->del_spi)))
        return 0; /* already running */
    for (uint8_t i = 0; i < sa->n_pending; i++)
        if (sa->pending[i].type == t->type &&
            (t->type == TASK_IKE_REKEY ||
             (t->type == TASK_CHILD_REKEY && sa->pending[i].del_spi == t->del_spi)))
            return 0;
    if (sa->n_pending == IKE_PENDING_TASKS && t->type == TASK_CHILD_DELETE &&
        join_queued_delete(sa, t))
        return 0;
    if (sa->n_pending == IKE_PENDING_TASKS && !make_room_for_delete(e, sa, t, now_ms)) {
        if (t->type == TASK_CHILD_DELETE)
            delete_later(e, sa, t->del_spi, now_ms);
        return IKE_ERR_BUSY;
    }
    sa->pending[sa->n_pending++] = *t;
    ike_task_next(e, sa, now_ms);
    return 0;
}

/*
 * recv.c: from a received datagram to exactly one verdict.
 *
 * Order of checks, cheapest and least trusting first: header syntax, the
 * SA its SPIs name, the message-ID window (RFC 7296 2.3), the payload
 * chain, the SK payload's integrity check, the per-exchange payload rules;
 * only then an exchange handler sees the message. Any failure before the
 * handler drops the datagram and leaves every SA as it was.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* The verdict for a datagram we do not act on: logged, never answered. */
static int drop(struct ike_engine *e, const struct ike_endpoint *from, const char *why, int rc)
{
    char f[IKE_ENDPOINT_STRLEN];
    ike_log(e, IKE_LOG_INFO, "dropped datagram from %s: %s (%s)",
            from ? ike_endpoint_fmt(from, f, sizeof(f)) : "peer", why, ike_err_str(rc));
    return rc;
}

static void log_received(struct ike_engine *e, const struct ike_hdr *h, size_t len,
                         const struct ike_endpoint *from)
{
    if (!ike_log_on(e, IKE_LOG_INFO))
        return;
    char f[IKE_ENDPOINT_STRLEN];
    ike_log(e, IKE_LOG_INFO, "received %s %s #%u [%016llx_%016llx] from %s (%zu bytes)",
            ike_exchange_name(h->exchange), (h->flags & IKE_FLAG_RESPONSE) ? "response" : "request",
            h->msg_id, (unsigned long long)h->spi_i, (unsigned long long)h->spi_r,
            ike_endpoint_fmt(from, f, sizeof(f)), len);
}

/* Decode the outer chain, decrypt SK, check the payload rules. */
static int open_message(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                        const uint8_t *data, size_t len, struct ike_payload_list *inner)
{
    struct ike_payload_list outer;
    uint8_t bad_type = 0;
    int rc = ike_payloads_decode(h->next_payload, data + IKE_HDR_LEN, len - IKE_HDR_LEN, &outer,
                                 &bad_type);
    if (rc < 0)
        return rc;
    rc = ike_msg_open(e, sa, data, len, &outer, inner);
    if (rc < 0)
        return rc;
    enum ike_msg_kind kind = (h->flags & IKE_FLAG_RESPONSE) ? IKE_MSG_RESPONSE : IKE_MSG_REQUEST;
    return ike_payload_rules_check(h->exchange, kind, &outer, inner);
}

static bool same_addr(const struct ike_addr *a, const struct ike_addr *b)
{
    size_t n = a->family == IKE_AF_INET6 ? 16 : 4;
    return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/*
 * RFC 7296 2.23: once a peer moves an IKE SA to the NAT-T port (strongSwan
 * does so from IKE_AUTH on even without a NAT), every later message of
 * ours goes there too, responses included (2.11: to the port the request
 * came from). Answering on 500 instead makes strongSwan see an endpoint
 * change and re-install every Child SA (delete + add), which drops ESP
 * packets. Only an authenticated message may move the SA, and only the
 * ports follow here (no address mobility).
 */
static void follow_peer_port(struct ike_engine *e, struct ike_sa *sa,
                             const struct ike_endpoint *from, const struct ike_endpoint *to)
{
    if (!to || (to->port == sa->local.port && from->port == sa->remote.port))
        return;
    if (!same_addr(&to->addr, &sa->local.addr) || !same_addr(&from->addr, &sa->remote.addr))
        return;
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: peer moved to ports %u -> %u (RFC 7296 2.23)",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, from->port, to->port);
    sa->local.port = to->port;
    sa->remote.port = from->port;
}

static int recv_response(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                         const uint8_t *data, size_t len, const struct ike_endpoint *from,
                         const struct ike_endpoint *to, uint64_t now_ms)
{
    if (sa->out_task.type == TASK_NONE || h->msg_id != sa->msg_id_out)
        return drop(e, from, "response to no outstanding request", IKE_ERR_WINDOW);
    if (h->exchange == IKE_SA_INIT)
        return ike_init_process_response(e, sa, h, data, len, now_ms);
    struct ike_payload_list inner;
    int rc = open_message(e, sa, h, data, len, &inner);
    if (rc < 0)
        return drop(e, from, "response failed to open", rc);
    follow_peer_port(e, sa, from, to);
    if (sa->out_task.type == TASK_IKE_AUTH && sa->setup && sa->retransmits)
        sa->setup->auth_resent = true; /* the answer may be a cached one (2.1) */
    ike_timers_response_received(e, sa, now_ms);
    switch (sa->out_task.type) {
    case TASK_IKE_AUTH:
        return ike_auth_process_response(e, sa, &inner, now_ms);
    case TASK_CHILD_CREATE:
        return ike_child_process_response(e, sa, &inner, now_ms);
    case TASK_CHILD_REKEY:
        return ike_rekey_child_process_response(e, sa, &inner, now_ms);
    case TASK_IKE_REKEY:
        return ike_rekey_ike_process_response(e, sa, &inner, now_ms);
    default:
        return ike_info_process_response(e, sa, &inner, now_ms);
    }
}

static int recv_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                        const uint8_t *data, size_t len, const struct ike_endpoint *from,
                        const struct ike_endpoint *to, uint64_t now_ms)
{
    if (sa->have_last_resp && h->msg_id + 1 == sa->msg_id_in) {
        /* RFC 7296 2.1: a retransmitted request gets the same response. */
        ike_log(e, IKE_LOG_INFO, "request #%u retransmitted by peer, resending response",
                h->msg_id);
        ike_out_datagram(e, &sa->local, &sa->remote, sa->last_resp, sa->last_resp_len);
        ike_rekey_peer_retransmits(e, sa, now_ms);
        /* Unconfirmed children of ours that the peer made are the ones
         * this response made (a new request confirms all, window size 1):
         * the peer lacks them, it never got the answer (rekey.c). */
        for (struct ike_child *c = sa->children; c; c = c->next)
            if (!c->we_initiated && !c->confirmed)
                c->answer_lost = true;
        return 0;
    }
    if (h->msg_id != sa->msg_id_in)
        return drop(e, from, "request outside the window", IKE_ERR_WINDOW);
    bool auth_ok = h->exchange == IKE_AUTH && sa->state == IKE_SA_INIT_DONE;
    bool est_ok = h->exchange != IKE_AUTH && h->exchange != IKE_SA_INIT &&
                  (sa->state == IKE_SA_ESTABLISHED || sa->state == IKE_SA_DELETING ||
                   sa->state == IKE_SA_REKEYED);
    if (!auth_ok && !est_ok)
        return drop(e, from, "request not valid in this state", IKE_ERR_STATE);
    struct ike_payload_list inner;
    int rc = open_message(e, sa, h, data, len, &inner);
    if (rc < 0)
        return drop(e, from, "request failed to open", rc);
    follow_peer_port(e, sa, from, to);
    ike_timers_heard(e, sa, now_ms);
    if (sa->rekey_old)
        ike_rekey_peer_on_new(e, sa); /* a 2.8.2 collision undecided here (B81) */
    /* Window size 1: a new request means the peer has our last response,
     * so a new SA we answered with is installed at its end. Move outbound
     * traffic off SAs it replaced (the DELETE of the old SA may be lost). */
    for (struct ike_child *c = sa->children; c; c = c->next)
        ike_child_confirm(e, c);
    for (struct ike_child *c = sa->children; c; c = c->next)
        if (c->state == CHILD_REKEYED)
            ike_child_unpin(e, c);
    switch (h->exchange) {
    case IKE_AUTH:
        return ike_auth_process_request(e, sa, h, &inner, now_ms);
    case CREATE_CHILD_SA:
        return ike_child_process_request(e, sa, h, &inner, now_ms);
    case INFORMATIONAL:
        return ike_info_process_request(e, sa, h, &inner, now_ms);
    }
    return drop(e, from, "unknown exchange type", IKE_ERR_INVALID_SYNTAX);
}

int ike_engine_recv(struct ike_engine *e, const uint8_t *data, size_t len,
                    const struct ike_endpoint *from, const struct ike_endpoint *to, uint64_t now_ms)
{
    e->now_ms = now_ms;
    struct ike_hdr h;
    int rc = ike_hdr_decode(data, len, &h);
    if (rc < 0)
        return drop(e, from, "bad IKE header", rc);
    log_received(e, &h, len, from);
    bool response = h.flags & IKE_FLAG_RESPONSE;
    if (!response && h.exchange == IKE_SA_INIT && h.spi_r == 0)
        return ike_init_process_request(e, &h, data, len, from, to, now_ms);
    /* The I flag marks the original initiator as sender; our SPI is the
     * other one (RFC 7296 3.1). */
    uint64_t ours = (h.flags & IKE_FLAG_INITIATOR) ? h.spi_r : h.spi_i;
    struct ike_sa *sa = ike_sa_find(e, ours);
    if (!sa || sa->state == IKE_SA_DEAD)
        return drop(e, from, "no IKE SA for these SPIs", IKE_ERR_NO_SA);
    bool peer_is_initiator = h.flags & IKE_FLAG_INITIATOR;
    if (peer_is_initiator == sa->initiator)
        return drop(e, from, "initiator flag does not match the SA's role", IKE_ERR_INVALID_SYNTAX);
    uint64_t peer_spi = sa->initiator ? h.spi_r : h.spi_i;
    uint64_t known = sa->initiator ? sa->spi_r : sa->spi_i;
    if (known && peer_spi != known)
        return drop(e, from, "peer SPI does not match the SA", IKE_ERR_NO_SA);
    if (response)
        return recv_response(e, sa, &h, data, len, from, to, now_ms);
    return recv_request(e, sa, &h, data, len, from, to, now_ms);
}

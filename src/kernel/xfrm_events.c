/*
 * xfrm_events.c: the XFRM event socket. Subscribes to XFRMNLGRP_EXPIRE
 * (soft/hard EXPIRE and POLEXPIRE are both multicast there) and
 * XFRMNLGRP_ACQUIRE, reads whatever is pending without blocking and hands
 * back parsed struct ike_kernel_event values; the daemon polls its fd.
 *
 * It never blocks and never drops an event it has read: messages that do
 * not fit in the caller's array stay in an internal buffer for the next
 * call. A socket overflow (ENOBUFS) is reported, not hidden.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdlib.h>
#include <string.h>

#include "ike/err.h"
#include "ike/xfrm.h"

struct ike_xfrm_events {
    struct mnl_socket *nl;
    size_t len, off; /* pending bytes in buf[off..len) */
    _Alignas(8) uint8_t buf[32768];
};

int ike_xfrm_events_new(struct ike_xfrm_events **out)
{
    static const unsigned groups[] = {XFRMNLGRP_EXPIRE, XFRMNLGRP_ACQUIRE};
    struct ike_xfrm_events *e = calloc(1, sizeof(*e));
    int fl;

    if (!e)
        return IKE_ERR_NOMEM;
    e->nl = mnl_socket_open(NETLINK_XFRM);
    if (!e->nl || mnl_socket_bind(e->nl, 0, MNL_SOCKET_AUTOPID) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        unsigned g = groups[i];
        if (mnl_socket_setsockopt(e->nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
            goto fail;
    }
    fl = fcntl(mnl_socket_get_fd(e->nl), F_GETFL);
    if (fl < 0 || fcntl(mnl_socket_get_fd(e->nl), F_SETFL, fl | O_NONBLOCK) < 0)
        goto fail;
    *out = e;
    return 0;
fail:
    ike_xfrm_events_free(e);
    return IKE_ERR_IO;
}

int ike_xfrm_events_fd(const struct ike_xfrm_events *e)
{
    return mnl_socket_get_fd(e->nl);
}

/* Parse pending messages from the buffer into ev; returns how many. */
static size_t drain(struct ike_xfrm_events *e, struct ike_kernel_event *ev, size_t cap)
{
    size_t n = 0;

    while (n < cap && e->off < e->len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(e->buf + e->off);
        int left = (int)(e->len - e->off);
        if (!mnl_nlmsg_ok(nlh, left)) {
            e->off = e->len = 0; /* garbage: drop the rest of this datagram */
            break;
        }
        if (ike_xfrm_parse_event(nlh, (size_t)left, &ev[n]) == 0)
            n++;
        e->off +=
            NLMSG_ALIGN(nlh->nlmsg_len) < (size_t)left ? NLMSG_ALIGN(nlh->nlmsg_len) : (size_t)left;
    }
    if (e->off >= e->len)
        e->off = e->len = 0;
    return n;
}

int ike_xfrm_events_read(struct ike_xfrm_events *e, struct ike_kernel_event *ev, size_t cap,
                         bool *lost)
{
    size_t n = 0;

    if (!e || (cap && !ev))
        return IKE_ERR_INVALID_ARG;
    if (lost)
        *lost = false;
    for (;;) {
        ssize_t got;
        n += drain(e, ev + n, cap - n);
        if (n == cap)
            break;
        got = mnl_socket_recvfrom(e->nl, e->buf, sizeof(e->buf));
        if (got < 0) {
            if (errno == ENOBUFS) { /* the kernel dropped events */
                if (lost)
                    *lost = true;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            return IKE_ERR_IO;
        }
        e->len = (size_t)got;
        e->off = 0;
    }
    return (int)n;
}

void ike_xfrm_events_free(struct ike_xfrm_events *e)
{
    if (!e)
        return;
    if (e->nl)
        mnl_socket_close(e->nl);
    free(e);
}

/*
 * udp.c: the IKE sockets: UDP on the IKE port (500) and the NAT-T port
 * (4500), IPv4 and IPv6, each read from libev.
 *
 * The local address of every datagram comes from IP_PKTINFO /
 * IPV6_RECVPKTINFO, and replies leave with that same source (sendmsg with
 * pktinfo), so a multi-homed host answers from the address it was asked
 * on (RFC 7296 2.11). On the NAT-T port IKE carries the four-byte non-ESP
 * marker (RFC 3948 2.2): stripped on receive, added on send; IKE on 4500
 * is always accepted (strongSwan moves there after IKE_SA_INIT even
 * without a NAT). Must not parse IKE: bytes go to the engine as they are.
 */
#include <errno.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ike/err.h"
#include "rekeyd.h"

#define RECV_BATCH 64 /* datagrams per wakeup, so one socket cannot starve the rest */
/* A hub's peers arrive in bursts (all of them after a restart, or a rekey
 * wave): the default receive buffer (rmem_default, 208 KiB) holds only
 * ~200 small datagrams, and the udp-bench with 900 exchanges outstanding
 * lost 1 in 4 of them to it (then 4 s retransmit waits). Memory is taken
 * only while datagrams are queued. */
#define RCVBUF_BYTES (4 << 20)
#define DGRAM_MAX    65536

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

static uint8_t rbuf[DGRAM_MAX];

static void to_endpoint(const struct sockaddr_storage *ss, struct ike_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        ep->addr.family = IKE_AF_INET;
        memcpy(ep->addr.bytes, &s4->sin_addr, 4);
        ep->port = ntohs(s4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        ep->addr.family = IKE_AF_INET6;
        memcpy(ep->addr.bytes, &s6->sin6_addr, 16);
        ep->port = ntohs(s6->sin6_port);
    }
}

static socklen_t to_sockaddr(const struct ike_endpoint *ep, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (ep->addr.family == IKE_AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(ep->port);
        memcpy(&s4->sin_addr, ep->addr.bytes, 4);
        return sizeof(*s4);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(ep->port);
    memcpy(&s6->sin6_addr, ep->addr.bytes, 16);
    return sizeof(*s6);
}

/* The destination address of a received datagram (our local address). */
static bool local_addr(struct msghdr *mh, struct ike_addr *a)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            a->family = IKE_AF_INET;
            memcpy(a->bytes, &pi.ipi_addr, 4);
            return true;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            a->family = IKE_AF_INET6;
            memcpy(a->bytes, &pi.ipi6_addr, 16);
            return true;
        }
    }
    return false;
}

/* One datagram to the engine; false when the socket is drained. */
static bool recv_one(struct rekeyd *d, struct rd_sock *s)
{
    struct sockaddr_storage from;
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {rbuf, sizeof(rbuf)};
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof(from),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf.buf,
                        .msg_controllen = sizeof(cbuf.buf)};
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0)
        return errno == EINTR;
    struct ike_endpoint src, dst;
    memset(&dst, 0, sizeof(dst));
    to_endpoint(&from, &src);
    if (!local_addr(&mh, &dst.addr) || (mh.msg_flags & MSG_TRUNC))
        return true; /* no pktinfo or truncated: cannot answer correctly */
    dst.port = s->port;
    const uint8_t *p = rbuf;
    size_t len = (size_t)n;
    if (s->natt) {
        /* RFC 3948 2.2: IKE behind four zero octets; anything else on
         * this socket is ESP (the kernel's business) or a keepalive. */
        static const uint8_t marker[IKE_NON_ESP_MARKER_LEN] = {0};
        if (len < IKE_NON_ESP_MARKER_LEN || memcmp(p, marker, sizeof(marker)))
            return true;
        p += IKE_NON_ESP_MARKER_LEN;
        len -= IKE_NON_ESP_MARKER_LEN;
    }
    ike_engine_recv(d->eng, p, len, &src, &dst, rd_now_ms());
    rd_after_engine(d);
    return true;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rd_sock *s = w->data;
    struct rekeyd *d = ev_userdata(loop);
    for (int i = 0; i < RECV_BATCH && recv_one(d, s); i++)
        ;
}

static int open_one(struct rekeyd *d, struct rd_sock *s, int family, uint16_t port, bool natt)
{
    int one = 1;
    s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return IKE_ERR_IO;
    s->family = family;
    s->port = port;
    s->natt = natt;
    int ok = setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET)
        ok |= setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    else
        ok |= setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) |
              setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    struct ike_endpoint any = {.addr.family = family == AF_INET ? IKE_AF_INET : IKE_AF_INET6,
                               .port = port};
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(&any, &ss);
    int rcvbuf = RCVBUF_BYTES; /* FORCE passes rmem_max with CAP_NET_ADMIN */
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)); /* up to rmem_max */
    if (ok < 0 || bind(s->fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;
        close(s->fd);
        s->fd = -1;
        errno = e;
        return IKE_ERR_IO;
    }
    if (natt && !d->o.kernel_memory) {
        /* Let the kernel decapsulate ESP-in-UDP on this socket; IKE with
         * the marker still reaches us (RFC 3948). */
        int encap = UDP_ENCAP_ESPINUDP;
        if (setsockopt(s->fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap)) < 0)
            rd_log(IKE_LOG_WARN, "UDP_ENCAP on port %u: %s", port, strerror(errno));
    }
    ev_io_init(&s->io, on_readable, s->fd, EV_READ);
    s->io.data = s;
    ev_io_start(d->loop, &s->io);
    return 0;
}

int rd_udp_open(struct rekeyd *d)
{
    static const int fam[RD_N_SOCKS] = {AF_INET, AF_INET, AF_INET6, AF_INET6};
    for (int i = 0; i < RD_N_SOCKS; i++) {
        bool natt = i & 1;
        uint16_t port = natt ? d->o.natt_port : d->o.port;
        if (open_one(d, &d->socks[i], fam[i], port, natt) == 0)
            continue;
        const char *fname = fam[i] == AF_INET ? "IPv4" : "IPv6";
        if (fam[i] == AF_INET) {
            rd_log(IKE_LOG_ERROR, "cannot bind UDP %s port %u: %s", fname, port, strerror(errno));
            return IKE_ERR_IO;
        }
        rd_log(IKE_LOG_WARN, "no %s on UDP port %u: %s", fname, port, strerror(errno));
    }
    return 0;
}

void rd_udp_close(struct rekeyd *d)
{
    for (int i = 0; i < RD_N_SOCKS; i++) {
        if (d->socks[i].fd < 0)
            continue;
        ev_io_stop(d->loop, &d->socks[i].io);
        close(d->socks[i].fd);
        d->socks[i].fd = -1;
    }
}

static struct rd_sock *pick_sock(struct rekeyd *d, const struct ike_endpoint *src,
                                 const struct ike_endpoint *dst)
{
    int base = dst->addr.family == IKE_AF_INET ? 0 : 2;
    /* The engine picks the source port: ours of 4500 means NAT-T framing. */
    struct rd_sock *s = &d->socks[base + (src->port == d->o.natt_port ? 1 : 0)];
    return s->fd >= 0 ? s : NULL;
}

static bool addr_unspecified(const struct ike_addr *a)
{
    static const uint8_t zero[16];
    return !a->family || !memcmp(a->bytes, zero, a->family == IKE_AF_INET ? 4 : 16);
}

void rd_udp_send(struct rekeyd *d, const struct ike_endpoint *src, const struct ike_endpoint *dst,
                 const uint8_t *data, size_t len)
{
    struct rd_sock *s = pick_sock(d, src, dst);
    if (!s) {
        rd_log(IKE_LOG_WARN, "no socket to send to this address family");
        return;
    }
    static const uint8_t marker[IKE_NON_ESP_MARKER_LEN] = {0};
    struct iovec iov[2] = {{(void *)marker, sizeof(marker)}, {(void *)data, len}};
    struct sockaddr_storage to;
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    memset(&cbuf, 0, sizeof(cbuf));
    struct msghdr mh = {.msg_name = &to,
                        .msg_namelen = to_sockaddr(dst, &to),
                        .msg_iov = s->natt ? iov : iov + 1,
                        .msg_iovlen = s->natt ? 2 : 1};
    if (!addr_unspecified(&src->addr) && src->addr.family == dst->addr.family) {
        mh.msg_control = cbuf.buf;
        struct cmsghdr *c = &cbuf.align;
        if (src->addr.family == IKE_AF_INET) {
            struct in_pktinfo pi = {0};
            memcpy(&pi.ipi_spec_dst, src->addr.bytes, 4);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            mh.msg_controllen = CMSG_SPACE(sizeof(pi));
        } else {
            struct in6_pktinfo pi = {0};
            memcpy(&pi.ipi6_addr, src->addr.bytes, 16);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            mh.msg_controllen = CMSG_SPACE(sizeof(pi));
        }
    }
    if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0) {
        char a[IKE_ENDPOINT_STRLEN];
        rd_log(IKE_LOG_WARN, "send to %s failed: %s", ike_endpoint_fmt(dst, a, sizeof(a)),
               strerror(errno));
    }
}

bool rd_udp_route_src(const struct ike_addr *dst, struct ike_addr *src)
{
    struct ike_endpoint ep = {.addr = *dst, .port = 500};
    struct sockaddr_storage ss, me;
    socklen_t sl = to_sockaddr(&ep, &ss), ml = sizeof(me);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
              getsockname(fd, (struct sockaddr *)&me, &ml) == 0;
    if (fd >= 0)
        close(fd);
    if (ok) {
        struct ike_endpoint l;
        to_endpoint(&me, &l);
        *src = l.addr;
    }
    return ok;
}

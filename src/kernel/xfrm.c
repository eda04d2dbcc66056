/*
 * xfrm.c: the Linux XFRM backend: struct ike_kernel_backend over a libmnl
 * netlink socket (requests with NLM_F_ACK, sequence numbers checked by
 * mnl_cb_run2), kernel errors turned into IKE_ERR_KERNEL_* plus a sentence
 * naming the op, the SA/policy, the errno and the kernel's extended-ACK
 * text; dumps and flush for tests and tools.
 *
 * Request buffers hold key bytes: they are wiped after every send, and
 * NETLINK_CAP_ACK keeps the kernel from echoing a request back in its error.
 * The event socket lives in xfrm_events.c.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "ike/err.h"
#include "ike/xfrm.h"
#include "kernel_int.h"

struct xfrm_ctx {
    struct mnl_socket *nl;
    uint32_t portid, seq;
    char err[768]; /* room for every part of set_error() */
    char ext[192]; /* extended-ACK text of the last error */
    int err_no;    /* errno of the last NLMSG_ERROR */
    /* dump/reply delivery */
    int (*msg_cb)(const struct nlmsghdr *nlh, void *arg);
    void *msg_arg;
    _Alignas(8) uint8_t req[IKE_XFRM_MSG_MAX];
    _Alignas(8) uint8_t rx[32768]; /* MNL_SOCKET_DUMP_SIZE: dumps come in 16-32 KiB chunks */
};

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
    struct xfrm_ctx *c = data;
    int e = 0;

    if (ike_xfrm_parse_error(nlh, nlh->nlmsg_len, &e, c->ext, sizeof(c->ext)) < 0)
        e = EPROTO;
    c->err_no = e;
    if (e == 0)
        return MNL_CB_STOP; /* the ACK */
    errno = e;
    return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
    (void)nlh;
    (void)data;
    return MNL_CB_STOP; /* end of a dump */
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
    (void)nlh;
    (void)data;
    return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
    struct xfrm_ctx *c = data;
    return c->msg_cb ? c->msg_cb(nlh, c->msg_arg) : MNL_CB_OK;
}

/* Send the request in c->req (len bytes) and read until its ACK, error or
 * the end of a dump. Returns 0 or the positive errno. */
static int transact(struct xfrm_ctx *c, size_t len)
{
    /* With a control array, libmnl ignores the types it leaves NULL. */
    static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
        [NLMSG_NOOP] = noop_cb, [NLMSG_ERROR] = error_cb, [NLMSG_DONE] = done_cb};
    uint32_t seq = ((struct nlmsghdr *)c->req)->nlmsg_seq;
    ssize_t n;
    int rc;

    c->err_no = 0;
    c->ext[0] = '\0';
    n = mnl_socket_sendto(c->nl, c->req, len);
    explicit_bzero(c->req, len);
    if (n < 0)
        return errno;
    do {
        n = mnl_socket_recvfrom(c->nl, c->rx, sizeof(c->rx));
        if (n < 0)
            return errno == EAGAIN ? ETIMEDOUT : errno;
        rc = mnl_cb_run2(c->rx, (size_t)n, seq, c->portid, data_cb, c, (mnl_cb_t *)ctl,
                         NLMSG_MIN_TYPE);
        explicit_bzero(c->rx, (size_t)n); /* replies can carry keys */
    } while (rc > 0);
    if (rc < 0)
        return c->err_no ? c->err_no : (errno ? errno : EPROTO);
    return 0;
}

static const char *errname(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

/* Map errno to IKE_ERR_* for an op on an SA (sa = true) or a policy. */
static int map_errno(int e, bool sa)
{
    switch (e) {
    case EEXIST:
        return IKE_ERR_KERNEL_EXISTS;
    case ESRCH:
        return IKE_ERR_KERNEL_NOENT;
    case ENOENT:
        return sa ? IKE_ERR_KERNEL_ALG : IKE_ERR_KERNEL_NOENT; /* crypto_alloc_* */
    case EPROTONOSUPPORT:
        return sa ? IKE_ERR_KERNEL_NOESP : IKE_ERR_KERNEL;
    case ENOSYS:
        return IKE_ERR_KERNEL_ALG; /* xfrm_*_get_byname: not in this kernel */
    case ENOMEM:
    case ENOBUFS:
        return IKE_ERR_NOMEM;
    }
    return IKE_ERR_KERNEL;
}

/* "cbc(aes)+hmac(sha256)" or "rfc4106(gcm(aes))" for messages. */
static void alg_names(const struct ike_kernel_sa *sa, char *buf, size_t cap)
{
    struct ike_xfrm_alg e, a;

    if (ike_xfrm_alg_encr(sa->encr_id, &e) < 0) {
        snprintf(buf, cap, "ENCR %u", sa->encr_id);
        return;
    }
    if (!e.aead && ike_xfrm_alg_integ(sa->integ_id, &a) == 0)
        snprintf(buf, cap, "%s+%s", e.name, a.name);
    else
        snprintf(buf, cap, "%s", e.name);
}

/* The reason in words, into buf. */
static void why(const struct xfrm_ctx *c, int rc, const struct ike_kernel_op *op, char *buf,
                size_t cap)
{
    char alg[96];

    switch (rc) {
    case IKE_ERR_KERNEL_NOESP:
        snprintf(buf, cap, "no ESP in this kernel");
        return;
    case IKE_ERR_KERNEL_EXISTS:
        snprintf(buf, cap, "already exists");
        return;
    case IKE_ERR_KERNEL_NOENT:
        snprintf(buf, cap, "not found");
        return;
    case IKE_ERR_KERNEL_ALG:
        alg_names(&op->u.sa, alg, sizeof(alg));
        snprintf(buf, cap, "algorithm %s not available in this kernel", alg);
        return;
    }
    if (c->err_no == EPERM)
        snprintf(buf, cap, "not permitted (needs CAP_NET_ADMIN)");
    else
        snprintf(buf, cap, c->err_no == EINVAL ? "kernel refused the parameters" : "failed");
}

static void set_error(struct xfrm_ctx *c, const struct ike_kernel_op *op, int rc)
{
    char what[320], reason[160];

    ike_kernel_op_describe(op, what, sizeof(what));
    why(c, rc, op, reason, sizeof(reason));
    snprintf(c->err, sizeof(c->err), "%s: %s (%s%s%s)", what, reason, errname(c->err_no),
             c->ext[0] ? ": " : "", c->ext);
}

static int apply(void *ctx, const struct ike_kernel_op *op)
{
    struct xfrm_ctx *c = ctx;
    int len, e, rc;
    bool sa;

    len = ike_xfrm_build_op(c->req, sizeof(c->req), ++c->seq, op);
    if (len < 0) {
        char what[320] = "op";
        if (op)
            ike_kernel_op_describe(op, what, sizeof(what));
        snprintf(c->err, sizeof(c->err), "%s: cannot build the request (%s)", what,
                 ike_err_str(len));
        return len;
    }
    e = transact(c, (size_t)len);
    if (e == 0)
        return 0;
    c->err_no = e;
    sa = op->type == IKE_KOP_ADD_SA || op->type == IKE_KOP_UPDATE_SA || op->type == IKE_KOP_DEL_SA;
    rc = map_errno(e, sa);
    if (rc == IKE_ERR_KERNEL_ALG && op->type == IKE_KOP_DEL_SA)
        rc = IKE_ERR_KERNEL_NOENT;
    set_error(c, op, rc);
    return rc;
}

struct spi_reply {
    uint32_t spi;
    bool got;
};

static int spi_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct spi_reply *r = arg;
    struct ike_kernel_sa sa;

    if (ike_xfrm_parse_sa(nlh, nlh->nlmsg_len, &sa, NULL) == 0) {
        r->spi = sa.id.spi;
        r->got = true;
    }
    return MNL_CB_OK;
}

static int alloc_spi(void *ctx, const struct ike_addr *src, const struct ike_addr *dst,
                     uint32_t min, uint32_t max, uint32_t *spi)
{
    struct xfrm_ctx *c = ctx;
    struct spi_reply r = {0, false};
    char s[IKE_KERNEL_ADDR_STRLEN], d[IKE_KERNEL_ADDR_STRLEN];
    int len = ike_xfrm_build_alloc_spi(c->req, sizeof(c->req), ++c->seq, src, dst, min, max);
    int e;

    if (len < 0 || !spi)
        return len < 0 ? len : IKE_ERR_INVALID_ARG;
    c->msg_cb = spi_cb;
    c->msg_arg = &r;
    e = transact(c, (size_t)len);
    c->msg_cb = NULL;
    if (e == 0 && r.got && r.spi >= min && r.spi <= max) {
        *spi = r.spi;
        return 0;
    }
    c->err_no = e ? e : EPROTO;
    snprintf(c->err, sizeof(c->err), "ALLOCSPI %s->%s in 0x%08x-0x%08x: %s (%s%s%s)",
             ike_kernel_fmt_addr(src, s, sizeof(s)), ike_kernel_fmt_addr(dst, d, sizeof(d)), min,
             max, e == ENOENT ? "no free SPI in the range" : "failed", errname(c->err_no),
             c->ext[0] ? ": " : "", c->ext);
    return e == ENOENT ? IKE_ERR_KERNEL : map_errno(c->err_no, false);
}

struct stats_reply {
    struct ike_sa_stats *st;
    bool got;
};

static int stats_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct stats_reply *r = arg;
    if (ike_xfrm_parse_sa(nlh, nlh->nlmsg_len, NULL, r->st) == 0)
        r->got = true;
    return MNL_CB_OK;
}

static int get_stats(void *ctx, const struct ike_sa_id *id, struct ike_sa_stats *st)
{
    struct xfrm_ctx *c = ctx;
    struct stats_reply r = {st, false};
    char d[IKE_KERNEL_ADDR_STRLEN];
    int len = ike_xfrm_build_get_sa(c->req, sizeof(c->req), ++c->seq, id);
    int e;

    if (len < 0 || !st)
        return len < 0 ? len : IKE_ERR_INVALID_ARG;
    c->msg_cb = stats_cb;
    c->msg_arg = &r;
    e = transact(c, (size_t)len);
    c->msg_cb = NULL;
    if (e == 0 && r.got)
        return 0;
    c->err_no = e ? e : EPROTO;
    snprintf(c->err, sizeof(c->err), "GETSA esp spi 0x%08x dst %s: %s (%s)", id->spi,
             ike_kernel_fmt_addr(&id->dst, d, sizeof(d)), e == ESRCH ? "not found" : "failed",
             errname(c->err_no));
    return e == ESRCH || e == ENOENT ? IKE_ERR_KERNEL_NOENT : map_errno(c->err_no, false);
}

static const char *last_error(void *ctx)
{
    return ((struct xfrm_ctx *)ctx)->err;
}

static void destroy(void *ctx)
{
    struct xfrm_ctx *c = ctx;
    if (!c)
        return;
    if (c->nl)
        mnl_socket_close(c->nl);
    explicit_bzero(c, sizeof(*c));
    free(c);
}

int ike_xfrm_backend_new(struct ike_kernel_backend *be)
{
    struct xfrm_ctx *c = calloc(1, sizeof(*c));
    struct timeval tv = {.tv_sec = 5};
    int one = 1;

    if (!c)
        return IKE_ERR_NOMEM;
    c->nl = mnl_socket_open(NETLINK_XFRM);
    if (!c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        destroy(c);
        return IKE_ERR_IO;
    }
    c->portid = mnl_socket_get_portid(c->nl);
    c->seq = (uint32_t)time(NULL);
    /* Best effort: the kernel's reason in words, and no echo of our keys. */
    mnl_socket_setsockopt(c->nl, NETLINK_EXT_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
    setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(be, 0, sizeof(*be));
    be->ctx = c;
    be->name = "xfrm";
    be->apply = apply;
    be->alloc_spi = alloc_spi;
    be->get_stats = get_stats;
    be->last_error = last_error;
    be->destroy = destroy;
    return 0;
}

static struct xfrm_ctx *ctx_of(struct ike_kernel_backend *be)
{
    return be && be->apply == apply ? be->ctx : NULL;
}

int ike_xfrm_flush(struct ike_kernel_backend *be)
{
    struct xfrm_ctx *c = ctx_of(be);
    int len, e;

    if (!c)
        return IKE_ERR_INVALID_ARG;
    len = ike_xfrm_build_flush_sa(c->req, sizeof(c->req), ++c->seq);
    e = transact(c, (size_t)len);
    if (e == 0) {
        len = ike_xfrm_build_flush_policy(c->req, sizeof(c->req), ++c->seq);
        e = transact(c, (size_t)len);
    }
    if (e) {
        snprintf(c->err, sizeof(c->err), "FLUSH: failed (%s)", errname(e));
        return map_errno(e, false);
    }
    return 0;
}

struct dump_arg {
    int (*pol_cb)(void *arg, const struct ike_kernel_policy *p);
    int (*sa_cb)(void *arg, const struct ike_kernel_sa *sa, const struct ike_sa_stats *st);
    void *arg;
    int stop;
};

static int dump_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct dump_arg *d = arg;
    struct ike_kernel_policy p;
    struct ike_kernel_sa sa;
    struct ike_sa_stats st;

    if (d->stop)
        return MNL_CB_OK;
    if (d->pol_cb && ike_xfrm_parse_policy(nlh, nlh->nlmsg_len, &p) == 0)
        d->stop = d->pol_cb(d->arg, &p);
    else if (d->sa_cb && ike_xfrm_parse_sa(nlh, nlh->nlmsg_len, &sa, &st) == 0)
        d->stop = d->sa_cb(d->arg, &sa, &st);
    return MNL_CB_OK;
}

static int dump(struct ike_kernel_backend *be, bool sas, struct dump_arg *d)
{
    struct xfrm_ctx *c = ctx_of(be);
    int len, e;

    if (!c)
        return IKE_ERR_INVALID_ARG;
    len = sas ? ike_xfrm_build_dump_sa(c->req, sizeof(c->req), ++c->seq)
              : ike_xfrm_build_dump_policy(c->req, sizeof(c->req), ++c->seq);
    c->msg_cb = dump_cb;
    c->msg_arg = d;
    e = transact(c, (size_t)len);
    c->msg_cb = NULL;
    if (e) {
        snprintf(c->err, sizeof(c->err), "dump %s: failed (%s)", sas ? "SAs" : "policies",
                 errname(e));
        return map_errno(e, false);
    }
    return d->stop;
}

int ike_xfrm_dump_policies(struct ike_kernel_backend *be,
                           int (*cb)(void *arg, const struct ike_kernel_policy *p), void *arg)
{
    struct dump_arg d = {cb, NULL, arg, 0};
    return dump(be, false, &d);
}

int ike_xfrm_dump_sas(struct ike_kernel_backend *be,
                      int (*cb)(void *arg, const struct ike_kernel_sa *sa,
                                const struct ike_sa_stats *st),
                      void *arg)
{
    struct dump_arg d = {NULL, cb, arg, 0};
    return dump(be, true, &d);
}

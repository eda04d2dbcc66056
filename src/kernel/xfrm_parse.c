/*
 * xfrm_parse.c: parses XFRM netlink messages received from the kernel:
 * the events EXPIRE (soft/hard), ACQUIRE and POLEXPIRE, NEWSA (GETSA and
 * ALLOCSPI replies, SA dumps: identity and counters), NEWPOLICY (dumps)
 * and NLMSG_ERROR (errno and the extended-ACK text).
 *
 * Pure and defensive: every length is checked against the buffer before a
 * fixed struct is read (a strict attribute walk: an overrunning TLV is an error);
 * nothing is allocated and key bytes in a reply are never copied out.
 */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <string.h>

#include "ike/err.h"
#include "ike/xfrm.h"
#include "kernel_int.h"

/* The one netlink message in [msg, msg+len) and its fixed body, checked. */
static const struct nlmsghdr *open_msg(const void *msg, size_t len, size_t body_len, int *rc)
{
    const struct nlmsghdr *nlh = msg;

    *rc = 0;
    if (!msg || len < sizeof(*nlh)) {
        *rc = IKE_ERR_TRUNCATED;
        return NULL;
    }
    if (!mnl_nlmsg_ok(nlh, (int)(len > 0x7fffffff ? 0x7fffffff : len))) {
        *rc = IKE_ERR_BAD_LENGTH;
        return NULL;
    }
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + body_len) {
        *rc = IKE_ERR_TRUNCATED;
        return NULL;
    }
    return nlh;
}

/* Walk the attributes after the fixed body at off. Unlike mnl_attr_parse,
 * an attribute that overruns the message is an error, not the silent end
 * of the list. */
static int walk_attrs(const struct nlmsghdr *nlh, size_t off, mnl_attr_cb_t cb, void *data)
{
    const char *tail = (const char *)nlh + nlh->nlmsg_len;
    const struct nlattr *attr;

    if (MNL_NLMSG_HDRLEN + MNL_ALIGN(off) > nlh->nlmsg_len)
        return 0; /* no attributes */
    attr = mnl_nlmsg_get_payload_offset(nlh, off);
    while ((const char *)attr < tail) {
        if (!mnl_attr_ok(attr, (int)(tail - (const char *)attr)))
            return IKE_ERR_BAD_LENGTH;
        cb(attr, data);
        attr = mnl_attr_next(attr);
    }
    return 0;
}

/* The fixed body, copied: in a datagram of several messages a body is
 * only 4-byte aligned, and these structs hold 64-bit counters. */
static void copy_body(void *dst, const struct nlmsghdr *nlh, size_t n)
{
    memcpy(dst, mnl_nlmsg_get_payload(nlh), n);
}

static void get_addr(struct ike_addr *a, const xfrm_address_t *x, uint16_t family)
{
    memset(a, 0, sizeof(*a));
    if (!ike_kernel_addr_len((uint8_t)family))
        return;
    a->family = (uint8_t)family;
    memcpy(a->bytes, x, ike_kernel_addr_len(a->family));
}

static void get_sel(struct ike_selector *s, const struct xfrm_selector *x)
{
    memset(s, 0, sizeof(*s));
    get_addr(&s->src, &x->saddr, x->family);
    get_addr(&s->dst, &x->daddr, x->family);
    s->src_prefix = x->prefixlen_s;
    s->dst_prefix = x->prefixlen_d;
    s->ip_proto = x->proto;
    s->sport = x->sport_mask ? ntohs(x->sport) : 0;
    s->dport = x->dport_mask ? ntohs(x->dport) : 0;
}

static uint64_t unlimit(uint64_t v)
{
    return v == XFRM_INF ? 0 : v;
}

static void get_sa_info(struct ike_kernel_sa *sa, struct ike_sa_stats *st,
                        const struct xfrm_usersa_info *info)
{
    if (sa) {
        memset(sa, 0, sizeof(*sa));
        get_addr(&sa->id.dst, &info->id.daddr, info->family);
        sa->id.spi = ntohl(info->id.spi);
        sa->id.proto = info->id.proto;
        get_addr(&sa->src, &info->saddr, info->family);
        sa->mode = info->mode == XFRM_MODE_TUNNEL ? IKE_MODE_TUNNEL : IKE_MODE_TRANSPORT;
        sa->reqid = info->reqid;
        sa->esn = (info->flags & XFRM_STATE_ESN) != 0;
        sa->replay_window = info->replay_window;
        sa->life.soft_bytes = unlimit(info->lft.soft_byte_limit);
        sa->life.hard_bytes = unlimit(info->lft.hard_byte_limit);
        sa->life.soft_packets = unlimit(info->lft.soft_packet_limit);
        sa->life.hard_packets = unlimit(info->lft.hard_packet_limit);
        sa->life.soft_add_s = info->lft.soft_add_expires_seconds;
        sa->life.hard_add_s = info->lft.hard_add_expires_seconds;
        get_sel(&sa->sel, &info->sel);
    }
    if (st) {
        st->bytes = info->curlft.bytes;
        st->packets = info->curlft.packets;
        st->add_time_s = info->curlft.add_time;
        st->use_time_s = info->curlft.use_time;
    }
}

struct sa_attrs {
    struct ike_kernel_sa *sa;
    struct ike_sa_stats *st;
};

static int sa_attr_cb(const struct nlattr *attr, void *data)
{
    struct sa_attrs *a = data;
    uint16_t type = mnl_attr_get_type(attr);
    uint16_t plen = mnl_attr_get_payload_len(attr);
    const void *p = mnl_attr_get_payload(attr);

    if (type == XFRMA_LTIME_VAL && a->st && plen >= sizeof(struct xfrm_lifetime_cur)) {
        struct xfrm_lifetime_cur c; /* newer counters than curlft */
        memcpy(&c, p, sizeof(c));   /* attributes are only 4-byte aligned */
        a->st->bytes = c.bytes;
        a->st->packets = c.packets;
        a->st->add_time_s = c.add_time;
        a->st->use_time_s = c.use_time;
    } else if (type == XFRMA_REPLAY_ESN_VAL && a->sa &&
               plen >= sizeof(struct xfrm_replay_state_esn)) {
        const struct xfrm_replay_state_esn *rs = p;
        a->sa->replay_window = rs->replay_window;
    } else if (type == XFRMA_ENCAP && a->sa && plen >= sizeof(struct xfrm_encap_tmpl)) {
        const struct xfrm_encap_tmpl *e = p;
        a->sa->encap_sport = ntohs(e->encap_sport);
        a->sa->encap_dport = ntohs(e->encap_dport);
    } else if (type == XFRMA_MARK && a->sa && plen >= sizeof(struct xfrm_mark)) {
        const struct xfrm_mark *m = p;
        a->sa->mark = m->v;
        a->sa->mark_mask = m->m;
    } else if (type == XFRMA_IF_ID && a->sa && plen >= sizeof(uint32_t)) {
        memcpy(&a->sa->if_id, p, sizeof(uint32_t));
    }
    return MNL_CB_OK;
}

int ike_xfrm_parse_sa(const void *msg, size_t len, struct ike_kernel_sa *sa,
                      struct ike_sa_stats *st)
{
    int rc;
    const struct nlmsghdr *nlh = open_msg(msg, len, sizeof(struct xfrm_usersa_info), &rc);
    struct sa_attrs a = {sa, st};
    struct xfrm_usersa_info info;

    if (!nlh)
        return rc;
    if (nlh->nlmsg_type != XFRM_MSG_NEWSA && nlh->nlmsg_type != XFRM_MSG_UPDSA)
        return IKE_ERR_NOT_FOUND;
    copy_body(&info, nlh, sizeof(info));
    get_sa_info(sa, st, &info);
    if (walk_attrs(nlh, sizeof(struct xfrm_usersa_info), sa_attr_cb, &a) < 0)
        return IKE_ERR_BAD_LENGTH;
    return 0;
}

struct pol_attrs {
    struct ike_kernel_policy *p;
    uint32_t reqid;
    bool have_tmpl;
};

static int pol_attr_cb(const struct nlattr *attr, void *data)
{
    struct pol_attrs *a = data;
    uint16_t type = mnl_attr_get_type(attr);
    const void *pl = mnl_attr_get_payload(attr);

    if (type == XFRMA_TMPL && mnl_attr_get_payload_len(attr) >= sizeof(struct xfrm_user_tmpl) &&
        !a->have_tmpl) {
        const struct xfrm_user_tmpl *t = pl; /* the first template is ours */
        a->have_tmpl = true;
        a->reqid = t->reqid;
        if (a->p) {
            a->p->mode = t->mode == XFRM_MODE_TUNNEL ? IKE_MODE_TUNNEL : IKE_MODE_TRANSPORT;
            a->p->reqid = t->reqid;
            a->p->spi = ntohl(t->id.spi);
            if (t->mode == XFRM_MODE_TUNNEL) {
                get_addr(&a->p->tmpl_src, &t->saddr, t->family);
                get_addr(&a->p->tmpl_dst, &t->id.daddr, t->family);
            }
        }
    } else if (type == XFRMA_MARK && a->p && mnl_attr_get_payload_len(attr) >= 8) {
        const struct xfrm_mark *m = pl;
        a->p->mark = m->v;
        a->p->mark_mask = m->m;
    } else if (type == XFRMA_IF_ID && a->p && mnl_attr_get_payload_len(attr) >= 4) {
        memcpy(&a->p->if_id, pl, sizeof(uint32_t));
    }
    return MNL_CB_OK;
}

int ike_xfrm_parse_policy(const void *msg, size_t len, struct ike_kernel_policy *p)
{
    int rc;
    const struct nlmsghdr *nlh = open_msg(msg, len, sizeof(struct xfrm_userpolicy_info), &rc);
    struct xfrm_userpolicy_info copy;
    const struct xfrm_userpolicy_info *pi = &copy;
    struct pol_attrs a = {p, 0, false};

    if (!nlh)
        return rc;
    if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY && nlh->nlmsg_type != XFRM_MSG_UPDPOLICY)
        return IKE_ERR_NOT_FOUND;
    copy_body(&copy, nlh, sizeof(copy));
    memset(p, 0, sizeof(*p));
    get_sel(&p->sel, &pi->sel);
    p->dir = pi->dir;
    p->priority = pi->priority;
    if (walk_attrs(nlh, sizeof(*pi), pol_attr_cb, &a) < 0)
        return IKE_ERR_BAD_LENGTH;
    if (pi->action == XFRM_POLICY_BLOCK)
        p->action = IKE_POLICY_BLOCK;
    else
        p->action = IKE_POLICY_IPSEC; /* a trap is an IPSEC policy without SA */
    return 0;
}

static int parse_expire(const struct nlmsghdr *nlh, struct ike_kernel_event *ev)
{
    struct xfrm_user_expire copy;
    const struct xfrm_user_expire *x = &copy;

    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*x))
        return IKE_ERR_TRUNCATED;
    copy_body(&copy, nlh, sizeof(copy));
    ev->type = x->hard ? IKE_KEV_EXPIRE_HARD : IKE_KEV_EXPIRE_SOFT;
    get_addr(&ev->sa.dst, &x->state.id.daddr, x->state.family);
    ev->sa.spi = ntohl(x->state.id.spi);
    ev->sa.proto = x->state.id.proto;
    ev->reqid = x->state.reqid;
    get_sel(&ev->sel, &x->state.sel);
    return 0;
}

/* ACQUIRE: sel is the policy's selector (it names the policy), sa.dst the
 * template's peer, reqid from the template (XFRMA_TMPL). */
static int parse_acquire(const struct nlmsghdr *nlh, struct ike_kernel_event *ev)
{
    struct xfrm_user_acquire copy;
    const struct xfrm_user_acquire *x = &copy;
    struct pol_attrs a = {NULL, 0, false};

    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*x))
        return IKE_ERR_TRUNCATED;
    copy_body(&copy, nlh, sizeof(copy));
    if (walk_attrs(nlh, sizeof(*x), pol_attr_cb, &a) < 0)
        return IKE_ERR_BAD_LENGTH;
    ev->type = IKE_KEV_ACQUIRE;
    get_addr(&ev->sa.dst, &x->id.daddr,
             x->policy.sel.family ? x->policy.sel.family : x->sel.family);
    ev->sa.proto = x->id.proto;
    ev->reqid = a.reqid;
    get_sel(&ev->sel, &x->policy.sel);
    ev->dir = x->policy.dir;
    return 0;
}

static int parse_polexpire(const struct nlmsghdr *nlh, struct ike_kernel_event *ev)
{
    struct xfrm_user_polexpire copy;
    const struct xfrm_user_polexpire *x = &copy;

    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*x))
        return IKE_ERR_TRUNCATED;
    copy_body(&copy, nlh, sizeof(copy));
    ev->type = IKE_KEV_POLEXPIRE;
    get_sel(&ev->sel, &x->pol.sel);
    ev->dir = x->pol.dir;
    return 0;
}

int ike_xfrm_parse_event(const void *msg, size_t len, struct ike_kernel_event *ev)
{
    int rc;
    const struct nlmsghdr *nlh = open_msg(msg, len, 0, &rc);

    if (!nlh)
        return rc;
    memset(ev, 0, sizeof(*ev));
    switch (nlh->nlmsg_type) {
    case XFRM_MSG_EXPIRE:
        return parse_expire(nlh, ev);
    case XFRM_MSG_ACQUIRE:
        return parse_acquire(nlh, ev);
    case XFRM_MSG_POLEXPIRE:
        return parse_polexpire(nlh, ev);
    }
    return IKE_ERR_NOT_FOUND;
}

int ike_xfrm_parse_error(const void *msg, size_t len, int *err_no, char *text, size_t cap)
{
    int rc;
    const struct nlmsghdr *nlh = open_msg(msg, len, sizeof(struct nlmsgerr), &rc);
    const struct nlmsgerr *e;
    size_t off;
    const struct nlattr *attr;

    if (text && cap)
        text[0] = '\0';
    if (!nlh)
        return rc;
    if (nlh->nlmsg_type != NLMSG_ERROR)
        return IKE_ERR_NOT_FOUND;
    e = mnl_nlmsg_get_payload(nlh);
    *err_no = -e->error;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !text || cap == 0)
        return 0;
    /* Extended ACK TLVs follow the error and (unless capped) the request. */
    off = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(e->msg);
    if (off > nlh->nlmsg_len - MNL_NLMSG_HDRLEN)
        return 0;
    mnl_attr_for_each(attr, nlh, off)
    {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
            const char *s = mnl_attr_get_str(attr);
            size_t n = strnlen(s, mnl_attr_get_payload_len(attr));
            if (n >= cap)
                n = cap - 1;
            memcpy(text, s, n);
            text[n] = '\0';
        }
    }
    return 0;
}

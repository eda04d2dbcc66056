/*
 * xfrm_msg.c: builds XFRM netlink requests (NEWSA/UPDSA/DELSA/GETSA,
 * NEWPOLICY/UPDPOLICY/DELPOLICY, ALLOCSPI, FLUSH*) into a caller's buffer
 * with libmnl's message and attribute helpers. Layout follows
 * <linux/xfrm.h> and matches iproute2's `ip xfrm` byte for byte where both
 * encode the same thing (tests/unit/kernel/test_xfrm_msg.c).
 *
 * Pure: no socket, no clock, no allocation. Key bytes go into the caller's
 * buffer (the caller wipes it after sending); the stack copies made here to
 * assemble algorithm attributes are wiped before return.
 */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <string.h>

#include "ike/err.h"
#include "ike/xfrm.h"
#include "kernel_int.h"

/* Start a request: header + zeroed fixed body. NULL if it does not fit. */
static struct nlmsghdr *start(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq,
                              size_t body_len)
{
    struct nlmsghdr *nlh;

    if (!buf || cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(body_len) || ((uintptr_t)buf & 7))
        return NULL; /* the bodies hold 64-bit fields: buf must be 8-byte aligned */
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    mnl_nlmsg_put_extra_header(nlh, body_len);
    return nlh;
}

static void put_addr(xfrm_address_t *x, const struct ike_addr *a)
{
    memset(x, 0, sizeof(*x));
    memcpy(x, a->bytes, ike_kernel_addr_len(a->family));
}

static void put_sel(struct xfrm_selector *x, const struct ike_selector *s)
{
    uint8_t fam = s->src.family ? s->src.family : s->dst.family;

    memset(x, 0, sizeof(*x));
    if (!fam)
        return; /* "any": all zero, as iproute2 sends for an SA */
    x->family = fam;
    put_addr(&x->saddr, &s->src);
    put_addr(&x->daddr, &s->dst);
    x->prefixlen_s = s->src_prefix;
    x->prefixlen_d = s->dst_prefix;
    x->proto = s->ip_proto;
    x->sport = htons(s->sport);
    x->sport_mask = s->sport ? 0xffff : 0;
    x->dport = htons(s->dport);
    x->dport_mask = s->dport ? 0xffff : 0;
}

static uint64_t limit(uint64_t v)
{
    return v ? v : XFRM_INF; /* 0 would expire at once: "none" is XFRM_INF */
}

static void put_lft(struct xfrm_lifetime_cfg *l, const struct ike_lifetime *life)
{
    l->soft_byte_limit = limit(life->soft_bytes);
    l->hard_byte_limit = limit(life->hard_bytes);
    l->soft_packet_limit = limit(life->soft_packets);
    l->hard_packet_limit = limit(life->hard_packets);
    l->soft_add_expires_seconds = life->soft_add_s;
    l->hard_add_expires_seconds = life->hard_add_s;
}

static bool addr_ok(const struct ike_addr *a)
{
    return ike_kernel_addr_len(a->family) != 0;
}

/* XFRMA_ALG_AEAD: key | salt, lengths in bits (RFC 4106 8.1, RFC 7634 2). */
static int put_aead(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_sa *sa,
                    const struct ike_xfrm_alg *alg)
{
    struct {
        struct xfrm_algo_aead a;
        uint8_t key[IKE_KEY_MAX];
    } x;
    bool ok;

    if (sa->icv_len && sa->icv_len * 8 != alg->icv_bits)
        return IKE_ERR_INVALID_ARG;
    if (alg->key_bits && sa->encr_key_bits != alg->key_bits)
        return IKE_ERR_INVALID_ARG;
    if (sa->encr_key.len != sa->encr_key_bits / 8 + alg->salt_len || sa->encr_key_bits % 8)
        return IKE_ERR_INVALID_ARG;
    memset(&x, 0, sizeof(x));
    strncpy(x.a.alg_name, alg->name, sizeof(x.a.alg_name) - 1);
    x.a.alg_key_len = sa->encr_key.len * 8u;
    x.a.alg_icv_len = alg->icv_bits;
    memcpy(x.a.alg_key, sa->encr_key.b, sa->encr_key.len);
    ok = mnl_attr_put_check(nlh, cap, XFRMA_ALG_AEAD, sizeof(x.a) + sa->encr_key.len, &x);
    explicit_bzero(&x, sizeof(x));
    return ok ? 0 : IKE_ERR_BUF_TOO_SMALL;
}

/* XFRMA_ALG_CRYPT (cbc(aes)) + XFRMA_ALG_AUTH_TRUNC with the RFC truncation. */
static int put_cipher_auth(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_sa *sa,
                           const struct ike_xfrm_alg *enc)
{
    struct ike_xfrm_alg integ;
    struct {
        struct xfrm_algo_auth a;
        uint8_t key[IKE_KEY_MAX];
    } au;
    struct {
        struct xfrm_algo a;
        uint8_t key[IKE_KEY_MAX];
    } en;
    bool ok;

    if (ike_xfrm_alg_integ(sa->integ_id, &integ) < 0)
        return IKE_ERR_UNSUPPORTED_ALG;
    if (sa->encr_key.len * 8u != sa->encr_key_bits || sa->encr_key.len == 0 ||
        sa->integ_key.len * 8u != integ.key_bits)
        return IKE_ERR_INVALID_ARG;
    memset(&en, 0, sizeof(en));
    strncpy(en.a.alg_name, enc->name, sizeof(en.a.alg_name) - 1);
    en.a.alg_key_len = sa->encr_key_bits;
    memcpy(en.a.alg_key, sa->encr_key.b, sa->encr_key.len);
    memset(&au, 0, sizeof(au));
    strncpy(au.a.alg_name, integ.name, sizeof(au.a.alg_name) - 1);
    au.a.alg_key_len = integ.key_bits;
    au.a.alg_trunc_len = integ.icv_bits;
    memcpy(au.a.alg_key, sa->integ_key.b, sa->integ_key.len);
    ok = mnl_attr_put_check(nlh, cap, XFRMA_ALG_CRYPT, sizeof(en.a) + sa->encr_key.len, &en) &&
         mnl_attr_put_check(nlh, cap, XFRMA_ALG_AUTH_TRUNC, sizeof(au.a) + sa->integ_key.len, &au);
    explicit_bzero(&en, sizeof(en));
    explicit_bzero(&au, sizeof(au));
    return ok ? 0 : IKE_ERR_BUF_TOO_SMALL;
}

static int put_algs(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_sa *sa)
{
    struct ike_xfrm_alg enc;

    if (ike_xfrm_alg_encr(sa->encr_id, &enc) < 0)
        return IKE_ERR_UNSUPPORTED_ALG;
    if (enc.aead)
        return sa->integ_id == AUTH_NONE ? put_aead(nlh, cap, sa, &enc) : IKE_ERR_INVALID_ARG;
    return put_cipher_auth(nlh, cap, sa, &enc);
}

/* Replay state: windows above 32 packets and ESN need XFRMA_REPLAY_ESN_VAL
 * (the legacy u8 field then stays 0), as iproute2 does. */
static int put_replay(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_sa *sa,
                      struct xfrm_usersa_info *info)
{
    struct xfrm_replay_state_esn rs;
    uint32_t win = sa->replay_window;

    if (!sa->esn && win <= 32) {
        info->replay_window = (uint8_t)win;
        return 0;
    }
    if (sa->esn) {
        info->flags |= XFRM_STATE_ESN;
        if (win == 0)
            win = 1; /* xfrm_init_replay() rejects ESN with a zero window */
    }
    if (win > XFRMA_REPLAY_ESN_MAX * 8)
        return IKE_ERR_INVALID_ARG;
    memset(&rs, 0, sizeof(rs));
    rs.bmp_len = (win + 31) / 32;
    rs.replay_window = win;
    return mnl_attr_put_check(nlh, cap, XFRMA_REPLAY_ESN_VAL, sizeof(rs), &rs)
               ? 0
               : IKE_ERR_BUF_TOO_SMALL;
}

static int put_sa_extras(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_sa *sa)
{
    if (sa->encap_sport || sa->encap_dport) {
        struct xfrm_encap_tmpl enc;
        memset(&enc, 0, sizeof(enc));
        enc.encap_type = UDP_ENCAP_ESPINUDP; /* RFC 3948 */
        enc.encap_sport = htons(sa->encap_sport);
        enc.encap_dport = htons(sa->encap_dport);
        if (!mnl_attr_put_check(nlh, cap, XFRMA_ENCAP, sizeof(enc), &enc))
            return IKE_ERR_BUF_TOO_SMALL;
    }
    return 0;
}

static int put_mark_ifid(struct nlmsghdr *nlh, size_t cap, uint32_t mark, uint32_t mask,
                         uint32_t if_id)
{
    if (mask) {
        struct xfrm_mark xm = {.v = mark, .m = mask};
        if (!mnl_attr_put_check(nlh, cap, XFRMA_MARK, sizeof(xm), &xm))
            return IKE_ERR_BUF_TOO_SMALL;
    }
    if (if_id && !mnl_attr_put_check(nlh, cap, XFRMA_IF_ID, sizeof(if_id), &if_id))
        return IKE_ERR_BUF_TOO_SMALL;
    return 0;
}

static void put_sa_info(struct xfrm_usersa_info *info, const struct ike_kernel_sa *sa)
{
    put_sel(&info->sel, &sa->sel);
    put_addr(&info->id.daddr, &sa->id.dst);
    info->id.spi = htonl(sa->id.spi);
    info->id.proto = sa->id.proto;
    put_addr(&info->saddr, &sa->src);
    put_lft(&info->lft, &sa->life);
    info->reqid = sa->reqid;
    info->family = sa->id.dst.family;
    info->mode = sa->mode == IKE_MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
}

int ike_xfrm_build_sa(void *buf, size_t cap, uint32_t seq, bool update,
                      const struct ike_kernel_sa *sa)
{
    struct nlmsghdr *nlh;
    struct xfrm_usersa_info *info;
    int rc;

    if (!sa || !addr_ok(&sa->id.dst) || sa->src.family != sa->id.dst.family ||
        sa->id.proto != IKE_IPPROTO_ESP || sa->mode > IKE_MODE_TUNNEL)
        return IKE_ERR_INVALID_ARG;
    nlh = start(buf, cap, update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, seq,
                sizeof(*info));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    info = mnl_nlmsg_get_payload(nlh);
    put_sa_info(info, sa);
    rc = put_algs(nlh, cap, sa);
    if (rc == 0)
        rc = put_replay(nlh, cap, sa, info);
    if (rc == 0)
        rc = put_sa_extras(nlh, cap, sa);
    if (rc == 0)
        rc = put_mark_ifid(nlh, cap, sa->mark, sa->mark_mask, sa->if_id);
    if (rc < 0) {
        explicit_bzero(buf, nlh->nlmsg_len);
        return rc;
    }
    return (int)nlh->nlmsg_len;
}

static int build_sa_id(void *buf, size_t cap, uint32_t seq, uint16_t type,
                       const struct ike_sa_id *id)
{
    struct nlmsghdr *nlh;
    struct xfrm_usersa_id *x;

    if (!id || !addr_ok(&id->dst))
        return IKE_ERR_INVALID_ARG;
    nlh = start(buf, cap, type, NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(*x));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    x = mnl_nlmsg_get_payload(nlh);
    put_addr(&x->daddr, &id->dst);
    x->spi = htonl(id->spi);
    x->family = id->dst.family;
    x->proto = id->proto;
    return (int)nlh->nlmsg_len;
}

int ike_xfrm_build_del_sa(void *buf, size_t cap, uint32_t seq, const struct ike_sa_id *id)
{
    return build_sa_id(buf, cap, seq, XFRM_MSG_DELSA, id);
}

int ike_xfrm_build_get_sa(void *buf, size_t cap, uint32_t seq, const struct ike_sa_id *id)
{
    return build_sa_id(buf, cap, seq, XFRM_MSG_GETSA, id);
}

static int put_tmpl(struct nlmsghdr *nlh, size_t cap, const struct ike_kernel_policy *p,
                    uint16_t family)
{
    struct xfrm_user_tmpl t;

    memset(&t, 0, sizeof(t));
    if (p->mode == IKE_MODE_TUNNEL) {
        if (!addr_ok(&p->tmpl_src) || p->tmpl_dst.family != p->tmpl_src.family)
            return IKE_ERR_INVALID_ARG;
        put_addr(&t.id.daddr, &p->tmpl_dst);
        put_addr(&t.saddr, &p->tmpl_src);
        family = p->tmpl_src.family; /* may differ from the selector's (4in6) */
    }
    t.id.spi = htonl(p->spi);
    t.id.proto = IKE_IPPROTO_ESP;
    t.family = family;
    t.reqid = p->reqid;
    t.mode = p->mode == IKE_MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
    t.aalgos = t.ealgos = t.calgos = ~0u; /* any algorithm, as iproute2 */
    return mnl_attr_put_check(nlh, cap, XFRMA_TMPL, sizeof(t), &t) ? 0 : IKE_ERR_BUF_TOO_SMALL;
}

int ike_xfrm_build_policy(void *buf, size_t cap, uint32_t seq, bool update,
                          const struct ike_kernel_policy *p)
{
    static const struct ike_lifetime no_life;
    struct nlmsghdr *nlh;
    struct xfrm_userpolicy_info *pi;
    int rc = 0;

    if (!p || p->dir > IKE_DIR_FWD || p->action > IKE_POLICY_BLOCK || p->mode > IKE_MODE_TUNNEL)
        return IKE_ERR_INVALID_ARG;
    nlh = start(buf, cap, update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY,
                NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(*pi));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    pi = mnl_nlmsg_get_payload(nlh);
    put_sel(&pi->sel, &p->sel);
    put_lft(&pi->lft, &no_life);
    pi->priority = p->priority;
    pi->dir = p->dir; /* IKE_DIR_* == XFRM_POLICY_IN/OUT/FWD */
    if (p->action == IKE_POLICY_BLOCK)
        pi->action = XFRM_POLICY_BLOCK;
    else
        rc = put_tmpl(nlh, cap, p, pi->sel.family);
    if (rc == 0)
        rc = put_mark_ifid(nlh, cap, p->mark, p->mark_mask, p->if_id);
    return rc < 0 ? rc : (int)nlh->nlmsg_len;
}

int ike_xfrm_build_del_policy(void *buf, size_t cap, uint32_t seq, const struct ike_policy_id *id)
{
    struct nlmsghdr *nlh;
    struct xfrm_userpolicy_id *x;
    int rc;

    if (!id || id->dir > IKE_DIR_FWD)
        return IKE_ERR_INVALID_ARG;
    nlh = start(buf, cap, XFRM_MSG_DELPOLICY, NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(*x));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    x = mnl_nlmsg_get_payload(nlh);
    put_sel(&x->sel, &id->sel);
    x->dir = id->dir;
    rc = put_mark_ifid(nlh, cap, id->mark, id->mark_mask, id->if_id);
    return rc < 0 ? rc : (int)nlh->nlmsg_len;
}

int ike_xfrm_build_alloc_spi(void *buf, size_t cap, uint32_t seq, const struct ike_addr *src,
                             const struct ike_addr *dst, uint32_t min, uint32_t max)
{
    struct nlmsghdr *nlh;
    struct xfrm_userspi_info *x;

    if (!src || !dst || !addr_ok(dst) || src->family != dst->family || min > max)
        return IKE_ERR_INVALID_ARG;
    nlh = start(buf, cap, XFRM_MSG_ALLOCSPI, NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(*x));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    x = mnl_nlmsg_get_payload(nlh);
    put_addr(&x->info.id.daddr, dst);
    x->info.id.proto = IKE_IPPROTO_ESP;
    put_addr(&x->info.saddr, src);
    x->info.family = dst->family;
    x->min = min;
    x->max = max;
    return (int)nlh->nlmsg_len;
}

int ike_xfrm_build_op(void *buf, size_t cap, uint32_t seq, const struct ike_kernel_op *op)
{
    if (!op)
        return IKE_ERR_INVALID_ARG;
    switch (op->type) {
    case IKE_KOP_ADD_SA:
    case IKE_KOP_UPDATE_SA:
        return ike_xfrm_build_sa(buf, cap, seq, op->type == IKE_KOP_UPDATE_SA, &op->u.sa);
    case IKE_KOP_DEL_SA:
        return ike_xfrm_build_del_sa(buf, cap, seq, &op->u.sa_id);
    case IKE_KOP_ADD_POLICY:
    case IKE_KOP_UPDATE_POLICY:
        return ike_xfrm_build_policy(buf, cap, seq, op->type == IKE_KOP_UPDATE_POLICY,
                                     &op->u.policy);
    case IKE_KOP_DEL_POLICY:
        return ike_xfrm_build_del_policy(buf, cap, seq, &op->u.policy_id);
    }
    return IKE_ERR_INVALID_ARG;
}

int ike_xfrm_build_flush_sa(void *buf, size_t cap, uint32_t seq)
{
    struct nlmsghdr *nlh;
    struct xfrm_usersa_flush *x;

    nlh = start(buf, cap, XFRM_MSG_FLUSHSA, NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(*x));
    if (!nlh)
        return IKE_ERR_BUF_TOO_SMALL;
    x = mnl_nlmsg_get_payload(nlh);
    x->proto = IKE_IPPROTO_ESP;
    return (int)nlh->nlmsg_len;
}

int ike_xfrm_build_flush_policy(void *buf, size_t cap, uint32_t seq)
{
    struct nlmsghdr *nlh = start(buf, cap, XFRM_MSG_FLUSHPOLICY, NLM_F_REQUEST | NLM_F_ACK, seq, 0);
    return nlh ? (int)nlh->nlmsg_len : IKE_ERR_BUF_TOO_SMALL;
}

int ike_xfrm_build_dump_policy(void *buf, size_t cap, uint32_t seq)
{
    struct nlmsghdr *nlh = start(buf, cap, XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
    return nlh ? (int)nlh->nlmsg_len : IKE_ERR_BUF_TOO_SMALL;
}

int ike_xfrm_build_dump_sa(void *buf, size_t cap, uint32_t seq)
{
    struct nlmsghdr *nlh = start(buf, cap, XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
    return nlh ? (int)nlh->nlmsg_len : IKE_ERR_BUF_TOO_SMALL;
}

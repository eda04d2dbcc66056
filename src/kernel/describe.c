/*
 * describe.c: one-line text of a kernel op (ike_kernel_op_describe) and the
 * address/selector formatting the other kernel files share.
 *
 * Used in logs ("one line per kernel operation", DESIGN.md 3) and in test
 * failure messages. It must never print key bytes: only identities,
 * algorithm numbers, key sizes and flags.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ike/err.h"
#include "ike/kernel.h"
#include "kernel_int.h"

size_t ike_kernel_addr_len(uint8_t family)
{
    if (family == IKE_AF_INET)
        return 4;
    if (family == IKE_AF_INET6)
        return 16;
    return 0;
}

const char *ike_kernel_fmt_addr(const struct ike_addr *a, char *buf, size_t cap)
{
    char tmp[IKE_KERNEL_ADDR_STRLEN];
    int af = a->family == IKE_AF_INET6 ? AF_INET6 : AF_INET;

    if (ike_kernel_addr_len(a->family) == 0 || !inet_ntop(af, a->bytes, tmp, sizeof(tmp)))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%s", tmp);
    return buf;
}

const char *ike_kernel_fmt_sel(const struct ike_selector *s, char *buf, size_t cap)
{
    char a[IKE_KERNEL_ADDR_STRLEN], b[IKE_KERNEL_ADDR_STRLEN];
    int n;

    n = snprintf(buf, cap, "%s/%u->%s/%u", ike_kernel_fmt_addr(&s->src, a, sizeof(a)),
                 s->src_prefix, ike_kernel_fmt_addr(&s->dst, b, sizeof(b)), s->dst_prefix);
    if (n < 0 || (size_t)n >= cap)
        return buf;
    if (s->ip_proto || s->sport || s->dport)
        snprintf(buf + n, cap - (size_t)n, " proto %u sport %u dport %u", s->ip_proto, s->sport,
                 s->dport);
    return buf;
}

const char *ike_kernel_dir_name(uint8_t dir)
{
    static const char *const names[] = {"in", "out", "fwd"};
    return dir < 3 ? names[dir] : "dir?";
}

const char *ike_kernel_mode_name(uint8_t mode)
{
    if (mode == IKE_MODE_TRANSPORT)
        return "transport";
    if (mode == IKE_MODE_TUNNEL)
        return "tunnel";
    return "mode?";
}

static const char *op_name(uint8_t type)
{
    switch (type) {
    case IKE_KOP_ADD_SA:
        return "ADD_SA";
    case IKE_KOP_UPDATE_SA:
        return "UPDATE_SA";
    case IKE_KOP_DEL_SA:
        return "DEL_SA";
    case IKE_KOP_ADD_POLICY:
        return "ADD_POLICY";
    case IKE_KOP_UPDATE_POLICY:
        return "UPDATE_POLICY";
    case IKE_KOP_DEL_POLICY:
        return "DEL_POLICY";
    }
    return NULL;
}

static int describe_sa(const char *name, const struct ike_kernel_sa *sa, char *buf, size_t cap)
{
    char s[IKE_KERNEL_ADDR_STRLEN], d[IKE_KERNEL_ADDR_STRLEN];

    return snprintf(buf, cap,
                    "%s esp spi 0x%08x %s->%s %s reqid %u encr %u/%u icv %u integ %u%s%s "
                    "encap %u->%u",
                    name, sa->id.spi, ike_kernel_fmt_addr(&sa->src, s, sizeof(s)),
                    ike_kernel_fmt_addr(&sa->id.dst, d, sizeof(d)), ike_kernel_mode_name(sa->mode),
                    sa->reqid, sa->encr_id, sa->encr_key_bits, sa->icv_len, sa->integ_id,
                    sa->esn ? " esn" : "", sa->replay_window ? " replay" : "", sa->encap_sport,
                    sa->encap_dport);
}

static int describe_policy(const char *name, const struct ike_kernel_policy *p, char *buf,
                           size_t cap)
{
    char sel[160], s[IKE_KERNEL_ADDR_STRLEN], d[IKE_KERNEL_ADDR_STRLEN];
    static const char *const actions[] = {"ipsec", "trap", "block"};

    return snprintf(
        buf, cap, "%s %s %s %s prio %u %s %s->%s reqid %u spi 0x%08x mark 0x%x/0x%x", name,
        ike_kernel_dir_name(p->dir), ike_kernel_fmt_sel(&p->sel, sel, sizeof(sel)),
        p->action < 3 ? actions[p->action] : "action?", p->priority, ike_kernel_mode_name(p->mode),
        ike_kernel_fmt_addr(&p->tmpl_src, s, sizeof(s)),
        ike_kernel_fmt_addr(&p->tmpl_dst, d, sizeof(d)), p->reqid, p->spi, p->mark, p->mark_mask);
}

int ike_kernel_op_describe(const struct ike_kernel_op *op, char *buf, size_t cap)
{
    char sel[160], d[IKE_KERNEL_ADDR_STRLEN];
    const char *name;
    int n;

    if (!op || !buf || cap == 0)
        return IKE_ERR_INVALID_ARG;
    name = op_name(op->type);
    if (!name) {
        snprintf(buf, cap, "op?%u", op->type);
        return IKE_ERR_INVALID_ARG;
    }
    switch (op->type) {
    case IKE_KOP_ADD_SA:
    case IKE_KOP_UPDATE_SA:
        n = describe_sa(name, &op->u.sa, buf, cap);
        break;
    case IKE_KOP_DEL_SA:
        n = snprintf(buf, cap, "%s esp spi 0x%08x dst %s", name, op->u.sa_id.spi,
                     ike_kernel_fmt_addr(&op->u.sa_id.dst, d, sizeof(d)));
        break;
    case IKE_KOP_DEL_POLICY:
        n = snprintf(buf, cap, "%s %s %s mark 0x%x/0x%x", name,
                     ike_kernel_dir_name(op->u.policy_id.dir),
                     ike_kernel_fmt_sel(&op->u.policy_id.sel, sel, sizeof(sel)),
                     op->u.policy_id.mark, op->u.policy_id.mark_mask);
        break;
    default:
        n = describe_policy(name, &op->u.policy, buf, cap);
        break;
    }
    return n < 0 ? IKE_ERR_INVALID_ARG : n;
}

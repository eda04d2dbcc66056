/*
 * test_kmem.c: the in-memory kernel model behaves like Linux XFRM: the
 * same identities, the same EEXIST/ENOENT answers, larval SAs from
 * ALLOCSPI that need UPDATE_SA, expiry by traffic and by time (soft once,
 * hard deletes), the failure hook, the text dump, and 100,000 SAs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/err.h"
#include "ike/kernel.h"
#include "ike/kernel_memory.h"
#include "ck_main.h"

static struct ike_kmem *m;
static struct ike_kernel_backend be;

static void setup(void)
{
    m = ike_kmem_new();
    ck_assert_ptr_nonnull(m);
    ike_kmem_backend_init(m, &be, true);
}

static void teardown(void)
{
    be.destroy(be.ctx);
}

static struct ike_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ike_addr x = {.family = IKE_AF_INET, .bytes = {a, b, c, d}};
    return x;
}

static struct ike_kernel_op sa_op(uint8_t type, uint32_t spi, uint8_t dst_last)
{
    struct ike_kernel_op op;
    memset(&op, 0, sizeof(op));
    op.type = type;
    op.u.sa.id.dst = v4(192, 0, 2, dst_last);
    op.u.sa.id.spi = spi;
    op.u.sa.id.proto = IKE_IPPROTO_ESP;
    op.u.sa.src = v4(192, 0, 2, 1);
    op.u.sa.mode = IKE_MODE_TUNNEL;
    op.u.sa.reqid = 7;
    op.u.sa.encr_id = ENCR_AES_GCM_16;
    op.u.sa.encr_key_bits = 256;
    op.u.sa.icv_len = 16;
    op.u.sa.encr_key.len = 36;
    memset(op.u.sa.encr_key.b, 0xde, 36);
    op.u.sa.replay_window = 32;
    return op;
}

static struct ike_kernel_op del_op(uint32_t spi, uint8_t dst_last)
{
    struct ike_kernel_op op;
    memset(&op, 0, sizeof(op));
    op.type = IKE_KOP_DEL_SA;
    op.u.sa_id.dst = v4(192, 0, 2, dst_last);
    op.u.sa_id.spi = spi;
    op.u.sa_id.proto = IKE_IPPROTO_ESP;
    return op;
}

static struct ike_sa_id sa_id(uint32_t spi, uint8_t dst_last)
{
    return del_op(spi, dst_last).u.sa_id;
}

static struct ike_kernel_op pol_op(uint8_t type, uint8_t dir, uint8_t net)
{
    struct ike_kernel_op op;
    memset(&op, 0, sizeof(op));
    op.type = type;
    op.u.policy.sel.src = v4(10, net, 0, 0);
    op.u.policy.sel.dst = v4(10, 200, 0, 0);
    op.u.policy.sel.src_prefix = 16;
    op.u.policy.sel.dst_prefix = 16;
    op.u.policy.dir = dir;
    op.u.policy.action = IKE_POLICY_IPSEC;
    op.u.policy.mode = IKE_MODE_TUNNEL;
    op.u.policy.tmpl_src = v4(192, 0, 2, 1);
    op.u.policy.tmpl_dst = v4(192, 0, 2, 2);
    op.u.policy.reqid = 7;
    return op;
}

static struct ike_policy_id pol_id(const struct ike_kernel_op *op)
{
    struct ike_policy_id id;
    memset(&id, 0, sizeof(id));
    id.sel = op->u.policy.sel;
    id.dir = op->u.policy.dir;
    id.mark = op->u.policy.mark;
    id.mark_mask = op->u.policy.mark_mask;
    id.if_id = op->u.policy.if_id;
    return id;
}

static const char *dump(void)
{
    static char buf[8192];
    ike_kmem_dump(m, buf, sizeof(buf));
    return buf;
}

START_TEST(sa_add_exists_del_noent)
{
    struct ike_kernel_op add = sa_op(IKE_KOP_ADD_SA, 0x1000, 2), del = del_op(0x1000, 2);
    struct ike_sa_id id = sa_id(0x1000, 2);
    const struct ike_kernel_sa *got;

    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_int_eq(be.apply(be.ctx, &add), IKE_ERR_KERNEL_EXISTS);
    /* Same SPI to another destination is another SA. */
    struct ike_kernel_op add3 = sa_op(IKE_KOP_ADD_SA, 0x1000, 3);
    ck_assert_int_eq(be.apply(be.ctx, &add3), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 2);
    got = ike_kmem_find_sa(m, &id, NULL);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->reqid, 7);
    ck_assert_mem_eq(got->encr_key.b, add.u.sa.encr_key.b, 36);
    ck_assert_int_eq(be.apply(be.ctx, &del), 0);
    ck_assert_ptr_null(ike_kmem_find_sa(m, &id, NULL));
    ck_assert_int_eq(be.apply(be.ctx, &del), IKE_ERR_KERNEL_NOENT);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 1);
}
END_TEST

START_TEST(sa_update_semantics)
{
    struct ike_kernel_op upd = sa_op(IKE_KOP_UPDATE_SA, 0x2000, 2);
    struct ike_sa_id id = sa_id(0x2000, 2);
    struct ike_sa_stats st;
    struct ike_kernel_event ev[2];

    ck_assert_int_eq(be.apply(be.ctx, &upd), IKE_ERR_KERNEL_NOENT);
    struct ike_kernel_op add = sa_op(IKE_KOP_ADD_SA, 0x2000, 2);
    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 100, 1, 5, ev, 2), 0);
    /* The kernel keeps keys and counters; only lifetimes and encap move. */
    upd.u.sa.encr_key.b[0] = 0x11;
    upd.u.sa.reqid = 99;
    upd.u.sa.life.hard_bytes = 5000;
    upd.u.sa.encap_sport = upd.u.sa.encap_dport = 4500;
    ck_assert_int_eq(be.apply(be.ctx, &upd), 0);
    const struct ike_kernel_sa *got = ike_kmem_find_sa(m, &id, NULL);
    ck_assert_uint_eq(got->encr_key.b[0], 0xde);
    ck_assert_uint_eq(got->reqid, 7);
    ck_assert_uint_eq(got->life.hard_bytes, 5000);
    ck_assert_uint_eq(got->encap_dport, 4500);
    ck_assert_int_eq(be.get_stats(be.ctx, &id, &st), 0);
    ck_assert_uint_eq(st.bytes, 100);
    ck_assert_uint_eq(st.use_time_s, 5);
}
END_TEST

START_TEST(alloc_spi_larval_needs_update)
{
    struct ike_addr src = v4(192, 0, 2, 1), dst = v4(192, 0, 2, 2);
    uint32_t spi = 0;
    struct ike_kmem_sa_state st;

    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0xc0000000, 0xcfffffff, &spi), 0);
    ck_assert_uint_ge(spi, 0xc0000000);
    ck_assert_uint_le(spi, 0xcfffffff);
    ck_assert_uint_eq(ike_kmem_larval_count(m), 1);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 0);
    struct ike_sa_id id = sa_id(spi, 2);
    ck_assert_ptr_nonnull(ike_kmem_find_sa(m, &id, &st));
    ck_assert(st.larval);

    struct ike_kernel_op add = sa_op(IKE_KOP_ADD_SA, spi, 2);
    ck_assert_int_eq(be.apply(be.ctx, &add), IKE_ERR_KERNEL_EXISTS);
    add.type = IKE_KOP_UPDATE_SA;
    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_ptr_nonnull(ike_kmem_find_sa(m, &id, &st));
    ck_assert(!st.larval);
    ck_assert_uint_eq(ike_kmem_larval_count(m), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 1);
    ck_assert_uint_eq(ike_kmem_find_sa(m, &id, NULL)->encr_key.len, 36);
}
END_TEST

START_TEST(alloc_spi_never_reuses)
{
    struct ike_addr src = v4(192, 0, 2, 1), dst = v4(192, 0, 2, 2);
    uint32_t spi, seen[16] = {0};

    /* A 16-SPI range: all 16 come out distinct, then the range is full. */
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x100, 0x10f, &spi), 0);
        ck_assert_uint_ge(spi, 0x100);
        ck_assert_uint_le(spi, 0x10f);
        ck_assert_uint_eq(seen[spi - 0x100], 0);
        seen[spi - 0x100] = 1;
    }
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x100, 0x10f, &spi), IKE_ERR_KERNEL);
    /* An installed SA holds its SPI too. */
    struct ike_kernel_op add = sa_op(IKE_KOP_ADD_SA, 0x200, 2);
    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x200, 0x200, &spi), IKE_ERR_KERNEL);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x201, 0x200, &spi), IKE_ERR_INVALID_ARG);
    /* Another destination has its own SPI space. */
    dst = v4(192, 0, 2, 3);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x200, 0x200, &spi), 0);
    ck_assert_uint_eq(spi, 0x200);
}
END_TEST

START_TEST(policy_semantics)
{
    struct ike_kernel_op out = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 1);
    struct ike_kernel_op in = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_IN, 1);
    struct ike_policy_id oid = pol_id(&out);

    ck_assert_int_eq(be.apply(be.ctx, &out), 0);
    ck_assert_int_eq(be.apply(be.ctx, &in), 0); /* other dir: other policy */
    ck_assert_int_eq(be.apply(be.ctx, &out), IKE_ERR_KERNEL_EXISTS);
    out.u.policy.mark = 5;
    out.u.policy.mark_mask = 0xff; /* other mark: other policy */
    ck_assert_int_eq(be.apply(be.ctx, &out), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(m), 3);
    out.u.policy.if_id = 9; /* other if_id: other policy (the kernel counts it) */
    ck_assert_int_eq(be.apply(be.ctx, &out), 0);
    struct ike_kernel_op del9 = {.type = IKE_KOP_DEL_POLICY};
    del9.u.policy_id = pol_id(&out);
    ck_assert_int_eq(be.apply(be.ctx, &del9), 0);
    out.u.policy.if_id = 0;
    ck_assert_uint_eq(ike_kmem_policy_count(m), 3);

    /* UPDATE replaces (repoint the outbound SPI) ... */
    struct ike_kernel_op upd = pol_op(IKE_KOP_UPDATE_POLICY, IKE_DIR_OUT, 1);
    upd.u.policy.spi = 0xabcd;
    ck_assert_int_eq(be.apply(be.ctx, &upd), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(m), 3);
    ck_assert_uint_eq(ike_kmem_find_policy(m, &oid)->spi, 0xabcd);
    /* ... and creates when missing, like XFRM_MSG_UPDPOLICY. */
    struct ike_kernel_op upd2 = pol_op(IKE_KOP_UPDATE_POLICY, IKE_DIR_FWD, 1);
    ck_assert_int_eq(be.apply(be.ctx, &upd2), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(m), 4);

    struct ike_kernel_op del = {.type = IKE_KOP_DEL_POLICY};
    del.u.policy_id = oid;
    ck_assert_int_eq(be.apply(be.ctx, &del), 0);
    ck_assert_int_eq(be.apply(be.ctx, &del), IKE_ERR_KERNEL_NOENT);
    ck_assert_ptr_null(ike_kmem_find_policy(m, &oid));
    ck_assert_uint_eq(ike_kmem_policy_count(m), 3);
    out.u.policy.dir = 7;
    ck_assert_int_eq(be.apply(be.ctx, &out), IKE_ERR_INVALID_ARG);
}
END_TEST

START_TEST(traffic_soft_once_hard_deletes)
{
    struct ike_kernel_op add = sa_op(IKE_KOP_ADD_SA, 0x3000, 2);
    struct ike_sa_id id = sa_id(0x3000, 2);
    struct ike_kernel_event ev[2];
    struct ike_kmem_sa_state st;

    add.u.sa.life.soft_bytes = 1000;
    add.u.sa.life.hard_bytes = 2000;
    add.u.sa.life.hard_packets = 100;
    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 999, 1, 1, ev, 2), 0);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 1, 1, 2, ev, 2), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_SOFT);
    ck_assert_uint_eq(ev[0].sa.spi, 0x3000);
    ck_assert_uint_eq(ev[0].reqid, 7);
    ck_assert_ptr_nonnull(ike_kmem_find_sa(m, &id, &st));
    ck_assert(st.soft_expired);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 500, 1, 3, ev, 2), 0); /* soft only once */
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 500, 1, 4, ev, 2), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_HARD);
    ck_assert_ptr_null(ike_kmem_find_sa(m, &id, NULL));
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 1, 1, 5, ev, 2), IKE_ERR_KERNEL_NOENT);

    /* Crossing both at once: only the hard event (xfrm_state_check_expire). */
    add.u.sa.life.hard_bytes = 0;
    ck_assert_int_eq(be.apply(be.ctx, &add), 0);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 10, 100, 6, ev, 2), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_HARD);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 0);
    ck_assert_int_eq(ike_kmem_add_traffic(m, &id, 1, 1, 5, ev, 0), IKE_ERR_INVALID_ARG);
}
END_TEST

START_TEST(time_expiry)
{
    struct ike_kernel_op a = sa_op(IKE_KOP_ADD_SA, 0x4000, 2);
    struct ike_kernel_op b = sa_op(IKE_KOP_ADD_SA, 0x4001, 2);
    struct ike_kernel_event ev[4];

    ike_kmem_set_time(m, 100);
    a.u.sa.life.soft_add_s = 10;
    a.u.sa.life.hard_add_s = 20;
    b.u.sa.life.soft_add_s = 10;
    ck_assert_int_eq(be.apply(be.ctx, &a), 0);
    ck_assert_int_eq(be.apply(be.ctx, &b), 0);
    ck_assert_uint_eq(ike_kmem_next_expiry(m), 110);
    ck_assert_int_eq(ike_kmem_tick(m, 109, ev, 4), 0);
    /* Two soft events are due; with room for one the other waits. */
    ck_assert_int_eq(ike_kmem_tick(m, 110, ev, 1), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_SOFT);
    uint32_t first = ev[0].sa.spi;
    ck_assert_int_eq(ike_kmem_tick(m, 110, ev, 4), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_SOFT);
    ck_assert_uint_ne(ev[0].sa.spi, first);
    ck_assert_int_eq(ike_kmem_tick(m, 115, ev, 4), 0);
    ck_assert_uint_eq(ike_kmem_next_expiry(m), 120);
    ck_assert_int_eq(ike_kmem_tick(m, 500, ev, 4), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_HARD);
    ck_assert_uint_eq(ev[0].sa.spi, 0x4000);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 1);
    ck_assert_uint_eq(ike_kmem_next_expiry(m), UINT64_MAX);
}
END_TEST

START_TEST(time_expiry_after_update_and_delete)
{
    struct ike_kernel_op a = sa_op(IKE_KOP_ADD_SA, 0x5000, 2);
    struct ike_kernel_event ev[4];

    ike_kmem_set_time(m, 0);
    a.u.sa.life.soft_add_s = 10;
    a.u.sa.life.hard_add_s = 20;
    ck_assert_int_eq(be.apply(be.ctx, &a), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 10, ev, 4), 1);
    /* UPDATE with longer lifetimes: counted from the original add time,
     * and the soft event may fire again (the kernel clears km.dying). */
    a.type = IKE_KOP_UPDATE_SA;
    a.u.sa.life.soft_add_s = 30;
    a.u.sa.life.hard_add_s = 40;
    ck_assert_int_eq(be.apply(be.ctx, &a), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 25, ev, 4), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 30, ev, 4), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_SOFT);
    /* A deleted SA never expires. */
    struct ike_kernel_op del = del_op(0x5000, 2);
    ck_assert_int_eq(be.apply(be.ctx, &del), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 1000, ev, 4), 0);
}
END_TEST

START_TEST(larval_expires_like_acq)
{
    struct ike_addr src = v4(192, 0, 2, 1), dst = v4(192, 0, 2, 2);
    struct ike_kernel_event ev[2];
    uint32_t spi, spi2;

    ike_kmem_set_time(m, 1000);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 1000, 2000, &spi), 0);
    ike_kmem_set_acq_expires(m, 0);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 1000, 2000, &spi2), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 1029, ev, 2), 0);
    ck_assert_int_eq(ike_kmem_tick(m, 1030, ev, 2), 1);
    ck_assert_int_eq(ev[0].type, IKE_KEV_EXPIRE_HARD);
    ck_assert_uint_eq(ev[0].sa.spi, spi);
    ck_assert_uint_eq(ike_kmem_larval_count(m), 1); /* spi2 never expires */
    ck_assert_int_eq(ike_kmem_tick(m, 100000, ev, 2), 0);
}
END_TEST

START_TEST(fail_next_hook)
{
    struct ike_kernel_op a = sa_op(IKE_KOP_ADD_SA, 0x6000, 2);
    struct ike_kernel_op p = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 1);

    ike_kmem_fail_next(m, 2, IKE_ERR_KERNEL_ALG, IKE_KOP_ADD_POLICY);
    ck_assert_int_eq(be.apply(be.ctx, &a), 0); /* other type passes */
    ck_assert_int_eq(be.apply(be.ctx, &p), IKE_ERR_KERNEL_ALG);
    ck_assert_int_eq(be.apply(be.ctx, &p), IKE_ERR_KERNEL_ALG);
    ck_assert_uint_eq(ike_kmem_policy_count(m), 0);
    ck_assert_int_eq(be.apply(be.ctx, &p), 0);
    ike_kmem_fail_next(m, 1, IKE_ERR_KERNEL, 0);
    struct ike_kernel_op d = del_op(0x6000, 2);
    ck_assert_int_eq(be.apply(be.ctx, &d), IKE_ERR_KERNEL);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 1);
    ck_assert_int_eq(be.apply(be.ctx, &d), 0);
}
END_TEST

START_TEST(dump_and_describe)
{
    struct ike_kernel_op a = sa_op(IKE_KOP_ADD_SA, 0xc0de0001, 2);
    struct ike_kernel_op p = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 1);
    char buf[512], small[16];

    a.u.sa.esn = true;
    ck_assert_int_eq(be.apply(be.ctx, &a), 0);
    ck_assert_int_eq(be.apply(be.ctx, &p), 0);
    const char *d = dump();
    ck_assert_ptr_nonnull(strstr(d, "kmem: 1 SAs, 0 larval, 1 policies"));
    ck_assert_ptr_nonnull(strstr(d, "sa esp spi 0xc0de0001 192.0.2.1->192.0.2.2 tunnel reqid 7"));
    ck_assert_ptr_nonnull(strstr(d, "policy out 10.1.0.0/16->10.200.0.0/16 ipsec"));
    ck_assert_ptr_null(strstr(d, "dede")); /* key bytes are 0xde */
    size_t need = ike_kmem_dump(m, small, sizeof(small));
    ck_assert_uint_eq(need, strlen(d));
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);

    ck_assert_int_gt(ike_kernel_op_describe(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "ADD_SA esp spi 0xc0de0001 192.0.2.1->192.0.2.2 tunnel reqid 7 encr "
                          "20/256 icv 16 integ 0 esn replay encap 0->0");
    struct ike_kernel_op del = del_op(0x10, 9);
    ike_kernel_op_describe(&del, buf, sizeof(buf));
    ck_assert_str_eq(buf, "DEL_SA esp spi 0x00000010 dst 192.0.2.9");
    struct ike_kernel_op dp = {.type = IKE_KOP_DEL_POLICY};
    dp.u.policy_id = pol_id(&p);
    dp.u.policy_id.sel.ip_proto = 6;
    dp.u.policy_id.sel.dport = 443;
    ike_kernel_op_describe(&dp, buf, sizeof(buf));
    ck_assert_str_eq(buf, "DEL_POLICY out 10.1.0.0/16->10.200.0.0/16 proto 6 sport 0 dport 443 "
                          "mark 0x0/0x0");
    struct ike_kernel_op v6 = del_op(1, 1);
    v6.u.sa_id.dst.family = IKE_AF_INET6;
    memset(v6.u.sa_id.dst.bytes, 0, 16);
    v6.u.sa_id.dst.bytes[0] = 0x20;
    v6.u.sa_id.dst.bytes[1] = 0x01;
    v6.u.sa_id.dst.bytes[15] = 1;
    ike_kernel_op_describe(&v6, buf, sizeof(buf));
    ck_assert_str_eq(buf, "DEL_SA esp spi 0x00000001 dst 2001::1");
    struct ike_kernel_op bad = {.type = 99};
    ck_assert_int_eq(ike_kernel_op_describe(&bad, buf, sizeof(buf)), IKE_ERR_INVALID_ARG);
}
END_TEST

/* A batch that fails halfway is undone in reverse; DEL/UPDATE are not. */
START_TEST(batch_undo)
{
    struct ike_kernel_op ops[4];
    size_t at;
    unsigned bad;

    ops[0] = sa_op(IKE_KOP_ADD_SA, 0x7000, 2);
    ops[1] = sa_op(IKE_KOP_ADD_SA, 0x7001, 2);
    ops[2] = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 1);
    ops[3] = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_IN, 1);
    ike_kmem_fail_next(m, 1, IKE_ERR_KERNEL_ALG, IKE_KOP_ADD_POLICY);
    ck_assert_int_eq(ike_kernel_apply_batch(&be, ops, 4, &at, &bad), IKE_ERR_KERNEL_ALG);
    ck_assert_uint_eq(at, 2);
    ck_assert_uint_eq(bad, 0);
    ck_assert_msg(ike_kmem_sa_count(m) == 0 && ike_kmem_policy_count(m) == 0, "%s", dump());
    ck_assert_int_eq(ike_kernel_apply_batch(&be, ops, 4, &at, &bad), 0);
    ck_assert_uint_eq(at, 4);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 2);
    ck_assert_uint_eq(ike_kmem_policy_count(m), 2);
    /* Fails at the last op: three undone, the pre-existing ones stay. */
    struct ike_kernel_op more[4] = {sa_op(IKE_KOP_ADD_SA, 0x7002, 2),
                                    pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_FWD, 1), del_op(0x7000, 2),
                                    ops[3]};
    ck_assert_int_eq(ike_kernel_apply_batch(&be, more, 4, &at, &bad), IKE_ERR_KERNEL_EXISTS);
    ck_assert_uint_eq(at, 3);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 1); /* 0x7000 deleted for good, 0x7002 undone */
    ck_assert_uint_eq(ike_kmem_policy_count(m), 2);
    ck_assert_int_eq(ike_kernel_apply_batch(NULL, ops, 1, NULL, NULL), IKE_ERR_INVALID_ARG);
}
END_TEST

START_TEST(acquire_on_trap_policy)
{
    struct ike_kernel_op trap = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 4);
    struct ike_kernel_op ipsec = pol_op(IKE_KOP_ADD_POLICY, IKE_DIR_OUT, 5);
    struct ike_policy_id tid = pol_id(&trap), iid = pol_id(&ipsec);
    struct ike_kernel_event ev;

    trap.u.policy.action = IKE_POLICY_TRAP;
    trap.u.policy.reqid = 44;
    ck_assert_int_eq(ike_kmem_acquire(m, &tid, &ev), IKE_ERR_KERNEL_NOENT);
    ck_assert_int_eq(be.apply(be.ctx, &trap), 0);
    ck_assert_int_eq(be.apply(be.ctx, &ipsec), 0);
    ck_assert_int_eq(ike_kmem_acquire(m, &tid, &ev), 0);
    ck_assert_int_eq(ev.type, IKE_KEV_ACQUIRE);
    ck_assert_uint_eq(ev.reqid, 44);
    ck_assert_uint_eq(ev.dir, IKE_DIR_OUT);
    ck_assert_mem_eq(&ev.sel, &trap.u.policy.sel, sizeof(ev.sel));
    ck_assert_uint_eq(ev.sa.dst.bytes[3], 2);
    ck_assert_int_eq(ike_kmem_acquire(m, &iid, &ev), IKE_ERR_INVALID_ARG);
}
END_TEST

static int count_cb(void *arg, const struct ike_kernel_sa *sa, const struct ike_kmem_sa_state *st)
{
    (void)sa;
    (void)st;
    return ++*(int *)arg == 2 ? 42 : 0;
}

START_TEST(foreach_and_backend_identity)
{
    int n = 0;
    for (uint32_t spi = 1; spi <= 3; spi++) {
        struct ike_kernel_op a = sa_op(IKE_KOP_ADD_SA, spi, 2);
        ck_assert_int_eq(be.apply(be.ctx, &a), 0);
    }
    ck_assert_int_eq(ike_kmem_foreach_sa(m, count_cb, &n), 42);
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_eq(ike_kmem_from_backend(&be), m);
    ck_assert_str_eq(be.name, "memory");
    ck_assert_str_eq(be.last_error(be.ctx), "");
    struct ike_kernel_backend other = be;
    other.apply = NULL;
    ck_assert_ptr_null(ike_kmem_from_backend(&other));
}
END_TEST

/* 100,000 SAs: insert, random deletes (exercising the table's backward
 * shift), every survivor still found, every deleted one gone, and the
 * whole run fast (well under a second on this machine). */
START_TEST(scale_100k)
{
    enum { N = 100000 };
    static struct ike_kernel_op op;
    uint8_t *alive = calloc(N, 1);
    uint64_t x = 12345;
    size_t bad = 0;
    clock_t t0 = clock();

    ck_assert_ptr_nonnull(alive);
    op = sa_op(IKE_KOP_ADD_SA, 0, 2);
    op.u.sa.life.hard_add_s = 1000;
    for (uint32_t i = 0; i < N; i++) {
        op.u.sa.id.spi = 0x10000 + i;
        op.u.sa.id.dst.bytes[3] = (uint8_t)i;
        bad += be.apply(be.ctx, &op) != 0; /* ck_assert per op would dominate */
        alive[i] = 1;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(ike_kmem_sa_count(m), N);
    for (int k = 0; k < N; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t i = (uint32_t)((x >> 33) % N);
        struct ike_kernel_op d = del_op(0x10000 + i, (uint8_t)i);
        bad += be.apply(be.ctx, &d) != (alive[i] ? 0 : IKE_ERR_KERNEL_NOENT);
        alive[i] = 0;
    }
    size_t live = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct ike_sa_id id = sa_id(0x10000 + i, (uint8_t)i);
        bad += (ike_kmem_find_sa(m, &id, NULL) != NULL) != alive[i];
        live += alive[i];
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(ike_kmem_sa_count(m), live);
    struct ike_kernel_event ev[64];
    size_t hard = 0;
    int got;
    while ((got = ike_kmem_tick(m, 1000, ev, 64)) > 0)
        hard += (size_t)got;
    ck_assert_uint_eq(hard, live);
    ck_assert_uint_eq(ike_kmem_sa_count(m), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("kmem scale: %d adds, %d deletes, %d lookups, %zu expiries in %.3f s\n", N, N, N, hard,
           secs);
    ck_assert(secs < 5.0); /* a list walk would take minutes */
    free(alive);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("kmem");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sa_add_exists_del_noent);
    tcase_add_test(tc, sa_update_semantics);
    tcase_add_test(tc, alloc_spi_larval_needs_update);
    tcase_add_test(tc, alloc_spi_never_reuses);
    tcase_add_test(tc, policy_semantics);
    tcase_add_test(tc, traffic_soft_once_hard_deletes);
    tcase_add_test(tc, time_expiry);
    tcase_add_test(tc, time_expiry_after_update_and_delete);
    tcase_add_test(tc, larval_expires_like_acq);
    tcase_add_test(tc, fail_next_hook);
    tcase_add_test(tc, dump_and_describe);
    tcase_add_test(tc, foreach_and_backend_identity);
    tcase_add_test(tc, batch_undo);
    tcase_add_test(tc, acquire_on_trap_policy);
    tcase_add_test(tc, scale_100k);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

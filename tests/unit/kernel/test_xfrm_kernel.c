/*
 * test_xfrm_kernel.c: the XFRM backend against the real kernel, each test
 * in a fresh network namespace it creates itself (unshare(CLONE_NEWNET) in
 * Check's forked child). Needs root; without it every test prints a loud
 * SKIP line and passes. The host has XFRM but no ESP: policies, ALLOCSPI,
 * the larval SA's expiry event and error mapping are tested here; real ESP
 * SAs are tested under UML (tests/uml/xfrm-backend.sh).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ike/err.h"
#include "ike/kernel.h"
#include "ike/xfrm.h"
#include "ck_main.h"

static struct ike_kernel_backend be;
static bool have_ns;

/* A fresh namespace and a backend in it; false (after a SKIP line) when
 * this process may not create namespaces. */
static bool enter_netns(void)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "SKIP: needs root and netns (unshare(CLONE_NEWNET): %s)\n",
                geteuid() != 0 ? "not root" : strerror(errno));
        return false;
    }
    ck_assert_int_eq(ike_xfrm_backend_new(&be), 0);
    have_ns = true;
    return true;
}

static void teardown(void)
{
    if (have_ns)
        be.destroy(be.ctx);
    have_ns = false;
}

static struct ike_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ike_addr x = {.family = IKE_AF_INET, .bytes = {a, b, c, d}};
    return x;
}

static struct ike_kernel_policy pol(uint8_t dir, uint8_t net)
{
    struct ike_kernel_policy p;
    memset(&p, 0, sizeof(p));
    p.sel.src = v4(10, net, 0, 0);
    p.sel.dst = v4(10, 200, 0, 0);
    p.sel.src_prefix = p.sel.dst_prefix = 16;
    p.dir = dir;
    p.priority = 1000 + net;
    p.mode = IKE_MODE_TUNNEL;
    p.tmpl_src = v4(192, 0, 2, 1);
    p.tmpl_dst = v4(192, 0, 2, 2);
    p.reqid = net;
    return p;
}

struct polset {
    struct ike_kernel_policy p[16];
    int n;
};

static int collect(void *arg, const struct ike_kernel_policy *p)
{
    struct polset *s = arg;
    ck_assert_int_lt(s->n, 16);
    s->p[s->n++] = *p;
    return 0;
}

static const struct ike_kernel_policy *find_pol(const struct polset *s, uint8_t dir, uint8_t net)
{
    for (int i = 0; i < s->n; i++)
        if (s->p[i].dir == dir && s->p[i].sel.src.bytes[1] == net)
            return &s->p[i];
    return NULL;
}

static int op(uint8_t type, const struct ike_kernel_policy *p)
{
    struct ike_kernel_op o = {.type = type};
    if (type == IKE_KOP_DEL_POLICY) {
        o.u.policy_id.sel = p->sel;
        o.u.policy_id.dir = p->dir;
        o.u.policy_id.mark = p->mark;
        o.u.policy_id.mark_mask = p->mark_mask;
        o.u.policy_id.if_id = p->if_id;
    } else {
        o.u.policy = *p;
    }
    return be.apply(be.ctx, &o);
}

START_TEST(policy_round_trip)
{
    struct polset s = {.n = 0};
    struct ike_kernel_policy out, in, fwd, tr;

    if (!enter_netns())
        return;
    out = pol(IKE_DIR_OUT, 1);
    out.spi = 0xc0000001; /* pinned */
    out.mark = 0x10;
    out.mark_mask = 0xff;
    out.if_id = 4;
    in = pol(IKE_DIR_IN, 1);
    fwd = pol(IKE_DIR_FWD, 1);
    tr = pol(IKE_DIR_OUT, 2);
    tr.mode = IKE_MODE_TRANSPORT;
    memset(&tr.tmpl_src, 0, sizeof(tr.tmpl_src));
    memset(&tr.tmpl_dst, 0, sizeof(tr.tmpl_dst));
    tr.sel.ip_proto = 6;
    tr.sel.dport = 443;
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &out), 0);
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &in), 0);
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &fwd), 0);
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &tr), 0);

    ck_assert_int_eq(ike_xfrm_dump_policies(&be, collect, &s), 0);
    ck_assert_int_eq(s.n, 4);
    /* What the kernel holds is what we built, field by field. */
    const struct ike_kernel_policy *k = find_pol(&s, IKE_DIR_OUT, 1);
    ck_assert_ptr_nonnull(k);
    ck_assert_mem_eq(&k->sel, &out.sel, sizeof(out.sel));
    ck_assert_uint_eq(k->spi, 0xc0000001);
    ck_assert_uint_eq(k->reqid, 1);
    ck_assert_uint_eq(k->priority, 1001);
    ck_assert_uint_eq(k->mark, 0x10);
    ck_assert_uint_eq(k->mark_mask, 0xff);
    ck_assert_uint_eq(k->if_id, 4);
    ck_assert_uint_eq(k->mode, IKE_MODE_TUNNEL);
    ck_assert_mem_eq(&k->tmpl_dst, &out.tmpl_dst, sizeof(out.tmpl_dst));
    ck_assert_mem_eq(&k->tmpl_src, &out.tmpl_src, sizeof(out.tmpl_src));
    k = find_pol(&s, IKE_DIR_OUT, 2);
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->mode, IKE_MODE_TRANSPORT);
    ck_assert_uint_eq(k->sel.dport, 443);
    ck_assert_uint_eq(k->sel.ip_proto, 6);
    ck_assert_ptr_nonnull(find_pol(&s, IKE_DIR_FWD, 1));

    /* EEXIST with words; UPDPOLICY repoints the SPI. */
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &in), IKE_ERR_KERNEL_EXISTS);
    ck_assert_ptr_nonnull(
        strstr(be.last_error(be.ctx), "ADD_POLICY in 10.1.0.0/16->10.200.0.0/16"));
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "already exists (EEXIST"));
    out.spi = 0xc0000002;
    ck_assert_int_eq(op(IKE_KOP_UPDATE_POLICY, &out), 0);
    s.n = 0;
    ck_assert_int_eq(ike_xfrm_dump_policies(&be, collect, &s), 0);
    ck_assert_int_eq(s.n, 4);
    ck_assert_uint_eq(find_pol(&s, IKE_DIR_OUT, 1)->spi, 0xc0000002);

    /* Delete: the mark and the if_id are part of the identity. */
    struct ike_kernel_policy nomark = out;
    nomark.mark = nomark.mark_mask = 0;
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &nomark), IKE_ERR_KERNEL_NOENT);
    nomark = out;
    nomark.if_id = 0;
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &nomark), IKE_ERR_KERNEL_NOENT);
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "not found (ENOENT"));
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &out), 0);
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &in), 0);
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &fwd), 0);
    ck_assert_int_eq(op(IKE_KOP_DEL_POLICY, &tr), 0);
    s.n = 0;
    ck_assert_int_eq(ike_xfrm_dump_policies(&be, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

struct saset {
    uint32_t spi[8];
    int n;
};

static int collect_sa(void *arg, const struct ike_kernel_sa *sa, const struct ike_sa_stats *st)
{
    struct saset *s = arg;
    (void)st;
    if (s->n < 8)
        s->spi[s->n++] = sa->id.spi;
    return 0;
}

START_TEST(allocspi_round_trip)
{
    struct ike_addr src = v4(192, 0, 2, 1), dst = v4(192, 0, 2, 2);
    uint32_t a = 0, b = 0;
    struct saset s = {.n = 0};
    struct ike_sa_stats st;

    if (!enter_netns())
        return;
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0xc0000000, 0xcfffffff, &a), 0);
    ck_assert_uint_ge(a, 0xc0000000);
    ck_assert_uint_le(a, 0xcfffffff);
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0xc0000000, 0xcfffffff, &b), 0);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ge(b, 0xc0000000);
    ck_assert_uint_le(b, 0xcfffffff);
    /* Both larval SAs are in the kernel and GETSA finds them. */
    ck_assert_int_eq(ike_xfrm_dump_sas(&be, collect_sa, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert(s.spi[0] == a || s.spi[1] == a);
    struct ike_sa_id id = {.dst = dst, .spi = a, .proto = IKE_IPPROTO_ESP};
    ck_assert_int_eq(be.get_stats(be.ctx, &id, &st), 0);
    ck_assert_uint_eq(st.bytes, 0);
    ck_assert_uint_gt(st.add_time_s, 1600000000u);
    /* A one-SPI range that is taken: no free SPI. */
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, a, a, &b), IKE_ERR_KERNEL);
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "no free SPI"));
    /* Delete one; a second delete and GETSA say ENOENT/ESRCH in words. */
    struct ike_kernel_op del = {.type = IKE_KOP_DEL_SA};
    del.u.sa_id = id;
    ck_assert_int_eq(be.apply(be.ctx, &del), 0);
    ck_assert_int_eq(be.apply(be.ctx, &del), IKE_ERR_KERNEL_NOENT);
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "DEL_SA esp spi 0x"));
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "not found (ESRCH"));
    ck_assert_int_eq(be.get_stats(be.ctx, &id, &st), IKE_ERR_KERNEL_NOENT);
    ck_assert_int_eq(ike_xfrm_flush(&be), 0);
    s.n = 0;
    ck_assert_int_eq(ike_xfrm_dump_sas(&be, collect_sa, &s), 0);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

static struct ike_kernel_op esp_sa(uint16_t encr)
{
    struct ike_kernel_op o;
    memset(&o, 0, sizeof(o));
    o.type = IKE_KOP_ADD_SA;
    o.u.sa.id.dst = v4(192, 0, 2, 2);
    o.u.sa.id.spi = 0xc0000123;
    o.u.sa.id.proto = IKE_IPPROTO_ESP;
    o.u.sa.src = v4(192, 0, 2, 1);
    o.u.sa.mode = IKE_MODE_TUNNEL;
    o.u.sa.encr_id = encr;
    o.u.sa.encr_key_bits = 128;
    if (encr == ENCR_AES_CBC) {
        o.u.sa.encr_key.len = 16;
        o.u.sa.integ_id = AUTH_HMAC_SHA2_256_128;
        o.u.sa.integ_key.len = 32;
    } else {
        o.u.sa.encr_key.len = 20;
    }
    o.u.sa.replay_window = 32;
    return o;
}

/* On this host: no ESP (EPROTONOSUPPORT) or, for AEAD, no GCM in the
 * crypto API (ENOSYS). Under a kernel with ESP the SA goes in. */
START_TEST(add_sa_error_mapping)
{
    if (!enter_netns())
        return;
    struct ike_kernel_op cbc = esp_sa(ENCR_AES_CBC);
    int rc = be.apply(be.ctx, &cbc);
    if (rc == 0) {
        fprintf(stderr, "note: this kernel has ESP; ADD_SA succeeded\n");
        ck_assert_int_eq(be.apply(be.ctx, &cbc), IKE_ERR_KERNEL_EXISTS);
    } else {
        const char *e = be.last_error(be.ctx);
        fprintf(stderr, "ADD_SA cbc: %s\n", e);
        ck_assert_int_eq(rc, IKE_ERR_KERNEL_NOESP);
        ck_assert_ptr_nonnull(strstr(e, "ADD_SA esp spi 0xc0000123 192.0.2.1->192.0.2.2"));
        ck_assert_ptr_nonnull(strstr(e, "no ESP in this kernel (EPROTONOSUPPORT"));
    }
    struct ike_kernel_op gcm = esp_sa(ENCR_AES_GCM_16);
    gcm.u.sa.id.spi = 0xc0000124;
    rc = be.apply(be.ctx, &gcm);
    if (rc != 0) {
        const char *e = be.last_error(be.ctx);
        fprintf(stderr, "ADD_SA gcm: %s\n", e);
        ck_assert_msg(rc == IKE_ERR_KERNEL_ALG || rc == IKE_ERR_KERNEL_NOESP, "rc %d: %s", rc, e);
        if (rc == IKE_ERR_KERNEL_ALG)
            ck_assert_ptr_nonnull(strstr(e, "algorithm rfc4106(gcm(aes)) not available"));
    }
    /* A request the builder refuses never reaches the kernel. */
    gcm.u.sa.encr_key.len = 3;
    ck_assert_int_eq(be.apply(be.ctx, &gcm), IKE_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "cannot build"));
}
END_TEST

/* The kernel expires a larval SA (ALLOCSPI) after net.core.xfrm_acq_expires
 * seconds with a hard EXPIRE: a real event the host emits. */
START_TEST(expire_event_from_kernel)
{
    struct ike_addr src = v4(192, 0, 2, 1), dst = v4(192, 0, 2, 2);
    struct ike_xfrm_events *ev = NULL;
    struct ike_kernel_event got[4];
    uint32_t spi;
    FILE *f;
    int n = 0;
    bool lost;

    if (!enter_netns())
        return;
    f = fopen("/proc/sys/net/core/xfrm_acq_expires", "w");
    ck_assert_ptr_nonnull(f);
    fputs("1", f);
    fclose(f);
    ck_assert_int_eq(ike_xfrm_events_new(&ev), 0);
    ck_assert_int_ge(ike_xfrm_events_fd(ev), 0);
    ck_assert_int_eq(ike_xfrm_events_read(ev, got, 4, &lost), 0); /* nothing yet, no block */
    ck_assert_int_eq(be.alloc_spi(be.ctx, &src, &dst, 0x1000, 0x1fff, &spi), 0);
    for (int i = 0; i < 60 && n == 0; i++) { /* up to 6 s */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = ike_xfrm_events_read(ev, got, 4, &lost);
        ck_assert_int_ge(n, 0);
    }
    ck_assert_int_eq(n, 1);
    ck_assert(!lost);
    ck_assert_int_eq(got[0].type, IKE_KEV_EXPIRE_HARD);
    ck_assert_uint_eq(got[0].sa.spi, spi);
    ck_assert_uint_eq(got[0].sa.proto, IKE_IPPROTO_ESP);
    ck_assert_mem_eq(&got[0].sa.dst, &dst, sizeof(dst));
    ike_xfrm_events_free(ev);
}
END_TEST

/* A batch that fails halfway leaves nothing behind. */
START_TEST(batch_rolls_back)
{
    struct ike_kernel_op ops[3];
    struct polset s = {.n = 0};
    size_t at;
    unsigned undo_bad;

    if (!enter_netns())
        return;
    struct ike_kernel_policy in = pol(IKE_DIR_IN, 3);
    ck_assert_int_eq(op(IKE_KOP_ADD_POLICY, &in), 0); /* in the way */
    memset(ops, 0, sizeof(ops));
    ops[0].type = ops[1].type = ops[2].type = IKE_KOP_ADD_POLICY;
    ops[0].u.policy = pol(IKE_DIR_OUT, 3);
    ops[1].u.policy = pol(IKE_DIR_FWD, 3);
    ops[2].u.policy = in;
    ck_assert_int_eq(ike_kernel_apply_batch(&be, ops, 3, &at, &undo_bad), IKE_ERR_KERNEL_EXISTS);
    ck_assert_uint_eq(at, 2);
    ck_assert_uint_eq(undo_bad, 0);
    ck_assert_ptr_nonnull(strstr(be.last_error(be.ctx), "already exists"));
    ck_assert_int_eq(ike_xfrm_dump_policies(&be, collect, &s), 0);
    ck_assert_int_eq(s.n, 1); /* only the one that was there before */
    ck_assert_uint_eq(s.p[0].dir, IKE_DIR_IN);
    ck_assert_int_eq(ike_kernel_apply_batch(&be, ops, 2, &at, NULL), 0);
    ck_assert_uint_eq(at, 2);
    ck_assert_int_eq(ike_xfrm_flush(&be), 0);
    s.n = 0;
    ck_assert_int_eq(ike_xfrm_dump_policies(&be, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("xfrm_kernel");
    TCase *tc = tcase_create("netns");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, policy_round_trip);
    tcase_add_test(tc, allocspi_round_trip);
    tcase_add_test(tc, add_sa_error_mapping);
    tcase_add_test(tc, expire_event_from_kernel);
    tcase_add_test(tc, batch_rolls_back);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

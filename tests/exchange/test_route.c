/*
 * test_route.c: auto=route. The routed side installs a trap policy for its
 * configured subnets when the conn is added; the kernel's ACQUIRE (made by
 * the in-memory kernel from that trap) starts the tunnel once; the child
 * takes the trap's outbound policy over and hands it back when it goes, so
 * the selector is never left uncovered. The in-memory kernel refuses an
 * ADD over an existing policy (EEXIST) like Linux, so a wrong op fails the
 * test through kernel_errors.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void setup(void)
{
    h_init(&w, 21);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
    cfg[0].auto_mode = IKE_AUTO_ROUTE;
    cfg[1].auto_mode = IKE_AUTO_ADD;
}

static void teardown(void)
{
    h_free(&w);
}

/* The outbound selector of the left side's trap: 10.1/16 -> 10.2/16. */
static struct ike_policy_id trap_id(void)
{
    struct ike_policy_id id = {.dir = IKE_DIR_OUT};
    id.sel.src = cfg[0].local_ts.addr;
    id.sel.src_prefix = cfg[0].local_ts.prefix;
    id.sel.dst = cfg[0].remote_ts.addr;
    id.sel.dst_prefix = cfg[0].remote_ts.prefix;
    return id;
}

static const struct ike_kernel_policy *left_out(void)
{
    struct ike_policy_id id = trap_id();
    return ike_kmem_find_policy(w.p[0].kmem, &id);
}

static void assert_trap_only(void)
{
    const struct ike_kernel_policy *p = left_out();
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->action, IKE_POLICY_TRAP);
    ck_assert_uint_eq(p->spi, 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 1);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_int_eq(w.p[0].kernel_errors, 0);
}

static int acquire(void)
{
    struct ike_kernel_event ev;
    struct ike_policy_id id = trap_id();
    ck_assert_int_eq(ike_kmem_acquire(w.p[0].kmem, &id, &ev), 0);
    int rc = ike_engine_kernel_event(w.p[0].e, &ev, w.now_ms);
    h_drain(&w);
    return rc;
}

static void assert_up(void)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), 1);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "%s", why);
    const struct ike_kernel_policy *p = left_out();
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->action, IKE_POLICY_IPSEC);
    ck_assert_uint_eq(p->spi, h_pinned_out_spi(&w, 0));
    ck_assert_uint_ne(p->spi, 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 3); /* out (was the trap), in, fwd */
}

static void up_by_acquire(void)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    assert_trap_only();
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[1].kmem), 0); /* auto=add: nothing */
    ck_assert_int_eq(acquire(), 0);
    h_run(&w, 2000);
    assert_up();
}

START_TEST(acquire_brings_the_tunnel_up)
{
    up_by_acquire();
    ck_assert(h_log_has(&w.p[0], "kernel ACQUIRE (traffic hit the trap policy): initiating"));
}
END_TEST

START_TEST(repeated_acquire_initiates_once)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    ck_assert_int_eq(acquire(), 0);
    int sent = w.p[0].sent;
    ck_assert_int_eq(acquire(), 0); /* another flow while IKE_SA_INIT is out */
    ck_assert_int_eq(w.p[0].sent, sent);
    h_run(&w, 2000);
    assert_up();
    /* An ACQUIRE the kernel queued before the child took the policy over. */
    struct ike_kernel_event late = {.type = IKE_KEV_ACQUIRE, .reqid = left_out()->reqid};
    sent = w.p[0].sent;
    ck_assert_int_eq(ike_engine_kernel_event(w.p[0].e, &late, w.now_ms), 0);
    h_drain(&w);
    ck_assert_int_eq(w.p[0].sent, sent);
    ck_assert_int_eq(h_ike_count(&w.p[0], NULL), 1);
}
END_TEST

START_TEST(tunnel_down_restores_the_trap)
{
    /* _i: 0 = we close it, 1 = the peer closes it */
    up_by_acquire();
    ck_assert_int_eq(ike_engine_terminate(w.p[_i].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_trap_only();
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[1].kmem), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[1].kmem), 0);
    /* The next packet brings it back. */
    ck_assert_int_eq(acquire(), 0);
    h_run(&w, 2000);
    assert_up();
}
END_TEST

START_TEST(rekey_keeps_the_policy)
{
    /* _i: 0 = we rekey, 1 = the peer rekeys; bit 1 = IKE SA instead */
    up_by_acquire();
    uint32_t before = left_out()->spi;
    ck_assert_int_eq(ike_engine_rekey(w.p[_i & 1].e, "t", _i & 2, w.now_ms), 0);
    h_run(&w, 60000);
    assert_up();
    if (!(_i & 2))
        ck_assert_uint_ne(left_out()->spi, before);
    ck_assert_int_eq(ike_engine_terminate(w.p[0].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_trap_only();
}
END_TEST

START_TEST(narrowed_child_beside_the_trap)
{
    /* The responder only serves 10.2.1.0/24: the child's policies have
     * other selectors than the trap, so they are added beside it. */
    cfg[1].local_ts.prefix = 24;
    cfg[1].local_ts.addr.bytes[2] = 1;
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    ck_assert_int_eq(acquire(), 0);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    ck_assert_int_eq(w.p[0].kernel_errors, 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 4);
    ck_assert_int_eq(left_out()->action, IKE_POLICY_TRAP);
    ck_assert_int_eq(ike_engine_terminate(w.p[0].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_trap_only();
}
END_TEST

START_TEST(removing_the_conn_removes_everything)
{
    /* _i: 0 = remove the conn, 1 = shut the engine down; bit 1 = with
     * the tunnel up */
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    if (_i & 2) {
        ck_assert_int_eq(acquire(), 0);
        h_run(&w, 2000);
        assert_up();
    }
    if (_i & 1)
        ike_engine_shutdown(w.p[0].e, w.now_ms);
    else
        ck_assert_int_eq(ike_engine_remove_conn(w.p[0].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_int_eq(w.p[0].kernel_errors, 0);
}
END_TEST

START_TEST(reload_keeps_the_tunnel)
{
    /* The same conn added again (a reload) while its child holds the
     * trap's policy: nothing in the kernel changes; the trap still comes
     * back when the tunnel goes. Then auto=add: the trap goes for good. */
    up_by_acquire();
    int ops = w.p[0].kernel_ops;
    ck_assert_int_eq(ike_engine_add_conn(w.p[0].e, &cfg[0]), 0);
    h_drain(&w);
    ck_assert_int_eq(w.p[0].kernel_ops, ops);
    ck_assert_int_eq(ike_engine_terminate(w.p[0].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_trap_only();
    cfg[0].auto_mode = IKE_AUTO_ADD;
    ck_assert_int_eq(ike_engine_add_conn(w.p[0].e, &cfg[0]), 0);
    h_drain(&w);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
}
END_TEST

START_TEST(acquire_beside_the_peers_abandoned_setup)
{
    /* B73 (sim seeds 326699, 359224: there the auto=start supervisor
     * waited the same way). The peer initiates, our IKE_SA_INIT responses
     * are lost and it gives up: our half-open SA of its attempt lingers
     * for the half-open timeout (30 s, RFC 7296 2.6), and only the peer
     * could complete it (2.1). Traffic hitting the trap meanwhile must
     * start our own setup; ignored, it waited for the kernel's next
     * ACQUIRE (its acquire timeout, 30 s). */
    cfg[1].retransmit_base_ms = 500;
    cfg[1].retransmit_factor_pct = 100;
    cfg[1].retransmit_tries = 2;
    cfg[1].dpd_action = IKE_DPD_CLEAR;
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    struct h_rule lost = {
        .from = 0, .exchange = IKE_SA_INIT, .response = 1, .count = 100, .action = H_DROP};
    h_set_rule(&w, &lost);
    ck_assert_int_eq(ike_engine_initiate(w.p[1].e, "t", w.now_ms), 0);
    h_run(&w, 5000);
    h_set_rule(&w, NULL);
    ck_assert_int_ge(lost.matched, 3);
    ck_assert_int_eq(h_ike_count(&w.p[1], NULL), 0); /* the peer gave up */
    ck_assert_int_eq(h_ike_count(&w.p[0], "INIT_DONE"), 1);
    ck_assert_uint_eq(ike_engine_conn_sa_count(w.p[0].e, "t"), 1);
    ck_assert_uint_eq(ike_engine_conn_own_sa_count(w.p[0].e, "t"), 0);
    int sent = w.p[0].sent;
    ck_assert_int_eq(acquire(), 0);
    ck_assert_msg(w.p[0].sent > sent, "ACQUIRE ignored beside the peer's half-open SA");
    h_run(&w, 2000);
    ck_assert_int_eq(h_ike_count(&w.p[0], "ESTABLISHED"), 1);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    ck_assert_int_eq(h_child_count(&w.p[1]), 1);
    ck_assert_uint_eq(ike_engine_conn_own_sa_count(w.p[0].e, "t"), 1);
    char why[200];
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "%s", why);
    ck_assert_int_eq(left_out()->action, IKE_POLICY_IPSEC);
    ck_assert_int_eq(w.p[0].kernel_errors, 0);
}
END_TEST

START_TEST(acquire_without_a_routed_conn)
{
    cfg[0].auto_mode = IKE_AUTO_ADD;
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_drain(&w);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
    struct ike_kernel_event ev = {.type = IKE_KEV_ACQUIRE, .reqid = 1};
    ck_assert_int_eq(ike_engine_kernel_event(w.p[0].e, &ev, w.now_ms), IKE_ERR_NOT_FOUND);
    h_drain(&w);
    ck_assert_int_eq(w.p[0].sent, 0);
}
END_TEST

START_TEST(route_needs_both_endpoints)
{
    cfg[0].remote_any = true;
    ck_assert_int_eq(ike_engine_add_conn(w.p[0].e, &cfg[0]), IKE_ERR_INVALID_ARG);
    h_drain(&w);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, acquire_brings_the_tunnel_up);
    tcase_add_test(tc, repeated_acquire_initiates_once);
    tcase_add_loop_test(tc, tunnel_down_restores_the_trap, 0, 2);
    tcase_add_loop_test(tc, rekey_keeps_the_policy, 0, 4);
    tcase_add_test(tc, narrowed_child_beside_the_trap);
    tcase_add_loop_test(tc, removing_the_conn_removes_everything, 0, 4);
    tcase_add_test(tc, reload_keeps_the_tunnel);
    tcase_add_test(tc, acquire_beside_the_peers_abandoned_setup);
    tcase_add_test(tc, acquire_without_a_routed_conn);
    tcase_add_test(tc, route_needs_both_endpoints);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

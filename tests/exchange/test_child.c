/*
 * test_child.c: CREATE_CHILD_SA for additional Child SAs (with and without
 * PFS, INVALID_KE_PAYLOAD on the child's group) and INFORMATIONAL deletes
 * of a Child SA from either side, in both roles; a response naming an SA
 * the peer deleted before it came installs nothing.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void setup(void)
{
    h_init(&w, 11);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
}

static void teardown(void)
{
    h_free(&w);
}

static void up(int ini)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
}

static void assert_children(int n)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 1); /* children share one IKE SA */
        ck_assert_int_eq(h_child_count(&w.p[i]), n);
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2u * (unsigned)n);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2 * n, "%s", why);
}

START_TEST(additional_child)
{
    /* _i: bit 0 = who set up the IKE SA, bit 1 = who creates the child,
     * bit 2 = with PFS (KE in CREATE_CHILD_SA) */
    int ini = _i & 1, creator = (_i >> 1) & 1;
    bool pfs = _i & 4;
    if (pfs)
        for (int s = 0; s < 2; s++) {
            cfg[s].esp[0].n_dh = 1;
            cfg[s].esp[0].dh[0] = CURVE25519;
        }
    up(ini);
    /* CREATE_CHILD_SA SK { SA, Ni, [KEi], TSi, TSr } -->
     *               <-- SK { SA, Nr, [KEr], TSi, TSr } */
    ck_assert_int_eq(ike_engine_initiate(w.p[creator].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_children(2);
    const struct ike_event *ev = h_last_event(&w.p[creator], IKE_EV_CHILD_UP);
    struct ike_key a, b, c, d;
    ck_assert_int_eq(ike_engine_child_keys(w.p[creator].e, ev->child_spi_in, &a, &b, &c, &d), 0);
    /* The new child's keys differ from the first child's. */
    const struct ike_event *first = &w.p[creator].ev[1];
    struct ike_key a0, b0, c0, d0;
    ck_assert_int_eq(first->type, IKE_EV_CHILD_UP);
    ike_engine_child_keys(w.p[creator].e, first->child_spi_in, &a0, &b0, &c0, &d0);
    ck_assert_int_ne(memcmp(a.b, a0.b, a.len), 0);
}
END_TEST

START_TEST(child_invalid_ke)
{
    int ini = _i & 1, creator = _i >> 1;
    /* Creator offers PFS with P-256 first, the other side takes only X25519:
     * CREATE_CHILD_SA { SA(ecp256, x25519), KE(ecp256) } -->
     *                <-- { N(INVALID_KE_PAYLOAD, x25519) }
     * CREATE_CHILD_SA { SA(x25519), KE(x25519) } --> ... */
    cfg[creator].esp[0].n_dh = 2;
    cfg[creator].esp[0].dh[0] = ECP_256;
    cfg[creator].esp[0].dh[1] = CURVE25519;
    cfg[!creator].esp[0].n_dh = 1;
    cfg[!creator].esp[0].dh[0] = CURVE25519;
    up(ini);
    ike_engine_initiate(w.p[creator].e, "t", w.now_ms);
    h_run(&w, 2000);
    assert_children(2);
}
END_TEST

START_TEST(child_pfs_mismatch)
{
    int ini = _i & 1, creator = _i >> 1;
    cfg[creator].esp[0].n_dh = 1;
    cfg[creator].esp[0].dh[0] = MODP_2048;
    cfg[!creator].esp[0].n_dh = 1;
    cfg[!creator].esp[0].dh[0] = CURVE25519;
    up(ini);
    ike_engine_initiate(w.p[creator].e, "t", w.now_ms);
    h_run(&w, 2000);
    assert_children(1);
    ck_assert_int_eq(h_count_events(&w.p[creator], IKE_EV_CHILD_FAILED), 1);
    ck_assert_int_eq(h_ike_count(&w.p[creator], "ESTABLISHED"), 1);
}
END_TEST

START_TEST(delete_child)
{
    int ini = _i & 1, deleter = _i >> 1;
    up(ini);
    ike_engine_initiate(w.p[ini].e, "t", w.now_ms);
    h_run(&w, 2000);
    assert_children(2);
    /* Expire one child from the deleter's side: the kernel's hard expiry.
     * INFORMATIONAL SK { D(ESP, spi_in) } -->  <-- SK { D(ESP, peer spi_in) } */
    const struct ike_event *ev = h_last_event(&w.p[deleter], IKE_EV_CHILD_UP);
    struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
    kev.sa.spi = ev->child_spi_in;
    kev.sa.proto = IKE_IPPROTO_ESP;
    ck_assert_int_eq(ike_engine_kernel_event(w.p[deleter].e, &kev, w.now_ms), 0);
    h_run(&w, 2000);
    assert_children(1);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_CHILD_DOWN), 1);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3);
    }
}
END_TEST

START_TEST(delete_child_both_at_once)
{
    int ini = _i;
    up(ini);
    /* Both sides delete the same Child SA in the same instant (1.4.1). */
    uint32_t old_in[2];
    for (int i = 0; i < 2; i++) {
        struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
        kev.sa.spi = old_in[i] = h_last_event(&w.p[i], IKE_EV_CHILD_UP)->child_spi_in;
        kev.sa.proto = IKE_IPPROTO_ESP;
        ike_engine_kernel_event(w.p[i].e, &kev, w.now_ms);
    }
    h_run(&w, 2000);
    /* The expired pair is gone at both ends; and as it expired without a
     * replacement, each side made the tunnel again, whatever auto= says
     * (child_sa.c ike_child_recreate, seed 754): one new Child SA from
     * each side, both usable. */
    assert_children(2);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(h_last_event(&w.p[i], IKE_EV_CHILD_DOWN)->child_spi_in, old_in[i]);
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_CHILD_DOWN), 1);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3);
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
    }
}
END_TEST

static uint32_t first_child_in(const struct h_peer *p)
{
    for (int k = 0; k < p->n_ev; k++)
        if (p->ev[k].type == IKE_EV_CHILD_UP)
            return p->ev[k].child_spi_in;
    return 0;
}

START_TEST(crossed_expiry_deletes_make_the_tunnel_again)
{
    /* Seeds 68131, 39210 --rekey: two Child SAs of the same policies (A
     * and B, left by lost rekeys). A reaches its hard lifetime at x, B at
     * y, at the same moment: each side still has the other child, so
     * neither makes a new one (B28 does only when nothing is left), and
     * each sends the DELETE of its expired SA (1.4.1):
     *   x: INFORMATIONAL SK { D(ESP, A) } -->
     *                                  <-- y: INFORMATIONAL SK { D(ESP, B) }
     * The DELETEs cross and take the last child at each side: nobody
     * made the tunnel again, for 337 s and 766 s in those seeds. A peer's
     * DELETE crossing our DELETE of an expired SA is no close: the side
     * left with no child makes one (both do here: two usable children). */
    int ini = _i & 1, x = _i >> 1, y = !x;
    up(ini);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_children(2);
    uint32_t spi[2] = {first_child_in(&w.p[x]),
                       h_last_event(&w.p[y], IKE_EV_CHILD_UP)->child_spi_in};
    for (int k = 0; k < 2; k++) {
        struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
        kev.sa.spi = spi[k];
        kev.sa.proto = IKE_IPPROTO_ESP;
        ck_assert_int_eq(ike_engine_kernel_event(w.p[k ? y : x].e, &kev, w.now_ms), 0);
    }
    h_run(&w, 3000);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(h_child_count(&w.p[i]) >= 1, "%s holds no Child SA: the tunnel is down",
                      w.p[i].name);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3);
    }
    assert_children(h_child_count(&w.p[0]));
}
END_TEST

START_TEST(deletes_share_one_exchange_when_queue_full)
{
    /* Five Child SAs reach their hard expiry while an IKE rekey is
     * outstanding: the queue (four tasks) cannot hold five DELETEs, and
     * the fifth, of a child already gone here, was lost: the peer kept
     * it. A queued DELETE takes it in: one INFORMATIONAL may delete
     * several Child SAs (RFC 7296 1.4.1, 3.11; seed 1381 --rekey
     * --without outage,loss: a REKEYED child waited for a second).
     * INFORMATIONAL SK { D(ESP, spi1, spi2) } -->  <-- SK { D(ESP, ...) } */
    int ini = _i & 1, deleter = _i >> 1;
    up(ini);
    for (int k = 0; k < 6; k++) {
        ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
        h_run(&w, 2000);
    }
    assert_children(7);
    uint32_t spi[7];
    int n = 0;
    for (int k = 0; k < w.p[deleter].n_ev && n < 7; k++)
        if (w.p[deleter].ev[k].type == IKE_EV_CHILD_UP)
            spi[n++] = w.p[deleter].ev[k].child_spi_in;
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(ike_engine_rekey(w.p[deleter].e, "t", true, w.now_ms), 0);
    h_drain(&w); /* the IKE rekey request is in flight: the queue waits */
    for (int k = 0; k < 5; k++) {
        struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
        kev.sa.spi = spi[k];
        kev.sa.proto = IKE_IPPROTO_ESP;
        ck_assert_int_eq(ike_engine_kernel_event(w.p[deleter].e, &kev, w.now_ms), 0);
    }
    h_run(&w, 5000);
    assert_children(2);
    ck_assert_int_eq(h_count_events(&w.p[!deleter], IKE_EV_CHILD_DOWN), 5);
}
END_TEST

/* x's outbound SPI of the child whose inbound SPI at x is spi_in. */
static uint32_t out_spi_of(int x, uint32_t spi_in)
{
    for (int k = 0; k < w.p[x].n_ev; k++)
        if (w.p[x].ev[k].type == IKE_EV_CHILD_UP && w.p[x].ev[k].child_spi_in == spi_in)
            return w.p[x].ev[k].child_spi_out;
    ck_abort_msg("no Child SA with inbound SPI %08x", spi_in);
    return 0;
}

START_TEST(outbound_expiry_keeps_inbound_until_delete_answered)
{
    /* B43 (seeds 1584, 5394 ... --rekey): lifebytes, and x's OUTBOUND SA
     * of the child its peer y sends on reaches the hard limit first (the
     * peer's traffic counts on the inbound SA). x removed the inbound SA
     * at once, so y's traffic on it was lost until y read x's DELETE and
     * moved to the other Child SA of the same policies. RFC 7296 1.4.1:
     * the pair goes with one DELETE, whose initiator removes the incoming
     * SA while processing the response. _i: bit 0 = who set up the IKE SA
     * and the second child, bit 1 = the side x.
     *   x: (outbound SA gone)  SK { D(ESP, spi_in) } -->
     *   y moves its traffic, <-- SK { D(ESP, y's spi_in) }  x drops spi_in */
    int ini = _i & 1, x = _i >> 1, y = !x;
    for (int s = 0; s < 2; s++)
        cfg[s].life_bytes = 1000000;
    up(ini);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0); /* same selectors */
    h_run(&w, 2000);
    assert_children(2);
    uint32_t in = h_pinned_out_spi(&w, y), out = out_spi_of(x, in);
    struct ike_sa_id id = {.dst = w.p[y].addr.addr, .spi = out, .proto = IKE_IPPROTO_ESP};
    struct ike_kernel_event kev;
    ck_assert_int_eq(
        ike_kmem_add_traffic(w.p[x].kmem, &id, 2000000, 1000, w.now_ms / 1000, &kev, 1), 1);
    ck_assert_int_eq(kev.type, IKE_KEV_EXPIRE_HARD); /* the kernel removed the outbound SA */
    ck_assert_int_eq(ike_engine_kernel_event(w.p[x].e, &kev, w.now_ms), 0);
    h_drain(&w); /* x's DELETE is in flight: y still sends on `in` */
    char why[200];
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
    struct ike_sa_id in_id = {.dst = w.p[x].addr.addr, .spi = in, .proto = IKE_IPPROTO_ESP};
    ck_assert_ptr_nonnull(ike_kmem_find_sa(w.p[x].kmem, &in_id, NULL));
    w.check_continuity = true;
    h_run(&w, 3000);
    ck_assert_msg(!w.violation[0], "%s", w.violation);
    assert_children(1); /* the other child carries both directions, nothing recreated */
    ck_assert_ptr_null(ike_kmem_find_sa(w.p[x].kmem, &in_id, NULL));
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_CHILD_DOWN), 1);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3);
    }
}
END_TEST

/* Remove the SA with inbound SPI spi at peer i, as the kernel does at a
 * hard expiry (the engine then deletes its child and tells the peer). */
static void hard_expiry(int i, uint32_t spi)
{
    struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
    kev.sa.spi = spi;
    kev.sa.proto = IKE_IPPROTO_ESP;
    ck_assert_int_eq(ike_engine_kernel_event(w.p[i].e, &kev, w.now_ms), 0);
}

START_TEST(stale_response_after_many_unknown_deletes)
{
    /* B56 (seed 45162 --rekey), B34 with more DELETEs: x's Child rekey is
     * answered by y, but y's response is lost and y later deletes the new
     * SA N (its hard expiry), an SPI x does not know yet. Before x's
     * retransmission gets the cached response naming N, y also deletes
     * three children x had already removed (their hard expiry at x; x's
     * DELETEs wait behind its rekey): unknown SPIs too. x kept only the
     * last two unknown SPIs, forgot N's, installed N from the cached
     * response and sent on it, an SA y no longer had.
     *   x: CREATE_CHILD_SA {N(REKEY_SA), ...} -->  X-- {SA, Nr, ...}
     *   y: CREATE_CHILD_SA (3 more children) -->  <-- x answers
     *   y: INFORMATIONAL {D(N)}, {D(c1)}, {D(c2)}, {D(c3)} --> (unknown at x)
     *   x: CREATE_CHILD_SA (retransmitted, 8 s) -->  <-- the same response */
    int ini = _i & 1, x = _i >> 1, y = !x;
    for (int s = 0; s < 2; s++)
        cfg[s].rekey = false; /* only the rekey this test starts */
    cfg[x].retransmit_base_ms = 8000;
    up(ini);
    struct h_rule r = {
        .from = y, .exchange = CREATE_CHILD_SA, .response = 1, .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[x].e, "t", false, w.now_ms), 0);
    h_advance(&w, 500);
    ck_assert_int_eq(r.matched, 1);
    uint32_t stale = h_last_event(&w.p[y], IKE_EV_CHILD_REKEYED)->child_spi_in; /* N at y */
    uint32_t at_x[3], at_y[3];
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(ike_engine_initiate(w.p[y].e, "t", w.now_ms), 0);
        h_advance(&w, 500);
        at_x[k] = h_last_event(&w.p[x], IKE_EV_CHILD_UP)->child_spi_in;
        at_y[k] = h_last_event(&w.p[y], IKE_EV_CHILD_UP)->child_spi_in;
    }
    for (int k = 0; k < 3; k++)
        hard_expiry(x, at_x[k]);
    hard_expiry(y, stale);
    h_advance(&w, 500);
    for (int k = 0; k < 3; k++) {
        hard_expiry(y, at_y[k]);
        h_advance(&w, 500);
    }
    ck_assert_int_eq(h_count_events(&w.p[y], IKE_EV_CHILD_DOWN), 4);
    h_advance(&w, 8000); /* x's retransmission gets the cached response */
    struct ike_sa_id id = {.dst = w.p[y].addr.addr, .spi = stale, .proto = IKE_IPPROTO_ESP};
    ck_assert_msg(!ike_kmem_find_sa(w.p[x].kmem, &id, NULL),
                  "installed %08x, which the peer deleted before its response came", stale);
    ck_assert_uint_ne(h_pinned_out_spi(&w, x), stale);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_child");
    TCase *tc = tcase_create("child");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, additional_child, 0, 8);
    tcase_add_loop_test(tc, child_invalid_ke, 0, 4);
    tcase_add_loop_test(tc, child_pfs_mismatch, 0, 4);
    tcase_add_loop_test(tc, delete_child, 0, 4);
    tcase_add_loop_test(tc, delete_child_both_at_once, 0, 2);
    tcase_add_loop_test(tc, crossed_expiry_deletes_make_the_tunnel_again, 0, 4);
    tcase_add_loop_test(tc, deletes_share_one_exchange_when_queue_full, 0, 4);
    tcase_add_loop_test(tc, outbound_expiry_keeps_inbound_until_delete_answered, 0, 4);
    tcase_add_loop_test(tc, stale_response_after_many_unknown_deletes, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

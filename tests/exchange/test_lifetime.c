/*
 * test_lifetime.c: a Child SA must be replaced before its hard lifetime
 * while the peer is reachable (the simulation's lifetime invariant), also
 * when a lost datagram or a reordered one delays the replacement: the
 * peer's DELETE of the old IKE SA lost after its IKE rekey, and a 2.8.2
 * collision whose surviving SA the peer has not keyed yet. Each case is a
 * seed of the full rekey profile (tests/sim/regress/README.md B65, B66).
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void setup(void)
{
    h_init(&w, 53);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
    for (int s = 0; s < 2; s++)
        cfg[s].rekey = false; /* only the rekeys a test starts */
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
    ck_assert_int_eq(h_child_count(&w.p[1]), 1);
}

/* Seed 81109 --rekey: we answered the peer's IKE rekey with a 7 s child
 * whose rekey was due; the peer's DELETE of the old IKE SA was lost, and
 * the new IKE SA held our requests for 2 s (B16) until after the child's
 * hard expiry. The hold now ends in time for the child's rekey (never
 * sooner than 500 ms after our answer, past any reordering). _i = who
 * rekeys the IKE SA. */
START_TEST(ike_rekey_responder_hold_ends_before_child_end_of_life)
{
    int by = _i, me = !by;
    cfg[me].child_lifetime_ms = 10000;
    up(0);
    uint64_t t0 = w.now_ms;
    h_advance(&w, 6500); /* the child's end of life at 8.5 s, last call at 7.5 s */
    struct h_rule r = {
        .from = by, .exchange = INFORMATIONAL, .response = 0, .count = 1000, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[by].e, "t", true, w.now_ms), 0);
    h_drain(&w);
    ck_assert_int_eq(h_deliver_one_hop(&w), 1); /* the IKE rekey request, answered */
    ck_assert_int_eq(ike_engine_rekey(w.p[me].e, "t", false, w.now_ms), 0);
    h_drain(&w);
    ck_assert_int_eq(w.nq, 1); /* only our answer: the Child rekey waits */
    h_run(&w, t0 + 7800 - w.now_ms);
    ck_assert_int_ge(r.matched, 1); /* the peer's DELETE of the old IKE SA */
    ck_assert_msg(h_count_events(&w.p[me], IKE_EV_CHILD_REKEYED) == 1,
                  "the Child rekey was still held on the new IKE SA 300 ms before its "
                  "end of life");
    char why[200];
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
}
END_TEST

/* Seed 96780 --rekey: both peers rekey the IKE SA at once; we lose the
 * 2.8.2 collision, so the survivor is the peer's new SA, made by our
 * answer, which is still on its way (lost here). Our Child rekey went on
 * the survivor at once, the peer (which keys it only from our answer)
 * dropped it, and our retransmission came after a 5 s child's hard
 * expiry. The loser now holds its requests as a rekey responder does
 * (B16). _i = the side whose answer is lost (the loser in one run, the
 * winner in the other: the nonces are the same in both). */
struct count_ctx {
    int who, dropped, child_requests;
};

static int lose_answer_count_requests(struct h_world *hw, int from, const uint8_t *data, size_t len,
                                      void *ctx)
{
    (void)hw;
    struct count_ctx *c = ctx;
    if (len < 28 || from != c->who || data[18] != CREATE_CHILD_SA)
        return H_DELIVER;
    if (!(data[19] & 0x20)) {
        c->child_requests++;
        return H_DELIVER;
    }
    return c->dropped++ ? H_DELIVER : H_DROP;
}

START_TEST(collision_loser_holds_requests_on_peer_survivor)
{
    int x = _i;
    up(0);
    h_advance(&w, 1000);
    struct count_ctx c = {.who = x};
    w.filter = lose_answer_count_requests;
    w.filter_ctx = &c;
    ck_assert_int_eq(ike_engine_rekey(w.p[0].e, "t", true, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[1].e, "t", true, w.now_ms), 0);
    h_drain(&w);
    ck_assert_int_eq(h_deliver_one_hop(&w), 2); /* both answered, x's answer lost */
    ck_assert_int_eq(c.dropped, 1);
    ck_assert_int_eq(h_deliver_one_hop(&w), 1); /* x's rekey done: collision decided */
    bool lost = h_log_has(&w.p[x], "rekey collision, our new IKE SA");
    ck_assert(lost || h_log_has(&w.p[x], "rekey collision, the peer's new IKE SA"));
    c.child_requests = 0;
    ck_assert_int_eq(ike_engine_rekey(w.p[x].e, "t", false, w.now_ms), 0);
    h_drain(&w);
    ck_assert_msg(c.child_requests == (lost ? 0 : 1),
                  "%d Child rekey requests on the survivor (%s collision)", c.child_requests,
                  lost ? "lost" : "won");
    h_run(&w, 20000);
    ck_assert_int_ge(h_count_events(&w.p[x], IKE_EV_CHILD_REKEYED), 1);
    char why[200];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 1);
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) >= 1, "%s", why);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_lifetime");
    TCase *tc = tcase_create("lifetime");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, ike_rekey_responder_hold_ends_before_child_end_of_life, 0, 2);
    tcase_add_loop_test(tc, collision_loser_holds_requests_on_peer_survivor, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

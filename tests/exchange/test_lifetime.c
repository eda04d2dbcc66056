/*
 * test_lifetime.c: a Child SA must be replaced before its hard lifetime
 * while the peer is reachable (the simulation's lifetime invariant), also
 * when a lost datagram or a reordered one delays the replacement: our
 * answer that made the SA lost (RFC 7296 2.1, 2.25), the peer's DELETE of
 * the old IKE SA lost after its IKE rekey, a 2.8.2 collision whose
 * surviving SA the peer has not keyed yet, and a Child rekey queued when
 * the IKE rekey we answered moves it to the new IKE SA, and an IKE rekey
 * that falls due while the task queue is full; and a Child SA whose
 * peer's copy ended while our IKE_AUTH waited for its answer, and a
 * Child rekey sent on a new IKE SA the peer did not hold yet. Each case is
 * a seed of the full rekey profile (tests/sim/regress/README.md B65-B68,
 * B71, B74, B77).
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

/* Side s rekeys on its own timers, without fuzz: Child SAs of child_ms,
 * rekeyed margin_ms before their end. */
static void rekeys_children(int s, uint64_t child_ms, uint64_t margin_ms)
{
    cfg[s].rekey = true;
    cfg[s].child_lifetime_ms = child_ms;
    cfg[s].rekey_margin_ms = margin_ms;
    cfg[s].rekey_fuzz_pct = 0;
}

static bool in_kernel(int i, uint32_t spi)
{
    struct ike_sa_id id = {.dst = cfg[i].local.addr, .spi = spi, .proto = IKE_IPPROTO_ESP};
    return ike_kmem_find_sa(w.p[i].kmem, &id, NULL);
}

/* Seeds 81034, 71889, 58071 --rekey: the peer rekeys the child and our
 * answer (new SA N) is lost, and so is our answer to its retransmission.
 * The peer lacks N until its next retransmission, which its back-off
 * brings only after N's hard expiry here; our rekey of N got
 * CHILD_SA_NOT_FOUND, retried until the hard expiry. 2.25: delete N and
 * create a new Child SA from scratch, at the latest while one round trip
 * still fits before N's end. _i: bit 0 = who set up the IKE SA, bit 1 =
 * who answers (and later rekeys N). */
START_TEST(rekey_of_sa_whose_answer_was_lost_makes_a_new_one)
{
    int ini = _i & 1, by = _i >> 1;
    cfg[by].child_lifetime_ms = 10000; /* ours; the peer's are long */
    up(ini);
    uint64_t t0 = w.now_ms;
    struct h_rule r = {
        .from = by, .exchange = CREATE_CHILD_SA, .response = 1, .count = 2, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[!by].e, "t", false, w.now_ms), 0);
    h_advance(&w, 4500); /* the peer asked again at 4 s: that answer lost too */
    ck_assert_int_eq(r.matched, 2);
    const struct ike_event *ev = h_last_event(&w.p[by], IKE_EV_CHILD_REKEYED);
    ck_assert_ptr_nonnull(ev);
    uint32_t n = ev->child_spi_in;
    /* CREATE_CHILD_SA {N(REKEY_SA, N), ...} -->  <-- {N(CHILD_SA_NOT_FOUND)}
     * (retried; at the last call:)  INFORMATIONAL {D(N)} -->  <-- {}
     * CREATE_CHILD_SA {SA, Ni, TSi, TSr} -->  <-- {SA, Nr, TSi, TSr} */
    ck_assert_int_eq(ike_engine_rekey(w.p[by].e, "t", false, w.now_ms), 0);
    h_advance(&w, t0 + 8300 - w.now_ms); /* N's end of life is at 8.5 s, its end at 10 s */
    ck_assert_msg(!in_kernel(by, n), "kept %08x, which the peer never got", n);
    ck_assert_int_ge(h_count_events(&w.p[!by], IKE_EV_CHILD_UP), 2); /* the new one */
    char why[200];
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) >= 1, "%s", why);
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
    /* The peer's next retransmission gets the answer naming N, which our
     * DELETE made it forget: it installs nothing (B34). */
    h_advance(&w, 5000);
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) >= 1, "%s", why);
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
}
END_TEST

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

/* Seed 201024 --rekey: our Child rekey waited behind our DELETE of the
 * child it follows when the peer's IKE rekey came, which we answered
 * (B41). Moving the children to the new IKE SA started that rekey on it
 * at once, before the B16 hold was set: the peer, which keys the new SA
 * only from our answer, dropped it, and the retransmission came after a
 * 5 s child's hard expiry. The hold is set before the move. _i = the
 * side that answers the IKE rekey. */
START_TEST(child_rekey_queued_at_ike_rekey_waits_for_peer)
{
    int me = _i, by = !me;
    up(0);
    h_advance(&w, 1000);
    struct count_ctx c = {.who = me, .dropped = 1}; /* count only, drop nothing */
    w.filter = lose_answer_count_requests;
    w.filter_ctx = &c;
    /* CREATE_CHILD_SA {N(REKEY_SA), ...} -->  <-- {SA, Nr, ...} */
    ck_assert_int_eq(ike_engine_rekey(w.p[me].e, "t", false, w.now_ms), 0);
    h_drain(&w);
    ck_assert_int_eq(h_deliver_one_hop(&w), 1);
    ck_assert_int_eq(h_deliver_one_hop(&w), 1); /* our DELETE of the old child is out */
    ck_assert_int_eq(ike_engine_rekey(w.p[me].e, "t", false, w.now_ms), 0); /* waits behind it */
    ck_assert_int_eq(ike_engine_rekey(w.p[by].e, "t", true, w.now_ms), 0);
    h_drain(&w);
    c.child_requests = 0;
    /* our DELETE and the peer's IKE rekey cross; we answer the rekey */
    ck_assert_int_eq(h_deliver_one_hop(&w), 2);
    ck_assert_int_eq(h_ike_count(&w.p[me], "REKEYED"), 1);
    ck_assert_msg(c.child_requests == 0,
                  "%d Child rekey requests on the new IKE SA before the peer has it",
                  c.child_requests);
    h_run(&w, 10000);
    ck_assert_int_ge(h_count_events(&w.p[me], IKE_EV_CHILD_REKEYED), 2);
    char why[200];
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
}
END_TEST

/* Seed 271567 --rekey: the IKE SA's rekey fell due while its task queue
 * was full (one request out, IKE_PENDING_TASKS waiting: there Child
 * rekeys and their DELETEs, here Child SA creates), the queue refused it
 * and nothing tried again: the IKE SA ran to its lifetime and took every
 * Child SA with it (RFC 7296 1.4.1). The rekey must go once there is
 * room, well before the lifetime ends. _i = who rekeys the IKE SA. */
START_TEST(ike_rekey_due_on_full_queue_is_not_lost)
{
    int me = _i;
    cfg[me].rekey = true;
    cfg[me].ike_lifetime_ms = 40000;
    cfg[me].rekey_margin_ms = 5000;
    cfg[me].rekey_fuzz_pct = 0;
    up(0);
    uint64_t due = ike_engine_next_deadline(w.p[me].e);
    ck_assert_uint_lt(due, w.now_ms + 40000);
    h_advance(&w, due - 500 - w.now_ms);
    /* fill the queue, then let the rekey fall due before any answer */
    int queued = 0;
    while (ike_engine_initiate(w.p[me].e, "t", w.now_ms) == 0 && queued < 10)
        queued++;
    ck_assert_int_eq(queued, 5); /* one out, four waiting */
    h_drain(&w);
    w.now_ms = due;
    ike_engine_handle_deadline(w.p[me].e, w.now_ms);
    h_run(&w, 4000);
    ck_assert_int_eq(h_child_count(&w.p[me]), 6);
    ck_assert_msg(h_count_events(&w.p[me], IKE_EV_IKE_REKEYED) == 1,
                  "the IKE rekey due on a full queue was never sent");
    ck_assert_int_eq(h_count_events(&w.p[me], IKE_EV_IKE_DOWN), 0);
    char why[200];
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
}
END_TEST

/* Seed 468333 --rekey (B78): as B67, but nothing tells us our answer was
 * lost: the peer's retransmissions are lost too (here: not due yet). The
 * child N our answer made is rekeyed at its soft lifetime and the peer,
 * which never got N, answers CHILD_SA_NOT_FOUND; retried, that ran until
 * N's hard expiry. At the last call N goes and a new child is made from
 * scratch (2.25). _i = who answers (and later rekeys N). */
START_TEST(never_confirmed_child_not_found_at_last_call_makes_a_new_one)
{
    int by = _i, peer = !by;
    rekeys_children(by, 8000, 2000);
    cfg[peer].retransmit_base_ms = 20000; /* its retransmission comes too late */
    up(0);
    struct h_rule r = {
        .from = by, .exchange = CREATE_CHILD_SA, .response = 1, .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[peer].e, "t", false, w.now_ms), 0);
    h_advance(&w, 9000); /* N: rekeyed at 6 s, last call at 7 s, hard at 8 s */
    ck_assert_int_eq(r.matched, 1);
    ck_assert_msg(h_log_has(&w.p[peer], "CHILD_SA_NOT_FOUND"), "the peer never refused");
    ck_assert_msg(h_log_has(&w.p[by], "never got Child SA"), "N was not replaced at its last call");
    ck_assert_msg(!h_log_has(&w.p[by], "kernel hard expiry"), "N reached its hard lifetime");
    h_set_rule(&w, NULL);
    h_advance(&w, 1000);
    char why[200];
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) >= 1, "%s", why);
}
END_TEST

/* Both rules act: the first that does not deliver decides. */
static int two_rules(struct h_world *wd, int from, const uint8_t *data, size_t len, void *ctx)
{
    struct h_rule *r = ctx;
    int a = h_rule_filter(wd, from, data, len, &r[0]);
    int b = h_rule_filter(wd, from, data, len, &r[1]);
    return a != H_DELIVER ? a : b;
}

/* Seed 507653 --rekey (B77): the peer rekeys the IKE SA 1 s before our
 * child's rekey and our answer is lost. Our Child rekey goes on the new
 * IKE SA, which the peer does not hold yet: it drops the request and its
 * first retransmission. When the peer's retransmission gets our answer
 * resent, our request goes again at once: the next retransmission by our
 * back-off would come after the child's hard lifetime. Seeds 451451 and
 * 418871 (B79): that copy overtook the answer (delays of 24-163 ms) and
 * was dropped too; the next one goes 1.5 round trips later, not at the
 * back-off. _i: bit 0 = who rekeys the child, bit 1 = that copy is lost. */
START_TEST(request_on_new_ike_sa_resent_with_answer)
{
    int by = _i & 1, peer = !by;
    rekeys_children(by, 13000, 2000);
    cfg[by].retransmit_base_ms = 1000;
    cfg[by].retransmit_factor_pct = 150;
    cfg[peer].retransmit_base_ms = 2000;
    up(by);
    h_advance(&w, 10000);
    struct h_rule r[2] = {
        {.from = by, .exchange = CREATE_CHILD_SA, .response = 1, .count = 1, .action = H_DROP},
        {.from = by,
         .exchange = CREATE_CHILD_SA,
         .response = 0,
         .skip = 2,
         .count = _i >> 1,
         .action = H_DROP},
    };
    w.filter = two_rules;
    w.filter_ctx = r;
    ck_assert_int_eq(ike_engine_rekey(w.p[peer].e, "t", true, w.now_ms), 0);
    h_advance(&w, 2700);               /* the rekey at 11 s, the hard lifetime at 13 s */
    ck_assert_int_eq(r[0].matched, 2); /* the answer lost, resent */
    ck_assert_int_eq(r[1].matched, 3 + (_i >> 1)); /* two dropped by the peer, then answered */
    ck_assert_msg(h_log_has(&w.p[peer], "not valid in this state"), "no request came early");
    ck_assert_int_eq(h_count_events(&w.p[by], IKE_EV_CHILD_REKEYED), 1);
    ck_assert_msg(!h_log_has(&w.p[by], "without a replacement"), "the child expired unreplaced");
    h_set_rule(&w, NULL);
    h_advance(&w, 1000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    ck_assert_int_eq(h_child_count(&w.p[1]), 1);
}
END_TEST

/* Seed 302945 --rekey (B74): both sides initiate (auto=start). The peer
 * answers our IKE_AUTH for X at once, but that answer and its resends are
 * lost; meanwhile the peer's own IKE SA Y comes up, its child carries our
 * traffic, and X's child reaches its (the peer's) 6 s lifetime: the peer
 * removes it, its DELETE queued behind its own rekey of it, which we
 * cannot read yet. Our third retransmission gets the cached answer (RFC
 * 7296 2.1: resent unchanged) and we install X's child. It must not take
 * our traffic from Y's working, confirmed child: the answer says the peer
 * made it, not that it still holds it. _i = who sets X up late. */
START_TEST(late_auth_answer_does_not_take_over_working_child)
{
    int me = _i, peer = !_i;
    rekeys_children(peer, 6000, 2000);
    cfg[me].retransmit_base_ms = 2000; /* resends at 2, 6, 14 s */
    cfg[me].retransmit_factor_pct = 200;
    cfg[me].retransmit_tries = 5;
    h_add_conns(&w, &cfg[0], &cfg[1]);
    struct h_rule r = {
        .from = peer, .exchange = IKE_AUTH, .response = 1, .count = 3, .action = H_DROP};
    h_set_rule(&w, &r);
    uint64_t t0 = w.now_ms;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(ike_engine_initiate(w.p[i].e, "t", w.now_ms), 0);
    h_advance(&w, 3000); /* Y and its child are up, X waits */
    ck_assert_int_eq(h_ike_count(&w.p[me], "ESTABLISHED"), 1);
    ck_assert_int_eq(h_child_count(&w.p[me]), 1);
    w.check_continuity = true;
    h_advance(&w, t0 + 13900 - w.now_ms); /* X's child ended at the peer at 6 s */
    ck_assert_int_eq(r.matched, 3);
    ck_assert_msg(!w.violation[0], "before the late answer: %s", w.violation);
    h_advance(&w, 200); /* our retransmission at 14 s gets the cached answer */
    ck_assert_int_eq(r.matched, 4);
    ck_assert_int_eq(h_ike_count(&w.p[me], "ESTABLISHED"), 2);
    ck_assert_msg(!w.violation[0], "the late answer's child took our traffic: %s", w.violation);
    h_advance(&w, 10000); /* the peer's rekey and DELETE of the ended child */
    ck_assert_msg(!w.violation[0], "%s", w.violation);
    char why[200];
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "%s", why);
    ck_assert_int_eq(w.p[me].kernel_errors + w.p[peer].kernel_errors, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_lifetime");
    TCase *tc = tcase_create("lifetime");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, rekey_of_sa_whose_answer_was_lost_makes_a_new_one, 0, 4);
    tcase_add_loop_test(tc, ike_rekey_responder_hold_ends_before_child_end_of_life, 0, 2);
    tcase_add_loop_test(tc, collision_loser_holds_requests_on_peer_survivor, 0, 2);
    tcase_add_loop_test(tc, child_rekey_queued_at_ike_rekey_waits_for_peer, 0, 2);
    tcase_add_loop_test(tc, ike_rekey_due_on_full_queue_is_not_lost, 0, 2);
    tcase_add_loop_test(tc, late_auth_answer_does_not_take_over_working_child, 0, 2);
    tcase_add_loop_test(tc, request_on_new_ike_sa_resent_with_answer, 0, 4);
    tcase_add_loop_test(tc, never_confirmed_child_not_found_at_last_call_makes_a_new_one, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

/*
 * test_reliability.c: message IDs, retransmission and liveness (RFC 7296
 * 2.1, 2.3, 2.4), in both roles: lost requests and responses recovered by
 * retransmission, duplicated requests answered from the replay cache, the
 * retransmit budget running out (SA and kernel state torn down), deadline
 * boundaries, DPD, the half-open timeout, and tampered or garbage input
 * that must change nothing.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void setup(void)
{
    h_init(&w, 23);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
}

static void teardown(void)
{
    h_free(&w);
}

static void start(int ini)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
}

static void assert_up(void)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), 1);
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_IKE_UP), 1);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "%s", why);
}

static void assert_torn_down(int i, int err)
{
    ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 0);
    ck_assert_int_eq(h_last_event(&w.p[i], IKE_EV_IKE_DOWN)->err, err);
}

START_TEST(lost_message_recovered)
{
    /* _i: bit 0 initiator, bit 1 IKE_SA_INIT or IKE_AUTH, bit 2 request
     * (from the initiator) or response (from the responder) lost. */
    int ini = _i & 1;
    uint8_t ex = (_i & 2) ? IKE_AUTH : IKE_SA_INIT;
    int resp = (_i >> 2) & 1;
    struct h_rule r = {.from = resp ? !ini : ini, .exchange = ex, .response = resp,
                       .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    start(ini);
    /* --> lost (or <-- lost); 4 s later the initiator retransmits; a lost
     * response is answered again from the responder's cache. */
    h_advance(&w, 3000);
    ck_assert_int_eq(h_ike_count(&w.p[ini], "ESTABLISHED"), 0);
    h_advance(&w, 3000);
    assert_up();
    ck_assert(h_log_has(&w.p[ini], "retransmit 1 of request"));
    if (resp)
        ck_assert(h_log_has(&w.p[!ini], "retransmitted"));
}
END_TEST

START_TEST(duplicated_request_answered_from_cache)
{
    int ini = _i & 1;
    uint8_t ex = (_i & 2) ? IKE_AUTH : IKE_SA_INIT;
    struct h_rule r = {.from = ini, .exchange = ex, .response = 0, .count = 1, .action = H_DUP};
    h_set_rule(&w, &r);
    start(ini);
    h_run(&w, 2000);
    assert_up(); /* one IKE_UP each: the duplicate changed nothing */
    ck_assert_int_eq(w.p[!ini].sent, 3); /* two answers to the same request */
}
END_TEST

START_TEST(retransmit_budget_exhausted)
{
    int ini = _i & 1, who = _i >> 1; /* who starts the unanswered request */
    start(ini);
    h_run(&w, 2000);
    assert_up();
    struct h_rule r = {.from = -1, .count = 1000, .action = H_DROP}; /* partition */
    h_set_rule(&w, &r);
    ike_engine_initiate(w.p[who].e, "t", w.now_ms); /* CREATE_CHILD_SA, unanswered */
    /* 4 s * 1.8^n for n = 0..5: 4 + 7.2 + 13 + 23.3 + 42 + 75.6 = 165 s */
    h_advance(&w, 160000);
    ck_assert_int_eq(h_ike_count(&w.p[who], "ESTABLISHED"), 1);
    h_advance(&w, 10000);
    assert_torn_down(who, IKE_ERR_TIMEOUT);
    ck_assert(h_log_has(&w.p[who], "after 5 retransmits"));
}
END_TEST

START_TEST(deadline_boundary)
{
    int ini = _i;
    struct h_rule r = {.from = -1, .count = 1000, .action = H_DROP};
    h_set_rule(&w, &r);
    start(ini);
    h_drain(&w);
    struct ike_engine *e = w.p[ini].e;
    uint64_t d = ike_engine_next_deadline(e);
    ck_assert_uint_eq(d, w.now_ms + 4000); /* retransmit base 4 s */
    int sent = w.p[ini].sent;
    ike_engine_handle_deadline(e, d - 1);
    h_drain(&w);
    ck_assert_int_eq(w.p[ini].sent, sent); /* deadline - 1: nothing */
    ike_engine_handle_deadline(e, d);
    h_drain(&w);
    ck_assert_int_eq(w.p[ini].sent, sent + 1); /* deadline: retransmitted */
    ck_assert_uint_eq(ike_engine_next_deadline(e), d + 7200); /* 4 s * 1.8 */
}
END_TEST

START_TEST(dpd_liveness_and_dead_peer)
{
    int ini = _i;
    cfg[ini].dpd_delay_ms = 30000;
    start(ini);
    h_run(&w, 2000);
    assert_up();
    int sent = w.p[ini].sent;
    /* 30 s of silence: INFORMATIONAL SK {} -->  <-- SK {} */
    h_advance(&w, 31000);
    ck_assert_int_eq(w.p[ini].sent, sent + 1);
    assert_up();
    /* The peer vanishes: the next liveness check goes unanswered and the
     * SA with its kernel state is removed after the retransmit budget. */
    struct h_rule r = {.from = -1, .count = 1000, .action = H_DROP};
    h_set_rule(&w, &r);
    h_advance(&w, 30000 + 170000);
    assert_torn_down(ini, IKE_ERR_TIMEOUT);
}
END_TEST

START_TEST(half_open_timeout)
{
    int ini = _i;
    struct h_rule r = {.from = ini, .exchange = IKE_AUTH, .count = 1000, .action = H_DROP};
    h_set_rule(&w, &r);
    start(ini);
    h_advance(&w, 29000);
    ck_assert_int_eq(h_ike_count(&w.p[!ini], "INIT_DONE"), 1);
    h_advance(&w, 2000);
    ck_assert_int_eq(h_ike_count(&w.p[!ini], NULL), 0); /* responder gave up */
    ck_assert_int_eq(h_ike_count(&w.p[ini], "AUTH_SENT"), 1); /* initiator still tries */
}
END_TEST

START_TEST(tampered_message_dropped)
{
    /* A flipped bit in the SK payload fails the integrity check: dropped,
     * nothing changes; the retransmission (intact) completes the exchange. */
    int ini = _i & 1, resp = _i >> 1;
    struct h_rule r = {.from = resp ? !ini : ini, .exchange = IKE_AUTH, .response = resp,
                       .count = 1, .action = H_CORRUPT};
    h_set_rule(&w, &r);
    start(ini);
    h_run(&w, 2000);
    ck_assert_int_eq(h_ike_count(&w.p[ini], "AUTH_SENT"), 1);
    h_advance(&w, 6000);
    assert_up();
}
END_TEST

START_TEST(garbage_changes_nothing)
{
    int ini = _i;
    start(ini);
    h_run(&w, 2000);
    assert_up();
    uint8_t junk[300];
    uint64_t s = 99;
    for (int k = 0; k < 200; k++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)((s = s * 6364136223846793005ULL + 1) >> 56);
        size_t len = 1 + (size_t)(k * 7 % (int)sizeof(junk));
        if (k % 3 == 0 && len >= 28) {
            /* a plausible header for the live SA, with a garbage body */
            const struct ike_event *ev = h_last_event(&w.p[0], IKE_EV_IKE_UP);
            for (int b = 0; b < 8; b++) {
                junk[b] = (uint8_t)(ev->ike_spi_i >> (56 - 8 * b));
                junk[8 + b] = (uint8_t)(ev->ike_spi_r >> (56 - 8 * b));
            }
            junk[17] = 0x20;
            junk[18] = (uint8_t)(34 + k % 4);
            junk[24] = (uint8_t)(len >> 24);
            junk[25] = (uint8_t)(len >> 16);
            junk[26] = (uint8_t)(len >> 8);
            junk[27] = (uint8_t)len;
        }
        h_inject(&w, k & 1, junk, len);
    }
    h_run(&w, 2000);
    assert_up();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_reliability");
    TCase *tc = tcase_create("reliability");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, lost_message_recovered, 0, 8);
    tcase_add_loop_test(tc, duplicated_request_answered_from_cache, 0, 4);
    tcase_add_loop_test(tc, retransmit_budget_exhausted, 0, 4);
    tcase_add_loop_test(tc, deadline_boundary, 0, 2);
    tcase_add_loop_test(tc, dpd_liveness_and_dead_peer, 0, 2);
    tcase_add_loop_test(tc, half_open_timeout, 0, 2);
    tcase_add_loop_test(tc, tampered_message_dropped, 0, 4);
    tcase_add_loop_test(tc, garbage_changes_nothing, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

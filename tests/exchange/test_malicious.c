/*
 * test_malicious.c: requests a peer gets wrong, crafted with the engine's
 * own internals (a white-box test: it includes src/core/core.h) and sent
 * over an established IKE SA: a REKEY_SA notify with a bogus protocol or
 * SPI size, a rekey of an SPI that does not exist, and a rekey of an SA
 * that is being deleted. Each must get the RFC's answer, never a crash,
 * and leave the tunnel as it was.
 */
#include <string.h>

#include "../../src/core/core.h"
#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;

static void setup(void)
{
    struct ike_conn_cfg l, r;
    h_init(&w, 41);
    h_conn_defaults(&l, true);
    h_conn_defaults(&r, false);
    h_add_conns(&w, &l, &r);
    ike_engine_initiate(w.p[0].e, "t", w.now_ms);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[1]), 1);
}

static void teardown(void)
{
    h_free(&w);
}

static struct ike_sa *the_sa(int i)
{
    const struct ike_event *ev = h_last_event(&w.p[i], IKE_EV_IKE_UP);
    return ike_sa_find(w.p[i].e, i == 0 ? ev->ike_spi_i : ev->ike_spi_r);
}

/* Send, from peer `from`, a CREATE_CHILD_SA request whose REKEY_SA notify
 * carries (proto, spi, spi_len); the rest of the request is well formed. */
static void send_rekey(int from, uint8_t proto, const uint8_t *spi, uint8_t spi_len)
{
    struct ike_engine *e = w.p[from].e;
    struct ike_sa *sa = the_sa(from);
    struct ike_child *ch = sa->children;
    struct ike_msg_builder mb;
    struct ike_hdr h;
    uint8_t nonce[32] = {1, 2, 3};
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    ike_notify_encode(&mb, proto, spi, spi_len, IKE_N_REKEY_SA, NULL, 0);
    ike_child_offer(e, sa, ch, 0, &mb);
    ike_nonce_encode(&mb, nonce, sizeof(nonce));
    ike_ts_set_encode(&mb, IKE_PL_TSI, &ch->ts_local);
    ike_ts_set_encode(&mb, IKE_PL_TSR, &ch->ts_remote);
    int n = ike_mb_finish(&mb);
    ike_msg_hdr(sa, CREATE_CHILD_SA, false, sa->msg_id_out, &h);
    int len = ike_msg_seal(e, sa, &h, ike_mb_first_type(&mb), e->plain, (size_t)n);
    ck_assert_int_gt(len, 0);
    /* Our side treats the answer as a rekey of its child that failed. */
    sa->out_task = (struct ike_task){.type = TASK_CHILD_REKEY, .del_spi = 0xdead};
    ike_send_request(e, sa, e->msg, (size_t)len, w.now_ms);
    h_run(&w, 2000);
}

static void assert_unchanged(void)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), 1);
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2);
    }
    ck_assert_int_eq(h_check_tunnel(&w, why, sizeof(why)), 2);
}

START_TEST(rekey_sa_bad_protocol)
{
    uint8_t spi[4];
    ike_put_be32(spi, the_sa(0)->children->spi_in);
    send_rekey(0, IKE_PROTO_IKE, spi, 4); /* REKEY_SA must name ESP or AH */
    ck_assert(h_log_has(&w.p[1], "answering the peer's rekey with INVALID_SYNTAX"));
    assert_unchanged();
}
END_TEST

START_TEST(rekey_sa_bad_spi_size)
{
    uint8_t spi[8] = {0};
    send_rekey(0, IKE_PROTO_ESP, spi, (uint8_t)(_i == 0 ? 0 : 8));
    ck_assert(h_log_has(&w.p[1], "answering the peer's rekey with INVALID_SYNTAX"));
    assert_unchanged();
}
END_TEST

START_TEST(rekey_sa_unknown_spi)
{
    uint8_t spi[4] = {0x12, 0x34, 0x56, 0x78};
    send_rekey(0, IKE_PROTO_ESP, spi, 4);
    ck_assert(h_log_has(&w.p[1], "answering the peer's rekey with CHILD_SA_NOT_FOUND"));
    ck_assert(h_log_has(&w.p[0], "already rekeyed by the peer")); /* and ignored */
    assert_unchanged();
}
END_TEST

START_TEST(rekey_of_sa_being_deleted)
{
    /* The responder is deleting the Child SA (its DELETE not yet answered)
     * when the rekey request for it arrives: CHILD_SA_NOT_FOUND (2.25). */
    struct ike_sa *sa1 = the_sa(1);
    ike_child_set_state(w.p[1].e, sa1->children, CHILD_DELETING, "test");
    uint8_t spi[4];
    ike_put_be32(spi, the_sa(0)->children->spi_in);
    send_rekey(0, IKE_PROTO_ESP, spi, 4);
    ck_assert(h_log_has(&w.p[1], "answering the peer's rekey with CHILD_SA_NOT_FOUND"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_malicious");
    TCase *tc = tcase_create("malicious");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rekey_sa_bad_protocol);
    tcase_add_loop_test(tc, rekey_sa_bad_spi_size, 0, 2);
    tcase_add_test(tc, rekey_sa_unknown_spi);
    tcase_add_test(tc, rekey_of_sa_being_deleted);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

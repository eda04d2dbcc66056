/*
 * test_establish.c: IKE_SA_INIT + IKE_AUTH with PSK and the first Child
 * SA, in both roles, then teardown; the kernel models must hold exactly the
 * SAs and policies of the tunnel, and nothing after the delete.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"

static struct h_world w;

static void setup(void)
{
    struct ike_conn_cfg l, r;
    h_init(&w, 1);
    h_conn_defaults(&l, true);
    h_conn_defaults(&r, false);
    h_add_conns(&w, &l, &r);
}

static void teardown(void)
{
    h_free(&w);
}

/* Bring the tunnel up with peer `ini` as initiator. */
static void establish(int ini)
{
    char why[200];
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    /* IKE_SA_INIT { SAi1, KEi, Ni, N(NAT_D) } -->
     *            <-- { SAr1, KEr, Nr, N(NAT_D) }
     * IKE_AUTH SK { IDi, N(INITIAL_CONTACT), AUTH, SAi2, TSi, TSr } -->
     *            <-- SK { IDr, AUTH, SAr2, TSi, TSr } */
    h_run(&w, 1000);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), 1);
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_IKE_UP), 1);
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_CHILD_UP), 1);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
        /* inbound + outbound SA; out, in, fwd policy (tunnel mode) */
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "%s", why);
    /* exactly four datagrams: two requests, two responses */
    ck_assert_int_eq(w.p[ini].sent, 2);
    ck_assert_int_eq(w.p[!ini].sent, 2);
}

static void check_gone(void)
{
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 0);
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 0);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 0);
        ck_assert_int_eq(h_count_events(&w.p[i], IKE_EV_IKE_DOWN), 1);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
}

START_TEST(establish_and_delete_ike)
{
    int ini = _i;
    establish(ini);
    /* INFORMATIONAL SK { D(IKE) } -->  <-- SK { } ; from either side */
    for (int by = 0; by < 2; by++) {
        if (by)
            establish(ini); /* again, then the other side deletes */
        ck_assert_int_eq(ike_engine_terminate(w.p[by].e, "t", w.now_ms), 0);
        h_run(&w, 1000);
        check_gone();
        w.p[0].n_ev = w.p[1].n_ev = 0;
        w.p[0].sent = w.p[1].sent = 0;
    }
}
END_TEST

START_TEST(keys_differ_per_direction)
{
    struct ike_key ei, ii, eo, io;
    establish(_i);
    struct ike_sa_info *dummy = NULL;
    (void)dummy;
    /* Both directions of the tunnel use different keys (RFC 7296 2.17). */
    uint32_t spi_in = h_last_event(&w.p[0], IKE_EV_CHILD_UP)->child_spi_in;
    ck_assert_int_eq(ike_engine_child_keys(w.p[0].e, spi_in, &ei, &ii, &eo, &io), 0);
    ck_assert_int_eq(ei.len, 36); /* AES-256 key + 4-byte GCM salt */
    ck_assert_int_ne(memcmp(ei.b, eo.b, ei.len), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_establish");
    TCase *tc = tcase_create("establish");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* _i = index of the initiator: each case runs in both roles */
    tcase_add_loop_test(tc, establish_and_delete_ike, 0, 2);
    tcase_add_loop_test(tc, keys_differ_per_direction, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

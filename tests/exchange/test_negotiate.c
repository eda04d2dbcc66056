/*
 * test_negotiate.c: IKE_SA_INIT and IKE_AUTH outcomes other than plain
 * success, each in both roles: INVALID_KE_PAYLOAD retry, COOKIE, proposal
 * mismatch (IKE and ESP), traffic-selector mismatch, wrong PSK on either
 * side, wrong identity, other algorithm families and transport mode.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2]; /* [0] left's view, [1] right's view */

static void setup(void)
{
    h_use_v6(false);
    h_init(&w, 7);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
}

static void teardown(void)
{
    h_free(&w);
}

/* Add the (possibly modified) configs and let peer `ini` initiate. */
static void go(int ini)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
}

static void assert_up(int children)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), children);
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2u * (unsigned)children);
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2 * children, "%s", why);
}

static void assert_nothing(void)
{
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], NULL), 0);
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 0);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 0);
    }
}

START_TEST(invalid_ke_retry)
{
    int ini = _i;
    /* The initiator prefers P-256, the responder accepts only X25519:
     * IKE_SA_INIT { SA(ecp256, x25519), KE(ecp256) } -->
     *            <-- { N(INVALID_KE_PAYLOAD, x25519) }
     * IKE_SA_INIT { SA, KE(x25519) } -->  ... established */
    cfg[ini].ike[0].n_dh = 2;
    cfg[ini].ike[0].dh[0] = ECP_256;
    cfg[ini].ike[0].dh[1] = CURVE25519;
    go(ini);
    assert_up(1);
    ck_assert(h_log_has(&w.p[ini], "responder wants DH group"));
    ck_assert_int_eq(w.p[ini].sent, 3); /* INIT twice, AUTH once */
}
END_TEST

START_TEST(cookie_demanded)
{
    int ini = _i;
    /* A responder at its half-open limit answers statelessly:
     *            <-- { N(COOKIE) }
     * IKE_SA_INIT { N(COOKIE), SAi1, KEi, Ni } -->  ... established */
    ike_engine_free(w.p[!ini].e);
    struct ike_engine_opts opts;
    ike_engine_opts_defaults(&opts);
    opts.crypto = ike_crypto_openssl();
    opts.random = h_test_rnd;
    opts.random_ctx = &w.p[!ini];
    opts.cookie_threshold = 0;
    w.p[!ini].e = ike_engine_new(&opts);
    go(ini);
    assert_up(1);
    ck_assert_int_eq(w.p[ini].sent, 3);
}
END_TEST

START_TEST(ike_proposal_mismatch)
{
    int ini = _i;
    cfg[!ini].ike[0].encr[0].keylen = 128; /* aes128gcm16 vs aes256gcm16 */
    go(ini);
    assert_nothing();
    const struct ike_event *ev = h_last_event(&w.p[ini], IKE_EV_IKE_DOWN);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->err, IKE_ERR_NO_PROPOSAL);
}
END_TEST

START_TEST(esp_proposal_mismatch_keeps_ike)
{
    int ini = _i;
    cfg[!ini].esp[0].encr[0].id = ENCR_AES_CBC;
    cfg[!ini].esp[0].n_integ = 1;
    cfg[!ini].esp[0].integ[0] = AUTH_HMAC_SHA2_256_128;
    go(ini);
    assert_up(0); /* 2.21.2: the IKE SA survives a refused child */
    ck_assert_int_eq(h_last_event(&w.p[ini], IKE_EV_CHILD_FAILED)->err, IKE_ERR_NO_PROPOSAL);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
}
END_TEST

START_TEST(ts_mismatch_keeps_ike)
{
    int ini = _i;
    cfg[!ini].remote_ts.addr.bytes[1] = 99; /* expects 10.99/16, peer has 10.x/16 */
    go(ini);
    assert_up(0);
    ck_assert_int_eq(h_last_event(&w.p[ini], IKE_EV_CHILD_FAILED)->err,
                     IKE_ERR_TS_UNACCEPTABLE);
}
END_TEST

START_TEST(ts_narrowed)
{
    int ini = _i;
    /* The responder allows only a /24 of the initiator's /16: 2.9 narrowing. */
    cfg[!ini].remote_ts.prefix = 24;
    go(ini);
    assert_up(1);
    struct ike_policy_id id = {.dir = IKE_DIR_OUT};
    id.sel.src = cfg[ini].local_ts.addr;
    id.sel.src_prefix = 24;
    id.sel.dst = cfg[ini].remote_ts.addr;
    id.sel.dst_prefix = 16;
    ck_assert_ptr_nonnull(ike_kmem_find_policy(w.p[ini].kmem, &id));
}
END_TEST

START_TEST(wrong_psk)
{
    /* _i: 0..3 = initiator index x which side has the wrong key */
    int ini = _i & 1, bad = _i >> 1;
    memcpy(cfg[bad].psk, "wrong-ps", 8);
    go(ini);
    /* IKE_AUTH SK { IDi, AUTH(wrong) } -->  <-- SK { N(AUTHENTICATION_FAILED) } */
    assert_nothing();
    ck_assert_int_eq(h_last_event(&w.p[ini], IKE_EV_IKE_DOWN)->err, IKE_ERR_AUTH_FAILED);
    ck_assert_int_eq(h_count_events(&w.p[ini], IKE_EV_IKE_UP), 0);
    ck_assert_int_eq(h_count_events(&w.p[!ini], IKE_EV_IKE_UP), 0);
}
END_TEST

START_TEST(wrong_identity)
{
    int ini = _i;
    /* The responder expects the FQDN "gw.example" but the initiator
     * identifies by its address. */
    cfg[!ini].remote_id.type = ID_FQDN;
    cfg[!ini].remote_id.len = 10;
    memcpy(cfg[!ini].remote_id.data, "gw.example", 10);
    go(ini);
    assert_nothing();
}
END_TEST

START_TEST(fqdn_identities)
{
    int ini = _i;
    for (int s = 0; s < 2; s++) {
        const char *me = s ? "right.example" : "left.example";
        const char *peer = s ? "left.example" : "right.example";
        cfg[s].local_id.type = cfg[s].remote_id.type = ID_FQDN;
        cfg[s].local_id.len = (uint8_t)strlen(me);
        memcpy(cfg[s].local_id.data, me, strlen(me));
        cfg[s].remote_id.len = (uint8_t)strlen(peer);
        memcpy(cfg[s].remote_id.data, peer, strlen(peer));
    }
    go(ini);
    assert_up(1);
}
END_TEST

START_TEST(cbc_modp_transport)
{
    int ini = _i;
    for (int s = 0; s < 2; s++) {
        struct ike_prop_cfg *p = &cfg[s].ike[0];
        p->encr[0].id = ENCR_AES_CBC;
        p->n_integ = 1;
        p->integ[0] = AUTH_HMAC_SHA2_256_128;
        p->dh[0] = MODP_2048;
        struct ike_prop_cfg *e = &cfg[s].esp[0];
        e->encr[0].id = ENCR_AES_CBC;
        e->n_integ = 1;
        e->integ[0] = AUTH_HMAC_SHA2_256_128;
        cfg[s].mode = IKE_MODE_TRANSPORT;
        memset(&cfg[s].local_ts, 0, sizeof(cfg[s].local_ts));
        memset(&cfg[s].remote_ts, 0, sizeof(cfg[s].remote_ts));
    }
    go(ini);
    assert_up(1);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 2); /* in, out: no fwd */
}
END_TEST

START_TEST(ipv6_tunnel)
{
    int ini = _i;
    h_free(&w);
    h_use_v6(true);
    h_init(&w, 8);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
    go(ini);
    assert_up(1);
    ck_assert(h_log_has(&w.p[ini], "to 2001:db8::2[500]") ||
              h_log_has(&w.p[ini], "to 2001:db8::1[500]"));
    h_use_v6(false);
}
END_TEST

static void count_sa(void *ctx, const struct ike_sa_info *sa)
{
    (void)sa;
    (*(size_t *)ctx)++;
}

START_TEST(initial_contact_clears_stale_sas)
{
    int ini = _i;
    go(ini);
    assert_up(1);
    /* The initiator restarts: no engine state and an empty kernel. Its
     * new IKE_AUTH carries N(INITIAL_CONTACT), so the peer drops the stale
     * IKE SA and its Child SA instead of keeping both. */
    ike_engine_free(w.p[ini].e);
    ike_kmem_free(w.p[ini].kmem);
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = h_test_rnd;
    o.random_ctx = &w.p[ini];
    w.p[ini].e = ike_engine_new(&o);
    w.p[ini].kmem = ike_kmem_new();
    ike_kmem_backend_init(w.p[ini].kmem, &w.p[ini].kb, false);
    ike_engine_add_conn(w.p[ini].e, &cfg[ini]);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    assert_up(1);
    ck_assert(h_log_has(&w.p[!ini], "INITIAL_CONTACT: deleting stale IKE SA"));
    /* The per-connection index (sa_index.c) agrees with the SPI map. */
    size_t n = 0;
    ck_assert_int_eq(ike_engine_foreach_conn(w.p[!ini].e, "t", count_sa, NULL, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ike_engine_conn_sa_count(w.p[!ini].e, "t"), 1);
    ck_assert_uint_eq(ike_engine_ike_sa_count(w.p[!ini].e), 1);
    ck_assert_int_eq(ike_engine_foreach_conn(w.p[!ini].e, "nope", count_sa, NULL, &n),
                     IKE_ERR_NO_CONFIG);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_negotiate");
    TCase *tc = tcase_create("negotiate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, invalid_ke_retry, 0, 2);
    tcase_add_loop_test(tc, cookie_demanded, 0, 2);
    tcase_add_loop_test(tc, ike_proposal_mismatch, 0, 2);
    tcase_add_loop_test(tc, esp_proposal_mismatch_keeps_ike, 0, 2);
    tcase_add_loop_test(tc, ts_mismatch_keeps_ike, 0, 2);
    tcase_add_loop_test(tc, ts_narrowed, 0, 2);
    tcase_add_loop_test(tc, wrong_psk, 0, 4);
    tcase_add_loop_test(tc, wrong_identity, 0, 2);
    tcase_add_loop_test(tc, fqdn_identities, 0, 2);
    tcase_add_loop_test(tc, cbc_modp_transport, 0, 2);
    tcase_add_loop_test(tc, ipv6_tunnel, 0, 2);
    tcase_add_loop_test(tc, initial_contact_clears_stale_sas, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

/*
 * test_collision.c: every collision of RFC 7296 2.8.1 / 2.8.2 and 2.25,
 * in both roles, over every delivery order of the datagrams in flight (an
 * enumerated order code) and many seeds (so each of the four nonces is the
 * lowest in some runs). After the dust settles both sides must hold one
 * IKE SA and one Child SA with the same keys, and continuity must never
 * have been violated on the way.
 */
#include <stdlib.h>
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

/* Order codes per seed and seeds per case; H_DEEP=1 multiplies both
 * (H_DEEP=1 tests/exchange/test_collision: 1,000 orders x 20 seeds). */
static uint64_t ORDERS = 48;
static uint64_t SEEDS = 8;

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void world(uint64_t seed)
{
    h_init(&w, seed);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
    h_add_conns(&w, &cfg[0], &cfg[1]);
    ck_assert_int_eq(ike_engine_initiate(w.p[seed & 1].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    w.check_continuity = true;
}

static void assert_one_tunnel(uint64_t seed, uint64_t order)
{
    char why[200];
    ck_assert_msg(!w.violation[0], "seed %llu order %llu: continuity: %s", (unsigned long long)seed,
                  (unsigned long long)order, w.violation);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(
            h_ike_count(&w.p[i], NULL) == 1 && h_child_count(&w.p[i]) == 1 &&
                ike_kmem_sa_count(w.p[i].kmem) == 2 && ike_kmem_policy_count(w.p[i].kmem) == 3,
            "seed %llu order %llu: %s holds %d IKE SA, %d children, %zu kernel SAs",
            (unsigned long long)seed, (unsigned long long)order, w.p[i].name,
            h_ike_count(&w.p[i], NULL), h_child_count(&w.p[i]), ike_kmem_sa_count(w.p[i].kmem));
        ck_assert_int_eq(w.p[i].kernel_errors, 0);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "seed %llu order %llu: %s",
                  (unsigned long long)seed, (unsigned long long)order, why);
}

/* kind: 0 child/child, 1 IKE/IKE, 2 IKE (left) vs child (right),
 * 3 child (left) vs IKE (right) */
static void both_rekey(int kind)
{
    bool ike_l = kind == 1 || kind == 2, ike_r = kind == 1 || kind == 3;
    ck_assert_int_eq(ike_engine_rekey(w.p[0].e, "t", ike_l, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[1].e, "t", ike_r, w.now_ms), 0);
}

/* Left restarts: a new engine (no state) and an empty kernel, as after a
 * reboot, and initiates at once (auto=start): it holds no IKE SA with
 * right, so its IKE_AUTH carries INITIAL_CONTACT (2.4). */
static void restart_left(void)
{
    ike_engine_free(w.p[0].e);
    ike_kmem_free(w.p[0].kmem);
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = h_test_rnd;
    o.random_ctx = &w.p[0];
    w.p[0].kmem = ike_kmem_new();
    ike_kmem_backend_init(w.p[0].kmem, &w.p[0].kb, false);
    o.esp_stats = w.p[0].kb.get_stats;
    o.esp_stats_ctx = w.p[0].kb.ctx;
    w.p[0].e = ike_engine_new(&o);
    ck_assert_int_eq(ike_engine_add_conn(w.p[0].e, &cfg[0]), 0);
    ck_assert_int_eq(ike_engine_initiate(w.p[0].e, "t", w.now_ms), 0);
}

START_TEST(simultaneous_rekeys)
{
    int kind = _i;
    uint64_t only = getenv("H_ORDER") ? strtoull(getenv("H_ORDER"), NULL, 0) : UINT64_MAX;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        for (uint64_t order = 0; order < ORDERS; order++) {
            if (only != UINT64_MAX && order != only)
                continue;
            world(seed * 100 + (uint64_t)kind);
            /* both: CREATE_CHILD_SA { [N(REKEY_SA),] SA, Ni, ... } --> <-- */
            both_rekey(kind);
            h_run_ordered(&w, order, 60000); /* TEMPORARY_FAILURE retries included */
            h_run(&w, 200000); /* past the passive-delete wait of a lost redundant SA */
            assert_one_tunnel(seed, order);
            h_free(&w);
        }
    }
    world(1); /* for teardown */
}
END_TEST

START_TEST(collision_with_lost_request)
{
    /* 2.8.1, second sequence: one side's rekey request is lost; the other
     * side completes its rekey and deletes the old SA; the retransmitted
     * request then names an SA that is gone: CHILD_SA_NOT_FOUND, which the
     * first side ignores. Likewise for IKE SAs (TEMPORARY_FAILURE). */
    int lost = _i & 1, ike = _i >> 1;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        world(seed);
        struct h_rule r = {
            .from = lost, .exchange = CREATE_CHILD_SA, .response = 0, .count = 1, .action = H_DROP};
        h_set_rule(&w, &r);
        ike_engine_rekey(w.p[0].e, "t", ike, w.now_ms);
        ike_engine_rekey(w.p[1].e, "t", ike, w.now_ms);
        h_run(&w, 30000);
        h_set_rule(&w, NULL);
        assert_one_tunnel(seed, 0);
        h_free(&w);
    }
    world(1);
}
END_TEST

START_TEST(redundant_sa_stands_when_peer_deletes_survivor)
{
    /* B76 (regress seed 28377 --rekey on B72's course), 2.8.1: both
     * peers rekey Child SA X at once; a's answer to b's request (b's new
     * SA R) is lost. a decides at once: in the runs counted R has the
     * lowest nonce, so a's new SA S survives, a deletes X, and waits for
     * b to delete R. b lost X to that DELETE, then S to its hard expiry
     * (b's lifetimes are shorter) before its retransmission got the
     * answer: b saw no collision (nothing left to be redundant with), took
     * R for its plain rekey, and deleted S. a still held R as redundant:
     * it refused b's rekey of R (CHILD_SA_NOT_FOUND) and deleted R at its
     * passive deadline, the last Child SA at both ends; nobody made one
     * again. With S gone by b's own DELETE, R is the tunnel's SA. */
    int a = _i, b = !a, hit = 0;
    for (uint64_t seed = 1; seed <= 2 * SEEDS; seed++) {
        world(seed * 10 + (uint64_t)_i);
        /* a: CREATE_CHILD_SA response to b's rekey of X --X */
        struct h_rule r = {
            .from = a, .exchange = CREATE_CHILD_SA, .response = 1, .count = 1, .action = H_DROP};
        h_set_rule(&w, &r);
        both_rekey(0);
        h_advance(&w, 100); /* a decided, b lost X to a's DELETE */
        if (!h_log_has(&w.p[a], "the peer's new Child SA")) {
            h_free(&w);
            continue; /* a lost the collision: b deletes its own redundant SA */
        }
        hit++;
        /* b: S reaches its hard lifetime (the kernel's event). b has no
         * SA to send on until the answer comes: no continuity from here,
         * the end state is checked below. */
        w.check_continuity = false;
        const struct ike_event *ev = h_last_event(&w.p[b], IKE_EV_CHILD_UP);
        struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
        kev.sa.spi = ev->child_spi_in;
        kev.sa.proto = IKE_IPPROTO_ESP;
        ck_assert_int_eq(ike_engine_kernel_event(w.p[b].e, &kev, w.now_ms), 0);
        h_run(&w, 10000); /* b's retransmission gets R, then b deletes S */
        h_set_rule(&w, NULL);
        w.check_continuity = true;
        /* b: CREATE_CHILD_SA {N(REKEY_SA, R), ...} --> (and of any other
         * child b made meanwhile) */
        ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", false, w.now_ms), 0);
        h_run(&w, 60000); /* past a's passive deadline of R */
        ck_assert_msg(!h_log_has(&w.p[a], "with CHILD_SA_NOT_FOUND"),
                      "seed %llu: a refused b's rekey of R, which b holds as its own",
                      (unsigned long long)seed);
        ck_assert_msg(!w.violation[0], "seed %llu: continuity: %s", (unsigned long long)seed,
                      w.violation);
        int n = h_child_count(&w.p[a]);
        ck_assert_msg(n > 0 && n == h_child_count(&w.p[b]), "seed %llu: %d and %d Child SAs",
                      (unsigned long long)seed, n, h_child_count(&w.p[b]));
        char why[200];
        ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2 * n, "seed %llu: %s",
                      (unsigned long long)seed, why);
        h_free(&w);
    }
    ck_assert_int_gt(hit, 0);
    world(1);
}
END_TEST

START_TEST(rekey_vs_delete)
{
    /* One side rekeys the Child SA while the other deletes it (hard
     * expiry): the tunnel may end with no child, but never with stale or
     * half state: whatever one side holds, the other holds too. */
    int rekeyer = _i;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        for (uint64_t order = 0; order < ORDERS; order++) {
            char why[200];
            world(seed);
            /* A hard expiry removes an SA on one side at once: until the
             * peer hears of it that direction loses packets by design. */
            w.check_continuity = false;
            ike_engine_rekey(w.p[rekeyer].e, "t", false, w.now_ms);
            struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
            kev.sa.spi = h_last_event(&w.p[!rekeyer], IKE_EV_CHILD_UP)->child_spi_in;
            kev.sa.proto = IKE_IPPROTO_ESP;
            ike_engine_kernel_event(w.p[!rekeyer].e, &kev, w.now_ms);
            h_run_ordered(&w, order, 60000);
            h_run(&w, 60000);
            ck_assert_msg(!w.violation[0], "seed %llu order %llu: %s", (unsigned long long)seed,
                          (unsigned long long)order, w.violation);
            int n = h_child_count(&w.p[0]);
            ck_assert_int_eq(h_child_count(&w.p[1]), n);
            ck_assert_int_le(n, 1);
            for (int i = 0; i < 2; i++) {
                ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2u * (unsigned)n);
                ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 3u * (unsigned)n);
                ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
            }
            ck_assert_int_eq(h_check_tunnel(&w, why, sizeof(why)), 2 * n);
            h_free(&w);
        }
    }
    world(1);
}
END_TEST

START_TEST(ike_rekey_vs_ike_delete)
{
    /* One side rekeys the IKE SA while the other deletes it: both end with
     * nothing, and no kernel state is left behind. */
    int rekeyer = _i;
    for (uint64_t order = 0; order < ORDERS; order++) {
        world(order + 1);
        ike_engine_rekey(w.p[rekeyer].e, "t", true, w.now_ms);
        ike_engine_terminate(w.p[!rekeyer].e, "t", w.now_ms);
        h_run_ordered(&w, order, 60000);
        h_run(&w, 200000);
        for (int i = 0; i < 2; i++) {
            ck_assert_msg(h_ike_count(&w.p[i], NULL) == 0, "order %llu: %s keeps an IKE SA",
                          (unsigned long long)order, w.p[i].name);
            ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 0);
            ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 0);
        }
        h_free(&w);
    }
    world(1);
}
END_TEST

START_TEST(initial_contact_during_ike_collision)
{
    /* B45 (seed 11520 --rekey): both sides rekey IKE SA S at once; right
     * answers left's rekey (new SA T) while its own is outstanding, so
     * the children stay on S until its own ends (2.8.2), and a Child
     * rekey asked meanwhile waits in S's queue. Left restarts; its new
     * IKE_AUTH carries INITIAL_CONTACT. Dropping S hands the child and
     * the held Child rekey to T, whose request was built in the buffer
     * the IKE_AUTH request's payloads still pointed into: right answered
     * INVALID_SYNTAX for the new Child SA and the tunnel stayed down.
     *   left (new): IKE_AUTH SK { IDi, N(INITIAL_CONTACT), AUTH, SAi2, TSi, TSr } -->
     *                         <-- SK { IDr, AUTH, SAr2, TSi, TSr } */
    uint64_t seed = 1 + (uint64_t)_i;
    world(seed * 2);            /* left sets the IKE SA up */
    w.check_continuity = false; /* the restart breaks the tunnel by design */
    /* Left's rekey request passes; all it sends after is lost. */
    struct h_rule r = {.from = 0, .response = -1, .skip = 1, .count = 1000, .action = H_DROP};
    h_set_rule(&w, &r);
    both_rekey(1);
    h_run(&w, 100); /* right answered left's rekey; its own is unanswered */
    ck_assert_int_eq(h_ike_count(&w.p[1], "ESTABLISHED"), 2);
    ck_assert_int_eq(ike_engine_rekey(w.p[1].e, "t", false, w.now_ms), 0); /* queued on S */
    h_advance(&w, 2500); /* past the hold of T (B16), before right's retransmission */
    h_set_rule(&w, NULL);
    restart_left();
    h_run(&w, 3000);
    ck_assert(!h_log_has(&w.p[1], "no Child SA in IKE_AUTH"));
    assert_one_tunnel(seed, 0);
}
END_TEST

static void teardown(void)
{
    h_free(&w);
}

static void deep(void)
{
    if (getenv("H_DEEP")) {
        ORDERS = 1000;
        SEEDS = 20;
    }
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_collision");
    TCase *tc = tcase_create("collision");
    tcase_add_checked_fixture(tc, deep, teardown);
    tcase_set_timeout(tc, getenv("H_DEEP") ? 3600 : 300);
    tcase_add_loop_test(tc, simultaneous_rekeys, 0, 4);
    tcase_add_loop_test(tc, collision_with_lost_request, 0, 4);
    tcase_add_loop_test(tc, redundant_sa_stands_when_peer_deletes_survivor, 0, 2);
    tcase_add_loop_test(tc, rekey_vs_delete, 0, 2);
    tcase_add_loop_test(tc, ike_rekey_vs_ike_delete, 0, 2);
    tcase_add_loop_test(tc, initial_contact_during_ike_collision, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

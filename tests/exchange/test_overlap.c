/*
 * test_overlap.c: an IKE rekey (RFC 7296 1.3.2, 2.18) overlapping other
 * work on the same IKE SA: a 2.8.2 collision whose partner SA is rekeyed
 * before the collision is decided, a Child DELETE outstanding on the old
 * IKE SA when the peer deletes it, and the peer's DELETE of the old IKE SA
 * lost for good while the new one is in use or, unused, after the peer
 * dropped the old one (asked on it, it no longer answers), and an IKE
 * rekey lost when its next retransmission would come after the IKE SA's
 * lifetime, a create and DELETE queued on an IKE SA whose last child
 * expired, when the peer deletes it after rekeying it, an IKE rekey
 * and Child rekeys near their ends refusing each other (2.25.1, 2.25.2)
 * with a lost retry or two urgent children, and a collision still
 * undecided at one end when the peer, which has decided, already uses its
 * new IKE SA, and the pause after refusing the peer's IKE rekey, which
 * must last until its retry has crossed the network. Both peers must end
 * agreeing on which IKE SAs and Child SAs exist, well before the 30 s
 * passive-delete timeout could tidy up, and that timeout must wait while
 * the peer still retransmits its rekey.
 */
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];
static bool short_rt;     /* retransmit budgets of 3.5 s: 0.5 + 1 + 2 s */
static int dpd_side = -1; /* this peer runs DPD every 1.5 s */
static int slow_rt = -1;  /* this side retransmits after 2, 3.6, 6.5, 11.7, 21 s, ... */

/* Two peers with the test defaults; a test may change cfg before start. */
static void prepare(uint64_t seed)
{
    h_init(&w, seed);
    h_conn_defaults(&cfg[0], true);
    h_conn_defaults(&cfg[1], false);
    for (int s = 0; s < 2; s++) {
        cfg[s].rekey = false; /* only the rekeys a test starts */
        if (short_rt) {
            cfg[s].retransmit_base_ms = 500;
            cfg[s].retransmit_factor_pct = 200;
            cfg[s].retransmit_tries = 2;
        }
        if (s == dpd_side)
            cfg[s].dpd_delay_ms = 1500;
        if (s == slow_rt) {
            cfg[s].retransmit_base_ms = 2000;
            cfg[s].retransmit_factor_pct = 180;
            cfg[s].retransmit_tries = 5;
        }
    }
}

/* Peer ini sets the IKE SA and its Child SA up; continuity is checked from
 * then on. */
static void start(int ini)
{
    h_add_conns(&w, &cfg[0], &cfg[1]);
    ck_assert_int_eq(ike_engine_initiate(w.p[ini].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    w.check_continuity = true;
}

static void world(uint64_t seed)
{
    prepare(seed);
    start(seed & 1);
}

static void teardown(void)
{
    h_free(&w);
}

/* What one peer holds: IKE SAs, Child SAs in any state, and the IKE SA
 * of its (last seen) installed child. */
struct held {
    int ike, children, installed;
    uint64_t spi_i, spi_r;
};

static void held_ike(void *ctx, const struct ike_sa_info *sa)
{
    (void)sa;
    ((struct held *)ctx)->ike++;
}

static void held_child(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *ch)
{
    struct held *h = ctx;
    h->children++;
    if (strcmp(ch->state, "INSTALLED"))
        return;
    h->installed++;
    h->spi_i = sa->spi_i;
    h->spi_r = sa->spi_r;
}

static struct held holds(int i)
{
    struct held h = {0};
    ike_engine_foreach(w.p[i].e, held_ike, held_child, &h);
    return h;
}

/* One IKE SA at each peer, the same one, and `children` Child SAs (0:
 * any number, the same at both), all installed: none left REKEYED or
 * DELETING. Keys match, continuity never broken. */
static void assert_agree(uint64_t seed, int children)
{
    char why[200];
    ck_assert_msg(!w.violation[0], "seed %llu: continuity: %s", (unsigned long long)seed,
                  w.violation);
    struct held h[2] = {holds(0), holds(1)};
    for (int i = 0; i < 2; i++)
        ck_assert_msg(
            h[i].ike == 1 && h[i].children == h[i].installed &&
                h[i].installed == (children ? children : h[0].installed) && h[i].installed > 0,
            "seed %llu: %s holds %d IKE SAs, %d Child SAs (%d installed)", (unsigned long long)seed,
            w.p[i].name, h[i].ike, h[i].children, h[i].installed);
    ck_assert_msg(h[0].spi_i == h[1].spi_i && h[0].spi_r == h[1].spi_r,
                  "seed %llu: the Child SA is under different IKE SAs", (unsigned long long)seed);
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2 * h[0].installed, "seed %llu: %s",
                  (unsigned long long)seed, why);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 2u * (unsigned)h[i].installed);
}

/* A world from seed where both peers rekey IKE SA A at once (2.8.2), a's
 * first `lost` answers to b's request (b's new SA T) dropped by rule r,
 * and a second passed: a has decided (its response came), b waits for its
 * own. True when a's SA F survives (T has the lowest nonce); *t0 (if
 * asked) is when both rekeys started. */
static bool ike_rekeys_collide(int a, uint64_t seed, struct h_rule *r, int lost, uint64_t *t0)
{
    world(seed);
    *r = (struct h_rule){
        .from = a, .exchange = CREATE_CHILD_SA, .response = 1, .count = lost, .action = H_DROP};
    h_set_rule(&w, r);
    if (t0)
        *t0 = w.now_ms;
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", true, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[!a].e, "t", true, w.now_ms), 0);
    h_run(&w, 1000);
    return h_log_has(&w.p[a], "the peer's new IKE SA");
}

START_TEST(collision_partner_rekeyed_by_us)
{
    /* B46 (seed 16178 --rekey), 2.8.2: both peers rekey IKE SA A at once;
     * b answers a's request (a's new SA F) with its own request, for T,
     * outstanding, so the collision is decided when b's response comes.
     * a's answers to b are lost; a decides at once (its response came):
     * when T has the lowest nonce, F survives and the children go there.
     * Before b's retransmission gets its answer, b rekeys F itself (F ->
     * F2; forced, or F's lifetime). b then sees T's answer with F gone: it
     * took that for no collision, moved the children to T and deleted A,
     * while a holds them under F2 (and tries to make b delete T). F's
     * successor must take over F's role in the collision (with the
     * nonces of the exchange that made F), as when the peer rekeys it
     * (B25). Seeds vary the nonces: the test counts the runs where F
     * survived, and needs some. */
    int a = _i, b = !a, hit = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        /* a's CREATE_CHILD_SA response to b's rekey of A: lost (once) */
        struct h_rule r;
        bool f_survives = ike_rekeys_collide(a, seed, &r, 1, NULL);
        hit += f_survives;
        /* b rekeys every established IKE SA: F (A's rekey is running) */
        ike_engine_rekey(w.p[b].e, "t", true, w.now_ms);
        h_run(&w, 1000);  /* F -> F2 at both, F deleted */
        h_run(&w, 15000); /* b's retransmission (4 s) is answered, the loser deletes */
        assert_agree(seed, 1);
        h_free(&w);
    }
    ck_assert_msg(hit > 0, "no seed made the peer's SA F the survivor");
    world(1); /* for teardown */
}
END_TEST

START_TEST(delete_of_expired_child_outlives_old_ike_sa)
{
    /* B44 (seeds 11299 and 4572 --rekey): a rekeys the Child SA; its old
     * SA reaches its hard lifetime before the rekey's response comes, so
     * it is removed at once and its DELETE (RFC 7296 1.4.1) still has to
     * tell b. That DELETE goes out on IKE SA A and is lost; b then rekeys
     * A (2.25.2: a answers an IKE rekey while its Child DELETE is out)
     * and deletes it. The DELETE that A carried must be asked again on
     * the new IKE SA: it was only for children still listed, so b kept
     * its copy of the old Child SA REKEYED until its passive timeout. */
    int a = _i & 1, b = !a;
    world(7 + (uint64_t)_i);
    const struct ike_event *up = h_last_event(&w.p[a], IKE_EV_CHILD_UP);
    uint32_t old_in = up->child_spi_in;
    /* a: CREATE_CHILD_SA {N(REKEY_SA), ...} -->   (response in flight) */
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0);
    h_drain(&w);
    h_deliver_one_hop(&w);
    /* The old SA's hard expiry at a, now: removed, its DELETE queued. */
    w.check_continuity = false; /* a hard expiry breaks a direction by design */
    struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
    kev.sa.spi = old_in;
    kev.sa.proto = IKE_IPPROTO_ESP;
    ike_engine_kernel_event(w.p[a].e, &kev, w.now_ms);
    /* a: INFORMATIONAL {D(old)} --X (the first one only) */
    struct h_rule r = {
        .from = a, .exchange = INFORMATIONAL, .response = 0, .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    h_deliver_one_hop(&w); /* the rekey response: new child; the DELETE leaves, lost */
    ck_assert_int_eq(r.matched, 1);
    /* b: CREATE_CHILD_SA {SA, Ni, KEi} (IKE) -->, then D(A) on A */
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    h_run(&w, 3000); /* well before a retransmission (4 s) or a passive timeout */
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    /* The expiry during a's rekey also made a create a Child SA (B28's
     * recreate: the rekey's new child is not counted as coming): both
     * peers hold both, and nothing else. */
    assert_agree((uint64_t)_i, 0);
}
END_TEST

/* B48, B72: with short retransmit budgets (3.5 s), peer b = !a rekeys IKE
 * SA A and a answers (A REKEYED, new SA N); every try of b's DELETE of A
 * is lost, and after 5 s b has given A up while a still holds it. */
static void peer_drops_old_after_lost_deletes(int a, uint64_t seed)
{
    int b = !a;
    short_rt = true;
    world(seed);
    short_rt = false;
    /* b: D(A) --X, and both retransmissions */
    struct h_rule r = {
        .from = b, .exchange = INFORMATIONAL, .response = 0, .count = 3, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    h_advance(&w, 5000); /* b gave A up */
    ck_assert_int_eq(r.matched, 3);
    ck_assert_int_eq(h_ike_count(&w.p[b], NULL), 1);
    ck_assert_int_eq(h_ike_count(&w.p[a], "REKEYED"), 1);
    h_set_rule(&w, NULL);
}

START_TEST(old_ike_sa_goes_soon_after_peer_uses_new)
{
    /* B48 (seed 15656 --rekey): b rekeys IKE SA A, a answers (A REKEYED,
     * new SA N) and waits for b's DELETE of A, which is lost three times:
     * b gives up on it after its retransmit budget (no verdict on a
     * replaced SA). b then uses N (a Child rekey): b holds N, so it had
     * a's answer and sent its DELETE of A then; only retransmissions of it
     * can still come, for about a retransmit budget. a deletes A itself
     * after that, instead of keeping it REKEYED for the 30 s meant for a
     * peer it knows nothing of. */
    int a = _i & 1, b = !a;
    peer_drops_old_after_lost_deletes(a, 3 + (uint64_t)_i);
    /* b: CREATE_CHILD_SA {N(REKEY_SA), ...} on N --> */
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", false, w.now_ms), 0);
    h_advance(&w, 12000); /* 3.5 + 2 s of waiting, then a's DELETE of A times out */
    ck_assert_int_eq(h_ike_count(&w.p[a], "REKEYED"), 0);
    assert_agree((uint64_t)_i, 1);
}
END_TEST

START_TEST(old_ike_sa_goes_when_peer_dropped_it)
{
    /* B72 (seeds 368433, 374299 --rekey): b rekeys IKE SA A, a answers
     * (A REKEYED, new SA N); every try of b's DELETE of A is lost and b
     * drops A after its retransmit budget (3.5 s; no verdict on a
     * replaced SA). b sends nothing on N, so B48's cut never comes: a kept
     * A REKEYED, nothing outstanding, for its 30 s floor. a now asks on A
     * (an empty INFORMATIONAL, 2.4) one estimated peer budget after the
     * last word (3.5 + 2 s); b, without A, cannot answer, and a drops A
     * after its own budget, about 9 s after the rekey: no verdict on b,
     * N and the child stay. */
    int a = _i & 1;
    peer_drops_old_after_lost_deletes(a, 5 + (uint64_t)_i);
    h_advance(&w, 7000); /* a asks at 5.5 s and gives up 3.5 s later */
    ck_assert_int_eq(h_ike_count(&w.p[a], "REKEYED"), 0);
    ck_assert_msg(h_log_has(&w.p[a], "asking whether the peer still holds it"), "a never asked");
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_IKE_DOWN), 0); /* no verdict */
    assert_agree((uint64_t)_i, 1);
}
END_TEST

START_TEST(ike_rekey_retransmitted_before_lifetime_ends)
{
    /* Seed 57224 --rekey: a's IKE rekey starts 1.5 s before its IKE SA's
     * lifetime, its request is lost, and a's next retransmission (2 s)
     * would come after the lifetime, when a must delete the IKE SA and
     * its Child SAs. It goes halfway to the end instead, and the rekey
     * completes in time. */
    int a = _i & 1;
    prepare(11 + (uint64_t)_i);
    for (int s = 0; s < 2; s++) {
        cfg[s].rekey = s == a;
        cfg[s].ike_lifetime_ms = s == a ? 20000 : 3600 * 1000;
        cfg[s].child_lifetime_ms = 1800 * 1000;
        cfg[s].rekey_margin_ms = 1500;
        cfg[s].rekey_fuzz_pct = 0;
        cfg[s].retransmit_base_ms = 2000;
    }
    start(a);
    /* a: CREATE_CHILD_SA {SA, Ni, KEi} for the IKE SA --X */
    struct h_rule r = {
        .from = a, .exchange = CREATE_CHILD_SA, .response = 0, .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    h_advance(&w, 25000);
    ck_assert_int_eq(r.matched, 2); /* dropped, then retransmitted */
    ck_assert_msg(!h_log_has(&w.p[a], "lifetime over"), "the IKE SA reached its lifetime");
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_IKE_REKEYED), 1);
    assert_agree((uint64_t)_i, 1);
}
END_TEST

START_TEST(child_rekey_on_new_ike_sa_during_collision)
{
    /* Seed 87004 --rekey, 2.8.2 with 2.25: both peers rekey IKE SA A at
     * once; a's answers to b's request (b's new SA T) are lost, so b,
     * which answered a's request (a's SA F), waits for its own response
     * before it moves the children, and keeps them on A meanwhile. a
     * decided at once: with T the lowest nonce, F survives, and a moves
     * the children there; b's DPD on F proves to a that b holds F. a then
     * rekeys the child on F: b answered CHILD_SA_NOT_FOUND (the child was
     * not on F yet), and a, taking that for "the peer lost it" (B52),
     * deleted the child and the tunnel went down. b is rekeying the IKE
     * SA: it answers TEMPORARY_FAILURE (2.25), a retries, and once b's
     * retransmission is answered both hold the child under F. Seeds vary
     * the nonces: the test counts the runs where F survived. */
    int a = _i, b = !a, hit = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        dpd_side = b;
        world(seed);
        dpd_side = -1;
        /* a's CREATE_CHILD_SA responses to b's rekey of A (and its first
         * retransmission, 4 s later): lost */
        struct h_rule r = {
            .from = a, .exchange = CREATE_CHILD_SA, .response = 1, .count = 2, .action = H_DROP};
        h_set_rule(&w, &r);
        ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", true, w.now_ms), 0);
        ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
        h_run(&w, 1000);
        if (!h_log_has(&w.p[a], "the peer's new IKE SA")) {
            h_free(&w); /* F redundant: a keeps the children on A */
            continue;
        }
        hit++;
        h_advance(&w, 2000); /* b's DPD on F (its hold on F ends after 2 s) */
        ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0);
        h_run(&w, 500);
        ck_assert_msg(!h_log_has(&w.p[b], "no such Child SA"),
                      "seed %llu: the child on A was not found on F", (unsigned long long)seed);
        h_run(&w, 20000); /* b's second retransmission is answered */
        assert_agree(seed, 1);
        h_free(&w);
    }
    ck_assert_msg(hit > 0, "no seed made the peer's SA F the survivor");
    world(1); /* for teardown */
}
END_TEST

START_TEST(collision_undecided_resends_when_peer_uses_new_sa)
{
    /* B81 (seed 482680 --rekey), 2.8.2 with 2.25: both peers rekey IKE SA
     * A at once; a's answers to b's request (b's new SA T) are lost twice:
     * the first and the one resent for b's first retransmission (4 s).
     * b answered a's request (a's SA F) and keeps the children on A until
     * its response comes; a decided at once (F survives when T has the
     * lowest nonce) and rekeys the child on F. b refuses that with
     * TEMPORARY_FAILURE (B53), and b's next retransmission was due only
     * at 11.2 s (4 s x1.8): a's retries were refused until then, and in
     * the seed the child's hard expiry came first. a's request on F
     * proves a has decided and b's exchange on A is stuck: b sends its
     * request again at once, a answers it from its cache (2.1), b
     * decides, and a's retry of the Child rekey goes through well before
     * b's scheduled retransmission. Seeds vary the nonces: the test counts
     * the runs where F survived. */
    int a = _i, b = !a, hit = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        /* a: CREATE_CHILD_SA response to b's rekey --X, and the resend
         * for b's first retransmission --X */
        struct h_rule r;
        uint64_t t0;
        if (!ike_rekeys_collide(a, seed, &r, 2, &t0)) {
            h_free(&w); /* F redundant: a keeps the children on A */
            continue;
        }
        hit++;
        h_advance(&w, t0 + 5000 - w.now_ms); /* b's first retransmission (4 s) */
        ck_assert_int_eq(r.matched, 2);
        ck_assert_msg(!h_log_has(&w.p[b], "rekey collision, our new IKE SA"),
                      "seed %llu: decided too early", (unsigned long long)seed);
        /* a: CREATE_CHILD_SA {rekey child} on F --> b: TEMPORARY_FAILURE */
        ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0);
        h_advance(&w, t0 + 10000 - w.now_ms); /* b's second retransmission: 11.2 s */
        ck_assert_msg(h_log_has(&w.p[b], "rekey collision, our new IKE SA"),
                      "seed %llu: b still waits for its retransmission to decide",
                      (unsigned long long)seed);
        ck_assert_msg(h_count_events(&w.p[a], IKE_EV_CHILD_REKEYED) == 1,
                      "seed %llu: a's Child rekey on F refused until b's retransmission",
                      (unsigned long long)seed);
        h_run(&w, 20000);
        assert_agree(seed, 1);
        h_free(&w);
    }
    ck_assert_msg(hit > 0, "no seed made the peer's SA F the survivor");
    world(1); /* for teardown */
}
END_TEST

START_TEST(old_ike_sa_waits_while_peer_retransmits_its_rekey)
{
    /* B55 (seed 74020 --rekey): b rekeys IKE SA A; a answers (A REKEYED,
     * the child moved to the new SA N at a) but every answer is lost
     * until b's fifth retransmission, 44.7 s later (b's intervals grow by
     * 1.8: RFC 7296 2.4 leaves them to b). a's passive wait (its own
     * budget of 3.5 s as the estimate, so the 30 s floor) ran out after
     * b's fourth retransmission, 23.7 s, and a deleted A: b, which never
     * got the answer, still held the child under A and dropped it with A
     * (1.4.1) while a kept sending on it under N. Each retransmission of
     * b's request shows b lacks the answer: a's wait starts again there,
     * b's fifth retransmission gets the answer, and b deletes A itself. */
    int a = _i & 1, b = !a;
    short_rt = true;
    slow_rt = b;
    world((uint64_t)(_i >> 1) + 2 * (uint64_t)_i); /* initiator: _i >> 1 */
    short_rt = false;
    slow_rt = -1;
    /* a: CREATE_CHILD_SA response --X, and its resends for b's
     * retransmissions 1-4; the one for the fifth passes */
    struct h_rule r = {
        .from = a, .exchange = CREATE_CHILD_SA, .response = 1, .count = 5, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    h_advance(&w, 40000); /* past a's first deadline (30 s), before b's fifth (44.7 s) */
    ck_assert_int_eq(r.matched, 5);
    ck_assert_msg(!w.violation[0], "continuity: %s", w.violation);
    ck_assert_int_eq(h_ike_count(&w.p[a], "REKEYED"), 1);
    h_advance(&w, 10000); /* b's fifth retransmission is answered: b deletes A */
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    assert_agree((uint64_t)_i, 1);
}
END_TEST

START_TEST(ike_and_child_rekey_near_their_ends_refuse_each_other_once)
{
    /* Seeds 206634, 225256, 305539 --rekey (B75): b's IKE rekey 1.5 s
     * before its IKE SA's lifetime and a's rekey of a child near that
     * child's end of life cross, and each refuses the other with
     * TEMPORARY_FAILURE (2.25.1, 2.25.2). With a retry of its own on each
     * side (b's IKE rekey after 300-1000 ms, a's child halfway to its end
     * of life) the retries crossed again until b's IKE SA expired with
     * every Child SA. Both now follow one schedule (timers.c): a child
     * whose end of life is 1.5 s away is urgent, goes one round trip
     * after the refusal, and b's IKE rekey follows its DELETE; one 3 s
     * away waits for b's IKE rekey (2 round trips and 300 ms after the
     * refusal) and goes right after it on the new IKE SA. One refusal
     * each, then both done. _i: bit 0 = who rekeys the IKE SA, bit 1 =
     * who set it up, bit 2 = the child can wait, the rest picks the seed
     * (the jitter of the retries). */
    int b = _i & 1, a = !b;
    prepare(40 + (uint64_t)_i);
    w.latency_ms = 100;
    cfg[b].ike_lifetime_ms = 7500;                      /* 1.5 s left at the rekey below */
    cfg[a].child_lifetime_ms = (_i & 4) ? 10500 : 9000; /* end of life 3 or 1.5 s after it */
    cfg[a].rekey_margin_ms = 1000;
    start((_i >> 1) & 1);
    h_advance(&w, 6000);
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0);
    h_advance(&w, 3000);
    ck_assert_msg(!h_log_has(&w.p[b], "lifetime over"), "the IKE SA reached its lifetime");
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_CHILD_REKEYED), 1);
    ck_assert_msg(h_count_events(&w.p[b], IKE_EV_REKEY_FAILED) == 1 &&
                      h_count_events(&w.p[a], IKE_EV_REKEY_FAILED) == 1,
                  "refused %d times (IKE rekey) and %d times (Child rekey): after the first "
                  "mutual refusal the two exchanges must not meet again",
                  h_count_events(&w.p[b], IKE_EV_REKEY_FAILED),
                  h_count_events(&w.p[a], IKE_EV_REKEY_FAILED));
    assert_agree((uint64_t)_i, 1);
}
END_TEST

START_TEST(child_work_moves_when_peer_deletes_collided_ike_sa)
{
    /* B80 (seeds 430574, 680342 --rekey): a's IKE rekey of A is lost (an
     * outage), and A's only child reaches its hard lifetime meanwhile: a
     * removes it, and its DELETE and a create from scratch (B28) queue
     * behind the rekey (window size 1, RFC 7296 2.3). b, which saw none of
     * it, rekeys A; a answers (its own rekey still outstanding, so the
     * collision is left to decide, 2.8.2) and b deletes A. The new IKE SA
     * inherits A's Child SAs (2.18), and A's Child work with them: it
     * moved only when A still listed a child, so a kept N with no Child
     * SA and nothing to make one, b kept the one a had removed, and a's
     * direction had no outbound policy until the next outage. _i bit 1:
     * a has closeaction=restart (B83, seed 632657 --rekey: the restart on
     * A's DELETE made a Child SA beside the one b kept); the moved create
     * is the tunnel's way back, no second one beside it. */
    int a = _i & 1, b = !a;
    prepare(60 + (uint64_t)_i);
    if (_i & 2)
        cfg[a].close_action = IKE_DPD_RESTART;
    start(a);
    const struct ike_event *up = h_last_event(&w.p[a], IKE_EV_CHILD_UP);
    uint32_t old_in = up->child_spi_in;
    /* a: CREATE_CHILD_SA {SA, Ni, KEi} (IKE) --X */
    struct h_rule r = {
        .from = a, .exchange = CREATE_CHILD_SA, .response = 0, .count = 1, .action = H_DROP};
    h_set_rule(&w, &r);
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", true, w.now_ms), 0);
    h_drain(&w);
    h_deliver_one_hop(&w);
    ck_assert_int_eq(r.matched, 1);
    /* The child's hard expiry at a: removed, DELETE and create queued. */
    w.check_continuity = false; /* a hard expiry breaks a direction by design */
    struct ike_kernel_event kev = {.type = IKE_KEV_EXPIRE_HARD};
    kev.sa.spi = old_in;
    kev.sa.proto = IKE_IPPROTO_ESP;
    ike_engine_kernel_event(w.p[a].e, &kev, w.now_ms);
    ck_assert_int_eq(h_child_count(&w.p[a]), 0);
    /* b: CREATE_CHILD_SA {SA, Ni, KEi} (IKE) -->, <-- answer, D(A) --> */
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    h_run(&w, 3000); /* before a's retransmission (4 s) */
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_IKE_REKEYED), 1);
    ck_assert_msg(h_child_count(&w.p[a]) == 1, "a holds %d Child SAs on the new IKE SA",
                  h_child_count(&w.p[a]));
    assert_agree((uint64_t)_i, 1);
    char why[200];
    ck_assert_msg(h_pinned_out_spi(&w, a) != 0, "a has no outbound policy");
    ck_assert_msg(h_check_continuity(&w, why, sizeof(why)) == 2, "continuity: %s", why);
}
END_TEST

/* Peer !a rekeys the IKE SA and a all its children at once, near the end
 * of a child's life (B82, B82b): after 3 s each side's request has been
 * refused once (2.25.1, 2.25.2) and then done, no child reached its hard
 * lifetime, and both agree. */
static void rekey_both_refused_once(int a, int children, uint64_t seed, const char *why)
{
    int b = !a;
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0);
    h_advance(&w, 3000);
    ck_assert_msg(!h_log_has(&w.p[a], "kernel hard expiry"), "a child reached its hard lifetime");
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_CHILD_REKEYED), children);
    ck_assert_msg(h_count_events(&w.p[b], IKE_EV_REKEY_FAILED) == 1 &&
                      h_count_events(&w.p[a], IKE_EV_REKEY_FAILED) == 1,
                  "refused %d times (IKE rekey) and %d times (Child rekeys): %s",
                  h_count_events(&w.p[b], IKE_EV_REKEY_FAILED),
                  h_count_events(&w.p[a], IKE_EV_REKEY_FAILED), why);
    assert_agree(seed, children);
}

START_TEST(urgent_child_rekey_lost_once_still_goes_first)
{
    /* Seed 484403 --rekey (B82): as above, b's IKE rekey and a's rekey of
     * a child near its end of life refuse each other, but a's urgent
     * retry (one round trip after the refusal) is lost. a's back-off (1 s
     * here) brought the retransmission into b's IKE retry slot (1-1.3 s
     * after its refusal, b's IKE SA having time to spare): refused again
     * (2.25.2) while a refused b's retry (2.25.1), and in the seed the
     * child reached the kernel's hard expiry before a third try was
     * answered. The urgent request now gets one extra copy 1.5 round trips
     * after it, inside its slot: one refusal each, then both done. _i: bit
     * 0 = who rekeys the IKE SA, bit 1 = who set it up, the rest picks the
     * seed (the jitter of b's retry). */
    int b = _i & 1, a = !b;
    prepare(80 + (uint64_t)_i);
    w.latency_ms = 100;
    cfg[a].child_lifetime_ms = 9000; /* end of life 1.5 s after the rekey below */
    cfg[a].rekey_margin_ms = 1000;
    cfg[a].retransmit_base_ms = 1000;
    cfg[a].retransmit_factor_pct = 200;
    start((_i >> 1) & 1);
    h_advance(&w, 6000);
    /* a's first Child rekey request passes (refused), its retry is lost */
    struct h_rule r = {.from = a,
                       .exchange = CREATE_CHILD_SA,
                       .response = 0,
                       .skip = 1,
                       .count = 1,
                       .action = H_DROP};
    h_set_rule(&w, &r);
    rekey_both_refused_once(a, 1, (uint64_t)_i,
                            "the lost urgent request's copy must come before the IKE retry");
    ck_assert_int_eq(r.matched >= 2, 1);
}
END_TEST

START_TEST(ike_retry_waits_for_the_refused_childs_delete)
{
    /* Seed 666629 --rekey (B82b): a holds two children near their ends
     * of life; b's IKE rekey refuses a's rekey of the first (2.25.2) and
     * a refuses b's (2.25.1). a's second child's rekey, queued meanwhile,
     * goes at once; b answers it, and its DELETE let b's IKE retry go,
     * which met the first child's retry (sent right after that DELETE):
     * refused again, and in the seed that child reached the kernel's hard
     * expiry. b's retry now waits for the DELETE that follows the rekey
     * of the child it refused. _i: bit 0 = who rekeys the IKE SA, bit 1 =
     * who set it up, the rest picks the seed. */
    int b = _i & 1, a = !b;
    prepare(120 + (uint64_t)_i);
    w.latency_ms = 100;
    cfg[a].child_lifetime_ms = 9000; /* the first child's end of life 1.5 s after the rekey */
    cfg[a].rekey_margin_ms = 1000;
    start((_i >> 1) & 1);
    h_advance(&w, 300);
    ck_assert_int_eq(ike_engine_initiate(w.p[a].e, "t", w.now_ms), 0); /* a sibling */
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[a]), 2);
    ck_assert_int_eq(h_ike_count(&w.p[a], "ESTABLISHED"), 1);
    h_advance(&w, 5500);
    rekey_both_refused_once(a, 2, (uint64_t)_i, "the IKE retry must wait for the refused child");
}
END_TEST

START_TEST(busy_pause_outlasts_the_peers_ike_retry)
{
    /* Seed 661557 --rekey (B84): b's IKE rekey and a's rekey of one of
     * its three children cross and refuse each other (2.25.1, 2.25.2). a
     * pauses its Child work to make room for b's IKE retry, which b sends
     * up to 1.3 s after reading the refusal (B27). With one-way delays of
     * 190 ms the retry arrived after a 1.5 s pause had ended and a's next
     * Child rekey had gone: refused again, and in the seed the IKE SA and
     * a child expired. The pause now lasts a round trip longer. _i: bit 0
     * = who rekeys the IKE SA, bit 1 = who set it up, the rest picks the
     * seed (the jitter of b's retry). */
    int b = _i & 1, a = !b;
    prepare(300 + (uint64_t)_i);
    w.latency_ms = 190;
    start((_i >> 1) & 1);
    for (int k = 0; k < 2; k++) { /* two siblings */
        h_advance(&w, 300);
        ck_assert_int_eq(ike_engine_initiate(w.p[a].e, "t", w.now_ms), 0);
        h_run(&w, 3000);
    }
    ck_assert_int_eq(h_child_count(&w.p[a]), 3);
    h_advance(&w, 2000);
    ck_assert_int_eq(ike_engine_rekey(w.p[b].e, "t", true, w.now_ms), 0);
    ck_assert_int_eq(ike_engine_rekey(w.p[a].e, "t", false, w.now_ms), 0); /* all three */
    h_advance(&w, 8000);
    ck_assert_int_eq(h_count_events(&w.p[b], IKE_EV_IKE_REKEYED), 1);
    ck_assert_int_eq(h_count_events(&w.p[a], IKE_EV_CHILD_REKEYED), 3);
    ck_assert_msg(h_count_events(&w.p[b], IKE_EV_REKEY_FAILED) == 1,
                  "b's IKE rekey was refused %d times: its retry must find a's Child work "
                  "paused",
                  h_count_events(&w.p[b], IKE_EV_REKEY_FAILED));
    assert_agree((uint64_t)_i, 3);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("exchange_overlap");
    TCase *tc = tcase_create("overlap");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, collision_partner_rekeyed_by_us, 0, 2);
    tcase_add_loop_test(tc, delete_of_expired_child_outlives_old_ike_sa, 0, 4);
    tcase_add_loop_test(tc, old_ike_sa_goes_soon_after_peer_uses_new, 0, 2);
    tcase_add_loop_test(tc, old_ike_sa_goes_when_peer_dropped_it, 0, 2);
    tcase_add_loop_test(tc, ike_rekey_retransmitted_before_lifetime_ends, 0, 2);
    tcase_add_loop_test(tc, child_rekey_on_new_ike_sa_during_collision, 0, 2);
    tcase_add_loop_test(tc, collision_undecided_resends_when_peer_uses_new_sa, 0, 2);
    tcase_add_loop_test(tc, old_ike_sa_waits_while_peer_retransmits_its_rekey, 0, 4);
    tcase_add_loop_test(tc, ike_and_child_rekey_near_their_ends_refuse_each_other_once, 0, 16);
    tcase_add_loop_test(tc, child_work_moves_when_peer_deletes_collided_ike_sa, 0, 4);
    tcase_add_loop_test(tc, urgent_child_rekey_lost_once_still_goes_first, 0, 16);
    tcase_add_loop_test(tc, ike_retry_waits_for_the_refused_childs_delete, 0, 16);
    tcase_add_loop_test(tc, busy_pause_outlasts_the_peers_ike_retry, 0, 16);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

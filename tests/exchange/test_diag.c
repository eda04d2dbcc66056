/*
 * test_diag.c: every failure class of ike/diag.h made to happen between
 * two engines, and its cause and fix checked word for word against the
 * text an operator reads in `rekeyctl diagnose`: PFS mismatch both ways
 * (caught by the rekey check after set-up), IKE blocked while ESP flows,
 * dead peer, peer lifetime shorter, peer never rekeys, TS and
 * authentication failures, kernel refusal (of an SA and of a policy); the
 * IKE SA's lifetime both ways; a peer restart cleared by INITIAL_CONTACT;
 * an IKE-blocked warning marked recovered; and after a dead peer, no
 * orphan kernel state whatever dpdaction or auto=route does.
 */
#include <stdio.h>
#include <string.h>

#include "ck_main.h"
#include "harness.h"
#include "ike/diag.h"
#include "ike/err.h"

static struct h_world w;
static struct ike_conn_cfg cfg[2];

static void setup(void)
{
    h_init(&w, 77);
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
}

static void pfs(int side, uint16_t group)
{
    cfg[side].esp[0].n_dh = group ? 1 : 0;
    cfg[side].esp[0].dh[0] = group;
}

static struct ike_diag_conn_info info[2];

static void get_info(void)
{
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(ike_engine_diag(w.p[i].e, "t", &info[i]), 0);
}

/* Record k (0 = newest) of side i: its cause, cause text and fix text. */
static void expect(int i, size_t k, uint8_t cause, const char *text, const char *fix)
{
    char got[400], got_fix[400];
    ck_assert_msg(info[i].n > k, "%s: %zu records, wanted #%zu", w.p[i].name, info[i].n, k);
    const struct ike_diag_record *r = &info[i].rec[k];
    ike_diag_cause_text(r, got, sizeof(got));
    ike_diag_fix_text(r, got_fix, sizeof(got_fix));
    ck_assert_msg(r->cause == cause, "%s: cause %s, wanted %s (%s)", w.p[i].name,
                  ike_diag_cause_name(r->cause), ike_diag_cause_name(cause), got);
    ck_assert_str_eq(got, text);
    ck_assert_str_eq(got_fix, fix);
}

static void assert_tunnel_up(void)
{
    char why[200];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_ike_count(&w.p[i], "ESTABLISHED"), 1);
        ck_assert_int_eq(h_child_count(&w.p[i]), 1);
    }
    ck_assert_msg(h_check_tunnel(&w, why, sizeof(why)) == 2, "%s", why);
}

/* A fresh tunnel carries no failure, and with rekeycheck on, equal
 * settings pass the check within seconds. */
START_TEST(check_passes)
{
    pfs(0, CURVE25519);
    pfs(1, CURVE25519);
    cfg[0].rekey_check = cfg[1].rekey_check = true;
    up(_i);
    get_info();
    ck_assert_int_eq(info[_i].check, IKE_DIAG_CHECK_PENDING);
    h_run(&w, 20000);
    get_info();
    /* The initiator checks; the responder sees the peer's rekey pass. */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(info[i].check, IKE_DIAG_CHECK_PASSED);
        ck_assert_uint_eq(info[i].check_dh, CURVE25519);
        ck_assert_uint_eq(info[i].n, 0);
    }
    ck_assert(h_log_has(&w.p[_i], "rekey check: t: passed, we rekeyed the Child SA"));
    ck_assert(h_log_has(&w.p[!_i], "rekey check: t: passed, the peer rekeyed the Child SA"));
    ck_assert_int_eq(h_count_events(&w.p[_i], IKE_EV_CHILD_REKEYED), 1);
    assert_tunnel_up();
}
END_TEST

/* We offer PFS, the peer has none: the check fails at once, loudly, and
 * the tunnel stays up on its first Child SA. */
START_TEST(pfs_we_offer_peer_none)
{
    int ini = _i;
    pfs(ini, CURVE25519);
    cfg[ini].rekey_check = true;
    up(ini);
    h_run(&w, 10000);
    get_info();
    ck_assert_int_eq(info[ini].check, IKE_DIAG_CHECK_FAILED);
    expect(ini, 0, IKE_DIAG_PFS_MISMATCH,
           "Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's "
           "answer shows none of it (NO_PROPOSAL_CHOSEN).",
           "Set the same PFS group on both sides: esp=aes256gcm16-x25519 on both, or "
           "esp=aes256gcm16 on both for no PFS.");
    ck_assert(info[ini].rec[0].f.rekey_check);
    ck_assert(h_log_has(&w.p[ini], "rekey check: t: Rekey check failed:"));
    /* The refusing side says the same from its end. */
    expect(!ini, 0, IKE_DIAG_PFS_MISMATCH,
           "The peer's Child SA rekey failed: the peer offers PFS group x25519, we accept no PFS.",
           "Set the same PFS group on both sides: esp=aes256gcm16 on both, or "
           "esp=aes256gcm16-x25519 on both.");
    /* No fast retries after a failed check: the normal rekey time is back. */
    int fails = h_count_events(&w.p[ini], IKE_EV_REKEY_FAILED);
    h_run(&w, 600000);
    ck_assert_int_eq(h_count_events(&w.p[ini], IKE_EV_REKEY_FAILED), fails);
    assert_tunnel_up();
}
END_TEST

/* The responder checks too (later, 8 s), when the initiator does not:
 * the peer may be another implementation without such a check. */
START_TEST(pfs_responder_checks)
{
    int ini = _i, rsp = !_i;
    pfs(rsp, CURVE25519);
    cfg[rsp].rekey_check = true;
    up(ini);
    get_info();
    ck_assert_int_eq(info[rsp].check, IKE_DIAG_CHECK_PENDING);
    h_advance(&w, 7000);
    ck_assert_int_eq(h_count_events(&w.p[rsp], IKE_EV_REKEY_FAILED), 0); /* not yet */
    h_advance(&w, 3000);
    get_info();
    ck_assert_int_eq(info[rsp].check, IKE_DIAG_CHECK_FAILED);
    expect(rsp, 0, IKE_DIAG_PFS_MISMATCH,
           "Rekey check failed: the Child SA rekey failed: we offer PFS group x25519, the peer's "
           "answer shows none of it (NO_PROPOSAL_CHOSEN).",
           "Set the same PFS group on both sides: esp=aes256gcm16-x25519 on both, or "
           "esp=aes256gcm16 on both for no PFS.");
    assert_tunnel_up();
}
END_TEST

/* We offer no PFS, the peer wants a group. */
START_TEST(pfs_we_offer_none_peer_wants)
{
    int ini = _i;
    pfs(!ini, MODP_2048);
    cfg[ini].rekey_check = true;
    up(ini);
    h_run(&w, 10000);
    get_info();
    ck_assert_int_eq(info[ini].check, IKE_DIAG_CHECK_FAILED);
    expect(ini, 0, IKE_DIAG_PFS_MISMATCH,
           "Rekey check failed: the Child SA rekey failed: we offer no PFS, the peer's answer "
           "refuses that (NO_PROPOSAL_CHOSEN).",
           "Set the same PFS group on both sides: add the peer's group to esp=aes256gcm16 here "
           "(e.g. esp=aes256gcm16-x25519), or remove PFS on the peer.");
    expect(!ini, 0, IKE_DIAG_PFS_MISMATCH,
           "The peer's Child SA rekey failed: the peer offers no PFS, we accept PFS group "
           "modp2048.",
           "Set the same PFS group on both sides: esp=aes256gcm16-modp2048 on both, or "
           "esp=aes256gcm16 on both.");
    assert_tunnel_up();
}
END_TEST

/* Drop every IKE datagram; ESP still arrives (the kernel's counters of
 * the inbound SA advance): IKE is blocked, not the peer dead. */
static int drop_all(struct h_world *hw, int from, const uint8_t *data, size_t len, void *ctx)
{
    (void)hw, (void)from, (void)data, (void)len, (void)ctx;
    return H_DROP;
}

static uint32_t spi_in_of(int i)
{
    const struct ike_event *ev = h_last_event(&w.p[i], IKE_EV_CHILD_UP);
    ck_assert_ptr_nonnull(ev);
    return ev->child_spi_in;
}

/* Run for ms, one ESP packet a second into side i's inbound SA when esp. */
static void run_with_esp(int i, bool esp, uint64_t ms)
{
    struct ike_sa_id id = {.dst = w.p[i].addr.addr, .spi = spi_in_of(i), .proto = IKE_IPPROTO_ESP};
    for (uint64_t t = 0; t < ms; t += 1000) {
        struct ike_kernel_event ev;
        if (esp)
            ike_kmem_add_traffic(w.p[i].kmem, &id, 100, 1, w.now_ms / 1000, &ev, 1);
        h_advance(&w, 1000);
    }
}

START_TEST(ike_blocked)
{
    int ini = _i & 1;
    up(ini);
    w.filter = drop_all;
    ck_assert_int_eq(ike_engine_rekey(w.p[0].e, "t", false, w.now_ms), 0);
    run_with_esp(0, true, 200000);
    get_info();
    expect(0, 0, IKE_DIAG_IKE_BLOCKED,
           "Child SA rekey failed: no answer to our IKE request after 5 retransmits while ESP "
           "from the peer still arrives: IKE is blocked on the path.",
           "Allow UDP 500 and 4500 from 10.0.0.1 to 10.0.0.2 and back on every firewall between "
           "them.");
}
END_TEST

/* IKE blocked for less than the retransmit budget: diagnose names it while
 * we still retry, and once IKE passes again the pending rekey completes. */
START_TEST(ike_blocked_recovers)
{
    up(_i);
    w.filter = drop_all;
    ck_assert_int_eq(ike_engine_rekey(w.p[0].e, "t", false, w.now_ms), 0);
    run_with_esp(0, true, 40000); /* 3 retransmits: 4 + 7.2 + 13 s */
    get_info();
    expect(0, 0, IKE_DIAG_IKE_BLOCKED,
           "Child SA rekey: no answer to our IKE request after 3 retransmits while ESP from the "
           "peer still arrives: IKE is blocked on the path (still retrying).",
           "Allow UDP 500 and 4500 from 10.0.0.1 to 10.0.0.2 and back on every firewall between "
           "them.");
    ck_assert_int_eq(h_count_events(&w.p[0], IKE_EV_CHILD_REKEYED), 0);
    w.filter = NULL;
    run_with_esp(0, true, 60000);
    ck_assert_int_eq(h_count_events(&w.p[0], IKE_EV_CHILD_REKEYED), 1);
    ck_assert_int_eq(h_count_events(&w.p[0], IKE_EV_IKE_DOWN), 0);
    assert_tunnel_up();
    get_info();
    /* The warning stays, nothing failed; but it is no longer shown as
     * current: first sent at 0 s, unblocked at 40 s, answered at the 4th
     * retransmit (4 + 7.2 + 13 + 23.4 s). */
    ck_assert_uint_eq(info[0].n, 1);
    ck_assert(info[0].rec[0].f.pending);
    expect(0, 0, IKE_DIAG_IKE_BLOCKED,
           "Child SA rekey: no answer to our IKE request after 3 retransmits while ESP from the "
           "peer still arrived: IKE was blocked on the path (recovered after 48 s).",
           "Nothing to do now; if it happens again, allow UDP 500 and 4500 from 10.0.0.1 to "
           "10.0.0.2 and back on every firewall between them.");
    ck_assert(h_log_has(&w.p[0], "(recovered after 48 s)"));
}
END_TEST

/* ESP flowed past our first retransmit, then the peer died: "ESP still
 * arrives" must mean since the previous retransmit, or the dead peer is
 * called "IKE blocked" (interop rekeyd/peer-killed on a loaded host: a
 * DPD answered late was retransmitted once just before the kill). */
START_TEST(peer_dies_after_first_retransmit)
{
    up(_i);
    w.filter = drop_all;
    ck_assert_int_eq(ike_engine_rekey(w.p[0].e, "t", false, w.now_ms), 0);
    run_with_esp(0, true, 6000); /* the first retransmit is at 4 s */
    run_with_esp(0, false, 200000);
    get_info();
    ck_assert_uint_eq(info[0].n, 1);
    ck_assert_msg(info[0].rec[0].cause == IKE_DIAG_DEAD_PEER, "cause %d, not a dead peer",
                  (int)info[0].rec[0].cause);
}
END_TEST

START_TEST(dead_peer)
{
    int ini = _i;
    cfg[0].dpd_delay_ms = 30000;
    up(ini);
    w.filter = drop_all;
    run_with_esp(0, false, 250000);
    get_info();
    expect(0, 0, IKE_DIAG_DEAD_PEER,
           "Liveness check (DPD) failed: no answer to our IKE request after 5 retransmits and no "
           "ESP from the peer either: the peer is down or unreachable.",
           "Check that the peer 10.0.0.2 is running and reachable from 10.0.0.1 (UDP 500, 4500 "
           "and ESP).");
    /* dpdaction=clear: the IKE SA is gone and the kernel holds no orphan. */
    ck_assert_int_eq(h_ike_count(&w.p[0], NULL), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
}
END_TEST

/* The peer's Child lifetime is 60 s and it does not rekey; ours rekeys at
 * 100 s. The peer deletes the SA at its hard expiry: we estimate its
 * lifetime from the SA's age; the peer says it never saw our rekey. */
START_TEST(lifetime_mismatch)
{
    int ini = _i;
    cfg[0].child_lifetime_ms = 120000;
    cfg[0].rekey_margin_ms = 20000;
    cfg[0].rekey_fuzz_pct = 0;
    cfg[1].child_lifetime_ms = 60000;
    cfg[1].rekey = false;
    up(ini);
    h_run(&w, 70000);
    get_info();
    expect(0, 0, IKE_DIAG_PEER_LIFETIME_SHORTER,
           "The peer deleted the Child SA 60 s after it was set up, before our rekey at 100 s: "
           "the peer's lifetime is shorter (about 60 s, estimated from the SA's age).",
           "Set the same lifetime= on both sides, or a lifetime here short enough that we rekey "
           "before 60 s.");
    expect(1, 0, IKE_DIAG_PEER_NEVER_REKEYS,
           "The Child SA ran to its hard lifetime (60 s) with our rekeying off (rekey=no) and "
           "the peer never rekeyed it.",
           "Set rekey=yes here, or make the peer rekey before 60 s.");
}
END_TEST

/* The IKE SA's lifetime, both ends: the left side does not rekey and its
 * IKE SA runs out at 100 s; the right side would rekey at 200 s and sees
 * the IKE SA deleted early: the peer's IKE lifetime is shorter. */
START_TEST(ike_lifetime_mismatch)
{
    cfg[0].ike_lifetime_ms = 100000;
    cfg[0].rekey = false;
    cfg[1].ike_lifetime_ms = 240000;
    cfg[1].rekey_margin_ms = 40000;
    cfg[1].rekey_fuzz_pct = 0;
    up(_i);
    h_run(&w, 110000);
    ck_assert_int_eq(h_ike_count(&w.p[0], NULL), 0);
    ck_assert_int_eq(h_ike_count(&w.p[1], NULL), 0);
    get_info();
    expect(0, 0, IKE_DIAG_PEER_NEVER_REKEYS,
           "The IKE SA ran to its hard lifetime (100 s) with our rekeying off (rekey=no) and the "
           "peer never rekeyed it.",
           "Set rekey=yes here, or make the peer rekey before 100 s.");
    ck_assert(info[0].rec[0].f.ike_sa);
    expect(1, 0, IKE_DIAG_PEER_LIFETIME_SHORTER,
           "The peer deleted the IKE SA 100 s after it was set up, before our rekey at 200 s: the "
           "peer's IKE lifetime is shorter (about 100 s, estimated from the SA's age), unless the "
           "peer was stopped by hand.",
           "Set the same ikelifetime= on both sides, or an ikelifetime here short enough that we "
           "rekey before 100 s.");
    /* Nothing left behind in either kernel. */
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(ike_kmem_sa_count(w.p[i].kmem), 0);
        ck_assert_uint_eq(ike_kmem_policy_count(w.p[i].kmem), 0);
    }
}
END_TEST

/* A rekey that replaced the IKE SA in time leaves no lifetime record. */
START_TEST(ike_lifetime_rekeyed)
{
    cfg[0].ike_lifetime_ms = cfg[1].ike_lifetime_ms = 100000;
    cfg[0].rekey_margin_ms = cfg[1].rekey_margin_ms = 20000;
    up(_i);
    h_run(&w, 250000);
    get_info();
    ck_assert_uint_eq(info[0].n, 0);
    ck_assert_uint_eq(info[1].n, 0);
    ck_assert_int_ge(h_count_events(&w.p[0], IKE_EV_IKE_REKEYED), 2);
    assert_tunnel_up();
}
END_TEST

/* Restart peer i: a new engine (no state) and an empty kernel, as after a
 * reboot; it initiates at once (auto=start). */
static void restart(int i)
{
    ike_engine_free(w.p[i].e);
    ike_kmem_free(w.p[i].kmem);
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = h_test_rnd;
    o.random_ctx = &w.p[i];
    w.p[i].kmem = ike_kmem_new();
    ike_kmem_backend_init(w.p[i].kmem, &w.p[i].kb, false);
    o.esp_stats = w.p[i].kb.get_stats;
    o.esp_stats_ctx = w.p[i].kb.ctx;
    w.p[i].e = ike_engine_new(&o);
    ck_assert_int_eq(ike_engine_add_conn(w.p[i].e, &cfg[i]), 0);
    ck_assert_int_eq(ike_engine_initiate(w.p[i].e, "t", w.now_ms), 0);
}

/* The peer restarts (it was the initiator or the responder): its new
 * IKE_AUTH carries INITIAL_CONTACT (it holds no IKE SA with us), we drop
 * the stale IKE and Child SAs, and diagnose names them. */
START_TEST(peer_restarted)
{
    up(_i);
    const struct ike_event *ev = h_last_event(&w.p[0], IKE_EV_CHILD_UP);
    ck_assert_ptr_nonnull(ev);
    char want[400];
    snprintf(want, sizeof(want),
             "The peer restarted: its new IKE SA carried INITIAL_CONTACT, so we deleted the stale "
             "IKE SA %016llx_%016llx and its Child SA %08x/%08x.",
             (unsigned long long)ev->ike_spi_i, (unsigned long long)ev->ike_spi_r, ev->child_spi_in,
             ev->child_spi_out);
    size_t sas = ike_kmem_sa_count(w.p[0].kmem), pols = ike_kmem_policy_count(w.p[0].kmem);
    restart(1);
    h_run(&w, 2000);
    ck_assert(h_log_has(&w.p[0], "INITIAL_CONTACT: deleting stale IKE SA"));
    get_info();
    expect(0, 0, IKE_DIAG_PEER_RESTARTED, want,
           "Nothing to fix here: the tunnel was set up again; if the restart was not planned, "
           "look in the logs of 10.0.0.2 for why it restarted.");
    ck_assert_str_eq(ike_diag_cause_name(info[0].rec[0].cause), "peer_restarted");
    /* Exactly the new tunnel in each kernel: no orphan SA or policy. */
    ck_assert_int_eq(h_ike_count(&w.p[0], NULL), 1);
    assert_tunnel_up();
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), sas);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), pols);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[1].kmem), sas);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[1].kmem), pols);
}
END_TEST

/* After a dead peer, the configured dpdaction runs and the kernel holds
 * no orphan: restart keeps trying with nothing installed meanwhile;
 * auto=route keeps exactly its trap policy. */
START_TEST(dead_peer_restart_no_orphan)
{
    cfg[0].dpd_delay_ms = 30000;
    cfg[0].dpd_action = IKE_DPD_RESTART;
    up(_i);
    w.filter = drop_all;
    run_with_esp(0, false, 250000);
    get_info();
    ck_assert_int_eq(info[0].rec[0].cause, IKE_DIAG_DEAD_PEER);
    ck_assert(h_log_has(&w.p[0], "IKE SA lost, re-establishing (attempt 1)"));
    ck_assert_int_eq(h_ike_count(&w.p[0], "ESTABLISHED"), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_uint_eq(ike_kmem_larval_count(w.p[0].kmem), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), 0);
    /* The path comes back: a retry finds the peer, whose stale SAs our
     * INITIAL_CONTACT clears; one tunnel, no orphan on either side. */
    w.filter = NULL;
    h_run(&w, 200000);
    assert_tunnel_up();
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[1].kmem), 2);
}
END_TEST

START_TEST(dead_peer_route_keeps_trap)
{
    cfg[0].dpd_delay_ms = 30000;
    cfg[0].auto_mode = IKE_AUTO_ROUTE;
    h_add_conns(&w, &cfg[0], &cfg[1]);
    h_run(&w, 100);
    size_t trap_pols = ike_kmem_policy_count(w.p[0].kmem);
    ck_assert_uint_gt(trap_pols, 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_int_eq(ike_engine_initiate(w.p[0].e, "t", w.now_ms), 0);
    h_run(&w, 2000);
    ck_assert_int_eq(h_child_count(&w.p[0]), 1);
    w.filter = drop_all;
    run_with_esp(0, false, 250000);
    get_info();
    ck_assert_int_eq(info[0].rec[0].cause, IKE_DIAG_DEAD_PEER);
    ck_assert_int_eq(h_ike_count(&w.p[0], NULL), 0);
    ck_assert_uint_eq(ike_kmem_sa_count(w.p[0].kmem), 0);
    ck_assert_uint_eq(ike_kmem_policy_count(w.p[0].kmem), trap_pols);
}
END_TEST

static int in_policy(void *arg, const struct ike_kernel_policy *p)
{
    if (p->dir != IKE_DIR_IN)
        return 0;
    *(struct ike_kernel_policy *)arg = *p;
    return 1; /* stop */
}

/* The kernel refuses a policy (one left by another daemon, say): named
 * with the kernel's words, against the conn that owns it. */
START_TEST(kernel_refused_policy)
{
    ike_kmem_fail_next(w.p[0].kmem, 1, IKE_ERR_KERNEL_EXISTS, IKE_KOP_ADD_POLICY);
    up(_i);
    get_info();
    ck_assert_int_eq(w.p[0].kernel_errors, 1);
    expect(0, 0, IKE_DIAG_KERNEL_REFUSED,
           "The kernel refused to install the outbound policy 10.1.0.0/16 -> 10.2.0.0/16: "
           "kernel: entry already exists.",
           "Remove the conflicting policy (ip xfrm policy) that another IPsec daemon or an "
           "earlier run left, or change the subnets so they do not overlap.");
    /* The daemon passes the XFRM backend's text: the kernel's own words
     * (after the op) are kept, errno name included. */
    struct ike_kernel_op op = {.type = IKE_KOP_ADD_POLICY};
    ck_assert_int_eq(ike_kmem_foreach_policy(w.p[0].kmem, in_policy, &op.u.policy), 1);
    op.u.policy.dir = IKE_DIR_FWD;
    ck_assert_int_eq(ike_engine_kernel_failed(w.p[0].e, &op, IKE_ERR_KERNEL,
                                              "ADD_POLICY fwd 10.2.0.0/16->10.1.0.0/16 ipsec: "
                                              "kernel refused the parameters (EINVAL)",
                                              w.now_ms),
                     0);
    get_info();
    expect(0, 0, IKE_DIAG_KERNEL_REFUSED,
           "The kernel refused to install the forward policy 10.2.0.0/16 -> 10.1.0.0/16: kernel "
           "refused the parameters (EINVAL).",
           "See the kernel error in the log at that time.");
    /* A policy no conn owns is not recorded against any. */
    op.u.policy.reqid = 0xdead;
    ck_assert_int_eq(ike_engine_kernel_failed(w.p[0].e, &op, IKE_ERR_KERNEL, NULL, w.now_ms),
                     IKE_ERR_NO_SA);
}
END_TEST

/* The traffic selectors do not match: IKE_AUTH's Child SA fails. */
START_TEST(ts_mismatch)
{
    int ini = _i;
    cfg[ini].remote_ts.addr.bytes[1] = 9; /* 10.9.0.0/16: the peer has no such subnet */
    up(ini);
    get_info();
    for (int i = 0; i < 2; i++)
        expect(i, 0, IKE_DIAG_TS_MISMATCH,
               "Child SA set-up failed: the traffic selectors do not match (TS_UNACCEPTABLE).",
               "Make leftsubnet and rightsubnet here mirror rightsubnet and leftsubnet on the "
               "peer.");
}
END_TEST

START_TEST(auth_failed)
{
    int ini = _i;
    memcpy(cfg[1].psk, "else-psk", 8);
    up(ini);
    get_info();
    for (int i = 0; i < 2; i++)
        expect(i, 0, IKE_DIAG_AUTH_FAILED,
               "Set-up failed: authentication failed (AUTHENTICATION_FAILED).",
               "Use the same PSK on both sides, and make leftid/rightid here match "
               "rightid/leftid on the peer.");
}
END_TEST

/* No common IKE proposal: IKE_SA_INIT fails on NO_PROPOSAL_CHOSEN. */
START_TEST(ike_proposal_mismatch)
{
    int ini = _i;
    cfg[!ini].ike[0].dh[0] = MODP_2048;
    up(ini);
    get_info();
    expect(ini, 0, IKE_DIAG_PROPOSAL_MISMATCH,
           "Set-up failed: the two sides share no ike= proposal (NO_PROPOSAL_CHOSEN).",
           "Set the same ike= proposals on both sides.");
}
END_TEST

/* The kernel refuses the Child SA's algorithm (say, no GCM module). */
START_TEST(kernel_refused)
{
    int ini = _i;
    ike_kmem_fail_next(w.p[0].kmem, 1, IKE_ERR_KERNEL_ALG, IKE_KOP_ADD_SA);
    up(ini);
    get_info();
    expect(0, 0, IKE_DIAG_KERNEL_REFUSED,
           "The kernel refused to install the Child SA: algorithm aes256gcm16 is not available.",
           "Load the kernel module for aes256gcm16, or set esp= to algorithms this kernel has, "
           "on both sides.");
    ck_assert_int_eq(w.p[0].kernel_errors, 1);
}
END_TEST

/* The pure classifier and texts on facts no two-engine scenario above
 * produces: each variant of each sentence, word for word. */
static const struct {
    struct ike_diag_facts f;
    uint8_t cause;
    const char *text, *fix;
} pure[] = {
    {{.attempt = IKE_DIAG_A_CHILD_REKEY,
      .outcome = IKE_DIAG_O_REFUSED,
      .err = IKE_ERR_INVALID_KE,
      .notify = IKE_N_INVALID_KE_PAYLOAD,
      .our_dh = CURVE25519,
      .peer_dh = MODP_2048,
      .peer_dh_shown = true,
      .encr = ENCR_AES_CBC,
      .encr_keylen = 256,
      .integ = AUTH_HMAC_SHA2_256_128},
     IKE_DIAG_PFS_MISMATCH,
     "Child SA rekey failed: we offer PFS group x25519, the peer's answer asks for group "
     "modp2048 (INVALID_KE_PAYLOAD).",
     "Set the same PFS group on both sides: esp=aes256-sha256-x25519 on both, or "
     "esp=aes256-sha256-modp2048 on both."},
    {{.attempt = IKE_DIAG_A_CHILD_REKEY,
      .outcome = IKE_DIAG_O_BAD_ANSWER,
      .err = IKE_ERR_NO_PROPOSAL,
      .our_dh = ECP_256,
      .peer_dh_shown = true,
      .encr = ENCR_CHACHA20_POLY1305},
     IKE_DIAG_PFS_MISMATCH,
     "Child SA rekey failed: we offer PFS group ecp256, the peer's answer shows none.",
     "Set the same PFS group on both sides: esp=chacha20poly1305-ecp256 on both, or "
     "esp=chacha20poly1305 on both."},
    {{.attempt = IKE_DIAG_A_IKE_REKEY,
      .outcome = IKE_DIAG_O_REFUSED,
      .err = IKE_ERR_NO_PROPOSAL,
      .notify = IKE_N_NO_PROPOSAL_CHOSEN,
      .our_dh = CURVE25519},
     IKE_DIAG_PROPOSAL_MISMATCH,
     "IKE SA rekey failed: we offer group x25519, the peer's answer shows none of it "
     "(NO_PROPOSAL_CHOSEN).",
     "Set the same ike= proposals on both sides."},
    {{.attempt = IKE_DIAG_A_INSTALL,
      .outcome = IKE_DIAG_O_KERNEL_ERROR,
      .err = IKE_ERR_KERNEL_NOESP,
      .detail = "no ESP in this kernel"},
     IKE_DIAG_KERNEL_REFUSED,
     "The kernel refused to install the Child SA: it has no ESP support (no ESP in this kernel).",
     "Load the kernel's ESP support (modprobe esp4 esp6)."},
    {{.attempt = IKE_DIAG_A_LIFETIME,
      .outcome = IKE_DIAG_O_HARD_EXPIRED,
      .life_ms = 3600000,
      .rekey_fails = 7},
     IKE_DIAG_PEER_NEVER_REKEYS,
     "The Child SA ran to its hard lifetime (3600 s) after 7 failed rekey attempts of ours, and "
     "the peer never rekeyed it.",
     "Fix the cause of the failed rekeys recorded before this one."},
    {{.attempt = IKE_DIAG_A_LIFETIME,
      .outcome = IKE_DIAG_O_HARD_EXPIRED,
      .ike_sa = true,
      .life_ms = 14400000,
      .rekey_fails = 1},
     IKE_DIAG_PEER_NEVER_REKEYS,
     "The IKE SA ran to its hard lifetime (14400 s) after 1 failed rekey attempt of ours, and "
     "the peer never rekeyed it.",
     "Fix the cause of the failed rekeys recorded before this one."},
    {{.attempt = IKE_DIAG_A_LIFETIME,
      .outcome = IKE_DIAG_O_HARD_EXPIRED,
      .life_ms = 8000,
      .rekey_busy = 3},
     IKE_DIAG_PEER_NEVER_REKEYS,
     "The Child SA ran to its hard lifetime (8 s) after 3 rekey attempts of ours that the peer "
     "refused as busy (TEMPORARY_FAILURE: an exchange of its own was under way), and the peer "
     "never rekeyed it.",
     "Give colliding rekeys time to take turns: a rekeymargin= of several seconds here and on "
     "the peer."},
    {{.attempt = IKE_DIAG_A_LIFETIME,
      .outcome = IKE_DIAG_O_HARD_EXPIRED,
      .ike_sa = true,
      .life_ms = 60000},
     IKE_DIAG_PEER_NEVER_REKEYS,
     "The IKE SA ran to its hard lifetime (60 s) with our rekey still unanswered, and the peer "
     "never rekeyed it.",
     "Check that IKE (UDP 500 and 4500) reaches the peer, and give our retransmissions time with "
     "a longer rekeymargin=."},
    {{.attempt = IKE_DIAG_A_INSTALL,
      .outcome = IKE_DIAG_O_KERNEL_ERROR,
      .err = IKE_ERR_KERNEL_EXISTS,
      .kop = IKE_KOP_ADD_POLICY,
      .pol_dir = IKE_DIR_OUT,
      .sel = {.src = {.family = IKE_AF_INET, .bytes = {10, 1}},
              .dst = {.family = IKE_AF_INET, .bytes = {10, 2}},
              .src_prefix = 16,
              .dst_prefix = 16},
      .detail = "already exists (EEXIST)"},
     IKE_DIAG_KERNEL_REFUSED,
     "The kernel refused to install the outbound policy 10.1.0.0/16 -> 10.2.0.0/16: already "
     "exists (EEXIST).",
     "Remove the conflicting policy (ip xfrm policy) that another IPsec daemon or an earlier run "
     "left, or change the subnets so they do not overlap."},
    {{.attempt = IKE_DIAG_A_INSTALL,
      .outcome = IKE_DIAG_O_KERNEL_ERROR,
      .err = IKE_ERR_KERNEL,
      .kop = IKE_KOP_UPDATE_POLICY,
      .pol_dir = IKE_DIR_FWD,
      .sel = {.src = {.family = IKE_AF_INET, .bytes = {10, 2}},
              .dst = {.family = IKE_AF_INET, .bytes = {10, 1}},
              .src_prefix = 16,
              .dst_prefix = 16},
      .detail = "kernel refused the parameters (EINVAL)"},
     IKE_DIAG_KERNEL_REFUSED,
     "The kernel refused to install the forward policy 10.2.0.0/16 -> 10.1.0.0/16: kernel "
     "refused the parameters (EINVAL).",
     "See the kernel error in the log at that time."},
    {{.attempt = IKE_DIAG_A_SETUP, .outcome = IKE_DIAG_O_PEER_RESTARTED},
     IKE_DIAG_PEER_RESTARTED,
     "The peer restarted: its new IKE SA carried INITIAL_CONTACT, so we deleted the stale IKE SA "
     "0000000000000000_0000000000000000, which had no Child SA.",
     "Nothing to fix here: the tunnel was set up again; if the restart was not planned, look in "
     "the logs of %any for why it restarted."},
    {{.attempt = IKE_DIAG_A_CHILD_REKEY,
      .outcome = IKE_DIAG_O_REFUSED,
      .err = IKE_ERR_INVALID_SYNTAX,
      .notify = IKE_N_INVALID_SYNTAX},
     IKE_DIAG_OTHER,
     "Child SA rekey failed: invalid syntax, notify INVALID_SYNTAX.",
     "See the log at that time for the exchange that failed."},
};

START_TEST(pure_texts)
{
    struct ike_diag_record r = {.f = pure[_i].f};
    char text[400], fix[400];
    r.cause = ike_diag_classify(&r.f);
    ike_diag_cause_text(&r, text, sizeof(text));
    ike_diag_fix_text(&r, fix, sizeof(fix));
    ck_assert_msg(r.cause == pure[_i].cause, "cause %s: %s", ike_diag_cause_name(r.cause), text);
    ck_assert_str_eq(text, pure[_i].text);
    ck_assert_str_eq(fix, pure[_i].fix);
    /* Bounded: a short buffer is cut and terminated, the length still told. */
    char small[16];
    ck_assert_int_eq(ike_diag_cause_text(&r, small, sizeof(small)), (int)strlen(pure[_i].text));
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("diag");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, check_passes, 0, 2);
    tcase_add_loop_test(tc, pfs_we_offer_peer_none, 0, 2);
    tcase_add_loop_test(tc, pfs_we_offer_none_peer_wants, 0, 2);
    tcase_add_loop_test(tc, pfs_responder_checks, 0, 2);
    tcase_add_loop_test(tc, ike_blocked, 0, 2);
    tcase_add_loop_test(tc, ike_blocked_recovers, 0, 2);
    tcase_add_loop_test(tc, dead_peer, 0, 2);
    tcase_add_loop_test(tc, peer_dies_after_first_retransmit, 0, 2);
    tcase_add_loop_test(tc, lifetime_mismatch, 0, 2);
    tcase_add_loop_test(tc, ike_lifetime_mismatch, 0, 2);
    tcase_add_loop_test(tc, ike_lifetime_rekeyed, 0, 2);
    tcase_add_loop_test(tc, peer_restarted, 0, 2);
    tcase_add_loop_test(tc, dead_peer_restart_no_orphan, 0, 2);
    tcase_add_test(tc, dead_peer_route_keeps_trap);
    tcase_add_loop_test(tc, kernel_refused_policy, 0, 2);
    tcase_add_loop_test(tc, ts_mismatch, 0, 2);
    tcase_add_loop_test(tc, auth_failed, 0, 2);
    tcase_add_loop_test(tc, ike_proposal_mismatch, 0, 2);
    tcase_add_loop_test(tc, kernel_refused, 0, 2);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("pure");
    tcase_add_loop_test(tp, pure_texts, 0, sizeof(pure) / sizeof(pure[0]));
    suite_add_tcase(s, tp);
    return s;
}

IKE_CHECK_MAIN()

/*
 * diag.c: from the recorded facts of a failure to its cause, and from the
 * cause to two sentences an operator can act on: what failed and why, and
 * what to change (ike/diag.h). Everything here is a pure function of a
 * record: no engine state, no clock, no I/O. The sentences are part of the
 * user-facing contract (tests compare them word for word); change them
 * together with tests/exchange/test_diag.c and the README.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ike/diag.h"
#include "ike/err.h"
#include "ike/wire.h"

uint8_t ike_diag_classify(const struct ike_diag_facts *f)
{
    switch (f->outcome) {
    case IKE_DIAG_O_KERNEL_ERROR:
        return IKE_DIAG_KERNEL_REFUSED;
    case IKE_DIAG_O_NO_ANSWER:
        /* RFC 7296 2.4: no answer after every retransmission. ESP that
         * still arrives proves the peer is alive and the path carries
         * ESP: IKE (UDP 500/4500) is what is lost. */
        return f->esp == IKE_DIAG_ESP_FLOWING ? IKE_DIAG_IKE_BLOCKED : IKE_DIAG_DEAD_PEER;
    case IKE_DIAG_O_PEER_DELETED:
        /* Deleted (not rekeyed) before our own rekey was due: the peer's
         * lifetime ended first. */
        if (f->rekey_off || !f->rekey_ms || f->age_ms < f->rekey_ms)
            return IKE_DIAG_PEER_LIFETIME_SHORTER;
        return IKE_DIAG_OTHER;
    case IKE_DIAG_O_HARD_EXPIRED:
        return IKE_DIAG_PEER_NEVER_REKEYS;
    case IKE_DIAG_O_PEER_RESTARTED:
        return IKE_DIAG_PEER_RESTARTED;
    default:
        break;
    }
    if (f->err == IKE_ERR_AUTH_FAILED || f->notify == IKE_N_AUTHENTICATION_FAILED)
        return IKE_DIAG_AUTH_FAILED;
    if (f->err == IKE_ERR_TS_UNACCEPTABLE || f->notify == IKE_N_TS_UNACCEPTABLE)
        return IKE_DIAG_TS_MISMATCH;
    bool proposal = f->err == IKE_ERR_NO_PROPOSAL || f->err == IKE_ERR_INVALID_KE ||
                    f->notify == IKE_N_NO_PROPOSAL_CHOSEN || f->notify == IKE_N_INVALID_KE_PAYLOAD;
    if (!proposal)
        return IKE_DIAG_OTHER;
    /* A Child rekey offers what IKE_AUTH already agreed plus a PFS group
     * (IKE_AUTH carries no KE, RFC 7296 1.2): a refusal is about the group. */
    if (f->attempt == IKE_DIAG_A_CHILD_REKEY)
        return IKE_DIAG_PFS_MISMATCH;
    return IKE_DIAG_PROPOSAL_MISMATCH;
}

static const char *const cause_names[IKE_DIAG_CAUSE_COUNT] = {
    [IKE_DIAG_UNKNOWN] = "unknown",
    [IKE_DIAG_PFS_MISMATCH] = "pfs_mismatch",
    [IKE_DIAG_PROPOSAL_MISMATCH] = "proposal_mismatch",
    [IKE_DIAG_IKE_BLOCKED] = "ike_blocked",
    [IKE_DIAG_DEAD_PEER] = "dead_peer",
    [IKE_DIAG_PEER_LIFETIME_SHORTER] = "peer_lifetime_shorter",
    [IKE_DIAG_PEER_NEVER_REKEYS] = "peer_never_rekeys",
    [IKE_DIAG_TS_MISMATCH] = "ts_mismatch",
    [IKE_DIAG_AUTH_FAILED] = "auth_failed",
    [IKE_DIAG_KERNEL_REFUSED] = "kernel_refused",
    [IKE_DIAG_OTHER] = "other",
    [IKE_DIAG_PEER_RESTARTED] = "peer_restarted",
};

const char *ike_diag_cause_name(uint8_t cause)
{
    return cause < IKE_DIAG_CAUSE_COUNT ? cause_names[cause] : "unknown";
}

const char *ike_diag_attempt_name(uint8_t a)
{
    static const char *const n[] = {"none", "setup",  "child_create", "child_rekey", "ike_rekey",
                                    "dpd",  "delete", "lifetime",     "install"};
    return a < sizeof(n) / sizeof(n[0]) ? n[a] : "none";
}

/* strongSwan's keywords, so a fix can be pasted into ipsec.conf. */
const char *ike_diag_group_name(uint16_t g)
{
    switch (g) {
    case IKE_DH_NONE:
        return "none";
    case MODP_1024:
        return "modp1024";
    case MODP_1536:
        return "modp1536";
    case MODP_2048:
        return "modp2048";
    case MODP_3072:
        return "modp3072";
    case MODP_4096:
        return "modp4096";
    case MODP_6144:
        return "modp6144";
    case MODP_8192:
        return "modp8192";
    case ECP_256:
        return "ecp256";
    case ECP_384:
        return "ecp384";
    case ECP_521:
        return "ecp521";
    case CURVE25519:
        return "x25519";
    case CURVE448:
        return "x448";
    }
    return "unknown";
}

static const char *integ_name(uint16_t id)
{
    switch (id) {
    case AUTH_HMAC_SHA1_96:
        return "sha1";
    case AUTH_HMAC_SHA2_256_128:
        return "sha256";
    case AUTH_HMAC_SHA2_384_192:
        return "sha384";
    case AUTH_HMAC_SHA2_512_256:
        return "sha512";
    case AUTH_HMAC_MD5_96:
        return "md5";
    case AUTH_AES_XCBC_96:
        return "aesxcbc";
    }
    return NULL;
}

/* "aes256gcm16", "aes128", "chacha20poly1305" into b. */
static void encr_name(uint16_t id, uint16_t keylen, char *b, size_t cap)
{
    unsigned bits = keylen ? keylen : 128;
    switch (id) {
    case ENCR_AES_CBC:
        snprintf(b, cap, "aes%u", bits);
        return;
    case ENCR_AES_CTR:
        snprintf(b, cap, "aes%uctr", bits);
        return;
    case ENCR_AES_GCM_8:
        snprintf(b, cap, "aes%ugcm8", bits);
        return;
    case ENCR_AES_GCM_12:
        snprintf(b, cap, "aes%ugcm12", bits);
        return;
    case ENCR_AES_GCM_16:
        snprintf(b, cap, "aes%ugcm16", bits);
        return;
    case ENCR_CHACHA20_POLY1305:
        snprintf(b, cap, "chacha20poly1305");
        return;
    case ENCR_3DES:
        snprintf(b, cap, "3des");
        return;
    }
    snprintf(b, cap, "encr%u", id);
}

/* An esp= value with the SA's algorithms and this group: "aes256gcm16-x25519". */
static void esp_value(const struct ike_diag_facts *f, uint16_t group, char *b, size_t cap)
{
    char enc[32];
    encr_name(f->encr, f->encr_keylen, enc, sizeof(enc));
    const char *integ = integ_name(f->integ);
    snprintf(b, cap, "%s%s%s%s%s", enc, integ ? "-" : "", integ ? integ : "", group ? "-" : "",
             group ? ike_diag_group_name(group) : "");
}

/* A bounded writer: text appended up to cap, length counted past it. */
struct out {
    char *b;
    size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->b + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static const char *what(const struct ike_diag_facts *f)
{
    if (f->rekey_check)
        return "Rekey check failed: the Child SA rekey";
    switch (f->attempt) {
    case IKE_DIAG_A_SETUP:
        return "Set-up";
    case IKE_DIAG_A_CHILD_CREATE:
        return "Child SA set-up";
    case IKE_DIAG_A_CHILD_REKEY:
        return "Child SA rekey";
    case IKE_DIAG_A_IKE_REKEY:
        return "IKE SA rekey";
    case IKE_DIAG_A_DPD:
        return "Liveness check (DPD)";
    case IKE_DIAG_A_DELETE:
        return "Delete";
    }
    return "Exchange";
}

static unsigned secs(uint64_t ms)
{
    return (unsigned)((ms + 500) / 1000);
}

/* "the peer's answer shows none" / "... shows modp2048" / refused. */
static void peer_shows(struct out *o, const struct ike_diag_facts *f)
{
    if (f->outcome == IKE_DIAG_O_WE_REFUSED)
        put(o, "the peer offers %s%s", f->peer_dh ? "PFS group " : "no PFS",
            f->peer_dh ? ike_diag_group_name(f->peer_dh) : "");
    else if (f->peer_dh_shown && f->notify == IKE_N_INVALID_KE_PAYLOAD)
        put(o, "the peer's answer asks for group %s (INVALID_KE_PAYLOAD)",
            ike_diag_group_name(f->peer_dh));
    else if (f->peer_dh_shown)
        put(o, "the peer's answer shows %s", f->peer_dh ? ike_diag_group_name(f->peer_dh) : "none");
    else
        put(o, "the peer's answer %s (%s)", f->our_dh ? "shows none of it" : "refuses that",
            f->notify ? ike_notify_name(f->notify) : ike_err_str(f->err));
}

static void cause_pfs(struct out *o, const struct ike_diag_facts *f)
{
    bool ours = f->outcome != IKE_DIAG_O_WE_REFUSED;
    put(o, "%s failed: ", ours ? what(f) : "The peer's Child SA rekey");
    if (ours)
        put(o, "we offer %s%s, ", f->our_dh ? "PFS group " : "no PFS",
            f->our_dh ? ike_diag_group_name(f->our_dh) : "");
    peer_shows(o, f);
    if (!ours)
        put(o, ", we accept %s%s", f->our_dh ? "PFS group " : "no PFS",
            f->our_dh ? ike_diag_group_name(f->our_dh) : "");
    put(o, ".");
}

static bool is_policy_op(uint8_t kop)
{
    return kop == IKE_KOP_ADD_POLICY || kop == IKE_KOP_UPDATE_POLICY || kop == IKE_KOP_DEL_POLICY;
}

/* "the outbound policy 10.1.0.0/16 -> 10.2.0.0/16: already exists (EEXIST)" */
static void cause_kernel_policy(struct out *o, const struct ike_diag_facts *f)
{
    static const char *const dirs[] = {"inbound", "outbound", "forward"};
    char s[IKE_ADDR_STRLEN], d[IKE_ADDR_STRLEN];
    ike_addr_fmt(&f->sel.src, s, sizeof(s));
    ike_addr_fmt(&f->sel.dst, d, sizeof(d));
    put(o, "The kernel refused to %s the %s policy %s/%u -> %s/%u: %s.",
        f->kop == IKE_KOP_DEL_POLICY ? "remove" : "install", f->pol_dir < 3 ? dirs[f->pol_dir] : "",
        s, f->sel.src_prefix, d, f->sel.dst_prefix, f->detail[0] ? f->detail : ike_err_str(f->err));
}

static void cause_kernel(struct out *o, const struct ike_diag_facts *f)
{
    if (is_policy_op(f->kop)) {
        cause_kernel_policy(o, f);
        return;
    }
    char enc[32];
    encr_name(f->encr, f->encr_keylen, enc, sizeof(enc));
    const char *integ = integ_name(f->integ);
    put(o, "The kernel refused to install the Child SA: ");
    if (f->err == IKE_ERR_KERNEL_NOESP)
        put(o, "it has no ESP support");
    else if (f->err == IKE_ERR_KERNEL_ALG)
        put(o, "algorithm %s%s%s is not available", enc, integ ? "-" : "", integ ? integ : "");
    else
        put(o, "%s", ike_err_str(f->err));
    if (f->detail[0])
        put(o, " (%s)", f->detail);
    put(o, ".");
}

static void cause_no_answer(struct out *o, const struct ike_diag_facts *f, bool flowing)
{
    put(o, "%s%s: no answer to our IKE request after %u retransmits", what(f),
        f->pending ? "" : " failed", f->retransmits);
    if (flowing && f->recovered_ms)
        put(o,
            " while ESP from the peer still arrived: IKE was blocked on the path (recovered "
            "after %u s).",
            secs(f->recovered_ms));
    else if (flowing)
        put(o, " while ESP from the peer still arrives: IKE is blocked on the path%s.",
            f->pending ? " (still retrying)" : "");
    else
        put(o, " and no ESP from the peer either: the peer is down or unreachable.");
}

static void cause_expired(struct out *o, const struct ike_diag_facts *f)
{
    put(o, "The %s SA ran to its hard lifetime (%u s) ", f->ike_sa ? "IKE" : "Child",
        secs(f->life_ms));
    if (f->rekey_off)
        put(o, "with our rekeying off (rekey=no) and the peer never rekeyed it.");
    else if (f->rekey_fails)
        put(o, "after %u failed rekey attempt%s of ours, and the peer never rekeyed it.",
            f->rekey_fails, f->rekey_fails == 1 ? "" : "s");
    else if (f->rekey_busy) /* 2.25: refused while the peer ran an exchange of its own */
        put(o,
            "after %u rekey attempt%s of ours that the peer refused as busy "
            "(TEMPORARY_FAILURE: an exchange of its own was under way), and the peer never rekeyed "
            "it.",
            f->rekey_busy, f->rekey_busy == 1 ? "" : "s");
    else
        put(o, "with our rekey still unanswered, and the peer never rekeyed it.");
}

static void cause_lifetime(struct out *o, const struct ike_diag_facts *f)
{
    put(o, "The peer deleted the %s SA %u s after it was set up, before our rekey at %u s: ",
        f->ike_sa ? "IKE" : "Child", secs(f->age_ms), secs(f->rekey_ms));
    /* An IKE SA is also deleted when the peer is stopped by hand: the age
     * alone cannot tell that from a lifetime. */
    put(o, "the peer's %slifetime is shorter (about %u s, estimated from the SA's age)%s.",
        f->ike_sa ? "IKE " : "", secs(f->age_ms),
        f->ike_sa ? ", unless the peer was stopped by hand" : "");
}

/* RFC 7296 2.4: INITIAL_CONTACT says the peer holds no other IKE SA with
 * us, so what we held was left from before its restart. */
static void cause_restarted(struct out *o, const struct ike_diag_record *r)
{
    const struct ike_diag_facts *f = &r->f;
    put(o,
        "The peer restarted: its new IKE SA carried INITIAL_CONTACT, so we deleted the stale "
        "IKE SA %016llx_%016llx",
        (unsigned long long)r->ike_spi_i, (unsigned long long)r->ike_spi_r);
    if (!f->n_stale)
        put(o, ", which had no Child SA.");
    else
        put(o, " and its Child SA%s %s.", f->n_stale == 1 ? "" : "s", f->detail);
}

int ike_diag_cause_text(const struct ike_diag_record *r, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    const struct ike_diag_facts *f = &r->f;
    if (cap)
        buf[0] = 0;
    switch (r->cause) {
    case IKE_DIAG_PFS_MISMATCH:
        cause_pfs(&o, f);
        break;
    case IKE_DIAG_PROPOSAL_MISMATCH:
        put(&o, "%s failed: ", what(f));
        if (f->attempt == IKE_DIAG_A_IKE_REKEY) {
            put(&o, "we offer group %s, ", ike_diag_group_name(f->our_dh));
            peer_shows(&o, f);
            put(&o, ".");
        } else {
            put(&o, "the two sides share no %s proposal (%s).",
                f->attempt == IKE_DIAG_A_CHILD_CREATE ? "esp=" : "ike=",
                f->notify ? ike_notify_name(f->notify) : ike_err_str(f->err));
        }
        break;
    case IKE_DIAG_IKE_BLOCKED:
    case IKE_DIAG_DEAD_PEER:
        cause_no_answer(&o, f, r->cause == IKE_DIAG_IKE_BLOCKED);
        break;
    case IKE_DIAG_PEER_LIFETIME_SHORTER:
        cause_lifetime(&o, f);
        break;
    case IKE_DIAG_PEER_RESTARTED:
        cause_restarted(&o, r);
        break;
    case IKE_DIAG_PEER_NEVER_REKEYS:
        cause_expired(&o, f);
        break;
    case IKE_DIAG_TS_MISMATCH:
        put(&o, "%s failed: the traffic selectors do not match (TS_UNACCEPTABLE).", what(f));
        break;
    case IKE_DIAG_AUTH_FAILED:
        put(&o, "%s failed: authentication failed (AUTHENTICATION_FAILED).", what(f));
        break;
    case IKE_DIAG_KERNEL_REFUSED:
        cause_kernel(&o, f);
        break;
    default:
        put(&o, "%s failed: %s%s%s.", what(f), ike_err_str(f->err), f->notify ? ", notify " : "",
            f->notify ? ike_notify_name(f->notify) : "");
    }
    return (int)o.len;
}

static void fix_pfs(struct out *o, const struct ike_diag_facts *f)
{
    char ours[64], theirs[64];
    esp_value(f, f->our_dh, ours, sizeof(ours));
    if (f->peer_dh_shown && f->peer_dh != f->our_dh) {
        esp_value(f, f->peer_dh, theirs, sizeof(theirs));
        put(o, "Set the same PFS group on both sides: esp=%s on both, or esp=%s on both.", ours,
            theirs);
    } else if (f->our_dh) {
        esp_value(f, 0, theirs, sizeof(theirs));
        put(o,
            "Set the same PFS group on both sides: esp=%s on both, or esp=%s on both for no PFS.",
            ours, theirs);
    } else {
        put(o,
            "Set the same PFS group on both sides: add the peer's group to esp=%s here "
            "(e.g. esp=%s-x25519), or remove PFS on the peer.",
            ours, ours);
    }
}

static void fix_kernel(struct out *o, const struct ike_diag_facts *f)
{
    char enc[32];
    encr_name(f->encr, f->encr_keylen, enc, sizeof(enc));
    if (is_policy_op(f->kop) && f->err == IKE_ERR_KERNEL_EXISTS)
        put(o, "Remove the conflicting policy (ip xfrm policy) that another IPsec daemon or an "
               "earlier run left, or change the subnets so they do not overlap.");
    else if (f->err == IKE_ERR_KERNEL_NOESP)
        put(o, "Load the kernel's ESP support (modprobe esp4 esp6).");
    else if (f->err == IKE_ERR_KERNEL_ALG)
        put(o,
            "Load the kernel module for %s, or set esp= to algorithms this kernel has, on "
            "both sides.",
            enc);
    else
        put(o, "See the kernel error in the log at that time.");
}

int ike_diag_fix_text(const struct ike_diag_record *r, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    const struct ike_diag_facts *f = &r->f;
    char l[IKE_ADDR_STRLEN], rm[IKE_ADDR_STRLEN];
    ike_addr_fmt(&r->local, l, sizeof(l));
    ike_addr_fmt(&r->remote, rm, sizeof(rm));
    if (cap)
        buf[0] = 0;
    switch (r->cause) {
    case IKE_DIAG_PFS_MISMATCH:
        fix_pfs(&o, f);
        break;
    case IKE_DIAG_PROPOSAL_MISMATCH:
        put(&o, "Set the same %s proposals on both sides.",
            f->attempt == IKE_DIAG_A_CHILD_CREATE ? "esp=" : "ike=");
        break;
    case IKE_DIAG_IKE_BLOCKED:
        put(&o, "%sllow UDP 500 and 4500 from %s to %s and back on every firewall between them.",
            f->recovered_ms ? "Nothing to do now; if it happens again, a" : "A", l, rm);
        break;
    case IKE_DIAG_PEER_RESTARTED:
        put(&o,
            "Nothing to fix here: the tunnel was set up again; if the restart was not planned, "
            "look in the logs of %s for why it restarted.",
            rm);
        break;
    case IKE_DIAG_DEAD_PEER:
        put(&o, "Check that the peer %s is running and reachable from %s (UDP 500, 4500 and ESP).",
            rm, l);
        break;
    case IKE_DIAG_PEER_LIFETIME_SHORTER:
        put(&o,
            "Set the same %s= on both sides, or %s here short enough that we "
            "rekey before %u s.",
            f->ike_sa ? "ikelifetime" : "lifetime", f->ike_sa ? "an ikelifetime" : "a lifetime",
            secs(f->age_ms));
        break;
    case IKE_DIAG_PEER_NEVER_REKEYS:
        if (f->rekey_off)
            put(&o, "Set rekey=yes here, or make the peer rekey before %u s.", secs(f->life_ms));
        else if (f->rekey_fails)
            put(&o, "Fix the cause of the failed rekeys recorded before this one.");
        else if (f->rekey_busy)
            put(&o, "Give colliding rekeys time to take turns: a rekeymargin= of several seconds "
                    "here and on the peer.");
        else
            put(&o, "Check that IKE (UDP 500 and 4500) reaches the peer, and give our "
                    "retransmissions time with a longer rekeymargin=.");
        break;
    case IKE_DIAG_TS_MISMATCH:
        put(&o, "Make leftsubnet and rightsubnet here mirror rightsubnet and leftsubnet on the "
                "peer.");
        break;
    case IKE_DIAG_AUTH_FAILED:
        put(&o, "Use the same PSK on both sides, and make leftid/rightid here match rightid/leftid "
                "on the peer.");
        break;
    case IKE_DIAG_KERNEL_REFUSED:
        fix_kernel(&o, f);
        break;
    default:
        put(&o, "See the log at that time for the exchange that failed.");
    }
    return (int)o.len;
}

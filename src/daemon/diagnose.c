/*
 * diagnose.c: `rekeyctl diagnose [CONN] [--json]`: per tunnel its state,
 * next rekey and expiry (the SA lines of status.c), the rekey check after
 * set-up, and each failure the engine recorded with its cause and its fix
 * in one sentence each (ike/diag.h). Also the "last failure" sentence that
 * `rekeyctl status` shows. Reads only: never changes engine state.
 *
 * JSON: {"conns": [ {name, auto, ike_sas, rekey_check: {state, ago_s,
 * due_in_s, pfs}, failures_total, failures: [ {cause, attempt,
 * rekey_check, ago_s, repeats, ike_spi_i, ike_spi_r, child_spi_in,
 * child_spi_out, text, fix, and for an early warning pending (still
 * retrying) and recovered_s (0 = not yet)} ], sas: [ as in status
 * --json ] } ]}.
 */
#include <stdio.h>
#include <string.h>

#include "ike/diag.h"
#include "rekeyd.h"

bool rd_last_failure(const struct rekeyd *d, const char *conn, char *buf, size_t cap,
                     uint64_t *at_ms)
{
    struct ike_diag_conn_info in;
    if (ike_engine_diag(d->eng, conn, &in) == 0 && in.n) {
        ike_diag_cause_text(&in.rec[0], buf, cap);
        if (at_ms)
            *at_ms = in.rec[0].at_ms;
        return true;
    }
    const struct rd_failure *f = rd_failure_of(d, conn);
    if (!f)
        return false;
    snprintf(buf, cap, "%s", f->text);
    if (at_ms)
        *at_ms = f->at_ms;
    return true;
}

static const char *check_name(uint8_t c)
{
    static const char *const n[] = {"off", "pending", "passed", "failed", "skipped"};
    return c < sizeof(n) / sizeof(n[0]) ? n[c] : "off";
}

static unsigned long long ago_s(uint64_t now, uint64_t t)
{
    return now > t ? (now - t) / 1000 : 0;
}

static void check_text(struct rd_buf *b, const struct ike_conn_cfg *cfg,
                       const struct ike_diag_conn_info *in, uint64_t now)
{
    rd_buf_printf(b, ", rekey check ");
    switch (in->check) {
    case IKE_DIAG_CHECK_PENDING:
        rd_buf_printf(b, "due in %llu s",
                      in->check_at_ms > now ? (in->check_at_ms - now + 999) / 1000 : 0ULL);
        break;
    case IKE_DIAG_CHECK_PASSED:
        rd_buf_printf(b, "passed %llu s ago (PFS %s)", ago_s(now, in->check_at_ms),
                      ike_diag_group_name(in->check_dh));
        break;
    case IKE_DIAG_CHECK_FAILED:
        rd_buf_printf(b, "FAILED %llu s ago", ago_s(now, in->check_at_ms));
        break;
    case IKE_DIAG_CHECK_SKIPPED:
        rd_buf_printf(b, "skipped (the Child SA went first)");
        break;
    default:
        rd_buf_printf(b, "%s", cfg->rekey_check && cfg->rekey ? "not run yet" : "off");
    }
}

static void failure_text(struct rd_buf *b, const struct ike_diag_record *r, uint64_t now)
{
    char cause[RD_FAILURE_TEXT], fix[RD_FAILURE_TEXT];
    ike_diag_cause_text(r, cause, sizeof(cause));
    ike_diag_fix_text(r, fix, sizeof(fix));
    rd_buf_printf(b, "  failure %llu s ago (%s%s", ago_s(now, r->at_ms),
                  ike_diag_attempt_name(r->f.attempt), r->f.rekey_check ? ", rekey check" : "");
    if (r->child_spi_in)
        rd_buf_printf(b, ", Child SA %08x/%08x", r->child_spi_in, r->child_spi_out);
    else
        rd_buf_printf(b, ", IKE SA %016llx/%016llx", (unsigned long long)r->ike_spi_i,
                      (unsigned long long)r->ike_spi_r);
    if (r->repeats)
        rd_buf_printf(b, ", %u more time%s", r->repeats, r->repeats == 1 ? "" : "s");
    rd_buf_printf(b, "):\n    cause: %s\n    fix: %s\n", cause, fix);
}

static void conn_text(const struct rekeyd *d, const struct ike_conf_conn *cc, struct rd_buf *b,
                      uint64_t now)
{
    struct ike_diag_conn_info in;
    ike_engine_diag(d->eng, cc->cfg.name, &in);
    size_t n = rd_sa_count(d, cc->cfg.name);
    rd_buf_printf(b, "%s: auto=%s, %zu IKE SA%s", cc->cfg.name, rd_auto_name(cc->cfg.auto_mode), n,
                  n == 1 ? "" : "s");
    check_text(b, &cc->cfg, &in, now);
    rd_buf_printf(b, "\n");
    rd_status_sas(d, cc->cfg.name, false, b);
    if (!in.n) {
        const struct rd_failure *f = rd_failure_of(d, cc->cfg.name);
        if (f)
            rd_buf_printf(b, "  last failure %llu s ago: %s\n", ago_s(now, f->at_ms), f->text);
        else
            rd_buf_printf(b, "  no failure recorded\n");
        return;
    }
    if (in.total > in.n)
        rd_buf_printf(b, "  %u failures, the newest %zu:\n", in.total, in.n);
    for (size_t i = 0; i < in.n; i++)
        failure_text(b, &in.rec[i], now);
}

static void failure_json(struct rd_buf *b, const struct ike_diag_record *r, uint64_t now)
{
    char cause[RD_FAILURE_TEXT], fix[RD_FAILURE_TEXT];
    ike_diag_cause_text(r, cause, sizeof(cause));
    ike_diag_fix_text(r, fix, sizeof(fix));
    rd_buf_printf(b,
                  "{\"cause\":\"%s\",\"attempt\":\"%s\",\"rekey_check\":%s,\"ago_s\":%llu,"
                  "\"repeats\":%u,\"ike_spi_i\":\"%016llx\",\"ike_spi_r\":\"%016llx\","
                  "\"child_spi_in\":\"%08x\",\"child_spi_out\":\"%08x\",\"text\":",
                  ike_diag_cause_name(r->cause), ike_diag_attempt_name(r->f.attempt),
                  r->f.rekey_check ? "true" : "false", ago_s(now, r->at_ms), r->repeats,
                  (unsigned long long)r->ike_spi_i, (unsigned long long)r->ike_spi_r,
                  r->child_spi_in, r->child_spi_out);
    rd_json_str(b, cause);
    rd_buf_printf(b, ",\"fix\":");
    rd_json_str(b, fix);
    /* An early "IKE blocked" warning: still retrying, or answered after
     * all (how long IKE went unanswered): not a current failure then. */
    if (r->f.pending)
        rd_buf_printf(b, ",\"pending\":%s,\"recovered_s\":%llu",
                      r->f.recovered_ms ? "false" : "true",
                      (unsigned long long)((r->f.recovered_ms + 500) / 1000));
    rd_buf_printf(b, "}");
}

static void conn_json(const struct rekeyd *d, const struct ike_conf_conn *cc, struct rd_buf *b,
                      uint64_t now)
{
    struct ike_diag_conn_info in;
    ike_engine_diag(d->eng, cc->cfg.name, &in);
    rd_buf_printf(b, "{\"name\":");
    rd_json_str(b, cc->cfg.name);
    rd_buf_printf(b, ",\"auto\":\"%s\",\"ike_sas\":%zu,\"rekey_check\":{\"state\":\"%s\"",
                  rd_auto_name(cc->cfg.auto_mode), rd_sa_count(d, cc->cfg.name),
                  in.check == IKE_DIAG_CHECK_OFF && cc->cfg.rekey_check && cc->cfg.rekey
                      ? "not_run"
                      : check_name(in.check));
    if (in.check == IKE_DIAG_CHECK_PENDING)
        rd_buf_printf(b, ",\"due_in_s\":%llu",
                      in.check_at_ms > now ? (in.check_at_ms - now + 999) / 1000 : 0ULL);
    else if (in.check != IKE_DIAG_CHECK_OFF)
        rd_buf_printf(b, ",\"ago_s\":%llu", ago_s(now, in.check_at_ms));
    if (in.check == IKE_DIAG_CHECK_PASSED)
        rd_buf_printf(b, ",\"pfs\":\"%s\"", ike_diag_group_name(in.check_dh));
    rd_buf_printf(b, "},\"failures_total\":%u,\"failures\":[", in.total);
    for (size_t i = 0; i < in.n; i++) {
        rd_buf_printf(b, "%s", i ? "," : "");
        failure_json(b, &in.rec[i], now);
    }
    rd_buf_printf(b, "],\"sas\":[");
    rd_status_sas(d, cc->cfg.name, true, b);
    rd_buf_printf(b, "]}");
}

void rd_diagnose(const struct rekeyd *d, const char *conn, bool json, struct rd_buf *b)
{
    uint64_t now = rd_now_ms();
    bool first = true;
    if (json)
        rd_buf_printf(b, "{\"conns\":[");
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        const struct ike_conf_conn *cc = &d->conf.conns[i];
        if (conn[0] && strcmp(conn, cc->cfg.name))
            continue;
        if (json) {
            rd_buf_printf(b, "%s", first ? "" : ",");
            conn_json(d, cc, b, now);
        } else {
            conn_text(d, cc, b, now);
        }
        first = false;
    }
    if (json)
        rd_buf_printf(b, "]}\n");
}

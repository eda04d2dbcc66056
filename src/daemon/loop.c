/*
 * loop.c: the glue between libev and the sans-I/O engine: after EVERY
 * engine call, drain its outputs (send datagrams, apply kernel ops through
 * the backend and log each, record events) and re-arm THE one ev_timer
 * from ike_engine_next_deadline() (DESIGN.md 2; ngtcp2's get_expiry).
 * Also signals (SIGTERM/SIGINT: clean shutdown; SIGHUP: reload), kernel
 * events (XFRM socket, or the in-memory model's expiries folded into the
 * same timer) and loading conns into the engine.
 * Must not poll: nothing here runs unless a socket, the timer or a signal
 * fired. Engine time is CLOCK_MONOTONIC in ms.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ike/err.h"
#include "ike/kernel_memory.h"
#include "ike/xfrm.h"
#include "ike/crypto.h"
#include "ike/diag.h"
#include "rekeyd.h"

#define SHUTDOWN_MAX_S 3.0
#define KEV_BATCH      16

uint64_t rd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void apply_kop(struct rekeyd *d, struct ike_kernel_op *op)
{
    char desc[256];
    ike_kernel_op_describe(op, desc, sizeof(desc));
    int rc = d->kb.apply(d->kb.ctx, op);
    if (rc < 0) {
        const char *detail = d->kb.last_error ? d->kb.last_error(d->kb.ctx) : "";
        rd_log(IKE_LOG_ERROR, "kernel %s %s failed: %s%s%s", d->kb.name, desc, ike_err_str(rc),
               detail[0] ? ": " : "", detail);
        ike_engine_kernel_failed(d->eng, op, rc, detail, rd_now_ms()); /* for diagnose */
    } else {
        rd_log(IKE_LOG_INFO, "kernel %s %s", d->kb.name, desc);
    }
    ike_wipe(op, sizeof(*op));
}

static const char *const ev_names[] = {
    [IKE_EV_IKE_UP] = "IKE_UP",
    [IKE_EV_IKE_DOWN] = "IKE_DOWN",
    [IKE_EV_CHILD_UP] = "CHILD_UP",
    [IKE_EV_CHILD_DOWN] = "CHILD_DOWN",
    [IKE_EV_CHILD_FAILED] = "CHILD_FAILED",
    [IKE_EV_CHILD_REKEYED] = "CHILD_REKEYED",
    [IKE_EV_IKE_REKEYED] = "IKE_REKEYED",
    [IKE_EV_REKEY_FAILED] = "REKEY_FAILED",
};

static void record_failure(struct rekeyd *d, const struct ike_event *ev, const char *what)
{
    struct rd_failure *f = (struct rd_failure *)rd_failure_of(d, ev->conn);
    if (!f) {
        /* Keep the table bounded: reuse the oldest slot when full. */
        size_t i = d->n_failures < RD_MAX_FAILURES ? d->n_failures++ : 0;
        for (size_t k = 1; d->n_failures == RD_MAX_FAILURES && k < RD_MAX_FAILURES; k++)
            if (d->failures[k].at_ms < d->failures[i].at_ms)
                i = k;
        f = &d->failures[i];
        snprintf(f->conn, sizeof(f->conn), "%s", ev->conn);
    }
    snprintf(f->text, sizeof(f->text), "%s: %s", what, ike_err_str(ev->err));
    f->at_ms = rd_now_ms();
}

static void on_event(struct rekeyd *d, const struct ike_event *ev)
{
    const char *name = ev->type < sizeof(ev_names) / sizeof(ev_names[0]) && ev_names[ev->type]
                           ? ev_names[ev->type]
                           : "EVENT";
    char line[300];
    snprintf(line, sizeof(line),
             "event %s conn=%s ike=%016llx/%016llx child=%08x/%08x old=%08x err=%s", name, ev->conn,
             (unsigned long long)ev->ike_spi_i, (unsigned long long)ev->ike_spi_r, ev->child_spi_in,
             ev->child_spi_out, ev->old_spi_in, ev->err ? ike_err_str(ev->err) : "none");
    rd_log(ev->err ? IKE_LOG_WARN : IKE_LOG_INFO, "%s", line);
    rd_ctl_broadcast(d, line);
    if (ev->type == IKE_EV_REKEY_FAILED)
        record_failure(d, ev, "rekey failed");
    else if (ev->type == IKE_EV_CHILD_FAILED)
        record_failure(d, ev, "Child SA failed");
    else if (ev->type == IKE_EV_IKE_DOWN && ev->err)
        record_failure(d, ev, "IKE SA failed");
}

static void arm_timer(struct rekeyd *d, uint64_t now)
{
    uint64_t t = ike_engine_next_deadline(d->eng);
    if (d->kmem) {
        uint64_t k = ike_kmem_next_expiry(d->kmem);
        if (k != UINT64_MAX && k * 1000 < t)
            t = k * 1000;
    }
    ev_timer_stop(d->loop, &d->timer);
    if (t == UINT64_MAX)
        return;
    ev_timer_set(&d->timer, t > now ? (double)(t - now) / 1000.0 : 0.0, 0.0);
    ev_timer_start(d->loop, &d->timer);
}

void rd_after_engine(struct rekeyd *d)
{
    struct ike_output o;
    uint64_t now = rd_now_ms();
    if (d->kmem)
        ike_kmem_set_time(d->kmem, now / 1000);
    while (ike_engine_pop_output(d->eng, &o)) {
        if (o.type == IKE_OUT_DATAGRAM)
            rd_udp_send(d, &o.u.dgram.src, &o.u.dgram.dst, o.u.dgram.data, o.u.dgram.len);
        else if (o.type == IKE_OUT_KERNEL)
            apply_kop(d, &o.u.kop);
        else if (o.type == IKE_OUT_EVENT)
            on_event(d, &o.u.ev);
    }
    arm_timer(d, now);
    if (d->shutting_down && ike_engine_ike_sa_count(d->eng) == 0)
        ev_break(d->loop, EVBREAK_ALL);
}

static void feed_kernel_events(struct rekeyd *d, const struct ike_kernel_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        ike_engine_kernel_event(d->eng, &ev[i], rd_now_ms()); /* it logs what it does */
        rd_after_engine(d);
    }
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    (void)w;
    struct rekeyd *d = ev_userdata(loop);
    uint64_t now = rd_now_ms();
    if (d->kmem) {
        struct ike_kernel_event ev[KEV_BATCH];
        int n = ike_kmem_tick(d->kmem, now / 1000, ev, KEV_BATCH);
        feed_kernel_events(d, ev, n);
    }
    ike_engine_handle_deadline(d->eng, now);
    rd_after_engine(d);
}

static void on_xfrm(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    (void)w;
    struct rekeyd *d = ev_userdata(loop);
    struct ike_kernel_event ev[KEV_BATCH];
    bool lost = false;
    int n = ike_xfrm_events_read(d->xev, ev, KEV_BATCH, &lost);
    if (lost)
        rd_log(IKE_LOG_WARN, "kernel event socket overflowed: XFRM events were lost");
    if (n > 0)
        feed_kernel_events(d, ev, n);
}

static void on_shutdown_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    rd_log(IKE_LOG_WARN, "shutdown: DELETEs not all answered within %.0f s", SHUTDOWN_MAX_S);
    ev_break(loop, EVBREAK_ALL);
}

void rd_shutdown(struct rekeyd *d)
{
    if (d->shutting_down) {
        /* A second SIGTERM/SIGINT: stop waiting for the peers. */
        rd_log(IKE_LOG_WARN, "second signal: not waiting for DELETE answers");
        ev_break(d->loop, EVBREAK_ALL);
        return;
    }
    rd_log(IKE_LOG_INFO, "shutting down: deleting %zu IKE SAs", ike_engine_ike_sa_count(d->eng));
    d->shutting_down = true;
    ev_timer_init(&d->shutdown_timer, on_shutdown_timeout, SHUTDOWN_MAX_S, 0.0);
    ev_timer_start(d->loop, &d->shutdown_timer);
    ike_engine_shutdown(d->eng, rd_now_ms());
    rd_after_engine(d);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct rekeyd *d = ev_userdata(loop);
    if (w->signum == SIGHUP) {
        char err[IKE_CONF_ERR_MAX];
        if (rd_reload(d, err, sizeof(err)) < 0)
            rd_log(IKE_LOG_ERROR, "reload failed, keeping the old config: %s", err);
        return;
    }
    rd_shutdown(d);
}

/* Before libev blocks: the lines logged this turn go out in one write. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    rd_log_flush();
}

int rd_loop_init(struct rekeyd *d)
{
    static ev_prepare flush_w;
    ev_prepare_init(&flush_w, on_prepare);
    ev_prepare_start(d->loop, &flush_w);
    ev_set_userdata(d->loop, d);
    ev_init(&d->timer, on_timer);
    ev_signal_init(&d->sig_term, on_signal, SIGTERM);
    ev_signal_init(&d->sig_int, on_signal, SIGINT);
    ev_signal_init(&d->sig_hup, on_signal, SIGHUP);
    ev_signal_start(d->loop, &d->sig_term);
    ev_signal_start(d->loop, &d->sig_int);
    ev_signal_start(d->loop, &d->sig_hup);
    if (d->xev) {
        ev_io_init(&d->xev_io, on_xfrm, ike_xfrm_events_fd(d->xev), EV_READ);
        ev_io_start(d->loop, &d->xev_io);
    }
    return 0;
}

const struct rd_failure *rd_failure_of(const struct rekeyd *d, const char *conn)
{
    for (size_t i = 0; i < d->n_failures; i++)
        if (!strcmp(d->failures[i].conn, conn))
            return &d->failures[i];
    return NULL;
}

/* Tears everything down that is still there (after the shutdown wait):
 * removing each conn destroys its SAs and emits their kernel deletes. */
void rd_loop_free(struct rekeyd *d)
{
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        ike_engine_remove_conn(d->eng, d->conf.conns[i].cfg.name, rd_now_ms());
        rd_after_engine(d);
    }
    ev_timer_stop(d->loop, &d->timer);
    ev_timer_stop(d->loop, &d->shutdown_timer);
    if (d->xev) {
        ev_io_stop(d->loop, &d->xev_io);
        ike_xfrm_events_free(d->xev);
    }
}

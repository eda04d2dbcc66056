/*
 * reload.c: puts the loaded config into the engine, at start and on
 * reload (SIGHUP, `rekeyctl reload`).
 *
 * Reload compares the new conns with the running ones: unchanged conns are
 * left alone (their tunnels stay up), removed conns are terminated (DELETE
 * to the peer) and removed, changed conns are replaced and restarted, new
 * conns are added (and initiated with auto=start). A config that does not
 * load changes nothing. Must not log a PSK.
 */
#include <stdio.h>
#include <string.h>

#include "ike/err.h"
#include "rekeyd.h"

/* The engine's copy of a conn: left unset -> the route's source address. */
static int add_to_engine(struct rekeyd *d, const struct ike_conf_conn *cc)
{
    struct ike_conn_cfg cfg = cc->cfg;
    if (cc->local_from_route && !cfg.remote_any &&
        !rd_udp_route_src(&cfg.remote.addr, &cfg.local.addr))
        rd_log(IKE_LOG_WARN, "conn '%s': no route to right=, left= left unset", cfg.name);
    int rc = ike_engine_add_conn(d->eng, &cfg);
    ike_conn_cfg_clear(&cfg);
    if (rc < 0)
        rd_log(IKE_LOG_ERROR, "conn '%s': engine refused it: %s", cfg.name, ike_err_str(rc));
    return rc;
}

static void start_conn(struct rekeyd *d, const struct ike_conf_conn *cc)
{
    const char *name = cc->cfg.name;
    if (cc->cfg.auto_mode == IKE_AUTO_ROUTE) {
        rd_log(IKE_LOG_INFO, "conn '%s': routed (trap policy installed; traffic starts it)", name);
        rd_after_engine(d); /* the trap policy goes to the kernel now */
        return;
    }
    if (cc->cfg.auto_mode != IKE_AUTO_START)
        return;
    int rc = ike_engine_initiate(d->eng, name, rd_now_ms());
    if (rc < 0)
        rd_log(IKE_LOG_ERROR, "conn '%s': cannot initiate: %s", name, ike_err_str(rc));
    rd_after_engine(d);
}

int rd_conns_load(struct rekeyd *d)
{
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        if (add_to_engine(d, &d->conf.conns[i]) < 0)
            return IKE_ERR_CONFIG;
        rd_log(IKE_LOG_INFO, "conn '%s' loaded", d->conf.conns[i].cfg.name);
    }
    for (size_t i = 0; i < d->conf.n_conns; i++)
        start_conn(d, &d->conf.conns[i]);
    return 0;
}

static void drop_conn(struct rekeyd *d, const char *name)
{
    /* DELETE to the peer first (queued and sent now), then forget it. */
    ike_engine_terminate(d->eng, name, rd_now_ms());
    rd_after_engine(d);
    ike_engine_remove_conn(d->eng, name, rd_now_ms());
    rd_after_engine(d);
}

int rd_reload(struct rekeyd *d, char *err, size_t cap)
{
    struct ike_conf nc;
    struct ike_conf_opts co = {.ike_port = d->o.port};
    int rc = ike_conf_load(d->o.conf_path, d->o.secrets_path, &co, &nc, err, cap);
    if (rc < 0)
        return rc;
    unsigned kept = 0, removed = 0, changed = 0, added = 0;
    for (size_t i = 0; i < d->conf.n_conns; i++) {
        const struct ike_conf_conn *old = &d->conf.conns[i];
        const struct ike_conf_conn *now = ike_conf_find(&nc, old->cfg.name);
        if (!now) {
            drop_conn(d, old->cfg.name);
            removed++;
        } else if (!ike_conf_conn_equal(old, now)) {
            drop_conn(d, old->cfg.name);
            changed++;
        }
    }
    for (size_t i = 0; i < nc.n_conns; i++) {
        const struct ike_conf_conn *cc = &nc.conns[i];
        const struct ike_conf_conn *old = ike_conf_find(&d->conf, cc->cfg.name);
        if (old && ike_conf_conn_equal(old, cc)) {
            kept++;
            continue;
        }
        added += !old;
        if (add_to_engine(d, cc) == 0)
            start_conn(d, cc);
    }
    ike_conf_free(&d->conf);
    d->conf = nc;
    rd_log(IKE_LOG_INFO, "config reloaded: %u unchanged, %u changed, %u added, %u removed", kept,
           changed, added, removed);
    snprintf(err, cap, "reloaded: %u unchanged, %u changed, %u added, %u removed", kept, changed,
             added, removed);
    return 0;
}

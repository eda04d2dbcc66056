/*
 * scenario.c: draws one scenario from a seed: each side's lifetimes,
 * rekeymargin/rekeyfuzz, DPD and retransmission settings, the network's
 * delay/loss/duplication, outages, restarts, forced rekeys, and the
 * explicit recovery bound the invariants use. Pure function of (seed,
 * mode): it must not look at anything else, or seeds stop replaying.
 *
 * Recovery needs someone to notice: a side that lost its state comes back
 * if it is auto=start, otherwise the survivor must have DPD (and be
 * auto=start) to notice and re-initiate. Scenarios are drawn so that one of
 * those holds for each side; a config that cannot recover is not a bug.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"

uint64_t sim_rt_budget(const struct sim_side *s)
{
    uint64_t t = 0, step = s->rt_base_ms;
    for (uint32_t i = 0; i <= s->rt_tries; i++) {
        t += step;
        step = step * s->rt_factor_pct / 100;
    }
    return t;
}

static void draw_retransmit(uint64_t *r, struct sim_side *s)
{
    static const uint32_t base[] = {500, 1000, 2000};
    static const uint32_t factor[] = {150, 180, 200};
    s->rt_base_ms = base[sim_range(r, 0, 2)];
    s->rt_factor_pct = factor[sim_range(r, 0, 2)];
    s->rt_tries = (uint32_t)sim_range(r, 2, 5);
}

/* Lifetimes for the rekey mode: equal, mismatched or tiny; margin 15-40%
 * of the lifetime; fuzz 0 (forces collisions with equal settings) or up
 * to 100%, capped so the rekey time stays positive. */
static void draw_lifetimes(uint64_t *r, struct sim_scenario *sc)
{
    uint64_t base = sim_range(r, 10, 120) * 1000;
    uint32_t kind = (uint32_t)sim_range(r, 0, 9);
    sc->life_kind = kind;
    for (int i = 0; i < SIM_PEERS; i++) {
        struct sim_side *s = &sc->side[i];
        uint64_t life = base;
        if (kind >= 4 && kind < 8 && i == 1)
            life = base * sim_range(r, 50, 200) / 100; /* mismatched */
        if (kind >= 8 && (i == 0 || kind == 9))
            life = sim_range(r, 5, 15) * 1000; /* tiny */
        s->child_life_ms = life;
        s->margin_ms = life * sim_range(r, 15, 40) / 100;
        s->fuzz_pct = sim_chance(r, 2500) ? 0 : (uint32_t)sim_range(r, 0, 100);
        if (s->margin_ms * (100 + s->fuzz_pct) / 100 > life * 8 / 10)
            s->fuzz_pct = (uint32_t)((life * 8 / 10) * 100 / s->margin_ms - 100);
        s->ike_life_ms =
            sim_chance(r, 5000) ? life * sim_range(r, 2, 6) : sim_range(r, 30, 600) * 1000;
        if (s->ike_life_ms < s->margin_ms * 3)
            s->ike_life_ms = s->margin_ms * 3;
        if (sim_chance(r, 2000)) { /* volume limit: hard in 20-120 s of traffic */
            uint64_t per_s = (uint64_t)sc->pkt_per_s * sc->pkt_bytes;
            s->life_bytes = per_s * sim_range(r, 20, 120);
            s->margin_bytes = s->life_bytes * sim_range(r, 15, 40) / 100;
        }
    }
    if (kind < 4) /* equal on both sides, fuzz included */
        sc->side[1].fuzz_pct = sc->side[0].fuzz_pct;
}

static void draw_sides(uint64_t *r, struct sim_scenario *sc, const struct sim_opts *o)
{
    uint32_t who = (uint32_t)sim_range(r, 0, 9);
    bool pfs = sim_chance(r, 3000);
    for (int i = 0; i < SIM_PEERS; i++) {
        struct sim_side *s = &sc->side[i];
        memset(s, 0, sizeof(*s));
        s->auto_start = who < 4 ? i == 0 : who < 7 ? i == 1 : true;
        s->pfs = pfs;
        draw_retransmit(r, s);
        if (sim_chance(r, 5000))
            s->dpd_delay_ms = sim_range(r, 5, 30) * 1000;
        s->dpd_action = (uint8_t)sim_range(r, IKE_DPD_CLEAR, IKE_DPD_RESTART);
        s->close_action = s->dpd_action;
        /* Without rekeying, nothing may expire during the scenario. */
        s->child_life_ms = s->ike_life_ms = sc->duration_ms + 3600 * 1000;
        s->margin_ms = 60 * 1000;
        s->fuzz_pct = 100;
    }
    if (o->rekey)
        draw_lifetimes(r, sc);
}

/* Turn off side features after the draws (same seed, same stream). */
static void mask_sides(struct sim_scenario *sc, const struct sim_opts *o)
{
    uint32_t f = o->features;
    struct sim_side *a = &sc->side[0], *b = &sc->side[1];
    if (!(f & SF_BOTH_AUTO) && a->auto_start && b->auto_start)
        b->auto_start = false;
    for (int i = 0; i < SIM_PEERS; i++) {
        struct sim_side *s = &sc->side[i];
        if (!(f & SF_VOLUME))
            s->life_bytes = s->margin_bytes = 0;
        if (!(f & SF_TINY) && s->child_life_ms < 20000) {
            s->child_life_ms = 20000;
            s->margin_ms = 6000;
        }
        if (!(f & SF_IKE_REKEY))
            s->ike_life_ms = 4 * 3600 * 1000ULL;
        if (!(f & SF_CLOSE_RESTART) && s->close_action == IKE_DPD_RESTART)
            s->close_action = IKE_DPD_CLEAR;
    }
    if (!(f & SF_MISMATCH)) {
        b->child_life_ms = a->child_life_ms;
        b->ike_life_ms = a->ike_life_ms;
        b->margin_ms = a->margin_ms;
        b->fuzz_pct = a->fuzz_pct;
        b->life_bytes = a->life_bytes;
        b->margin_bytes = a->margin_bytes;
    }
    /* Someone must notice each side's loss (see the top of the file). */
    for (int i = 0; i < SIM_PEERS; i++)
        if (!sc->side[i].auto_start && !sc->side[!i].dpd_delay_ms)
            sc->side[!i].dpd_delay_ms = 10 * 1000;
}

static void mask_events(struct sim_scenario *sc, const struct sim_opts *o)
{
    uint32_t f = o->features;
    if (!(f & SF_OUTAGE))
        sc->n_out = 0;
    if (!(f & SF_LOSS))
        sc->loss_x100 = sc->dup_x100 = 0;
    if (!(f & SF_REORDER))
        sc->lat_max_ms = sc->lat_min_ms;
    int keep = 0;
    for (int k = 0; k < sc->n_act; k++) {
        struct sim_action *a = &sc->act[k];
        if ((a->type == SA_RESTART && !(f & SF_RESTART)) ||
            (a->type == SA_NEW_CHILD && !(f & SF_NEW_CHILD)) ||
            (a->type == SA_FORCE_REKEY && !(f & SF_FORCED)) ||
            (a->type == SA_FORCE_REKEY && a->arg && !(f & SF_IKE_REKEY)))
            continue;
        if (a->type == SA_FORCE_REKEY && a->peer < 0 && !(f & SF_SIMUL))
            a->peer = 0;
        sc->act[keep++] = *a;
    }
    sc->n_act = keep;
}

static void add_action(struct sim_scenario *sc, uint64_t at, uint8_t type, int peer, uint32_t arg)
{
    if (sc->n_act < SIM_MAX_ACTIONS)
        sc->act[sc->n_act++] =
            (struct sim_action){.at_ms = at, .type = type, .peer = peer, .arg = arg};
}

static void draw_events(uint64_t *r, struct sim_scenario *sc, const struct sim_opts *o)
{
    uint64_t budget = sim_rt_budget(&sc->side[0]);
    if (sim_rt_budget(&sc->side[1]) > budget)
        budget = sim_rt_budget(&sc->side[1]);
    uint64_t from = 20 * 1000, to = sc->heal_ms;
    if (sim_chance(r, 5000)) {
        sc->n_out = (int)sim_range(r, 1, 3);
        for (int k = 0; k < sc->n_out; k++) {
            struct sim_outage *x = &sc->out[k];
            uint64_t len = sim_chance(r, 6000) ? sim_range(r, 500, 10000)
                                               : budget + sim_range(r, 10, 120) * 1000;
            x->start_ms = sim_range(r, from, to - len);
            x->end_ms = x->start_ms + len;
            x->dirs = sim_chance(r, 8000) ? 3 : (uint8_t)sim_range(r, 1, 2);
        }
    }
    if (sim_chance(r, 3000))
        for (int k = (int)sim_range(r, 1, 2); k > 0; k--)
            add_action(sc, sim_range(r, from, to), SA_RESTART, (int)sim_range(r, 0, 1), 0);
    int n = (int)sim_range(r, 0, o->rekey ? 12 : 4);
    for (int k = 0; k < n; k++) {
        int peer = (int)sim_range(r, 0, 2) - 1; /* -1: both at the same instant */
        add_action(sc, sim_range(r, from, to), SA_FORCE_REKEY, peer, (uint32_t)sim_range(r, 0, 1));
    }
    if (sim_chance(r, 1000))
        add_action(sc, sim_range(r, from, to), SA_NEW_CHILD, (int)sim_range(r, 0, 1), 0);
}

void sim_scenario_make(struct sim_scenario *sc, uint64_t seed, const struct sim_opts *o)
{
    uint64_t r = seed * 0x9e3779b97f4a7c15ULL + 0x1234567;
    memset(sc, 0, sizeof(*sc));
    sc->seed = seed;
    sc->duration_ms = sim_range(&r, 10, 60) * 60 * 1000;
    sc->lat_min_ms = (uint32_t)sim_range(&r, 1, 30);
    sc->lat_max_ms = sc->lat_min_ms + (sim_chance(&r, 5000) ? 0 : (uint32_t)sim_range(&r, 1, 200));
    static const uint32_t loss[] = {0, 0, 50, 200, 1000};
    static const uint32_t dup[] = {0, 0, 0, 100, 500};
    sc->loss_x100 = loss[sim_range(&r, 0, 4)];
    sc->dup_x100 = dup[sim_range(&r, 0, 4)];
    sc->pkt_per_s = (uint32_t)sim_range(&r, 10, 100);
    sc->pkt_bytes = (uint32_t)sim_range(&r, 100, 1400);
    draw_sides(&r, sc, o);
    mask_sides(sc, o);
    /* R: a survivor's DPD notices (delay + budget), the supervisor waits up
     * to 3 s, and a setup over the lossy network may time out once more. */
    uint64_t dpd = 0, budget = 0;
    for (int i = 0; i < SIM_PEERS; i++) {
        const struct sim_side *s = &sc->side[i];
        uint64_t b = sim_rt_budget(s);
        if (s->dpd_delay_ms && s->dpd_delay_ms + b > dpd)
            dpd = s->dpd_delay_ms + b;
        if (b > budget)
            budget = b;
    }
    sc->recover_ms = dpd + 3000 + 2 * budget + 2 * sc->lat_max_ms + 1000;
    sc->heal_ms = sc->duration_ms - sc->recover_ms - budget - 30 * 1000;
    draw_events(&r, sc, o);
    mask_events(sc, o);
    sc->shutdown_peer = (int)sim_range(&r, 0, 2) - 1;
}

static const char *const feature_names[] = {
    "both-auto", "forced", "simultaneous", "restart",  "outage",    "loss",          "reorder",
    "new-child", "volume", "tiny",         "mismatch", "ike-rekey", "close-restart",
};

uint32_t sim_feature_parse(const char *list, bool *ok)
{
    uint32_t mask = 0;
    *ok = true;
    while (*list) {
        size_t n = strcspn(list, ",");
        bool found = false;
        for (unsigned k = 0; k < sizeof(feature_names) / sizeof(feature_names[0]); k++)
            if (strlen(feature_names[k]) == n && !strncmp(list, feature_names[k], n)) {
                mask |= 1u << k;
                found = true;
            }
        if (!found)
            *ok = false;
        list += n + (list[n] == ',');
    }
    return mask;
}

void sim_feature_print(uint32_t features, FILE *f)
{
    const char *sep = "";
    for (unsigned k = 0; k < sizeof(feature_names) / sizeof(feature_names[0]); k++)
        if (!(features & (1u << k))) {
            fprintf(f, "%s%s", sep, feature_names[k]);
            sep = ",";
        }
}

static const char *action_name(uint8_t a)
{
    return a == IKE_DPD_RESTART ? "restart" : a == IKE_DPD_HOLD ? "hold" : "clear";
}

static void print_side(const char *name, const struct sim_side *s, FILE *f)
{
    fprintf(f,
            "  %s: auto=%s lifetime=%llus ikelifetime=%llus rekeymargin=%llus rekeyfuzz=%u%% "
            "lifebytes=%llu marginbytes=%llu dpddelay=%llus dpdaction=%s closeaction=%s pfs=%s "
            "retransmit=%ums*%u%%^n tries=%u (budget %llus)\n",
            name, s->auto_start ? "start" : "add", (unsigned long long)s->child_life_ms / 1000,
            (unsigned long long)s->ike_life_ms / 1000, (unsigned long long)s->margin_ms / 1000,
            s->fuzz_pct, (unsigned long long)s->life_bytes, (unsigned long long)s->margin_bytes,
            (unsigned long long)s->dpd_delay_ms / 1000, action_name(s->dpd_action),
            action_name(s->close_action), s->pfs ? "x25519" : "no", s->rt_base_ms, s->rt_factor_pct,
            s->rt_tries, (unsigned long long)sim_rt_budget(s) / 1000);
}

void sim_scenario_print(const struct sim_scenario *sc, FILE *f)
{
    fprintf(f, "scenario seed %llu: %llus virtual, heal at %llus, recovery bound R=%llus\n",
            (unsigned long long)sc->seed, (unsigned long long)sc->duration_ms / 1000,
            (unsigned long long)sc->heal_ms / 1000, (unsigned long long)sc->recover_ms / 1000);
    print_side("L (10.0.0.1)", &sc->side[0], f);
    print_side("R (10.0.0.2)", &sc->side[1], f);
    fprintf(f,
            "  network: delay %u-%u ms, loss %u.%02u%%, dup %u.%02u%%, traffic %u pkt/s x %u B\n",
            sc->lat_min_ms, sc->lat_max_ms, sc->loss_x100 / 100, sc->loss_x100 % 100,
            sc->dup_x100 / 100, sc->dup_x100 % 100, sc->pkt_per_s, sc->pkt_bytes);
    for (int k = 0; k < sc->n_out; k++)
        fprintf(f, "  outage %.3fs-%.3fs (%.3fs) %s\n", sc->out[k].start_ms / 1000.0,
                sc->out[k].end_ms / 1000.0, (sc->out[k].end_ms - sc->out[k].start_ms) / 1000.0,
                sc->out[k].dirs == 3   ? "both ways"
                : sc->out[k].dirs == 1 ? "L->R"
                                       : "R->L");
    for (int k = 0; k < sc->n_act; k++) {
        const struct sim_action *a = &sc->act[k];
        const char *peer = a->peer < 0 ? "both" : a->peer ? "R" : "L";
        fprintf(f, "  at %.3fs %s: %s\n", a->at_ms / 1000.0, peer,
                a->type == SA_RESTART     ? "restart"
                : a->type == SA_NEW_CHILD ? "initiate another Child SA"
                : a->arg                  ? "rekey IKE SA"
                                          : "rekey Child SAs");
    }
    fprintf(f, "  end: shutdown by %s\n",
            sc->shutdown_peer < 0 ? "both"
            : sc->shutdown_peer   ? "R"
                                  : "L");
}

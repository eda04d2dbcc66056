/*
 * sim.c: the runner of the deterministic simulation.
 *
 *   sim [--first-seed S --count N] [--seed S] [--seeds-file F] [--rekey]
 *       [--no-supervisor] [--strict-errors] [--verbose] [--trace N]
 *
 * Each seed is one scenario (scenario.c): run its active phase with
 * disturbances, heal the network, wait until the peers settle, check that
 * the tunnel recovered and both sides agree, shut down and check that
 * nothing is left. A violation is replayed at once from the same seed with
 * the trace on, so the fast run pays nothing for tracing; the replay must
 * reach the same violation (determinism is checked, not assumed). Exit
 * status 1 on any violation. It must not read a clock or the environment
 * inside a scenario.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/err.h"
#include "sim.h"

struct result {
    bool failed;
    char why[SIM_WHY];
    uint64_t fail_ms;
    uint32_t rekeys;
    uint64_t steps;
};

static void mark_stopped(struct sim_world *w)
{
    w->shutting_down = true;
    for (int i = 0; i < SIM_PEERS; i++) {
        w->p[i].stopped = true;
        w->p[i].reinit_at_ms = 0;
    }
}

/* Step until `until`, checking after every step. */
static void run_until(struct sim_world *w, uint64_t until)
{
    while (!w->failed && sim_step(w, until))
        sim_check_step(w);
}

static void run_phases(struct sim_world *w)
{
    const struct sim_scenario *sc = w->sc;
    run_until(w, w->t0_ms + sc->heal_ms);
    w->perfect = true;
    sim_tracef(w, "sim: network healed (no loss, no duplicates, fixed delay from now on)");
    run_until(w, w->t0_ms + sc->duration_ms);
    /* Settle: quiet and outside every excuse window. */
    uint64_t limit = w->now_ms + 600 * 1000;
    while (!w->failed && !(sim_quiet(w) && !sim_excused(w, w->now_ms))) {
        if (!sim_step(w, limit)) {
            sim_fail(w, "settle: no quiet moment within 600 s after the scenario ended");
            break;
        }
        sim_check_step(w);
    }
    sim_check_settled(w);
    if (w->failed)
        return;
    mark_stopped(w);
    sim_tracef(w, "sim: shutdown by %s",
               sc->shutdown_peer < 0 ? "both" : w->p[sc->shutdown_peer].name);
    for (int i = 0; i < SIM_PEERS; i++)
        if (sc->shutdown_peer < 0 || sc->shutdown_peer == i)
            ike_engine_shutdown(w->p[i].e, w->now_ms);
    sim_drain(w);
    uint64_t b = sim_rt_budget(&sc->side[0]) + sim_rt_budget(&sc->side[1]);
    run_until(w, w->now_ms + b + 5000);
    sim_check_shutdown(w);
}

static void run_one(uint64_t seed, const struct sim_opts *o, struct result *r, bool print_fail)
{
    struct sim_scenario sc;
    struct sim_world w;
    sim_scenario_make(&sc, seed, o);
    memset(r, 0, sizeof(*r));
    if (sim_world_init(&w, &sc, o) < 0)
        sim_fail(&w, "setup failed");
    else
        run_phases(&w);
    r->failed = w.violated;
    snprintf(r->why, sizeof(r->why), "%s", w.why);
    r->fail_ms = w.fail_ms - w.t0_ms;
    r->steps = w.steps;
    uint32_t c =
        w.p[0].rekeys_child > w.p[1].rekeys_child ? w.p[0].rekeys_child : w.p[1].rekeys_child;
    uint32_t k = w.p[0].rekeys_ike > w.p[1].rekeys_ike ? w.p[0].rekeys_ike : w.p[1].rekeys_ike;
    r->rekeys = c + k;
    if (o->record && print_fail && w.violated) {
        sim_trace_print(&w, stdout, o->trace_lines ? o->trace_lines : 300);
        printf("counters: delivered %" PRIu64 ", dropped %" PRIu64 ", steps %" PRIu64
               ", checks %u; L ups %u downs %u timeouts %u; R ups %u downs %u timeouts %u\n",
               w.delivered, w.dropped, w.steps, w.checks, w.p[0].ups, w.p[0].downs, w.p[0].timeouts,
               w.p[1].ups, w.p[1].downs, w.p[1].timeouts);
    }
    sim_world_free(&w);
}

static void report_failure(uint64_t seed, const struct sim_opts *o, const struct result *r)
{
    struct sim_scenario sc;
    sim_scenario_make(&sc, seed, o);
    printf("\n==== VIOLATION seed %" PRIu64 " at +%.3f s: %s\n", seed, r->fail_ms / 1000.0, r->why);
    sim_scenario_print(&sc, stdout);
    struct sim_opts ro = *o;
    ro.record = true;
    if (!ro.trace_lines)
        ro.trace_lines = 300;
    struct result again;
    run_one(seed, &ro, &again, true);
    if (!again.failed || strcmp(again.why, r->why) || again.fail_ms != r->fail_ms)
        printf("REPLAY DIFFERS (the simulation is not deterministic!): %s\n",
               again.failed ? again.why : "no violation");
    printf("replay: tests/sim/sim --seed %" PRIu64 "%s%s%s%s", seed, o->rekey ? " --rekey" : "",
           o->supervisor ? "" : " --no-supervisor", o->strict_errors ? " --strict-errors" : "",
           o->lenient_continuity ? " --lenient-continuity" : "");
    if (o->features != SF_ALL) {
        printf(" --without ");
        sim_feature_print(o->features, stdout);
    }
    printf(" --verbose\n");
    fflush(stdout);
}

struct totals {
    uint64_t n, failed, rekeys, steps;
    unsigned modes; /* bit 0: a no-rekey scenario ran, bit 1: a rekey one */
};

static void run_seed(uint64_t seed, const struct sim_opts *o, struct totals *t)
{
    struct result r;
    run_one(seed, o, &r, o->verbose);
    t->n++;
    t->modes |= o->rekey ? 2u : 1u;
    t->rekeys += r.rekeys;
    t->steps += r.steps;
    if (r.failed) {
        t->failed++;
        if (t->failed <= 5 && !o->verbose)
            report_failure(seed, o, &r);
        else
            printf("VIOLATION seed %" PRIu64 " at +%.3f s: %s\n", seed, r.fail_ms / 1000.0, r.why);
    }
}

static bool parse_opt(int argc, char **argv, int *i, struct sim_opts *o);

/* A seeds file: one seed per line, optionally followed by the options it
 * needs (--rekey, --without LIST); '#' starts a comment. */
static int run_file(const char *path, const struct sim_opts *o, struct totals *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[1024];
    unsigned n = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        /* A line longer than the buffer would be read as two: say so
         * rather than run (or skip) the wrong seeds. */
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "%s:%u: line longer than %zu bytes\n", path, n, sizeof(line) - 2);
            fclose(f);
            return -1;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *argv[16];
        int argc = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && argc < 16; tok = strtok(NULL, " \t\r\n"))
            argv[argc++] = tok;
        if (!argc)
            continue;
        struct sim_opts lo = *o;
        for (int i = 1; i < argc; i++)
            if (!parse_opt(argc, argv, &i, &lo)) {
                fprintf(stderr, "%s:%u: bad option %s\n", path, n, argv[i]);
                fclose(f);
                return -1;
            }
        char *end;
        unsigned long long seed = strtoull(argv[0], &end, 0);
        if (*end) {
            fprintf(stderr, "%s:%u: not a seed: %s\n", path, n, argv[0]);
            fclose(f);
            return -1;
        }
        run_seed(seed, &lo, t);
    }
    fclose(f);
    return 0;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: sim [--first-seed S] [--count N] [--seed S] [--seeds-file F] [--rekey]\n"
        "           [--without both-auto,forced,simultaneous,restart,outage,loss,\n"
        "                      reorder,new-child,volume,tiny,mismatch,ike-rekey,close-restart]\n"
        "           [--no-supervisor] [--strict-errors] [--verbose] [--trace N]\n"
        "           [--lenient-continuity] [--keep-going (print violations, do not stop)]\n");
    exit(2);
}

/* Options that shape a scenario or its checks (also valid in a seeds file). */
static bool parse_opt(int argc, char **argv, int *i, struct sim_opts *o)
{
    const char *a = argv[*i];
    bool more = *i + 1 < argc;
    if (!strcmp(a, "--trace") && more)
        o->trace_lines = (uint32_t)strtoul(argv[++*i], NULL, 0);
    else if (!strcmp(a, "--without") && more) {
        bool ok;
        o->features &= ~sim_feature_parse(argv[++*i], &ok);
        return ok;
    } else if (!strcmp(a, "--rekey"))
        o->rekey = true;
    else if (!strcmp(a, "--no-supervisor"))
        o->supervisor = false;
    else if (!strcmp(a, "--strict-errors"))
        o->strict_errors = true;
    else if (!strcmp(a, "--lenient-continuity"))
        o->lenient_continuity = true;
    else if (!strcmp(a, "--keep-going"))
        o->keep_going = true;
    else if (!strcmp(a, "--verbose"))
        o->verbose = true;
    else
        return false;
    return true;
}

int main(int argc, char **argv)
{
    struct sim_opts o = {.supervisor = true, .features = SF_ALL};
    uint64_t first = 1, count = 0, one = 0;
    bool have_one = false;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "--first-seed") && more)
            first = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--count") && more)
            count = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--seed") && more)
            one = strtoull(argv[++i], NULL, 0), have_one = true;
        else if (!strcmp(a, "--seeds-file") && more)
            file = argv[++i];
        else if (!parse_opt(argc, argv, &i, &o))
            usage();
    }
    if (!have_one && !file && !count)
        count = 100;
    struct totals t = {0};
    clock_t c0 = clock();
    if (file && run_file(file, &o, &t) < 0)
        return 2;
    if (have_one)
        run_seed(one, &o, &t);
    for (uint64_t s = first; s < first + count; s++)
        run_seed(s, &o, &t);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("sim: %" PRIu64 " scenarios, %" PRIu64 " rekeys, %" PRIu64
           " violations (%s mode, %.1f s "
           "CPU, %.1f ms/scenario, %" PRIu64 " steps)\n",
           t.n, t.rekeys, t.failed,
           t.modes == 3   ? "mixed"
           : t.modes == 2 ? "rekey"
                          : "no-rekey",
           secs, t.n ? secs * 1000 / (double)t.n : 0.0, t.steps);
    printf("sim: %" PRIu64 " passed, %" PRIu64 " failed\n", t.n - t.failed, t.failed);
    /* The form tests/run adds up across suites. */
    printf("100%%: Checks: %" PRIu64 ", Failures: %" PRIu64 ", Errors: 0\n", t.n, t.failed);
    return t.failed ? 1 : 0;
}

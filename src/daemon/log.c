/*
 * log.c: rekeyd's log sink: stderr with a timestamp in the foreground (-f),
 * syslog (daemon facility) otherwise; -d enables debug lines.
 *
 * In the foreground, lines are buffered and written once per event-loop
 * turn (rd_log_flush, from loop.c before libev blocks): at INFO a busy
 * responder logs ~15 lines per exchange, and one write(2) per line was a
 * fifth of its CPU (tests/bench/BENCHMARKS.md). Warnings and errors are
 * written at once.
 *
 * Formatting happens only when the level is enabled (DESIGN.md 6). Callers
 * must never pass key material or a PSK; the engine's lines are already
 * free of them, and this file adds nothing but the prefix.
 */
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "rekeyd.h"

static bool to_stderr = true;
static int max_level = IKE_LOG_INFO;
static char stderr_buf[1 << 16];

void rd_log_init(bool foreground, bool debug)
{
    to_stderr = foreground;
    if (foreground)
        setvbuf(stderr, stderr_buf, _IOFBF, sizeof(stderr_buf));
    max_level = debug ? IKE_LOG_DEBUG : IKE_LOG_INFO;
    if (!foreground)
        openlog("rekeyd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool rd_log_enabled(int level)
{
    return level <= max_level;
}

static void emit(int level, const char *line)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    static const char *const tag[] = {"error", "warn", "info", "debug"};
    int l = level < 0 ? 0 : level > IKE_LOG_DEBUG ? IKE_LOG_DEBUG : level;
    if (!to_stderr) {
        syslog(prio[l], "%s", line);
        return;
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, tag[l], line);
    if (l <= IKE_LOG_WARN)
        fflush(stderr);
}

void rd_log_flush(void)
{
    if (to_stderr)
        fflush(stderr);
}

void rd_log(int level, const char *fmt, ...)
{
    if (!rd_log_enabled(level))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    emit(level, line);
}

void rd_engine_log(void *ctx, int level, const char *line)
{
    struct rekeyd *d = ctx;
    if (rd_log_enabled(level))
        emit(level, line);
    /* `rekeyctl watch` sees what the operator would see in the log. */
    if (d && d->n_clients && level <= IKE_LOG_INFO) {
        char buf[1040];
        snprintf(buf, sizeof(buf), "log %s", line);
        rd_ctl_broadcast(d, buf);
    }
}

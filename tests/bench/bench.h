/*
 * bench.h: shared parts of the engine benchmark (tests/bench).
 *
 * A counting crypto ops table (every call the engine makes into crypto is
 * counted per side, and the wrappers bw_* are the functions callgrind's
 * inclusive counts attribute to crypto), unit costs of the same primitives
 * timed in the same process, and heap / RSS probes.
 */
#ifndef IKE_BENCH_H
#define IKE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/crypto.h"

/* Groups the benchmark uses; index into the per-group counters. */
enum { BG_X25519 = 0, BG_P256, BG_MODP2048, BG_N };

struct bench_cc {
    uint64_t prf, prf_bytes;
    uint64_t ke_new[BG_N], ke_derive[BG_N];
    uint64_t seal, seal_bytes, open, open_bytes;
    uint64_t sha1, other;
};

/* Where the wrappers count: set before each engine call (one thread). */
extern struct bench_cc *bench_cc_cur;
/* The counting ops table, forwarding to ike_crypto_openssl(). */
const struct ike_crypto_ops *bench_crypto_ops(void);
/* Switch the table between the counting wrappers and the plain OpenSSL
 * functions (callgrind runs: only measured calls may enter bw_*, which
 * toggle collection). Engines keep the table's address, so this applies
 * to the next call. */
void bench_crypto_counting(bool on);

/* Unit costs in microseconds of CPU time, measured now. */
struct bench_unit {
    double keygen[BG_N], derive[BG_N];
    double prf_fixed, prf_per_byte; /* HMAC-SHA256: a + b * bytes */
    double seal_fixed, seal_per_byte, open_fixed, open_per_byte;
    double sha1;
};
/* Time each primitive for about ms_each milliseconds of CPU. groups_mask:
 * bit g = time group g (MODP keygen is slow: time only what is used). */
void bench_unit_measure(struct bench_unit *u, unsigned groups_mask, double ms_each);
/* Crypto microseconds that the counted calls cost at these unit costs. */
double bench_cc_cost(const struct bench_cc *cc, const struct bench_unit *u);
/* Perform the crypto work c counts (same calls, same average sizes) and
 * return the CPU nanoseconds it took: run between exchanges, it sees the
 * machine as the engine did. */
uint64_t bench_replay_ns(const struct bench_cc *c);
void bench_cc_sub(struct bench_cc *to, const struct bench_cc *from);
void bench_cc_add(struct bench_cc *to, const struct bench_cc *from);

/* Heap bytes (malloc_usable_size) allocated and not freed, by the
 * context current when allocated/freed (bench_heap.c, linker wrapping). */
enum { BH_OTHER = 0, BH_ENGINE, BH_KMEM, BH_N };
extern int64_t bench_heap[BH_N];
extern int bench_heap_ctx;

/* CPU time of this thread in nanoseconds. */
uint64_t bench_cpu_ns(void);
/* Bytes of heap in use (mallinfo2 uordblks + hblkhd). */
int64_t bench_heap_bytes(void);
/* Fields of /proc/self/status in KiB (0 when missing). */
struct bench_rss {
    long rss, anon, file;
};
void bench_rss_read(struct bench_rss *r);

#endif

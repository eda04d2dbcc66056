/*
 * bench_sizes.c: the engine's fixed costs (DESIGN.md section 6): sizes of
 * its per-SA structures, and the idle RSS (anonymous / file-backed) of a
 * process holding one engine with one connection, OpenSSL loaded and used
 * once. It links the engine, crypto and both kernel backends, so its
 * stripped text is what those libraries add to a program (the runner
 * measures it with `size`). Reads private headers; changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "core.h"
#include "ike/kernel_memory.h"
#include "ike/xfrm.h"

static void rnd(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    memset(buf, 0x5a, n);
}

int main(void)
{
    printf("sizeof(struct ike_sa)    %zu\n", sizeof(struct ike_sa));
    printf("sizeof(struct ike_child) %zu\n", sizeof(struct ike_child));
    printf("sizeof(struct ike_conn)  %zu\n", sizeof(struct ike_conn));
    printf("sizeof(ike_sa + ike_child) %zu\n", sizeof(struct ike_sa) + sizeof(struct ike_child));
    struct bench_rss r0, r1;
    bench_rss_read(&r0);
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = rnd;
    struct ike_engine *e = ike_engine_new(&o);
    struct ike_kmem *m = ike_kmem_new();
    struct ike_kernel_backend kb;
    ike_kmem_backend_init(m, &kb, false);
    /* Keep the XFRM backend linked in (as rekeyd links it); not called. */
    int (*volatile xfrm_new)(struct ike_kernel_backend *) = ike_xfrm_backend_new;
    struct ike_conn_cfg c;
    ike_conn_cfg_defaults(&c);
    snprintf(c.name, sizeof(c.name), "idle");
    c.n_ike = c.n_esp = 1;
    c.ike[0] = (struct ike_prop_cfg){.n_encr = 1, .n_prf = 1, .n_dh = 1};
    c.ike[0].encr[0].id = ENCR_AES_GCM_16;
    c.ike[0].encr[0].keylen = 256;
    c.ike[0].prf[0] = PRF_HMAC_SHA2_256;
    c.ike[0].dh[0] = CURVE25519;
    c.esp[0] = c.ike[0];
    /* Use OpenSSL once, as a daemon has after its first exchange. */
    struct ike_ke *k;
    uint8_t pub[64];
    size_t len;
    if (!e || !m || ike_engine_add_conn(e, &c) < 0 ||
        o.crypto->ke_new(CURVE25519, NULL, 0, &k, pub, sizeof(pub), &len) < 0) {
        fprintf(stderr, "bench_sizes: setup failed\n");
        return 1;
    }
    o.crypto->ke_free(k);
    bench_rss_read(&r1);
    printf("idle RSS %ld KiB: anon %ld KiB, file %ld KiB (before the engine: %ld / %ld / %ld)\n",
           r1.rss, r1.anon, r1.file, r0.rss, r0.anon, r0.file);
    printf("xfrm backend linked: %s\n", xfrm_new ? "yes" : "no");
    ike_engine_free(e);
    ike_kmem_free(m);
    return 0;
}

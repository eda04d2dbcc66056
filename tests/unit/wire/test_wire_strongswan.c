/*
 * test_wire_strongswan.c: decode the real IKEv2 datagrams two strongSwan
 * 5.9.8 charons exchanged (tests/data/strongswan, see its README). Every
 * IKE_SA_INIT message is decoded fully (header, chain, SA, KE, Nonce,
 * Notify) and checked against values read from the capture with an
 * independent parser, and against the rules table; every other captured
 * message must decode as header + chain ending in SK and pass the outer
 * rules. An independent check of our reading of RFC 7296 section 3.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "malformed_cases.h"
#include "wire_harness.h"
#include "ck_main.h"

#define MAX_XF 6
#define MAX_N  8

struct sa_init_expect {
    const char *file;
    bool response;
    uint64_t spi_i, spi_r;
    uint16_t group; /* 0: an error response without KE */
    size_t ke_len, nonce_len;
    size_t n_xf;
    struct ike_transform xf[MAX_XF];
    size_t n_notify;
    uint16_t notify[MAX_N];
};

#define GCM256                                                                                     \
    {                                                                                              \
        IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 256                                                   \
    }
#define CBC256                                                                                     \
    {                                                                                              \
        IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 256                                                      \
    }
#define CBC128                                                                                     \
    {                                                                                              \
        IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 128                                                      \
    }
#define SHA256I                                                                                    \
    {                                                                                              \
        IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128, 0                                             \
    }
#define PRF256                                                                                     \
    {                                                                                              \
        IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_256, 0                                                    \
    }
#define DH(g)                                                                                      \
    {                                                                                              \
        IKE_TRANSFORM_DH, g, 0                                                                     \
    }
/* NATD_S, NATD_D, FRAGMENTATION_SUPPORTED, SIGNATURE_HASH_ALGORITHMS, then
 * REDIRECT_SUPPORTED (16406) in requests, CHILDLESS + MULTIPLE_AUTH
 * (16404) in responses: types rekeyd has no name for are still decoded. */
#define N_REQ                                                                                      \
    5,                                                                                             \
    {                                                                                              \
        16388, 16389, 16430, 16431, 16406                                                          \
    }
#define N_RESP                                                                                     \
    6,                                                                                             \
    {                                                                                              \
        16388, 16389, 16430, 16431, 16418, 16404                                                   \
    }

static const struct sa_init_expect expects[] = {
    {"a/01-IKE_SA_INIT-req.hex",
     false,
     0x5d376a2c72d46723ULL,
     0,
     CURVE25519,
     32,
     32,
     3,
     {GCM256, PRF256, DH(CURVE25519)},
     N_REQ},
    {"a/02-IKE_SA_INIT-resp.hex",
     true,
     0x5d376a2c72d46723ULL,
     0x014db87f7149ba24ULL,
     CURVE25519,
     32,
     32,
     3,
     {GCM256, PRF256, DH(CURVE25519)},
     N_RESP},
    {"b/01-IKE_SA_INIT-req.hex",
     false,
     0,
     0,
     MODP_2048,
     256,
     32,
     4,
     {CBC256, SHA256I, PRF256, DH(MODP_2048)},
     N_REQ},
    {"b/02-IKE_SA_INIT-resp.hex",
     true,
     0,
     0,
     MODP_2048,
     256,
     32,
     4,
     {CBC256, SHA256I, PRF256, DH(MODP_2048)},
     N_RESP},
    /* c: MODP-2048 KE refused with INVALID_KE_PAYLOAD(19), then ECP-256 */
    {"c/01-IKE_SA_INIT-req.hex",
     false,
     0,
     0,
     MODP_2048,
     256,
     32,
     5,
     {CBC128, SHA256I, PRF256, DH(MODP_2048), DH(ECP_256)},
     N_REQ},
    {"c/02-IKE_SA_INIT-resp.hex", true, 0, 0, 0, 0, 0, 0, {{0}}, 1, {IKE_N_INVALID_KE_PAYLOAD}},
    {"c/03-IKE_SA_INIT-req.hex",
     false,
     0,
     0,
     ECP_256,
     64,
     32,
     5,
     {CBC128, SHA256I, PRF256, DH(ECP_256), DH(MODP_2048)},
     N_REQ},
    {"c/04-IKE_SA_INIT-resp.hex",
     true,
     0,
     0,
     ECP_256,
     64,
     32,
     4,
     {CBC128, SHA256I, PRF256, DH(ECP_256)},
     N_RESP},
};

static uint8_t msg[IKE_MAX_MSG_LEN];
static char hex[2 * IKE_MAX_MSG_LEN + 2];

static size_t load(const char *rel)
{
    const char *dir = getenv("REKEYD_TESTDATA");
    char path[4096];
    ck_assert_msg(dir != NULL, "REKEYD_TESTDATA is not set");
    snprintf(path, sizeof(path), "%s/strongswan/%s", dir, rel);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_ptr_nonnull(fgets(hex, sizeof(hex), f));
    fclose(f);
    hex[strcspn(hex, "\r\n")] = 0;
    int n = malformed_unhex(hex, msg, sizeof(msg));
    ck_assert_msg(n >= IKE_HDR_LEN, "%s: bad hex", rel);
    return (size_t)n;
}

static void check_sa(const struct sa_init_expect *x, const struct ike_payload_list *l)
{
    static struct ike_sa_payload sa;
    const struct ike_payload *pl = ike_payload_find(l, IKE_PL_SA, 0);
    ck_assert_ptr_nonnull(pl);
    ck_assert_int_eq(ike_sa_decode(pl->body, &sa), IKE_OK);
    ck_assert_uint_eq(sa.n_proposals, 1);
    ck_assert_uint_eq(sa.p[0].num, 1);
    ck_assert_uint_eq(sa.p[0].proto, IKE_PROTO_IKE);
    ck_assert_uint_eq(sa.p[0].spi_size, 0);
    ck_assert_uint_eq(sa.p[0].n_transforms, x->n_xf);
    for (size_t i = 0; i < x->n_xf; i++) {
        const struct ike_transform *t = &sa.p[0].t[i];
        ck_assert_msg(t->type == x->xf[i].type && t->id == x->xf[i].id &&
                          t->keylen == x->xf[i].keylen,
                      "%s transform %zu: %s %s/%u", x->file, i, ike_transform_type_name(t->type),
                      ike_transform_name(t->type, t->id), t->keylen);
    }
}

START_TEST(sa_init_decodes)
{
    const struct sa_init_expect *x = &expects[_i];
    struct harness_msg m;
    size_t n = load(x->file);
    ck_assert_int_eq(harness_decode_msg(msg, n, &m), IKE_OK);
    ck_assert_uint_eq(m.hdr.exchange, IKE_SA_INIT);
    ck_assert_uint_eq(m.hdr.msg_id, 0);
    ck_assert_uint_eq(m.hdr.version, IKE_VERSION_2);
    ck_assert(((m.hdr.flags & IKE_FLAG_RESPONSE) != 0) == x->response);
    ck_assert(((m.hdr.flags & IKE_FLAG_INITIATOR) != 0) == !x->response);
    if (x->spi_i)
        ck_assert(m.hdr.spi_i == x->spi_i);
    if (!x->response)
        ck_assert(m.hdr.spi_r == 0);
    if (x->spi_r)
        ck_assert(m.hdr.spi_r == x->spi_r);

    struct ike_notify_payload no;
    const struct ike_payload *pl;
    size_t k = 0;
    for (; (pl = ike_payload_find(&m.outer, IKE_PL_NOTIFY, k)) != NULL; k++) {
        ck_assert_int_eq(ike_notify_decode(pl->body, &no), IKE_OK);
        ck_assert_uint_lt(k, x->n_notify);
        ck_assert_uint_eq(no.type, x->notify[k]);
        ck_assert_uint_eq(no.spi_size, 0);
        if (no.type == IKE_N_NAT_DETECTION_SOURCE_IP)
            ck_assert_uint_eq(no.data.len, 20);  /* SHA-1 hash, 2.23 */
        if (no.type == IKE_N_INVALID_KE_PAYLOAD) /* 1.2: the group wanted */
            ck_assert_mem_eq(no.data.p, "\x00\x13", 2);
    }
    ck_assert_uint_eq(k, x->n_notify);

    int rc = ike_payload_rules_check(IKE_SA_INIT, harness_kind(&m.hdr), &m.outer, NULL);
    ck_assert_msg(rc == IKE_OK, "%s: rules: %s", x->file, ike_err_str(rc));
    if (x->group == 0) {
        ck_assert_uint_eq(m.outer.n, 1);
        return;
    }
    check_sa(x, &m.outer);
    struct ike_ke_payload ke;
    ck_assert_int_eq(ike_ke_decode(ike_payload_find(&m.outer, IKE_PL_KE, 0)->body, &ke), IKE_OK);
    ck_assert_uint_eq(ke.group, x->group);
    ck_assert_uint_eq(ke.data.len, x->ke_len);
    struct ike_view nonce;
    ck_assert_int_eq(ike_nonce_decode(ike_payload_find(&m.outer, IKE_PL_NONCE, 0)->body, &nonce),
                     IKE_OK);
    ck_assert_uint_eq(nonce.len, x->nonce_len);
}
END_TEST

/* Nonce Ni of case a is the one keys.txt records (a check of the view). */
START_TEST(nonce_matches_keys_txt)
{
    static const uint8_t ni_a[] = {0x3d, 0x52, 0xd5, 0xb5, 0xcc, 0xd4, 0x3d, 0xc8};
    struct harness_msg m;
    struct ike_view nonce;
    size_t n = load("a/01-IKE_SA_INIT-req.hex");
    ck_assert_int_eq(harness_decode_msg(msg, n, &m), IKE_OK);
    ck_assert_int_eq(ike_nonce_decode(ike_payload_find(&m.outer, IKE_PL_NONCE, 0)->body, &nonce),
                     IKE_OK);
    ck_assert_mem_eq(nonce.p, ni_a, sizeof(ni_a));
}
END_TEST

/* Every other captured message: header and an outer chain that is one SK
 * payload whose next-payload names a plausible first inner payload. */
START_TEST(every_capture_decodes)
{
    const char *dir = getenv("REKEYD_TESTDATA");
    char top[4096];
    ck_assert_ptr_nonnull(dir);
    snprintf(top, sizeof(top), "%s/strongswan", dir);
    size_t seen = 0;
    for (char c = 'a'; c <= 'z'; c++) {
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/%c", top, c);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0)
                continue;
            char rel[600];
            snprintf(rel, sizeof(rel), "%c/%s", c, e->d_name);
            struct harness_msg m;
            size_t n = load(rel);
            ck_assert_msg(harness_decode_msg(msg, n, &m) == IKE_OK, "%s does not decode", rel);
            seen++;
            if (m.hdr.exchange == IKE_SA_INIT)
                continue;
            ck_assert_uint_eq(m.outer.n, 1);
            ck_assert_uint_eq(m.outer.pl[0].type, IKE_PL_SK);
            int rc = ike_payload_rules_check(m.hdr.exchange, harness_kind(&m.hdr), &m.outer, NULL);
            ck_assert_msg(rc == IKE_OK, "%s: rules: %s", rel, ike_err_str(rc));
            /* 1.2-1.5: IDi, N, SA, D, or nothing (an empty INFORMATIONAL). */
            ck_assert_msg(strcmp(ike_payload_name(m.outer.sk_inner_first), "UNKNOWN") != 0,
                          "%s: inner first %u", rel, m.outer.sk_inner_first);
        }
        closedir(d);
    }
    ck_assert_uint_ge(seen, 36);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_strongswan");
    TCase *tc = tcase_create("captures");
    tcase_add_loop_test(tc, sa_init_decodes, 0, (int)(sizeof(expects) / sizeof(expects[0])));
    tcase_add_test(tc, nonce_matches_keys_txt);
    tcase_add_test(tc, every_capture_decodes);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

/*
 * conf_prop.c: ike= / esp= proposal lists in strongSwan's syntax
 * ("aes256gcm16-prfsha256-x25519,aes256-sha256-modp2048") and durations
 * ("28800", "45s", "3m", "1h", "1d").
 *
 * Each dash-separated token names one transform (RFC 7296 3.3.2 types);
 * a proposal collects alternatives per type. Rules kept from strongSwan:
 * a non-AEAD IKE proposal without prf takes the PRF matching its integrity
 * algorithm; AEAD and non-AEAD ciphers do not mix; ESP carries no PRF.
 * Must not accept anything it does not know: an unknown token is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/conf.h"
#include "ike/err.h"
#include "ike/types.h"

struct tok {
    const char *name;
    uint8_t type; /* IKE_TRANSFORM_*; 0xff = esn/noesn */
    uint16_t id;
    uint16_t keylen;
};

#define T_ESN 0xff

static const struct tok toks[] = {
    {"aes128", IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 128},
    {"aes", IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 128},
    {"aes192", IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 192},
    {"aes256", IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 256},
    {"aes128gcm8", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_8, 128},
    {"aes192gcm8", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_8, 192},
    {"aes256gcm8", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_8, 256},
    {"aes128gcm12", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_12, 128},
    {"aes192gcm12", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_12, 192},
    {"aes256gcm12", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_12, 256},
    {"aes128gcm16", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 128},
    {"aes192gcm16", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 192},
    {"aes256gcm16", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 256},
    {"aes128gcm", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 128},
    {"aes192gcm", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 192},
    {"aes256gcm", IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 256},
    {"chacha20poly1305", IKE_TRANSFORM_ENCR, ENCR_CHACHA20_POLY1305, 0},
    {"sha1", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA1_96, 0},
    {"sha", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA1_96, 0},
    {"sha256", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128, 0},
    {"sha2_256", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128, 0},
    {"sha384", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_384_192, 0},
    {"sha2_384", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_384_192, 0},
    {"sha512", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_512_256, 0},
    {"sha2_512", IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_512_256, 0},
    {"prfsha1", IKE_TRANSFORM_PRF, PRF_HMAC_SHA1, 0},
    {"prfsha256", IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_256, 0},
    {"prfsha384", IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_384, 0},
    {"prfsha512", IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_512, 0},
    {"modp2048", IKE_TRANSFORM_DH, MODP_2048, 0},
    {"modp3072", IKE_TRANSFORM_DH, MODP_3072, 0},
    {"modp4096", IKE_TRANSFORM_DH, MODP_4096, 0},
    {"ecp256", IKE_TRANSFORM_DH, ECP_256, 0},
    {"ecp384", IKE_TRANSFORM_DH, ECP_384, 0},
    {"ecp521", IKE_TRANSFORM_DH, ECP_521, 0},
    {"x25519", IKE_TRANSFORM_DH, CURVE25519, 0},
    {"curve25519", IKE_TRANSFORM_DH, CURVE25519, 0},
    {"x448", IKE_TRANSFORM_DH, CURVE448, 0},
    {"curve448", IKE_TRANSFORM_DH, CURVE448, 0},
    {"esn", T_ESN, 1, 0},
    {"noesn", T_ESN, 0, 0},
};

static const struct tok *find_tok(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
        if (strlen(toks[i].name) == n && !strncmp(toks[i].name, s, n))
            return &toks[i];
    return NULL;
}

static bool is_aead(uint16_t encr)
{
    return encr == ENCR_AES_GCM_8 || encr == ENCR_AES_GCM_12 || encr == ENCR_AES_GCM_16 ||
           encr == ENCR_CHACHA20_POLY1305;
}

static uint16_t prf_of_integ(uint16_t integ)
{
    switch (integ) {
    case AUTH_HMAC_SHA1_96:
        return PRF_HMAC_SHA1;
    case AUTH_HMAC_SHA2_384_192:
        return PRF_HMAC_SHA2_384;
    case AUTH_HMAC_SHA2_512_256:
        return PRF_HMAC_SHA2_512;
    default:
        return PRF_HMAC_SHA2_256;
    }
}

static int add_tok(struct ike_prop_cfg *p, const struct tok *t, bool esp)
{
    switch (t->type) {
    case IKE_TRANSFORM_ENCR:
        if (p->n_encr == IKE_CFG_ALGS)
            return IKE_ERR_TOO_MANY;
        p->encr[p->n_encr].id = t->id;
        p->encr[p->n_encr++].keylen = t->keylen;
        return 0;
    case IKE_TRANSFORM_INTEG:
        if (p->n_integ == IKE_CFG_ALGS)
            return IKE_ERR_TOO_MANY;
        p->integ[p->n_integ++] = t->id;
        return 0;
    case IKE_TRANSFORM_PRF:
        if (esp || p->n_prf == IKE_CFG_ALGS)
            return esp ? IKE_ERR_INVALID_ARG : IKE_ERR_TOO_MANY;
        p->prf[p->n_prf++] = t->id;
        return 0;
    case IKE_TRANSFORM_DH:
        if (p->n_dh == IKE_CFG_ALGS)
            return IKE_ERR_TOO_MANY;
        p->dh[p->n_dh++] = t->id;
        return 0;
    default: /* esn / noesn */
        if (!esp)
            return IKE_ERR_INVALID_ARG;
        p->esn = p->esn || t->id;
        return 0;
    }
}

/* Completes and checks one proposal (the rules in the file comment). */
static int finish(struct ike_prop_cfg *p, bool esp)
{
    if (!p->n_encr)
        return IKE_ERR_INVALID_ARG;
    bool aead = is_aead(p->encr[0].id);
    for (uint8_t i = 1; i < p->n_encr; i++)
        if (is_aead(p->encr[i].id) != aead)
            return IKE_ERR_INVALID_ARG;
    if (aead && p->n_integ)
        return IKE_ERR_INVALID_ARG;
    if (!aead && !p->n_integ)
        return IKE_ERR_INVALID_ARG;
    if (esp)
        return 0;
    if (!p->n_dh)
        return IKE_ERR_INVALID_ARG;
    if (!p->n_prf) {
        if (aead)
            return IKE_ERR_INVALID_ARG; /* AEAD has no integ to derive it */
        for (uint8_t i = 0; i < p->n_integ; i++) {
            uint16_t prf = prf_of_integ(p->integ[i]);
            bool dup = false;
            for (uint8_t k = 0; k < p->n_prf; k++)
                dup |= p->prf[k] == prf;
            if (!dup)
                p->prf[p->n_prf++] = prf;
        }
    }
    return 0;
}

static int parse_one(const char *s, size_t n, bool esp, struct ike_prop_cfg *p)
{
    memset(p, 0, sizeof(*p));
    if (n && s[n - 1] == '!') /* strongSwan's "strict" mark: we are always strict */
        n--;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '-')
            j++;
        const struct tok *t = find_tok(s + i, j - i);
        if (!t || add_tok(p, t, esp) < 0)
            return IKE_ERR_INVALID_ARG;
        i = j + 1;
    }
    return finish(p, esp);
}

int ike_conf_parse_proposals(const char *s, bool esp, struct ike_prop_cfg *props, uint8_t *n)
{
    *n = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (*n == IKE_CFG_PROPOSALS || parse_one(s, len, esp, &props[*n]) < 0)
            return IKE_ERR_INVALID_ARG;
        (*n)++;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

int ike_conf_parse_duration(const char *s, uint64_t *ms)
{
    char *end;
    if (*s < '0' || *s > '9')
        return IKE_ERR_INVALID_ARG;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mult = 1000;
    if (*end) {
        switch (*end) {
        case 's':
            mult = 1000;
            break;
        case 'm':
            mult = 60 * 1000ULL;
            break;
        case 'h':
            mult = 3600 * 1000ULL;
            break;
        case 'd':
            mult = 86400 * 1000ULL;
            break;
        default:
            return IKE_ERR_INVALID_ARG;
        }
        if (end[1])
            return IKE_ERR_INVALID_ARG;
    }
    if (v > UINT64_MAX / mult / 2)
        return IKE_ERR_INVALID_ARG;
    *ms = v * mult;
    return 0;
}

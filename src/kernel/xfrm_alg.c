/*
 * xfrm_alg.c: the one table from IKE transform IDs (RFC 7296 3.3.2, IANA)
 * to Linux crypto API names and ICV/truncation lengths for XFRM SAs.
 *
 * ICV and truncation lengths come from the ESP RFCs: RFC 2404 (SHA1-96),
 * RFC 4868 (SHA2-256-128, -384-192, -512-256), RFC 4106 (GCM ICV 8/12/16
 * with a 4-octet salt), RFC 7634 (ChaCha20-Poly1305, 16-octet tag, 4-octet
 * salt). Pure data: no I/O, no Linux headers.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/types.h"
#include "ike/xfrm.h"

struct alg_row {
    uint16_t id;
    struct ike_xfrm_alg alg;
};

static const struct alg_row encr_rows[] = {
    {ENCR_AES_CBC, {"cbc(aes)", 0, 0, 0, false}},
    {ENCR_AES_GCM_8, {"rfc4106(gcm(aes))", 64, 0, 4, true}},
    {ENCR_AES_GCM_12, {"rfc4106(gcm(aes))", 96, 0, 4, true}},
    {ENCR_AES_GCM_16, {"rfc4106(gcm(aes))", 128, 0, 4, true}},
    {ENCR_CHACHA20_POLY1305, {"rfc7539esp(chacha20,poly1305)", 128, 256, 4, true}},
};

static const struct alg_row integ_rows[] = {
    {AUTH_HMAC_SHA1_96, {"hmac(sha1)", 96, 160, 0, false}},
    {AUTH_HMAC_SHA2_256_128, {"hmac(sha256)", 128, 256, 0, false}},
    {AUTH_HMAC_SHA2_384_192, {"hmac(sha384)", 192, 384, 0, false}},
    {AUTH_HMAC_SHA2_512_256, {"hmac(sha512)", 256, 512, 0, false}},
};

static int find(const struct alg_row *rows, size_t n, uint16_t id, struct ike_xfrm_alg *out)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i].id == id) {
            *out = rows[i].alg;
            return 0;
        }
    }
    memset(out, 0, sizeof(*out));
    return IKE_ERR_UNSUPPORTED_ALG;
}

int ike_xfrm_alg_encr(uint16_t encr_id, struct ike_xfrm_alg *out)
{
    return find(encr_rows, sizeof(encr_rows) / sizeof(encr_rows[0]), encr_id, out);
}

int ike_xfrm_alg_integ(uint16_t integ_id, struct ike_xfrm_alg *out)
{
    return find(integ_rows, sizeof(integ_rows) / sizeof(integ_rows[0]), integ_id, out);
}

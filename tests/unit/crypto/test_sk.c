/*
 * test_sk.c: SK payload protection and the ciphers under it. Known
 * answers: RFC 3602 (AES-CBC cases 1-4), RFC 8439 2.8.2 (ChaCha20-Poly1305
 * AEAD) and RFC 7634 Appendix B (a whole IKEv2 message sealed with
 * ChaCha20-Poly1305, byte for byte). The CBC+HMAC and AES-GCM layouts are
 * recomputed independently in the test. Round trips for every cipher and
 * integrity combination, a flipped bit anywhere gives IKE_ERR_INTEGRITY,
 * authentic but bad padding gives IKE_ERR_BAD_PADDING.
 */
#include <openssl/evp.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "internal.h"
#include "ck_main.h"
#include "hex.h"

struct cbc_vec {
    const char *key, *iv, *plain, *cipher;
};

/* RFC 3602 section 4, cases 1-4 (plaintexts of cases 1 and 3 are ASCII). */
static const struct cbc_vec rfc3602[] = {
    {"06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
     "53696e676c6520626c6f636b206d7367", /* "Single block msg" */
     "e353779c1079aeb82708942dbe77181a"},
    {"c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
    {"6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81", NULL,
     "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
     "021c19216bad525c8579695d83ba2684"},
    {"56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
     "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
     "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
     "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"},
};

START_TEST(rfc3602_cbc)
{
    const struct cbc_vec *v = &rfc3602[_i];
    uint8_t key[16], iv[16], plain[64], want[64], out[64];
    size_t plen;
    hex_decode(v->key, key, sizeof(key));
    hex_decode(v->iv, iv, sizeof(iv));
    if (v->plain != NULL) {
        plen = hex_decode(v->plain, plain, sizeof(plain));
    } else {
        plen = 48;
        memcpy(plain, "This is a 48-byte message (exactly 3 AES blocks)", 48);
    }
    ck_assert_uint_eq(hex_decode(v->cipher, want, sizeof(want)), plen);
    ck_assert_int_eq(ike_crypto_cbc(1, key, 16, iv, plain, plen, out), IKE_OK);
    ck_assert_mem_eq(out, want, plen);
    ck_assert_int_eq(ike_crypto_cbc(0, key, 16, iv, want, plen, out), IKE_OK);
    ck_assert_mem_eq(out, plain, plen);
    ck_assert_int_eq(ike_crypto_cbc(1, key, 16, iv, plain, 15, out), IKE_ERR_INVALID_ARG);
}
END_TEST

/* RFC 8439 2.8.2 */
START_TEST(rfc8439_aead)
{
    static const char *plain_txt = "Ladies and Gentlemen of the class of '99: If I could offer "
                                   "you only one tip for the future, sunscreen would be it.";
    uint8_t key[32], nonce[12], aad[12], ct[114], want[114], tag[16], out[114];
    hex_decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
    hex_decode("07000000 4041424344454647", nonce, 12);
    hex_decode("50515253c0c1c2c3c4c5c6c7", aad, 12);
    hex_decode("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
               "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
               "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
               "3ff4def08e4b7a9de576d26586cec64b6116",
               want, sizeof(want));
    ck_assert_uint_eq(strlen(plain_txt), 114);
    ck_assert_int_eq(ike_crypto_aead(1, ENCR_CHACHA20_POLY1305, key, 32, nonce, aad, 12,
                                     (const uint8_t *)plain_txt, 114, ct, tag, 16),
                     IKE_OK);
    ck_assert_mem_eq(ct, want, 114);
    ck_assert_hex_eq(tag, 16, "1ae10b594f09e26a7e902ecbd0600691");
    ck_assert_int_eq(
        ike_crypto_aead(0, ENCR_CHACHA20_POLY1305, key, 32, nonce, aad, 12, ct, 114, out, tag, 16),
        IKE_OK);
    ck_assert_mem_eq(out, plain_txt, 114);
    /* A changed AAD byte fails, and no plaintext is left behind. */
    aad[0] ^= 1;
    ck_assert_int_eq(
        ike_crypto_aead(0, ENCR_CHACHA20_POLY1305, key, 32, nonce, aad, 12, ct, 114, out, tag, 16),
        IKE_ERR_INTEGRITY);
    ck_assert_int_ne(memcmp(out, plain_txt, 16), 0);
}
END_TEST

static struct ike_key key_of(const char *hex)
{
    struct ike_key k;
    uint8_t b[IKE_KEY_MAX];
    size_t n = hex_decode(hex, b, sizeof(b));
    ck_assert_int_eq(ike_key_set(&k, b, n), IKE_OK);
    return k;
}

/* RFC 7634 Appendix B: an INFORMATIONAL request with one Notify payload,
 * sealed with ChaCha20-Poly1305; the whole message is given. */
START_TEST(rfc7634_ikev2_message)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct ike_key ke = key_of("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                               "a0a1a2a3");
    struct ike_sk_params sp = {.key_e = &ke};
    ck_assert_int_eq(ike_alg_encr(ENCR_CHACHA20_POLY1305, 0, &sp.encr), IKE_OK);
    ck_assert_int_eq(ike_alg_integ(AUTH_NONE, &sp.integ), IKE_OK);
    uint8_t buf[128], iv[8], notify[12], plain[64];
    size_t out_len, plain_len;
    /* IKE header with zero lengths, SK header (next payload Notify = 41). */
    hex_decode("c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e202500 00000009 00000000 29000000", buf, 32);
    hex_decode("1011121314151617", iv, 8);
    hex_decode("0000000c000040010000000a", notify, 12);
    ck_assert_int_eq(c->sk_seal(&sp, buf, sizeof(buf), 32, 28, notify, 12, iv, &out_len), IKE_OK);
    ck_assert_hex_eq(buf, out_len,
                     "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e20250000000009000000452900002910111213"
                     "14151617610394701f8d017f7c12924889 6b71bfe25236efd7cdc670669063 15b2");
    ck_assert_int_eq(c->sk_open(&sp, buf, out_len, 32, plain, sizeof(plain), &plain_len), IKE_OK);
    ck_assert_uint_eq(plain_len, 12);
    ck_assert_mem_eq(plain, notify, 12);
}
END_TEST

/* One cipher/integrity combination for the table-driven tests. */
struct combo {
    uint16_t encr, key_bits, integ;
};

static const struct combo combos[] = {
    {ENCR_AES_CBC, 128, AUTH_HMAC_SHA1_96},
    {ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128},
    {ENCR_AES_CBC, 192, AUTH_HMAC_SHA2_384_192},
    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_512_256},
    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA1_96},
    {ENCR_AES_CBC, 192, AUTH_HMAC_SHA2_256_128},
    {ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_384_192},
    {ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_512_256},
    {ENCR_AES_GCM_8, 128, AUTH_NONE},
    {ENCR_AES_GCM_12, 192, AUTH_NONE},
    {ENCR_AES_GCM_16, 256, AUTH_NONE},
    {ENCR_AES_GCM_16, 128, AUTH_NONE},
    {ENCR_AES_GCM_16, 192, AUTH_NONE},
    {ENCR_AES_GCM_8, 256, AUTH_NONE},
    {ENCR_AES_GCM_12, 128, AUTH_NONE},
    {ENCR_CHACHA20_POLY1305, 0, AUTH_NONE},
};
#define N_COMBOS ((int)(sizeof(combos) / sizeof(combos[0])))

struct sk_fixture {
    struct ike_key ke, ka;
    struct ike_sk_params sp;
};

static void setup_combo(struct sk_fixture *f, const struct combo *cb)
{
    uint8_t b[IKE_KEY_MAX];
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(ike_alg_encr(cb->encr, cb->key_bits, &f->sp.encr), IKE_OK);
    ck_assert_int_eq(ike_alg_integ(cb->integ, &f->sp.integ), IKE_OK);
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(0x40 + 3 * i);
    ck_assert_int_eq(ike_key_set(&f->ke, b, f->sp.encr.key_len), IKE_OK);
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(0x91 ^ i);
    ck_assert_int_eq(ike_key_set(&f->ka, b, f->sp.integ.key_len), IKE_OK);
    f->sp.key_e = &f->ke;
    f->sp.key_a = &f->ka;
}

/* IKE header + `extra` bytes of an unencrypted payload + SK header. */
static size_t write_headers(uint8_t *buf, size_t extra)
{
    memset(buf, 0, IKE_HDR_LEN + extra + 4);
    for (int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0xc0 + i);
    buf[16] = extra ? IKE_PL_VENDOR : IKE_PL_SK;
    buf[17] = IKE_VERSION_2;
    buf[18] = INFORMATIONAL;
    buf[19] = IKE_FLAG_INITIATOR;
    buf[23] = 7; /* message ID */
    for (size_t i = 0; i < extra; i++)
        buf[IKE_HDR_LEN + i] = (uint8_t)i;
    if (extra) {
        buf[IKE_HDR_LEN] = IKE_PL_SK;
        buf[IKE_HDR_LEN + 3] = (uint8_t)extra;
    }
    buf[IKE_HDR_LEN + extra] = IKE_PL_NOTIFY;
    return IKE_HDR_LEN + extra + 4;
}

static const uint8_t test_iv[16] = {0x5e, 0x1d, 0x02, 0x93, 0x44, 0xa5, 0x06, 0x77,
                                    0x18, 0xc9, 0x3a, 0x0b, 0xfc, 0x0d, 0x6e, 0x1f};

static size_t seal_msg(const struct sk_fixture *f, uint8_t *buf, size_t cap, size_t extra,
                       const uint8_t *plain, size_t plain_len)
{
    size_t aad = write_headers(buf, extra), out_len = 0;
    ck_assert_int_eq(ike_crypto_openssl()->sk_seal(&f->sp, buf, cap, aad, aad - 4, plain, plain_len,
                                                   test_iv, &out_len),
                     IKE_OK);
    return out_len;
}

START_TEST(round_trips)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 31, 100, 1000};
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct sk_fixture f;
    uint8_t plain[1000], buf[1200], out[1200];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 7 + 1);
    setup_combo(&f, &combos[_i]);
    size_t icv = f.sp.encr.aead ? f.sp.encr.icv_len : f.sp.integ.icv_len;
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        for (size_t extra = 0; extra <= 8; extra += 8) {
            size_t n = lens[li], out_len;
            size_t len = seal_msg(&f, buf, sizeof(buf), extra, plain, n);
            size_t aad = IKE_HDR_LEN + extra + 4;
            size_t body = len - aad - f.sp.encr.iv_len - icv;
            /* Lengths written into the IKE and SK headers. */
            ck_assert_uint_eq((size_t)buf[24] << 24 | buf[25] << 16 | buf[26] << 8 | buf[27], len);
            ck_assert_uint_eq((size_t)buf[aad - 2] << 8 | buf[aad - 1], len - (aad - 4));
            /* CBC pads to whole blocks; AEAD sends no padding (RFC 7634 3). */
            ck_assert_uint_eq(body % f.sp.encr.block_len, 0);
            ck_assert_uint_eq(body, f.sp.encr.aead ? n + 1 : (n + 16) / 16 * 16);
            ck_assert_mem_eq(buf + aad, test_iv, f.sp.encr.iv_len);
            ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len), IKE_OK);
            ck_assert_uint_eq(out_len, n);
            ck_assert_mem_eq(out, plain, n);
        }
    }
    /* An empty INFORMATIONAL (liveness check) has no payloads at all. */
    size_t aad = write_headers(buf, 0), len, out_len;
    ck_assert_int_eq(c->sk_seal(&f.sp, buf, sizeof(buf), aad, aad - 4, NULL, 0, test_iv, &len),
                     IKE_OK);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len), IKE_OK);
    ck_assert_uint_eq(out_len, 0);
}
END_TEST

/* RFC 7296 3.14 / RFC 5282 5.2: the ICV covers every byte of the message.
 * A flipped bit in header, IV, ciphertext or ICV is caught. */
START_TEST(tamper_anywhere)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct sk_fixture f;
    uint8_t plain[40], buf[256], out[256];
    size_t out_len;
    memset(plain, 0x3c, sizeof(plain));
    setup_combo(&f, &combos[_i]);
    size_t len = seal_msg(&f, buf, sizeof(buf), 8, plain, sizeof(plain));
    size_t aad = IKE_HDR_LEN + 8 + 4;
    for (size_t i = 0; i < len; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        buf[i] ^= bit;
        memset(out, 0x3c, sizeof(out));
        ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                         IKE_ERR_INTEGRITY);
        buf[i] ^= bit;
        /* No plaintext handed out: the buffer holds no decryption. */
        if (f.sp.encr.aead) {
            uint8_t zero[40] = {0};
            ck_assert(memcmp(out, zero, 40) == 0 || memcmp(out, plain, 40) == 0);
        }
    }
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len), IKE_OK);
    /* A wrong SK_e fails the AEAD tag; with CBC+HMAC (whose ICV does not
     * depend on SK_e) it can only yield garbage or bad padding. */
    f.ke.b[0] ^= 1;
    int rc = c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len);
    if (f.sp.encr.aead)
        ck_assert_int_eq(rc, IKE_ERR_INTEGRITY);
    else
        ck_assert(rc == IKE_ERR_BAD_PADDING || (rc == IKE_OK && memcmp(out, plain, 16) != 0));
    f.ke.b[0] ^= 1;
    if (!f.sp.encr.aead) {
        f.ka.b[0] ^= 1;
        ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                         IKE_ERR_INTEGRITY);
    }
}
END_TEST

/* Build an authentic message by hand whose plaintext is body[0..n) (last
 * byte = pad length), the way a peer could: encrypt, then ICV/tag. */
static size_t build_raw(const struct sk_fixture *f, uint8_t *buf, const uint8_t *body, size_t n)
{
    size_t aad = write_headers(buf, 0), iv_len = f->sp.encr.iv_len;
    size_t icv = f->sp.encr.aead ? f->sp.encr.icv_len : f->sp.integ.icv_len;
    size_t total = aad + iv_len + n + icv;
    buf[24] = (uint8_t)(total >> 24);
    buf[25] = (uint8_t)(total >> 16);
    buf[26] = (uint8_t)(total >> 8);
    buf[27] = (uint8_t)total;
    buf[aad - 2] = (uint8_t)((total - aad + 4) >> 8);
    buf[aad - 1] = (uint8_t)(total - aad + 4);
    memcpy(buf + aad, test_iv, iv_len);
    uint8_t *ct = buf + aad + iv_len;
    if (f->sp.encr.aead) {
        uint8_t nonce[12];
        memcpy(nonce, f->ke.b + f->ke.len - 4, 4);
        memcpy(nonce + 4, test_iv, 8);
        ck_assert_int_eq(ike_crypto_aead(1, f->sp.encr.id, f->ke.b, f->ke.len - 4u, nonce, buf, aad,
                                         body, n, ct, ct + n, icv),
                         IKE_OK);
    } else {
        ck_assert_int_eq(ike_crypto_cbc(1, f->ke.b, f->ke.len, test_iv, body, n, ct), IKE_OK);
        struct ike_iov all = {buf, aad + iv_len + n};
        ck_assert_int_eq(ike_crypto_hmac(ike_crypto_integ_md(f->sp.integ.id), f->ka.b, f->ka.len,
                                         &all, 1, ct + n, icv),
                         IKE_OK);
    }
    return total;
}

START_TEST(padding_rules)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct sk_fixture f;
    uint8_t body[64], buf[256], out[256];
    size_t out_len, aad = IKE_HDR_LEN + 4;
    setup_combo(&f, &combos[_i]);
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(0xa0 + i);
    /* Pad length 47 in a 48-byte body: all padding, no payloads, accepted. */
    body[47] = 47;
    size_t len = build_raw(&f, buf, body, 48);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len), IKE_OK);
    ck_assert_uint_eq(out_len, 0);
    /* Long padding with arbitrary content is accepted (RFC 7296 3.14). */
    body[47] = 20;
    len = build_raw(&f, buf, body, 48);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len), IKE_OK);
    ck_assert_uint_eq(out_len, 27);
    ck_assert_mem_eq(out, body, 27);
    /* Pad length 48 or more in a 48-byte body: impossible. */
    body[47] = 48;
    len = build_raw(&f, buf, body, 48);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                     IKE_ERR_BAD_PADDING);
    body[47] = 255;
    len = build_raw(&f, buf, body, 48);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                     IKE_ERR_BAD_PADDING);
    uint8_t zero[48] = {0};
    ck_assert_mem_eq(out, zero, 48); /* the rejected plaintext was wiped */
}
END_TEST

/* The CBC layout recomputed here from the (RFC-tested) primitives:
 * IV | E(plain | pad | pad_len) | HMAC(header .. ciphertext) truncated. */
START_TEST(cbc_layout_independent)
{
    struct sk_fixture f;
    uint8_t plain[21], body[32], buf[256], want[256];
    setup_combo(&f, &combos[1]); /* AES-128-CBC, HMAC-SHA2-256-128 */
    memset(plain, 0x61, sizeof(plain));
    size_t len = seal_msg(&f, buf, sizeof(buf), 0, plain, sizeof(plain));
    memcpy(body, plain, 21);
    memset(body + 21, 0, 10);
    body[31] = 10;
    size_t want_len = build_raw(&f, want, body, 32);
    ck_assert_uint_eq(len, want_len);
    ck_assert_mem_eq(buf, want, len);
}
END_TEST

/* AES-GCM computed straight with EVP: key = SK_e minus its last 4 bytes,
 * nonce = salt | IV, AAD = IKE header .. SK header (RFC 5282 4, 5.1). */
START_TEST(gcm_layout_independent)
{
    struct sk_fixture f;
    uint8_t plain[13], buf[256], ct[14], tag[16], nonce[12];
    int n;
    setup_combo(&f, &combos[10]); /* AES-256-GCM-16 */
    memset(plain, 0x62, sizeof(plain));
    size_t len = seal_msg(&f, buf, sizeof(buf), 0, plain, sizeof(plain));
    size_t aad = IKE_HDR_LEN + 4;
    ck_assert_uint_eq(len, aad + 8 + 14 + 16);
    memcpy(nonce, f.ke.b + 32, 4);
    memcpy(nonce + 4, test_iv, 8);
    uint8_t in[14];
    memcpy(in, plain, 13);
    in[13] = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, f.ke.b, nonce), 1);
    ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &n, buf, (int)aad), 1);
    ck_assert_int_eq(EVP_EncryptUpdate(ctx, ct, &n, in, 14), 1);
    ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, ct + n, &n), 1);
    ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(ctx);
    ck_assert_mem_eq(buf + aad, test_iv, 8);
    ck_assert_mem_eq(buf + aad + 8, ct, 14);
    ck_assert_mem_eq(buf + aad + 22, tag, 16);
}
END_TEST

START_TEST(length_errors)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct sk_fixture f;
    uint8_t plain[20] = {0}, buf[256], out[256];
    size_t out_len, aad = IKE_HDR_LEN + 4;
    setup_combo(&f, &combos[1]);
    size_t len = seal_msg(&f, buf, sizeof(buf), 0, plain, sizeof(plain)); /* 32+16+32+16 */
    ck_assert_int_eq(c->sk_open(&f.sp, buf, aad + 16 + 16, aad, out, sizeof(out), &out_len),
                     IKE_ERR_TRUNCATED);
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len - 1, aad, out, sizeof(out), &out_len),
                     IKE_ERR_BAD_LENGTH); /* not whole blocks */
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, 31, &out_len), IKE_ERR_BUF_TOO_SMALL);
    ck_assert_int_eq(
        c->sk_seal(&f.sp, buf, len - 1, aad, aad - 4, plain, sizeof(plain), test_iv, &out_len),
        IKE_ERR_BUF_TOO_SMALL);
    struct ike_key short_key;
    ck_assert_int_eq(ike_key_set(&short_key, f.ke.b, 15), IKE_OK);
    f.sp.key_e = &short_key;
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                     IKE_ERR_INVALID_ARG);
    f.sp.key_e = &f.ke;
    f.sp.integ.id = AUTH_HMAC_MD5_96;
    ck_assert_int_eq(c->sk_open(&f.sp, buf, len, aad, out, sizeof(out), &out_len),
                     IKE_ERR_UNSUPPORTED_ALG);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("crypto_sk");
    TCase *kat = tcase_create("known_answers");
    tcase_add_loop_test(kat, rfc3602_cbc, 0, 4);
    tcase_add_test(kat, rfc8439_aead);
    tcase_add_test(kat, rfc7634_ikev2_message);
    tcase_add_test(kat, cbc_layout_independent);
    tcase_add_test(kat, gcm_layout_independent);
    suite_add_tcase(s, kat);
    TCase *tc = tcase_create("sk");
    tcase_add_loop_test(tc, round_trips, 0, N_COMBOS);
    tcase_add_loop_test(tc, tamper_anywhere, 0, N_COMBOS);
    tcase_add_loop_test(tc, padding_rules, 0, N_COMBOS);
    tcase_add_test(tc, length_errors);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

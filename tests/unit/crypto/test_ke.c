/*
 * test_ke.c: the key exchanges of the ops table. Known answers from RFC
 * 7748 (X25519/X448 function vectors 5.2 and Diffie-Hellman 6.1/6.2) and
 * RFC 5903 section 8 (ECP 19/20/21, private keys as priv_seed), tiny
 * exponents for MODP (2^2 = 4), every group run both ways, and the RFC
 * 6989 rejections: wrong length, MODP y in {0, 1, p-1, p}, ECP points off
 * the curve, X25519/X448 low-order points (all-zero result, RFC 8031).
 */
#include <openssl/bn.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "ck_main.h"
#include "hex.h"

/* RFC 3526 section 3, the 2048-bit MODP prime, as printed there. */
static const char modp2048_p[] = "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1"
                                 "29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
                                 "EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245"
                                 "E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED"
                                 "EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D"
                                 "C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F"
                                 "83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D"
                                 "670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B"
                                 "E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9"
                                 "DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510"
                                 "15728E5A 8AACAA68 FFFFFFFF FFFFFFFF";

static const uint16_t all_groups[] = {MODP_2048, MODP_3072, MODP_4096,  ECP_256,
                                      ECP_384,   ECP_521,   CURVE25519, CURVE448};
#define N_GROUPS (sizeof(all_groups) / sizeof(all_groups[0]))

/* X(k, u) through the ops table: ke_new with k as the private key, derive
 * with u as the peer's public value. */
static int x_fn(uint16_t group, const uint8_t *k, const uint8_t *u, size_t len, uint8_t *out)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct ike_ke *ke = NULL;
    struct ike_secret s;
    uint8_t pub[64];
    size_t pub_len;
    int rc = c->ke_new(group, k, len, &ke, pub, sizeof(pub), &pub_len);
    if (rc != IKE_OK)
        return rc;
    rc = c->ke_derive(ke, u, len, &s);
    if (rc == IKE_OK) {
        ck_assert_uint_eq(s.len, len);
        memcpy(out, s.p, len);
        ike_secret_free(&s);
    }
    c->ke_free(ke);
    return rc;
}

struct x_vec {
    uint16_t group;
    const char *k, *u, *out;
};

/* RFC 7748 5.2 */
static const struct x_vec x_vectors[] = {
    {CURVE25519, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
    {CURVE25519, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    {CURVE448,
     "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121"
     "700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
     "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9"
     "814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
     "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239f"
     "e14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"},
    {CURVE448,
     "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c5"
     "38345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
     "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b"
     "165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db",
     "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7"
     "ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d"},
};

START_TEST(rfc7748_function_vectors)
{
    const struct x_vec *v = &x_vectors[_i];
    uint8_t k[56], u[56], out[56];
    size_t len = hex_decode(v->k, k, sizeof(k));
    ck_assert_uint_eq(hex_decode(v->u, u, sizeof(u)), len);
    ck_assert_int_eq(x_fn(v->group, k, u, len, out), IKE_OK);
    ck_assert_hex_eq(out, len, v->out);
}
END_TEST

/* RFC 7748 5.2, second kind: k = u = base point, then k <- X(k, u), u <- old k. */
static void iterate(uint16_t group, size_t len, int rounds, const char *want)
{
    uint8_t k[56] = {0}, u[56] = {0}, out[56];
    k[0] = u[0] = group == CURVE25519 ? 9 : 5;
    for (int i = 0; i < rounds; i++) {
        ck_assert_int_eq(x_fn(group, k, u, len, out), IKE_OK);
        memcpy(u, k, len);
        memcpy(k, out, len);
    }
    ck_assert_hex_eq(k, len, want);
}

START_TEST(rfc7748_iterated)
{
    iterate(CURVE25519, 32, 1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    iterate(CURVE25519, 32, 1000,
            "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    iterate(CURVE448, 56, 1,
            "3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a"
            "4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113");
    iterate(CURVE448, 56, 1000,
            "aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4"
            "af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38");
}
END_TEST

/* A known key exchange: both sides from fixed private keys; check each
 * public value and that both sides derive the expected secret. */
struct dh_vec {
    uint16_t group;
    const char *a, *pub_a, *b, *pub_b, *shared;
};

static const struct dh_vec dh_vectors[] = {
    /* RFC 7748 6.1 */
    {CURVE25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
     "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
     "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
     "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
    /* RFC 7748 6.2 */
    {CURVE448,
     "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d"
     "d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
     "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c"
     "22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
     "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d"
     "6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
     "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430"
     "27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
     "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b"
     "b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d"},
    /* RFC 5903 8.1: i, gix|giy, r, grx|gry, girx */
    {ECP_256, "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    /* RFC 5903 8.2 */
    {ECP_384,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
     "E35B5380 41E649EE 3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
     "DE3AC808 ACB4BDB4 C88732AE E95F41AA"
     "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
     "EB9FCFF3 C2C947DA E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
     "E0308312 916B8ED2 960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
     "0D1AC43A 0336DEF9 6FDA41D0 774A3571"
     "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
     "F83FA401 42209DFF 5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
     "D6031355 69B9E9D0 9CF5D4A2 70F59746"},
    /* RFC 5903 8.3 */
    {ECP_521,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
     "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
     "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E"
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
     "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
     "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
     "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F"
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
     "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
     "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA"},
    /* MODP: exponents 2 and 3 give g^a = 4, g^b = 8, g^ab = 64, each padded
     * to the prime length (RFC 7296 2.14). */
    {MODP_2048, "02", "04", "03", "08", "40"},
    {MODP_3072, "02", "04", "03", "08", "40"},
    {MODP_4096, "02", "04", "03", "08", "40"},
};

/* Left-pad a short big-endian hex value to len bytes. */
static size_t decode_padded(const char *hex, uint8_t *out, size_t len)
{
    uint8_t tmp[512];
    size_t n = hex_decode(hex, tmp, sizeof(tmp));
    ck_assert_uint_le(n, len);
    memset(out, 0, len - n);
    memcpy(out + len - n, tmp, n);
    return len;
}

START_TEST(known_exchange)
{
    const struct dh_vec *v = &dh_vectors[_i];
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    size_t plen = (size_t)ike_alg_dh_len(v->group);
    size_t slen = v->group >= ECP_256 && v->group <= ECP_521 ? plen / 2 : plen;
    uint8_t a[256], b[256], pa[512], pb[512], want[512];
    size_t a_len = hex_decode(v->a, a, sizeof(a)), b_len = hex_decode(v->b, b, sizeof(b));
    size_t pa_len, pb_len;
    struct ike_ke *ka, *kb;
    struct ike_secret sa, sb;

    ck_assert_int_eq(c->ke_new(v->group, a, a_len, &ka, pa, sizeof(pa), &pa_len), IKE_OK);
    ck_assert_int_eq(c->ke_new(v->group, b, b_len, &kb, pb, sizeof(pb), &pb_len), IKE_OK);
    ck_assert_uint_eq(pa_len, plen);
    ck_assert_uint_eq(pb_len, plen);
    decode_padded(v->pub_a, want, plen);
    ck_assert_mem_eq(pa, want, plen);
    decode_padded(v->pub_b, want, plen);
    ck_assert_mem_eq(pb, want, plen);

    ck_assert_int_eq(c->ke_derive(ka, pb, pb_len, &sa), IKE_OK);
    ck_assert_int_eq(c->ke_derive(kb, pa, pa_len, &sb), IKE_OK);
    decode_padded(v->shared, want, slen);
    ck_assert_uint_eq(sa.len, slen);
    ck_assert_mem_eq(sa.p, want, slen);
    ck_assert_uint_eq(sb.len, slen);
    ck_assert_mem_eq(sb.p, want, slen);
    ike_secret_free(&sa);
    ike_secret_free(&sb);
    c->ke_free(ka);
    c->ke_free(kb);
}
END_TEST

/* Random keys, both directions, for every group. */
START_TEST(both_ways)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint16_t group = all_groups[_i];
    uint8_t pa[512], pb[512];
    size_t pa_len, pb_len;
    struct ike_ke *ka, *kb;
    struct ike_secret sa, sb;
    ck_assert_int_eq(c->ke_new(group, NULL, 0, &ka, pa, sizeof(pa), &pa_len), IKE_OK);
    ck_assert_int_eq(c->ke_new(group, NULL, 0, &kb, pb, sizeof(pb), &pb_len), IKE_OK);
    ck_assert_uint_eq(pa_len, (size_t)ike_alg_dh_len(group));
    ck_assert_uint_eq(pb_len, pa_len);
    ck_assert_int_ne(memcmp(pa, pb, pa_len), 0);
    ck_assert_int_eq(c->ke_derive(ka, pb, pb_len, &sa), IKE_OK);
    ck_assert_int_eq(c->ke_derive(kb, pa, pa_len, &sb), IKE_OK);
    ck_assert_uint_eq(sa.len, sb.len);
    ck_assert_mem_eq(sa.p, sb.p, sa.len);
    /* Wrong length, one short and one long (RFC 7296 3.4, RFC 6989). */
    struct ike_secret bad = {0, NULL};
    ck_assert_int_eq(c->ke_derive(ka, pb, pb_len - 1, &bad), IKE_ERR_KE_INVALID);
    ck_assert_int_eq(c->ke_derive(ka, pb, pb_len + 1, &bad), IKE_ERR_KE_INVALID);
    ck_assert_ptr_null(bad.p);
    ike_secret_free(&sa);
    ike_secret_free(&sb);
    c->ke_free(ka);
    c->ke_free(kb);
}
END_TEST

/* The derive result for a peer value: returns the error code (or OK). */
static int derive_with(uint16_t group, const uint8_t *peer, size_t len)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t pub[512];
    size_t pub_len;
    struct ike_ke *ke;
    struct ike_secret s = {0, NULL};
    ck_assert_int_eq(c->ke_new(group, NULL, 0, &ke, pub, sizeof(pub), &pub_len), IKE_OK);
    int rc = c->ke_derive(ke, peer, len, &s);
    if (rc != IKE_OK)
        ck_assert_ptr_null(s.p);
    ike_secret_free(&s);
    c->ke_free(ke);
    return rc;
}

static BIGNUM *prime_of(uint16_t group)
{
    return group == MODP_2048   ? BN_get_rfc3526_prime_2048(NULL)
           : group == MODP_3072 ? BN_get_rfc3526_prime_3072(NULL)
                                : BN_get_rfc3526_prime_4096(NULL);
}

/* RFC 6989 2.1: 1 < y < p-1 for the MODP groups. */
START_TEST(modp_range)
{
    static const uint16_t modp[3] = {MODP_2048, MODP_3072, MODP_4096};
    uint16_t group = modp[_i];
    size_t len = (size_t)ike_alg_dh_len(group);
    uint8_t y[512];
    BIGNUM *p = prime_of(group);
    ck_assert_ptr_nonnull(p);

    memset(y, 0, len);
    ck_assert_int_eq(derive_with(group, y, len), IKE_ERR_KE_INVALID); /* 0 */
    y[len - 1] = 1;
    ck_assert_int_eq(derive_with(group, y, len), IKE_ERR_KE_INVALID); /* 1 */
    y[len - 1] = 2;
    ck_assert_int_eq(derive_with(group, y, len), IKE_OK); /* 2: in range */
    ck_assert_int_eq(BN_bn2binpad(p, y, (int)len), (int)len);
    ck_assert_int_eq(derive_with(group, y, len), IKE_ERR_KE_INVALID); /* p */
    y[len - 1]--;
    ck_assert_int_eq(derive_with(group, y, len), IKE_ERR_KE_INVALID); /* p - 1 */
    y[len - 1]--;
    ck_assert_int_eq(derive_with(group, y, len), IKE_OK); /* p - 2 */
    memset(y, 0xff, len);
    ck_assert_int_eq(derive_with(group, y, len), IKE_ERR_KE_INVALID); /* > p */
    BN_free(p);
}
END_TEST

/* The prime OpenSSL gives us is the one printed in RFC 3526. */
START_TEST(modp2048_prime_is_rfc3526)
{
    uint8_t want[256], got[256];
    ck_assert_uint_eq(hex_decode(modp2048_p, want, sizeof(want)), 256);
    BIGNUM *p = prime_of(MODP_2048);
    ck_assert_int_eq(BN_bn2binpad(p, got, 256), 256);
    ck_assert_mem_eq(got, want, 256);
    BN_free(p);
    /* ...and p - 1 is rejected while p - 2 is accepted. */
    want[255]--;
    ck_assert_int_eq(derive_with(MODP_2048, want, 256), IKE_ERR_KE_INVALID);
    want[255]--;
    ck_assert_int_eq(derive_with(MODP_2048, want, 256), IKE_OK);
}
END_TEST

/* RFC 6989 2.3: ECP public values must be points on the curve. */
START_TEST(ecp_off_curve)
{
    static const uint16_t ecp[3] = {ECP_256, ECP_384, ECP_521};
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint16_t group = ecp[_i];
    uint8_t pub[256];
    size_t len;
    struct ike_ke *ke;
    ck_assert_int_eq(c->ke_new(group, NULL, 0, &ke, pub, sizeof(pub), &len), IKE_OK);
    c->ke_free(ke);
    ck_assert_int_eq(derive_with(group, pub, len), IKE_OK); /* a good point */
    pub[len - 1] ^= 1;                                      /* y changed: off the curve */
    ck_assert_int_eq(derive_with(group, pub, len), IKE_ERR_KE_INVALID);
    pub[len - 1] ^= 1;
    pub[0] ^= 0x01; /* x changed */
    ck_assert_int_eq(derive_with(group, pub, len), IKE_ERR_KE_INVALID);
    memset(pub, 0, len); /* (0, 0) */
    ck_assert_int_eq(derive_with(group, pub, len), IKE_ERR_KE_INVALID);
    memset(pub, 0xff, len); /* coordinates >= p */
    ck_assert_int_eq(derive_with(group, pub, len), IKE_ERR_KE_INVALID);
}
END_TEST

/* RFC 7748 6 / RFC 8031 2.3: low-order points give an all-zero secret. */
START_TEST(ecx_low_order)
{
    uint8_t u[56];
    memset(u, 0, sizeof(u));
    ck_assert_int_eq(derive_with(CURVE25519, u, 32), IKE_ERR_KE_ZERO); /* u = 0 */
    u[0] = 1;
    ck_assert_int_eq(derive_with(CURVE25519, u, 32), IKE_ERR_KE_ZERO); /* u = 1 */
    /* A point of order 8 on Curve25519. */
    hex_decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", u, 32);
    ck_assert_int_eq(derive_with(CURVE25519, u, 32), IKE_ERR_KE_ZERO);
    memset(u, 0, sizeof(u));
    ck_assert_int_eq(derive_with(CURVE448, u, 56), IKE_ERR_KE_ZERO);
    u[0] = 1;
    ck_assert_int_eq(derive_with(CURVE448, u, 56), IKE_ERR_KE_ZERO);
    u[0] = 9; /* an ordinary point works */
    ck_assert_int_eq(derive_with(CURVE25519, u, 32), IKE_OK);
}
END_TEST

START_TEST(bad_arguments)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t pub[512], seed[32] = {0};
    size_t len;
    struct ike_ke *ke = (struct ike_ke *)&len;
    ck_assert_int_eq(c->ke_new(MODP_1024, NULL, 0, &ke, pub, sizeof(pub), &len),
                     IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_ptr_null(ke);
    ck_assert_int_eq(c->ke_new(MODP_2048, NULL, 0, &ke, pub, 255, &len), IKE_ERR_BUF_TOO_SMALL);
    ck_assert_int_eq(c->ke_new(CURVE25519, seed, 31, &ke, pub, sizeof(pub), &len),
                     IKE_ERR_INVALID_ARG);
    /* Private scalars out of range: 0 for ECP, 0 and 1 for MODP. */
    ck_assert_int_eq(c->ke_new(ECP_256, seed, 32, &ke, pub, sizeof(pub), &len),
                     IKE_ERR_INVALID_ARG);
    seed[31] = 1;
    ck_assert_int_eq(c->ke_new(MODP_2048, seed, 32, &ke, pub, sizeof(pub), &len),
                     IKE_ERR_INVALID_ARG);
    c->ke_free(NULL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("crypto_ke");
    TCase *kat = tcase_create("known_answers");
    tcase_add_loop_test(kat, rfc7748_function_vectors, 0,
                        (int)(sizeof(x_vectors) / sizeof(x_vectors[0])));
    tcase_add_test(kat, rfc7748_iterated);
    tcase_add_loop_test(kat, known_exchange, 0, (int)(sizeof(dh_vectors) / sizeof(dh_vectors[0])));
    tcase_add_test(kat, modp2048_prime_is_rfc3526);
    suite_add_tcase(s, kat);
    TCase *tc = tcase_create("checks");
    tcase_add_loop_test(tc, both_ways, 0, (int)N_GROUPS);
    tcase_add_loop_test(tc, modp_range, 0, 3);
    tcase_add_loop_test(tc, ecp_off_curve, 0, 3);
    tcase_add_test(tc, ecx_low_order);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

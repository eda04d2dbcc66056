/*
 * test_wire_malformed.c: every entry of malformed_cases.h (truncated
 * headers, lying lengths, overrunning chains, trailing bytes, forbidden
 * empty payloads, caps, bad numbering, TS ranges, critical payloads, SK not
 * last ...) must fail with exactly its IKE_ERR_* code, and every proper
 * prefix of a valid message must fail without crashing.
 */
#include <stdio.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "malformed_cases.h"
#include "sample_msgs.h"
#include "wire_harness.h"
#include "ck_main.h"

START_TEST(malformed_table)
{
    const struct malformed_case *c = &malformed_cases[_i];
    static uint8_t buf[4096];
    struct harness_msg m;
    int n = malformed_bytes(c, buf, sizeof(buf));
    ck_assert_msg(n >= 0, "bad hex in case '%s'", c->name);
    int rc = harness_decode_msg(buf, (size_t)n, &m);
    ck_assert_msg(rc == c->err, "case '%s': got %d (%s), want %d (%s)", c->name, rc,
                  ike_err_str(rc), c->err, ike_err_str(c->err));
}
END_TEST

/* The critical payload's type is reported for UNSUPPORTED_CRITICAL_PAYLOAD. */
START_TEST(critical_reports_type)
{
    uint8_t buf[64];
    struct harness_msg m;
    int n = malformed_bytes(&(struct malformed_case){"", H("2b") "3c000005 aa 00800004", 0, false},
                            buf, sizeof(buf));
    ck_assert_int_eq(harness_decode_msg(buf, (size_t)n, &m), IKE_ERR_UNSUPPORTED_CRITICAL);
    ck_assert_uint_eq(m.bad_type, 0x3c);
}
END_TEST

/* Each case differs from a valid message in one place: check that the
 * table is not just broken hex by accepting a fixed-up neighbour. */
START_TEST(neighbours_are_valid)
{
    static const struct malformed_case ok[] = {
        {"Nonce 16", H("28") "00000014" B16, 0, false},
        {"Nonce 256", H("28") "00000104" X16(B16), 0, false},
        {"one proposal", H("21") "00000014" PROP("00", "01"), 0, false},
        {"proposals 3 then 4 (response numbering)",
         H("21") "00000024" PROP("02", "03") PROP("00", "04"), 0, false},
        {"16 proposals",
         H("21") "00000104" PROP("02", "01") PROP("02", "02") PROP("02", "03") PROP("02", "04")
             PROP("02", "05") PROP("02", "06") PROP("02", "07") PROP("02", "08") PROP("02", "09")
                 PROP("02", "0a") PROP("02", "0b") PROP("02", "0c") PROP("02", "0d")
                     PROP("02", "0e") PROP("02", "0f") PROP("00", "10"),
         0, false},
        {"TS opaque ports", H("2c") "00000018 01000000 07000010 ffff0000 0a000000 0a0000ff", 0,
         false},
        {"TS single address", H("2c") "00000018 01000000 07000010 00500050 0a000001 0a000001", 0,
         false},
        {"ID_NULL without data", H("23") "00000008 0d000000", 0, false},
        {"CERTREQ without CAs", H("26") "00000005 04", 0, false},
        {"unknown non-critical skipped", H("3c") "28000006 aabb 00000014" B16, 0, false},
        {"32 payloads",
         H("2b") X16("2b000004 ") X8("2b000004 ")
             X4("2b000004 ") "2b000004 2b000004 2b000004 00000004",
         0, false},
        {"Delete ESP 64 SPIs", H("2a") "00000108 03040040" X32("01020304 05060708 "), 0, false},
        {"unknown TLV attribute skipped",
         H("21") "0000001d 00000019 01010001 00000011 0100000c 00050005 aabbccddee", 0, false},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint8_t buf[1024];
        struct harness_msg m;
        int n = malformed_bytes(&ok[i], buf, sizeof(buf));
        ck_assert_msg(n >= 0, "bad hex in '%s'", ok[i].name);
        int rc = harness_decode_msg(buf, (size_t)n, &m);
        ck_assert_msg(rc == IKE_OK, "'%s': got %d (%s)", ok[i].name, rc, ike_err_str(rc));
    }
}
END_TEST

/* Every truncation of every sample message is refused by the header's
 * length check, and, with the length patched, by the chain or a decoder. */
START_TEST(truncations_fail)
{
    static uint8_t buf[4096], cut[4096];
    for (size_t s = 0; s < SAMPLE_MSGS_N; s++) {
        int n = sample_msgs[s].build(buf, sizeof(buf));
        ck_assert_int_gt(n, IKE_HDR_LEN);
        for (int len = 0; len < n; len++) {
            struct harness_msg m;
            ck_assert_int_ne(harness_decode_msg(buf, (size_t)len, &m), IKE_OK);
            if (len < IKE_HDR_LEN)
                continue;
            memcpy(cut, buf, (size_t)len);
            cut[24] = (uint8_t)(len >> 24);
            cut[25] = (uint8_t)(len >> 16);
            cut[26] = (uint8_t)(len >> 8);
            cut[27] = (uint8_t)len;
            int rc = harness_decode_msg(cut, (size_t)len, &m);
            /* Cutting exactly at the header leaves a chain that names a
             * payload which is not there. */
            ck_assert_msg(rc != IKE_OK, "%s cut at %d decoded", sample_msgs[s].name, len);
        }
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_malformed");
    TCase *tc = tcase_create("table");
    tcase_add_loop_test(tc, malformed_table, 0, (int)MALFORMED_N);
    tcase_add_test(tc, critical_reports_type);
    tcase_add_test(tc, neighbours_are_valid);
    tcase_add_test(tc, truncations_fail);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

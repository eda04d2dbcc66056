/*
 * test_wire_names.c: every enumerated value of include/ike/types.h has a
 * name for logs, spelled as in the RFC/IANA registry, and unknown values
 * print as "UNKNOWN" (never NULL).
 */
#include <string.h>

#include "ike/wire.h"
#include "ck_main.h"

#define KNOWN(s) ck_assert_msg(strcmp((s), "UNKNOWN") != 0, "no name for " #s)

START_TEST(exchanges_and_payloads)
{
    ck_assert_str_eq(ike_exchange_name(IKE_SA_INIT), "IKE_SA_INIT");
    ck_assert_str_eq(ike_exchange_name(CREATE_CHILD_SA), "CREATE_CHILD_SA");
    ck_assert_str_eq(ike_exchange_name(INFORMATIONAL), "INFORMATIONAL");
    KNOWN(ike_exchange_name(IKE_AUTH));
    KNOWN(ike_exchange_name(IKE_INTERMEDIATE));
    ck_assert_str_eq(ike_exchange_name(0), "UNKNOWN");
    for (unsigned t = IKE_PL_SA; t <= IKE_PL_EAP; t++)
        ck_assert_str_ne(ike_payload_name((uint8_t)t), "UNKNOWN");
    ck_assert_str_eq(ike_payload_name(IKE_PL_SKF), "SKF");
    ck_assert_str_eq(ike_payload_name(IKE_PL_IDI), "IDi");
    ck_assert_str_eq(ike_payload_name(49), "UNKNOWN");
    ck_assert_str_eq(ike_proto_name(IKE_PROTO_ESP), "ESP");
    ck_assert_str_eq(ike_proto_name(IKE_PROTO_IKE), "IKE");
    ck_assert_str_eq(ike_proto_name(IKE_PROTO_AH), "AH");
    ck_assert_str_eq(ike_proto_name(9), "UNKNOWN");
}
END_TEST

START_TEST(notifies)
{
    /* Every type listed in types.h, errors and status alike. */
    static const uint16_t all[] = {
        1,     4,     5,     7,     9,     11,    14,    17,    24,    34,    35,    36,
        37,    38,    39,    43,    44,    16384, 16385, 16386, 16387, 16388, 16389, 16390,
        16391, 16392, 16393, 16394, 16395, 16396, 16400, 16418, 16430, 16431,
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ck_assert_msg(strcmp(ike_notify_name(all[i]), "UNKNOWN") != 0, "notify %u", all[i]);
    ck_assert_str_eq(ike_notify_name(IKE_N_NO_PROPOSAL_CHOSEN), "NO_PROPOSAL_CHOSEN");
    ck_assert_str_eq(ike_notify_name(IKE_N_REKEY_SA), "REKEY_SA");
    ck_assert_str_eq(ike_notify_name(IKE_N_TEMPORARY_FAILURE), "TEMPORARY_FAILURE");
    ck_assert_str_eq(ike_notify_name(12345), "UNKNOWN");
}
END_TEST

START_TEST(transforms)
{
    ck_assert_str_eq(ike_transform_type_name(IKE_TRANSFORM_ENCR), "ENCR");
    ck_assert_str_eq(ike_transform_type_name(IKE_TRANSFORM_DH), "KE");
    ck_assert_str_eq(ike_transform_type_name(6), "UNKNOWN");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16), "ENCR_AES_GCM_16");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_256), "PRF_HMAC_SHA2_256");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_512_256),
                     "AUTH_HMAC_SHA2_512_256");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_DH, CURVE25519), "CURVE25519");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_DH, MODP_2048), "MODP_2048");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_ESN, ESN_YES), "ESN_YES");
    /* The same number means different things per type. */
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_ENCR, 12), "ENCR_AES_CBC");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_INTEG, 12), "AUTH_HMAC_SHA2_256_128");
    ck_assert_str_eq(ike_transform_name(IKE_TRANSFORM_ENCR, 999), "UNKNOWN");
    ck_assert_str_eq(ike_transform_name(9, 1), "UNKNOWN");
    static const uint16_t encr[] = {3, 11, 12, 13, 14, 15, 16, 18, 19, 20, 28};
    for (size_t i = 0; i < sizeof(encr) / sizeof(encr[0]); i++)
        KNOWN(ike_transform_name(IKE_TRANSFORM_ENCR, encr[i]));
    static const uint16_t groups[] = {0, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 31, 32};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        KNOWN(ike_transform_name(IKE_TRANSFORM_DH, groups[i]));
    static const uint16_t prf[] = {1, 2, 4, 5, 6, 7}, integ[] = {0, 1, 2, 5, 12, 13, 14};
    for (size_t i = 0; i < sizeof(prf) / sizeof(prf[0]); i++)
        KNOWN(ike_transform_name(IKE_TRANSFORM_PRF, prf[i]));
    for (size_t i = 0; i < sizeof(integ) / sizeof(integ[0]); i++)
        KNOWN(ike_transform_name(IKE_TRANSFORM_INTEG, integ[i]));
}
END_TEST

START_TEST(ids_and_others)
{
    static const uint8_t ids[] = {1, 2, 3, 5, 9, 10, 11, 13};
    for (size_t i = 0; i < sizeof(ids); i++)
        KNOWN(ike_id_type_name(ids[i]));
    ck_assert_str_eq(ike_id_type_name(ID_FQDN), "ID_FQDN");
    ck_assert_str_eq(ike_id_type_name(4), "UNKNOWN");
    static const uint8_t auth[] = {1, 2, 3, 9, 10, 11, 13, 14};
    for (size_t i = 0; i < sizeof(auth); i++)
        KNOWN(ike_auth_method_name(auth[i]));
    ck_assert_str_eq(ike_auth_method_name(IKE_AUTH_SHARED_KEY_MIC), "SHARED_KEY_MIC");
    ck_assert_str_eq(ike_ts_type_name(TS_IPV6_ADDR_RANGE), "TS_IPV6_ADDR_RANGE");
    ck_assert_str_eq(ike_cert_encoding_name(CERT_X509_SIGNATURE), "CERT_X509_SIGNATURE");
    ck_assert_str_eq(ike_cfg_type_name(CFG_ACK), "CFG_ACK");
    ck_assert_str_eq(ike_cfg_type_name(0), "UNKNOWN");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, exchanges_and_payloads);
    tcase_add_test(tc, notifies);
    tcase_add_test(tc, transforms);
    tcase_add_test(tc, ids_and_others);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

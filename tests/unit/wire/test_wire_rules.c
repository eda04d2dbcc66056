/*
 * test_wire_rules.c: the per-exchange payload rules table (rules.c,
 * RFC 7296 1.2-1.5). Lists are built by hand so each case changes one
 * thing against a valid message and must get the one error it causes.
 */
#include "ike/err.h"
#include "ike/wire.h"
#include "sample_msgs.h"
#include "wire_harness.h"
#include "ck_main.h"

/* A payload list from types alone: rules look only at types and, for
 * Notify, at the notify type. */
static uint8_t notify_bodies[IKE_MAX_PAYLOADS][4];

static struct ike_payload_list list_of(const uint8_t *types, size_t n)
{
    struct ike_payload_list l = {.n = n};
    for (size_t i = 0; i < n; i++) {
        l.pl[i].type = types[i];
        /* a harmless status Notify unless the test sets another type */
        notify_bodies[i][0] = 0;
        notify_bodies[i][1] = 0;
        notify_bodies[i][2] = IKE_N_INITIAL_CONTACT >> 8;
        notify_bodies[i][3] = IKE_N_INITIAL_CONTACT & 0xff;
        l.pl[i].body = (struct ike_view){notify_bodies[i], 4};
    }
    return l;
}

static void set_notify(struct ike_payload_list *l, size_t i, uint16_t type)
{
    uint8_t *b = (uint8_t *)(uintptr_t)l->pl[i].body.p;
    b[2] = (uint8_t)(type >> 8);
    b[3] = (uint8_t)type;
}

#define LIST(...) list_of((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static int check(uint8_t ex, enum ike_msg_kind k, const struct ike_payload_list *o,
                 const struct ike_payload_list *i)
{
    return ike_payload_rules_check(ex, k, o, i);
}

START_TEST(sa_init)
{
    struct ike_payload_list l =
        LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_NOTIFY, IKE_PL_NOTIFY, IKE_PL_VENDOR);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_OK);
    l = LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NOTIFY);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_MISSING_PAYLOAD);
    l = LIST(IKE_PL_SA, IKE_PL_NONCE);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_MISSING_PAYLOAD);
    l = LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_AUTH);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_UNEXPECTED_PAYLOAD);
    l = LIST(IKE_PL_SA, IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_DUPLICATE_PAYLOAD);
    l = LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_NONCE);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_DUPLICATE_PAYLOAD);
    l = LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_SK);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_UNEXPECTED_PAYLOAD);
    /* CERTREQ may come back in the response (1.2), not in the request. */
    l = LIST(IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE, IKE_PL_CERTREQ);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL), IKE_ERR_UNEXPECTED_PAYLOAD);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL), IKE_OK);
}
END_TEST

START_TEST(sa_init_stand_ins)
{
    /* HDR, N(INVALID_KE_PAYLOAD) and HDR, N(COOKIE) stand in for SA/KE/Nr. */
    struct ike_payload_list l = LIST(IKE_PL_NOTIFY);
    set_notify(&l, 0, IKE_N_INVALID_KE_PAYLOAD);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL), IKE_OK);
    set_notify(&l, 0, IKE_N_COOKIE);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL), IKE_OK);
    set_notify(&l, 0, IKE_N_NAT_DETECTION_SOURCE_IP); /* status only: not enough */
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL), IKE_ERR_MISSING_PAYLOAD);
    /* An error Notify does not make a forbidden payload acceptable. */
    l = LIST(IKE_PL_NOTIFY, IKE_PL_AUTH);
    set_notify(&l, 0, IKE_N_NO_PROPOSAL_CHOSEN);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL), IKE_ERR_UNEXPECTED_PAYLOAD);
}
END_TEST

START_TEST(ike_auth)
{
    struct ike_payload_list o = LIST(IKE_PL_SK);
    struct ike_payload_list in =
        LIST(IKE_PL_IDI, IKE_PL_IDR, IKE_PL_AUTH, IKE_PL_SA, IKE_PL_TSI, IKE_PL_TSR, IKE_PL_NOTIFY);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, &in), IKE_OK);
    /* Outer only (not decrypted yet): SK is all that is checked. */
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, NULL), IKE_OK);
    struct ike_payload_list o2 = LIST(IKE_PL_IDI, IKE_PL_SK);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o2, NULL), IKE_ERR_NOT_ENCRYPTED);
    o2 = LIST(IKE_PL_NOTIFY);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o2, NULL), IKE_ERR_NOT_ENCRYPTED);
    struct ike_payload_list none = LIST(IKE_PL_VENDOR);
    none.n = 0;
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &none, NULL), IKE_ERR_MISSING_PAYLOAD);
    /* SKF counts as SK (RFC 7383), and the two together are one too many. */
    o2 = LIST(IKE_PL_SKF);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o2, NULL), IKE_OK);
    o2 = LIST(IKE_PL_SK, IKE_PL_SKF);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o2, NULL), IKE_ERR_DUPLICATE_PAYLOAD);

    struct ike_payload_list bad = LIST(IKE_PL_IDR, IKE_PL_AUTH);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, &bad), IKE_ERR_MISSING_PAYLOAD);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_RESPONSE, &o, &bad), IKE_OK);
    bad = LIST(IKE_PL_IDI, IKE_PL_IDI, IKE_PL_AUTH);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, &bad), IKE_ERR_DUPLICATE_PAYLOAD);
    bad = LIST(IKE_PL_IDI, IKE_PL_AUTH, IKE_PL_KE);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, &bad), IKE_ERR_UNEXPECTED_PAYLOAD);
    bad = LIST(IKE_PL_IDI, IKE_PL_AUTH, IKE_PL_SK); /* SK inside SK */
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &o, &bad), IKE_ERR_UNEXPECTED_PAYLOAD);
    /* The responder's AUTHENTICATION_FAILED answer carries only the Notify. */
    bad = LIST(IKE_PL_NOTIFY);
    set_notify(&bad, 0, IKE_N_AUTHENTICATION_FAILED);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_RESPONSE, &o, &bad), IKE_OK);
    set_notify(&bad, 0, IKE_N_INITIAL_CONTACT);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_RESPONSE, &o, &bad), IKE_ERR_MISSING_PAYLOAD);
}
END_TEST

START_TEST(create_child_sa_and_informational)
{
    struct ike_payload_list o = LIST(IKE_PL_SK);
    struct ike_payload_list in =
        LIST(IKE_PL_NOTIFY, IKE_PL_SA, IKE_PL_NONCE, IKE_PL_KE, IKE_PL_TSI, IKE_PL_TSR);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &o, &in), IKE_OK);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_RESPONSE, &o, &in), IKE_OK);
    in = LIST(IKE_PL_SA, IKE_PL_KE);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &o, &in), IKE_ERR_MISSING_PAYLOAD);
    in = LIST(IKE_PL_SA, IKE_PL_NONCE, IKE_PL_KE, IKE_PL_KE);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &o, &in), IKE_ERR_DUPLICATE_PAYLOAD);
    in = LIST(IKE_PL_SA, IKE_PL_NONCE, IKE_PL_DELETE);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &o, &in), IKE_ERR_UNEXPECTED_PAYLOAD);
    in = LIST(IKE_PL_NOTIFY);
    set_notify(&in, 0, IKE_N_TEMPORARY_FAILURE);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_RESPONSE, &o, &in), IKE_OK);
    struct ike_payload_list bare = LIST(IKE_PL_SA, IKE_PL_NONCE);
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &bare, NULL), IKE_ERR_NOT_ENCRYPTED);

    in = LIST(IKE_PL_DELETE, IKE_PL_DELETE, IKE_PL_NOTIFY);
    ck_assert_int_eq(check(INFORMATIONAL, IKE_MSG_REQUEST, &o, &in), IKE_OK);
    in.n = 0; /* liveness check */
    ck_assert_int_eq(check(INFORMATIONAL, IKE_MSG_RESPONSE, &o, &in), IKE_OK);
    in = LIST(IKE_PL_DELETE, IKE_PL_TSI);
    ck_assert_int_eq(check(INFORMATIONAL, IKE_MSG_REQUEST, &o, &in), IKE_ERR_UNEXPECTED_PAYLOAD);
    in = LIST(IKE_PL_CP, IKE_PL_CP);
    ck_assert_int_eq(check(INFORMATIONAL, IKE_MSG_REQUEST, &o, &in), IKE_ERR_DUPLICATE_PAYLOAD);
    bare = LIST(IKE_PL_DELETE);
    ck_assert_int_eq(check(INFORMATIONAL, IKE_MSG_REQUEST, &bare, NULL), IKE_ERR_NOT_ENCRYPTED);
    /* An exchange type rekeyd does not speak. */
    ck_assert_int_eq(check(IKE_SESSION_RESUME, IKE_MSG_REQUEST, &o, NULL), IKE_ERR_INVALID_SYNTAX);
}
END_TEST

/* Whole built messages, decoded, then checked: the samples pass, and
 * removing the Nonce from a real IKE_SA_INIT request is caught. */
START_TEST(built_messages)
{
    static uint8_t msg[4096];
    struct harness_msg m;
    int n = sample_sa_init_req(msg, sizeof(msg));
    ck_assert_int_eq(harness_decode_msg(msg, (size_t)n, &m), IKE_OK);
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &m.outer, NULL), IKE_OK);
    /* Same message checked as the wrong exchange: SA etc. must be in SK. */
    ck_assert_int_eq(check(CREATE_CHILD_SA, IKE_MSG_REQUEST, &m.outer, NULL),
                     IKE_ERR_NOT_ENCRYPTED);
    size_t k = 0;
    for (size_t i = 0; i < m.outer.n; i++)
        if (m.outer.pl[i].type != IKE_PL_NONCE)
            m.outer.pl[k++] = m.outer.pl[i];
    m.outer.n = k;
    ck_assert_int_eq(check(IKE_SA_INIT, IKE_MSG_REQUEST, &m.outer, NULL), IKE_ERR_MISSING_PAYLOAD);
    n = sample_auth_req(msg, sizeof(msg));
    ck_assert_int_eq(harness_decode_msg(msg, (size_t)n, &m), IKE_OK);
    ck_assert(m.has_inner);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_REQUEST, &m.outer, &m.inner), IKE_OK);
    ck_assert_int_eq(check(IKE_AUTH, IKE_MSG_RESPONSE, &m.outer, &m.inner),
                     IKE_ERR_UNEXPECTED_PAYLOAD); /* IDi in a response */
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, sa_init);
    tcase_add_test(tc, sa_init_stand_ins);
    tcase_add_test(tc, ike_auth);
    tcase_add_test(tc, create_child_sa_and_informational);
    tcase_add_test(tc, built_messages);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

/*
 * test_ctl.c: the control protocol codec (include/ike/ctl.h): exact bytes
 * of a request and a reply, round trips of every command, and a table of
 * malformed frames, each with the error it must give.
 */
#include <string.h>

#include "ck_main.h"
#include "ike/ctl.h"
#include "ike/err.h"

START_TEST(request_bytes)
{
    /* rekey vpn --ike: len 8 | REQUEST v1 REKEY F_IKE | 3 "vpn" */
    static const uint8_t want[] = {0, 0, 0, 8, 1, 1, 4, 2, 3, 'v', 'p', 'n'};
    struct ike_ctl_request r = {.cmd = IKE_CTL_REKEY, .flags = IKE_CTL_F_IKE};
    strcpy(r.name, "vpn");
    uint8_t buf[IKE_CTL_REQ_MAX];
    ck_assert_int_eq(ike_ctl_encode_request(buf, sizeof(buf), &r), sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST

START_TEST(reply_bytes)
{
    /* DONE code -59 "no": len 7 | 4 | ff ff ff c5 | "no" */
    static const uint8_t want[] = {0, 0, 0, 7, 4, 0xff, 0xff, 0xff, 0xc5, 'n', 'o'};
    uint8_t buf[32];
    ck_assert_int_eq(ike_ctl_encode_reply(buf, sizeof(buf), IKE_CTL_MSG_DONE, -59, "no", 2),
                     sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    struct ike_ctl_reply rep;
    const uint8_t *body;
    size_t blen;
    ck_assert_int_eq(ike_ctl_frame(buf, sizeof(want), 100, &body, &blen), sizeof(want));
    ck_assert_int_eq(ike_ctl_decode_reply(body, blen, &rep), 0);
    ck_assert_int_eq(rep.type, IKE_CTL_MSG_DONE);
    ck_assert_int_eq(rep.code, -59);
    ck_assert_uint_eq(rep.text_len, 2);
    ck_assert_mem_eq(rep.text, "no", 2);
}
END_TEST

static const struct {
    uint8_t cmd, flags;
    const char *name;
} good[] = {
    {IKE_CTL_STATUS, 0, ""},
    {IKE_CTL_STATUS, IKE_CTL_F_JSON, ""},
    {IKE_CTL_UP, 0, "a"},
    {IKE_CTL_DOWN, 0, "site-to-site"},
    {IKE_CTL_REKEY, 0, "t"},
    {IKE_CTL_REKEY, IKE_CTL_F_IKE, "t"},
    {IKE_CTL_REKEY, IKE_CTL_F_CHILD, "t"},
    {IKE_CTL_RELOAD, 0, ""},
    {IKE_CTL_DIAGNOSE, 0, ""},
    {IKE_CTL_DIAGNOSE, 0, "x.y_z"},
    {IKE_CTL_DIAGNOSE, IKE_CTL_F_JSON, "t"},
    {IKE_CTL_WATCH, 0, ""},
    {IKE_CTL_UP, 0, "123456789012345678901234567890123456789012345678901234567890123"},
};

START_TEST(request_round_trip)
{
    struct ike_ctl_request r = {.cmd = good[_i].cmd, .flags = good[_i].flags}, back;
    strcpy(r.name, good[_i].name);
    uint8_t buf[IKE_CTL_REQ_MAX];
    int n = ike_ctl_encode_request(buf, sizeof(buf), &r);
    ck_assert_int_gt(n, 0);
    const uint8_t *body;
    size_t blen;
    ck_assert_int_eq(ike_ctl_frame(buf, (size_t)n, IKE_CTL_REQ_MAX, &body, &blen), n);
    ck_assert_int_eq(ike_ctl_decode_request(body, blen, &back), 0);
    ck_assert_int_eq(back.cmd, r.cmd);
    ck_assert_int_eq(back.flags, r.flags);
    ck_assert_str_eq(back.name, r.name);
    /* Every shorter prefix is an incomplete frame, never a message. */
    for (int k = 0; k < n; k++)
        ck_assert_int_eq(ike_ctl_frame(buf, (size_t)k, IKE_CTL_REQ_MAX, NULL, NULL),
                         IKE_ERR_TRUNCATED);
}
END_TEST

/* Requests the encoder must refuse (the client checks before sending). */
START_TEST(encode_refuses)
{
    uint8_t buf[IKE_CTL_REQ_MAX];
    struct ike_ctl_request r = {.cmd = IKE_CTL_UP};
    ck_assert_int_eq(ike_ctl_encode_request(buf, sizeof(buf), &r), IKE_ERR_CTL); /* no name */
    strcpy(r.name, "has space");
    ck_assert_int_eq(ike_ctl_encode_request(buf, sizeof(buf), &r), IKE_ERR_CTL);
    r = (struct ike_ctl_request){.cmd = IKE_CTL_REKEY, .flags = IKE_CTL_F_IKE | IKE_CTL_F_CHILD};
    strcpy(r.name, "t");
    ck_assert_int_eq(ike_ctl_encode_request(buf, sizeof(buf), &r), IKE_ERR_CTL);
    r = (struct ike_ctl_request){.cmd = 99};
    ck_assert_int_eq(ike_ctl_encode_request(buf, sizeof(buf), &r), IKE_ERR_CTL);
    r = (struct ike_ctl_request){.cmd = IKE_CTL_STATUS};
    ck_assert_int_eq(ike_ctl_encode_request(buf, 5, &r), IKE_ERR_BUF_TOO_SMALL);
    ck_assert_int_eq(ike_ctl_encode_reply(buf, sizeof(buf), IKE_CTL_MSG_DATA, 0, "\x1b[2J", 4),
                     IKE_ERR_CTL);
    ck_assert_int_eq(ike_ctl_encode_reply(buf, sizeof(buf), IKE_CTL_MSG_REQUEST, 0, "", 0),
                     IKE_ERR_CTL);
}
END_TEST

/* Malformed request bodies and the error each gives. */
static const struct {
    const char *what;
    uint8_t body[12];
    size_t len;
    int err;
} bad_req[] = {
    {"empty", {0}, 0, IKE_ERR_TRUNCATED},
    {"header cut", {1, 1, 1, 0}, 4, IKE_ERR_TRUNCATED},
    {"reply type", {2, 1, 1, 0, 0}, 5, IKE_ERR_CTL},
    {"version 2", {1, 2, 1, 0, 0}, 5, IKE_ERR_CTL},
    {"command 0", {1, 1, 0, 0, 0}, 5, IKE_ERR_CTL},
    {"command 8", {1, 1, 8, 0, 0}, 5, IKE_ERR_CTL},
    {"status flag ike", {1, 1, 1, 2, 0}, 5, IKE_ERR_CTL},
    {"rekey both", {1, 1, 4, 6, 1, 't'}, 6, IKE_ERR_CTL},
    {"up without name", {1, 1, 2, 0, 0}, 5, IKE_ERR_CTL},
    {"status with name", {1, 1, 1, 0, 1, 't'}, 6, IKE_ERR_CTL},
    {"name overruns", {1, 1, 2, 0, 5, 'a', 'b'}, 7, IKE_ERR_TRUNCATED},
    {"trailing byte", {1, 1, 2, 0, 1, 'a', 'b'}, 7, IKE_ERR_BAD_LENGTH},
    {"name with ESC", {1, 1, 2, 0, 2, 'a', 0x1b}, 7, IKE_ERR_CTL},
    {"name with NUL", {1, 1, 2, 0, 2, 'a', 0}, 7, IKE_ERR_CTL},
    {"name with space", {1, 1, 2, 0, 2, 'a', ' '}, 7, IKE_ERR_CTL},
    {"name too long", {1, 1, 2, 0, 64}, 5, IKE_ERR_CTL},
};

START_TEST(malformed_request)
{
    struct ike_ctl_request r;
    ck_assert_msg(ike_ctl_decode_request(bad_req[_i].body, bad_req[_i].len, &r) == bad_req[_i].err,
                  "%s", bad_req[_i].what);
}
END_TEST

START_TEST(malformed_frames)
{
    static const uint8_t zero[] = {0, 0, 0, 0, 1};
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
    static const uint8_t over[] = {0, 0, 0, 0x49, 1}; /* 73 > request max */
    ck_assert_int_eq(ike_ctl_frame(zero, sizeof(zero), 100, NULL, NULL), IKE_ERR_BAD_LENGTH);
    ck_assert_int_eq(ike_ctl_frame(huge, sizeof(huge), IKE_CTL_FRAME_MAX, NULL, NULL),
                     IKE_ERR_BAD_LENGTH);
    ck_assert_int_eq(
        ike_ctl_frame(over, sizeof(over), IKE_CTL_REQ_MAX - IKE_CTL_HDR_LEN, NULL, NULL),
        IKE_ERR_BAD_LENGTH);
    ck_assert_int_eq(ike_ctl_frame(huge, 3, IKE_CTL_FRAME_MAX, NULL, NULL), IKE_ERR_TRUNCATED);
    struct ike_ctl_reply rep;
    static const uint8_t esc[] = {IKE_CTL_MSG_DATA, 0, 0, 0, 0, 0x1b};
    static const uint8_t type9[] = {9, 0, 0, 0, 0};
    static const uint8_t cut[] = {IKE_CTL_MSG_DONE, 0, 0};
    ck_assert_int_eq(ike_ctl_decode_reply(esc, sizeof(esc), &rep), IKE_ERR_CTL);
    ck_assert_int_eq(ike_ctl_decode_reply(type9, sizeof(type9), &rep), IKE_ERR_CTL);
    ck_assert_int_eq(ike_ctl_decode_reply(cut, sizeof(cut), &rep), IKE_ERR_TRUNCATED);
}
END_TEST

START_TEST(cmd_names)
{
    for (uint8_t c = IKE_CTL_STATUS; c <= IKE_CTL_WATCH; c++)
        ck_assert_int_eq(ike_ctl_cmd_parse(ike_ctl_cmd_name(c)), c);
    ck_assert_int_eq(ike_ctl_cmd_parse("frobnicate"), 0);
    ck_assert_ptr_null(ike_ctl_cmd_name(0));
    ck_assert_ptr_null(ike_ctl_cmd_name(200));
    ck_assert(!ike_ctl_name_valid(""));
    ck_assert(ike_ctl_name_valid("a-b.c_d"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ctl");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, request_bytes);
    tcase_add_test(tc, reply_bytes);
    tcase_add_loop_test(tc, request_round_trip, 0, sizeof(good) / sizeof(good[0]));
    tcase_add_test(tc, encode_refuses);
    tcase_add_loop_test(tc, malformed_request, 0, sizeof(bad_req) / sizeof(bad_req[0]));
    tcase_add_test(tc, malformed_frames);
    tcase_add_test(tc, cmd_names);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

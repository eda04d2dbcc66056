/*
 * test_wire_core.c: the reader, the writer, the IKE header, the generic
 * payload chain and the message builder (RFC 7296 3.1, 3.2).
 */
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "ck_main.h"

START_TEST(reader_bounds)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    struct ike_reader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    struct ike_view v;

    ike_reader_init(&r, b, sizeof(b));
    ck_assert_int_eq(ike_read_u8(&r, &u8), IKE_OK);
    ck_assert_uint_eq(u8, 0x01);
    ck_assert_int_eq(ike_read_u16(&r, &u16), IKE_OK);
    ck_assert_uint_eq(u16, 0x0203);
    ck_assert_int_eq(ike_read_u32(&r, &u32), IKE_OK);
    ck_assert_uint_eq(u32, 0x04050607);
    ck_assert_uint_eq(ike_reader_left(&r), 2);
    /* A failed read does not move the cursor. */
    ck_assert_int_eq(ike_read_u32(&r, &u32), IKE_ERR_TRUNCATED);
    ck_assert_uint_eq(ike_reader_left(&r), 2);
    ck_assert_int_eq(ike_read_view(&r, 3, &v), IKE_ERR_TRUNCATED);
    ck_assert_int_eq(ike_read_view(&r, 2, &v), IKE_OK);
    ck_assert_ptr_eq(v.p, b + 7);
    ck_assert_uint_eq(v.len, 2);
    ck_assert_int_eq(ike_read_skip(&r, 1), IKE_ERR_TRUNCATED);
    ck_assert_int_eq(ike_read_u8(&r, &u8), IKE_ERR_TRUNCATED);

    ike_reader_init(&r, b, 8);
    ck_assert_int_eq(ike_read_u64(&r, &u64), IKE_OK);
    ck_assert(u64 == 0x0102030405060708ULL);
    ike_reader_init(&r, b, sizeof(b));
    uint8_t dst[4] = {0};
    ck_assert_int_eq(ike_read_skip(&r, 5), IKE_OK);
    ck_assert_int_eq(ike_read_copy(&r, dst, 4), IKE_OK);
    ck_assert_mem_eq(dst, b + 5, 4);
    ck_assert_int_eq(ike_read_copy(&r, dst, 1), IKE_ERR_TRUNCATED);
    /* A huge n must not wrap around the bounds check. */
    ike_reader_init(&r, b, sizeof(b));
    ck_assert_int_eq(ike_read_skip(&r, 1), IKE_OK);
    ck_assert_int_eq(ike_read_skip(&r, (size_t)-1), IKE_ERR_TRUNCATED);
}
END_TEST

START_TEST(writer_sticky)
{
    uint8_t buf[8];
    struct ike_writer w;
    ike_writer_init(&w, buf, sizeof(buf));
    ike_write_u16(&w, 0xa1b2);
    ike_write_u32(&w, 0xc3d4e5f6);
    ck_assert_int_eq(w.err, IKE_OK);
    ck_assert_uint_eq(w.len, 6);
    const uint8_t want[] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
    ck_assert_mem_eq(buf, want, 6);
    ike_write_u32(&w, 1); /* does not fit: nothing written */
    ck_assert_int_eq(w.err, IKE_ERR_BUF_TOO_SMALL);
    ck_assert_uint_eq(w.len, 6);
    ike_write_u8(&w, 1); /* would fit, but the error is sticky */
    ck_assert_uint_eq(w.len, 6);
    ck_assert_int_eq(w.err, IKE_ERR_BUF_TOO_SMALL);

    ike_writer_init(&w, buf, sizeof(buf));
    ike_write_u64(&w, 0x1122334455667788ULL);
    ck_assert_uint_eq(buf[0], 0x11);
    ck_assert_uint_eq(buf[7], 0x88);
    ike_write_patch_u16(&w, 6, 0xbeef);
    ck_assert_uint_eq(buf[6], 0xbe);
    ck_assert_uint_eq(buf[7], 0xef);
    ike_write_patch_u32(&w, 0, 0xdeadbeef);
    ck_assert_uint_eq(buf[3], 0xef);
    ck_assert_int_eq(w.err, IKE_OK);
    ike_write_patch_u16(&w, 7, 1); /* past what was written */
    ck_assert_int_eq(w.err, IKE_ERR_BUF_TOO_SMALL);

    ike_writer_init(&w, buf, sizeof(buf));
    ike_write_zeros(&w, 3);
    ike_write_bytes(&w, "abcde", 5);
    ck_assert_int_eq(w.err, IKE_OK);
    ck_assert_mem_eq(buf, "\0\0\0abcde", 8);
}
END_TEST

static const struct ike_hdr sample_hdr = {
    .spi_i = 0x0102030405060708ULL,
    .spi_r = 0,
    .next_payload = IKE_PL_NONE,
    .version = IKE_VERSION_2,
    .exchange = IKE_SA_INIT,
    .flags = IKE_FLAG_INITIATOR,
    .msg_id = 0x11223344,
    .length = IKE_HDR_LEN,
};

START_TEST(header_round_trip)
{
    uint8_t buf[IKE_HDR_LEN];
    struct ike_writer w;
    struct ike_hdr h;
    ike_writer_init(&w, buf, sizeof(buf));
    ike_hdr_encode(&w, &sample_hdr);
    ck_assert_int_eq(w.err, IKE_OK);
    ck_assert_uint_eq(w.len, IKE_HDR_LEN);
    ck_assert_uint_eq(buf[17], IKE_VERSION_2);
    ck_assert_uint_eq(buf[18], IKE_SA_INIT);
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_OK);
    ck_assert(h.spi_i == sample_hdr.spi_i);
    ck_assert(h.spi_r == 0);
    ck_assert_uint_eq(h.exchange, IKE_SA_INIT);
    ck_assert_uint_eq(h.flags, IKE_FLAG_INITIATOR);
    ck_assert_uint_eq(h.msg_id, 0x11223344);
    ck_assert_uint_eq(h.length, IKE_HDR_LEN);
}
END_TEST

START_TEST(header_errors)
{
    uint8_t buf[IKE_HDR_LEN + 4] = {0};
    struct ike_writer w;
    struct ike_hdr h;
    ike_writer_init(&w, buf, sizeof(buf));
    ike_hdr_encode(&w, &sample_hdr);
    ck_assert_int_eq(ike_hdr_decode(buf, IKE_HDR_LEN - 1, &h), IKE_ERR_TRUNCATED);
    ck_assert_int_eq(ike_hdr_decode(NULL, 0, &h), IKE_ERR_TRUNCATED);
    /* Length field says 28 but the datagram is 32 bytes. */
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_ERR_BAD_LENGTH);
    buf[27] = 32;
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_OK);
    buf[27] = 20; /* below the header size */
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_ERR_BAD_LENGTH);
    buf[27] = 32;
    buf[17] = 0x10; /* IKEv1 */
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_ERR_BAD_VERSION);
    buf[17] = 0x21; /* minor version is ignored (3.1) */
    ck_assert_int_eq(ike_hdr_decode(buf, sizeof(buf), &h), IKE_OK);
}
END_TEST

START_TEST(chain_split_and_find)
{
    /* N(4 bytes data) -> unknown 60 non-critical -> Nonce(16) -> end */
    const uint8_t c[] = {
        60,   0x00, 0x00, 0x0c, 0x00, 0x00, 0x40, 0x00, 0xaa, 0xbb,
        0xcc, 0xdd, 40,   0x7f, 0x00, 0x06, 0x01, 0x02, /* unknown, reserved bits set */
        0,    0x00, 0x00, 0x14, 1,    2,    3,    4,    5,    6,
        7,    8,    9,    10,   11,   12,   13,   14,   15,   16,
    };
    struct ike_payload_list l;
    uint8_t bad = 0;
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_NOTIFY, c, sizeof(c), &l, &bad), IKE_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_uint_eq(l.pl[0].type, IKE_PL_NOTIFY);
    ck_assert_uint_eq(l.pl[0].body.len, 8);
    ck_assert_ptr_eq(l.pl[0].body.p, c + 4);
    ck_assert_uint_eq(l.pl[1].type, IKE_PL_NONCE);
    ck_assert_uint_eq(l.pl[1].body.len, 16);
    ck_assert_uint_eq(l.sk_inner_first, IKE_PL_NONE);
    ck_assert_ptr_eq(ike_payload_find(&l, IKE_PL_NONCE, 0), &l.pl[1]);
    ck_assert_ptr_null(ike_payload_find(&l, IKE_PL_NONCE, 1));
    ck_assert_ptr_null(ike_payload_find(&l, IKE_PL_SA, 0));

    /* Same chain, but the unknown payload is critical. */
    uint8_t d[sizeof(c)];
    memcpy(d, c, sizeof(c));
    d[13] = 0x80;
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_NOTIFY, d, sizeof(d), &l, &bad),
                     IKE_ERR_UNSUPPORTED_CRITICAL);
    ck_assert_uint_eq(bad, 60);
    /* Empty chain. */
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_NONE, NULL, 0, &l, &bad), IKE_OK);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_NONE, c, 1, &l, &bad), IKE_ERR_BAD_PAYLOAD_CHAIN);
}
END_TEST

START_TEST(chain_sk_last)
{
    /* V -> SK(next = IDi), 8 bytes of "ciphertext" */
    uint8_t c[] = {46, 0, 0, 5, 0x42, 35, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8};
    struct ike_payload_list l;
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_VENDOR, c, sizeof(c), &l, NULL), IKE_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_uint_eq(l.pl[1].type, IKE_PL_SK);
    ck_assert_uint_eq(l.sk_inner_first, IKE_PL_IDI);
    /* A byte after SK is not allowed, whatever SK's next-payload says. */
    uint8_t d[sizeof(c) + 4];
    memcpy(d, c, sizeof(c));
    memcpy(d + sizeof(c), "\0\0\0\4", 4);
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_VENDOR, d, sizeof(d), &l, NULL),
                     IKE_ERR_BAD_PAYLOAD_CHAIN);
}
END_TEST

START_TEST(chain_too_many)
{
    uint8_t c[4 * (IKE_MAX_PAYLOADS + 1)];
    struct ike_payload_list l;
    for (size_t i = 0; i < sizeof(c); i += 4) {
        c[i] = i + 4 < sizeof(c) ? IKE_PL_VENDOR : 0;
        c[i + 1] = 0;
        c[i + 2] = 0;
        c[i + 3] = 4;
    }
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_VENDOR, c, sizeof(c), &l, NULL), IKE_ERR_TOO_MANY);
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_VENDOR, c + 4, sizeof(c) - 4, &l, NULL), IKE_OK);
    ck_assert_uint_eq(l.n, IKE_MAX_PAYLOADS);
}
END_TEST

START_TEST(builder_message)
{
    uint8_t buf[128];
    struct ike_msg_builder mb;
    ike_mb_init(&mb, buf, sizeof(buf), &sample_hdr);
    ck_assert_uint_eq(ike_mb_first_type(&mb), IKE_PL_NONE);
    ike_mb_begin(&mb, IKE_PL_VENDOR, false);
    ike_write_bytes(&mb.w, "abc", 3);
    ike_mb_end(&mb);
    ike_mb_begin(&mb, IKE_PL_NONCE, true);
    ike_write_zeros(&mb.w, 16);
    ike_mb_end(&mb);
    int n = ike_mb_finish(&mb);
    ck_assert_int_eq(n, IKE_HDR_LEN + 7 + 20);
    ck_assert_uint_eq(ike_mb_first_type(&mb), IKE_PL_VENDOR);

    struct ike_hdr h;
    struct ike_payload_list l;
    ck_assert_int_eq(ike_hdr_decode(buf, (size_t)n, &h), IKE_OK);
    ck_assert_uint_eq(h.next_payload, IKE_PL_VENDOR);
    ck_assert_int_eq(
        ike_payloads_decode(h.next_payload, buf + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN, &l, NULL),
        IKE_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_mem_eq(l.pl[0].body.p, "abc", 3);
    ck_assert(l.pl[1].critical);
    ck_assert_uint_eq(l.pl[1].body.len, 16);
}
END_TEST

START_TEST(builder_chain_and_overflow)
{
    uint8_t buf[64];
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, buf, sizeof(buf));
    ike_mb_begin(&mb, IKE_PL_IDI, false);
    ike_write_bytes(&mb.w, "\x02\0\0\0x", 5);
    ike_mb_begin(&mb, IKE_PL_AUTH, false); /* closes IDi */
    ike_write_bytes(&mb.w, "\x02\0\0\0yy", 6);
    int n = ike_mb_finish(&mb);
    ck_assert_int_eq(n, 9 + 10);
    ck_assert_uint_eq(ike_mb_first_type(&mb), IKE_PL_IDI);
    struct ike_payload_list l;
    ck_assert_int_eq(ike_payloads_decode(IKE_PL_IDI, buf, (size_t)n, &l, NULL), IKE_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_uint_eq(l.pl[1].type, IKE_PL_AUTH);

    ike_mb_init(&mb, buf, 40, &sample_hdr);
    ike_mb_begin(&mb, IKE_PL_NONCE, false);
    ike_write_zeros(&mb.w, 32);
    ike_mb_end(&mb);
    ck_assert_int_eq(ike_mb_finish(&mb), IKE_ERR_BUF_TOO_SMALL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reader_bounds);
    tcase_add_test(tc, writer_sticky);
    tcase_add_test(tc, header_round_trip);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, chain_split_and_find);
    tcase_add_test(tc, chain_sk_last);
    tcase_add_test(tc, chain_too_many);
    tcase_add_test(tc, builder_message);
    tcase_add_test(tc, builder_chain_and_overflow);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

/*
 * test_wire_payloads.c: encode -> decode round trips of every payload type
 * (RFC 7296 3.3-3.16, RFC 7383 2.5) with the values checked field by
 * field, and of whole messages built with ike_mb_*: each sample message
 * decodes, and re-encoding every payload gives back the same bytes.
 */
#include <stdio.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "sample_msgs.h"
#include "wire_harness.h"
#include "ck_main.h"

static uint8_t buf[8192];

/* Encode one payload with fn, then split the chain: must be one payload. */
static struct ike_payload one_payload(void (*fn)(struct ike_msg_builder *), uint8_t type)
{
    struct ike_msg_builder mb;
    struct ike_payload_list l;
    ike_mb_init_chain(&mb, buf, sizeof(buf));
    fn(&mb);
    int n = ike_mb_finish(&mb);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(ike_mb_first_type(&mb), type);
    ck_assert_int_eq(ike_payloads_decode(type, buf, (size_t)n, &l, NULL), IKE_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(l.pl[0].type, type);
    ck_assert(!l.pl[0].critical);
    return l.pl[0];
}

static void enc_sa(struct ike_msg_builder *mb)
{
    struct ike_sa_payload sa;
    sample_ike_sa(&sa, 1, false);
    ike_sa_encode(mb, &sa);
}

START_TEST(sa_round_trip)
{
    struct ike_sa_payload sa;
    struct ike_payload pl = one_payload(enc_sa, IKE_PL_SA);
    ck_assert_int_eq(ike_sa_decode(pl.body, &sa), IKE_OK);
    ck_assert_uint_eq(sa.n_proposals, 2);
    ck_assert_uint_eq(sa.p[0].num, 1);
    ck_assert_uint_eq(sa.p[0].proto, IKE_PROTO_IKE);
    ck_assert_uint_eq(sa.p[0].spi_size, 0);
    ck_assert_uint_eq(sa.p[0].n_transforms, 5);
    ck_assert_uint_eq(sa.p[0].t[0].type, IKE_TRANSFORM_ENCR);
    ck_assert_uint_eq(sa.p[0].t[0].id, ENCR_AES_CBC);
    ck_assert_uint_eq(sa.p[0].t[0].keylen, 256);
    ck_assert_uint_eq(sa.p[0].t[1].keylen, 0);
    ck_assert_uint_eq(sa.p[0].t[4].id, CURVE25519);
    ck_assert_uint_eq(sa.p[1].num, 2);
    ck_assert_uint_eq(sa.p[1].t[0].id, ENCR_AES_GCM_16);
    ck_assert_uint_eq(sa.p[1].t[0].keylen, 128);
    /* The bytes of the first transform, from 3.3.2 and 3.3.5. */
    const uint8_t xf[] = {3, 0, 0, 12, 1, 0, 0, 12, 0x80, 14, 1, 0};
    ck_assert_mem_eq(pl.body.p + 8, xf, sizeof(xf));
    struct ike_sa_payload esp;
    sample_child_sa(&esp, IKE_PROTO_ESP);
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, buf, sizeof(buf));
    ike_sa_encode(&mb, &esp);
    int n = ike_mb_finish(&mb);
    ck_assert_int_eq(ike_sa_decode((struct ike_view){buf + 4, (size_t)n - 4}, &sa), IKE_OK);
    ck_assert(harness_sa_eq(&sa, &esp));
    ck_assert_uint_eq(sa.p[0].spi_size, 4);
    ck_assert_mem_eq(sa.p[0].spi, esp.p[0].spi, 4);
}
END_TEST

static void enc_ke(struct ike_msg_builder *mb)
{
    ike_ke_encode(mb, ECP_256, (const uint8_t *)"0123456789abcdef", 16);
}

static void enc_id(struct ike_msg_builder *mb)
{
    ike_id_encode(mb, IKE_PL_IDR, ID_RFC822_ADDR, (const uint8_t *)"a@b.example", 11);
}

static void enc_cert(struct ike_msg_builder *mb)
{
    ike_cert_encode(mb, IKE_PL_CERT, CERT_X509_SIGNATURE, (const uint8_t *)"\x30\x82\x01", 3);
}

static void enc_auth(struct ike_msg_builder *mb)
{
    ike_auth_encode(mb, IKE_AUTH_SHARED_KEY_MIC, (const uint8_t *)"macmacmac", 9);
}

START_TEST(ke_id_cert_auth_round_trip)
{
    struct ike_ke_payload ke;
    struct ike_payload pl = one_payload(enc_ke, IKE_PL_KE);
    ck_assert_int_eq(ike_ke_decode(pl.body, &ke), IKE_OK);
    ck_assert_uint_eq(ke.group, ECP_256);
    ck_assert_uint_eq(ke.data.len, 16);
    ck_assert_mem_eq(ke.data.p, "0123456789abcdef", 16);

    struct ike_id_payload id;
    pl = one_payload(enc_id, IKE_PL_IDR);
    ck_assert_int_eq(ike_id_decode(pl.body, &id), IKE_OK);
    ck_assert_uint_eq(id.type, ID_RFC822_ADDR);
    ck_assert_mem_eq(id.data.p, "a@b.example", 11);
    /* 2.15: the whole body (type + reserved + data) is what AUTH covers. */
    ck_assert_ptr_eq(id.body.p, pl.body.p);
    ck_assert_uint_eq(id.body.len, 15);

    struct ike_cert_payload c;
    pl = one_payload(enc_cert, IKE_PL_CERT);
    ck_assert_int_eq(ike_cert_decode(pl.body, &c), IKE_OK);
    ck_assert_uint_eq(c.encoding, CERT_X509_SIGNATURE);
    ck_assert_uint_eq(c.data.len, 3);

    struct ike_auth_payload a;
    pl = one_payload(enc_auth, IKE_PL_AUTH);
    ck_assert_int_eq(ike_auth_decode(pl.body, &a), IKE_OK);
    ck_assert_uint_eq(a.method, IKE_AUTH_SHARED_KEY_MIC);
    ck_assert_mem_eq(a.data.p, "macmacmac", 9);
}
END_TEST

static void enc_nonce(struct ike_msg_builder *mb)
{
    uint8_t n[IKE_NONCE_MAX];
    sample_fill(n, sizeof(n), 1);
    ike_nonce_encode(mb, n, sizeof(n));
}

static void enc_vendor(struct ike_msg_builder *mb)
{
    ike_vendor_encode(mb, (const uint8_t *)"vid", 3);
}

static void enc_notify(struct ike_msg_builder *mb)
{
    ike_notify_encode(mb, IKE_PROTO_ESP, (const uint8_t *)"\x01\x02\x03\x04", 4, IKE_N_REKEY_SA,
                      (const uint8_t *)"xy", 2);
}

static void enc_delete(struct ike_msg_builder *mb)
{
    ike_delete_encode(mb, IKE_PROTO_ESP, 4, (const uint8_t *)"\x0a\x0b\x0c\x0d\x01\x02\x03\x04", 2);
}

START_TEST(nonce_notify_delete_vendor_round_trip)
{
    struct ike_view nonce;
    struct ike_payload pl = one_payload(enc_nonce, IKE_PL_NONCE);
    ck_assert_int_eq(ike_nonce_decode(pl.body, &nonce), IKE_OK);
    ck_assert_uint_eq(nonce.len, IKE_NONCE_MAX);
    ck_assert_uint_eq(nonce.p[1], 8);

    pl = one_payload(enc_vendor, IKE_PL_VENDOR);
    ck_assert_uint_eq(pl.body.len, 3);
    ck_assert_mem_eq(pl.body.p, "vid", 3);

    struct ike_notify_payload n;
    pl = one_payload(enc_notify, IKE_PL_NOTIFY);
    ck_assert_int_eq(ike_notify_decode(pl.body, &n), IKE_OK);
    ck_assert_uint_eq(n.proto, IKE_PROTO_ESP);
    ck_assert_uint_eq(n.spi_size, 4);
    ck_assert_uint_eq(n.type, IKE_N_REKEY_SA);
    ck_assert_mem_eq(n.spi.p, "\x01\x02\x03\x04", 4);
    ck_assert_mem_eq(n.data.p, "xy", 2);

    struct ike_delete_payload d;
    pl = one_payload(enc_delete, IKE_PL_DELETE);
    ck_assert_int_eq(ike_delete_decode(pl.body, &d), IKE_OK);
    ck_assert_uint_eq(d.proto, IKE_PROTO_ESP);
    ck_assert_uint_eq(d.n_spi, 2);
    ck_assert_uint_eq(ike_delete_spi32(&d, 0), 0x0a0b0c0d);
    ck_assert_uint_eq(ike_delete_spi32(&d, 1), 0x01020304);
    ck_assert_uint_eq(ike_delete_spi32(&d, 2), 0); /* out of range */
}
END_TEST

static void enc_ts(struct ike_msg_builder *mb)
{
    struct ike_ts_payload ts;
    sample_ts(&ts, true);
    ike_ts_encode(mb, IKE_PL_TSI, &ts);
}

START_TEST(ts_round_trip)
{
    struct ike_ts_payload ts, want;
    sample_ts(&want, true);
    struct ike_payload pl = one_payload(enc_ts, IKE_PL_TSI);
    ck_assert_uint_eq(pl.body.len, 4 + 16 + 40);
    ck_assert_int_eq(ike_ts_decode(pl.body, &ts), IKE_OK);
    ck_assert_uint_eq(ts.n, 2);
    ck_assert(harness_ts_eq(&ts, &want));
    ck_assert_uint_eq(ts.ts[0].type, TS_IPV4_ADDR_RANGE);
    ck_assert_uint_eq(ts.ts[0].end_port, 65535);
    ck_assert_uint_eq(ts.ts[1].type, TS_IPV6_ADDR_RANGE);
    ck_assert_uint_eq(ts.ts[1].ip_proto, 17);
    ck_assert_uint_eq(ts.ts[1].start_port, 500);
    ck_assert_uint_eq(ts.ts[1].end_addr[15], 0xff);
}
END_TEST

static void enc_cp(struct ike_msg_builder *mb)
{
    struct ike_cp_payload cp = {.cfg_type = CFG_REPLY, .n = 2};
    cp.attr[0].type = 1;
    cp.attr[0].value = (struct ike_view){(const uint8_t *)"\x0a\x00\x00\x05", 4};
    cp.attr[1].type = 0x7fff;
    ike_cp_encode(mb, &cp);
}

static void enc_eap(struct ike_msg_builder *mb)
{
    ike_mb_begin(mb, IKE_PL_EAP, false);
    ike_write_bytes(&mb->w, "\x01\x05\x00\x08\x04xyz", 8);
    ike_mb_end(mb);
}

static void enc_skf(struct ike_msg_builder *mb)
{
    ike_mb_begin(mb, IKE_PL_SKF, false);
    ike_write_bytes(&mb->w, "\x00\x01\x00\x02ivct", 8);
    ike_mb_end(mb);
}

START_TEST(cp_eap_skf_round_trip)
{
    struct ike_cp_payload cp;
    struct ike_payload pl = one_payload(enc_cp, IKE_PL_CP);
    ck_assert_int_eq(ike_cp_decode(pl.body, &cp), IKE_OK);
    ck_assert_uint_eq(cp.cfg_type, CFG_REPLY);
    ck_assert_uint_eq(cp.n, 2);
    ck_assert_uint_eq(cp.attr[0].type, 1);
    ck_assert_mem_eq(cp.attr[0].value.p, "\x0a\x00\x00\x05", 4);
    ck_assert_uint_eq(cp.attr[1].type, 0x7fff);
    ck_assert_uint_eq(cp.attr[1].value.len, 0);

    struct ike_eap_payload e;
    pl = one_payload(enc_eap, IKE_PL_EAP);
    ck_assert_int_eq(ike_eap_decode(pl.body, &e), IKE_OK);
    ck_assert_uint_eq(e.code, 1);
    ck_assert_uint_eq(e.id, 5);
    ck_assert_uint_eq(e.length, 8);
    ck_assert_uint_eq(e.type, 4);
    ck_assert_mem_eq(e.data.p, "xyz", 3);

    struct ike_skf_payload f;
    pl = one_payload(enc_skf, IKE_PL_SKF);
    ck_assert_int_eq(ike_skf_decode(pl.body, &f), IKE_OK);
    ck_assert_uint_eq(f.frag_num, 1);
    ck_assert_uint_eq(f.total_frags, 2);
    ck_assert_mem_eq(f.data.p, "ivct", 4);
}
END_TEST

/* Re-encode every payload of a decoded list into a chain; the chain must
 * be byte-identical to the original (our builder writes canonical bytes). */
static void reencode_equal(const struct ike_payload_list *l, uint8_t first, const uint8_t *orig,
                           size_t orig_len, const char *what)
{
    static uint8_t out[8192];
    struct ike_msg_builder mb;
    union pl_decoded d;
    ike_mb_init_chain(&mb, out, sizeof(out));
    for (size_t i = 0; i < l->n; i++) {
        ck_assert_int_eq(harness_decode_payload(l->pl[i].type, l->pl[i].body, &d), IKE_OK);
        harness_encode_payload(&mb, l->pl[i].type, &d);
    }
    int n = ike_mb_finish(&mb);
    if (l->n && l->pl[l->n - 1].type == IKE_PL_SK)
        out[mb.pl_start] = l->sk_inner_first;
    ck_assert_uint_eq(ike_mb_first_type(&mb), first);
    ck_assert_msg(n == (int)orig_len && memcmp(out, orig, orig_len) == 0,
                  "%s: re-encoded chain differs (%d vs %zu bytes)", what, n, orig_len);
}

START_TEST(sample_message_round_trip)
{
    static uint8_t msg[8192];
    const struct sample_msg *s = &sample_msgs[_i];
    struct harness_msg m;
    int n = s->build(msg, sizeof(msg));
    ck_assert_msg(n > IKE_HDR_LEN, "%s: build failed (%d)", s->name, n);
    ck_assert_int_eq(harness_decode_msg(msg, (size_t)n, &m), IKE_OK);
    ck_assert_uint_eq(m.hdr.length, (uint32_t)n);
    ck_assert_uint_ge(m.outer.n, 1);
    reencode_equal(&m.outer, m.hdr.next_payload, msg + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN,
                   s->name);
    if (ike_payload_find(&m.outer, IKE_PL_SK, 0)) {
        const struct ike_payload *sk = ike_payload_find(&m.outer, IKE_PL_SK, 0);
        ck_assert_msg(m.has_inner, "%s: inner chain: %s", s->name, ike_err_str(m.inner_rc));
        reencode_equal(&m.inner, m.outer.sk_inner_first, sk->body.p, sk->body.len, s->name);
    }
    /* Every sample is a valid message for its exchange and direction. */
    int rc = ike_payload_rules_check(m.hdr.exchange, harness_kind(&m.hdr), &m.outer,
                                     m.has_inner ? &m.inner : NULL);
    ck_assert_msg(rc == IKE_OK, "%s: rules: %s", s->name, ike_err_str(rc));
}
END_TEST

START_TEST(sa_init_request_values)
{
    static uint8_t msg[4096];
    struct harness_msg m;
    struct ike_ke_payload ke;
    struct ike_notify_payload no;
    struct ike_view nonce;
    int n = sample_sa_init_req(msg, sizeof(msg));
    ck_assert_int_eq(harness_decode_msg(msg, (size_t)n, &m), IKE_OK);
    ck_assert_uint_eq(m.hdr.exchange, IKE_SA_INIT);
    ck_assert_uint_eq(m.hdr.flags, IKE_FLAG_INITIATOR);
    ck_assert(m.hdr.spi_r == 0);
    ck_assert_uint_eq(m.outer.n, 7);
    ck_assert_int_eq(ike_ke_decode(ike_payload_find(&m.outer, IKE_PL_KE, 0)->body, &ke), IKE_OK);
    ck_assert_uint_eq(ke.group, MODP_2048);
    ck_assert_uint_eq(ke.data.len, 256);
    ck_assert_int_eq(ike_nonce_decode(ike_payload_find(&m.outer, IKE_PL_NONCE, 0)->body, &nonce),
                     IKE_OK);
    ck_assert_uint_eq(nonce.len, 32);
    ck_assert_int_eq(ike_notify_decode(ike_payload_find(&m.outer, IKE_PL_NOTIFY, 2)->body, &no),
                     IKE_OK);
    ck_assert_uint_eq(no.type, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED);
    ck_assert_uint_eq(no.data.len, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("wire_payloads");
    TCase *tc = tcase_create("payloads");
    tcase_add_test(tc, sa_round_trip);
    tcase_add_test(tc, ke_id_cert_auth_round_trip);
    tcase_add_test(tc, nonce_notify_delete_vendor_round_trip);
    tcase_add_test(tc, ts_round_trip);
    tcase_add_test(tc, cp_eap_skf_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("messages");
    tcase_add_loop_test(tc, sample_message_round_trip, 0, (int)SAMPLE_MSGS_N);
    tcase_add_test(tc, sa_init_request_values);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()

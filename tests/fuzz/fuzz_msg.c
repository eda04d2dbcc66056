/*
 * fuzz_msg.c: libFuzzer target for the whole-message decoder. Decodes the
 * header, the plain chain, every payload with its decoder, the SK body as
 * an inner chain (wire_harness.h), and runs the rules table; then
 * re-encodes everything that decoded and requires the result to decode to
 * the same values (decode(encode(decode(x))) == decode(x)). A second pass
 * reads the input as a bare chain whose first type is input[0], so chain
 * splitting is fuzzed without the header's length check in the way.
 * Built with -fsanitize=fuzzer,address (meson -Dfuzz=true) and, in the
 * ordinary test run, with replay.c as its main().
 */
#include <stdlib.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "wire_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static uint8_t out[IKE_MAX_MSG_LEN + 1024];

/* Re-encode a decoded chain; returns its length (and the builder). */
static int reencode(struct ike_msg_builder *mb, const struct ike_payload_list *l)
{
    union pl_decoded d;
    for (size_t i = 0; i < l->n; i++) {
        FUZZ_ASSERT(harness_decode_payload(l->pl[i].type, l->pl[i].body, &d) == IKE_OK);
        harness_encode_payload(mb, l->pl[i].type, &d);
    }
    return ike_mb_finish(mb);
}

/* Every payload of b decodes to the same values as the one of a. */
static void lists_equal(const struct ike_payload_list *a, const struct ike_payload_list *b)
{
    static union pl_decoded da, db;
    FUZZ_ASSERT(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        FUZZ_ASSERT(a->pl[i].type == b->pl[i].type);
        FUZZ_ASSERT(harness_decode_payload(a->pl[i].type, a->pl[i].body, &da) == IKE_OK);
        FUZZ_ASSERT(harness_decode_payload(b->pl[i].type, b->pl[i].body, &db) == IKE_OK);
        FUZZ_ASSERT(harness_decoded_eq(a->pl[i].type, &da, &db));
    }
}

static void message_round_trip(const struct harness_msg *m)
{
    static struct harness_msg m2;
    struct ike_msg_builder mb;
    ike_mb_init(&mb, out, sizeof(out), &m->hdr);
    int n = reencode(&mb, &m->outer);
    FUZZ_ASSERT(n >= IKE_HDR_LEN);
    if (m->outer.n && m->outer.pl[m->outer.n - 1].type == IKE_PL_SK)
        out[mb.pl_start] = m->outer.sk_inner_first;
    FUZZ_ASSERT(harness_decode_msg(out, (size_t)n, &m2) == IKE_OK);
    FUZZ_ASSERT(m2.hdr.spi_i == m->hdr.spi_i && m2.hdr.spi_r == m->hdr.spi_r);
    FUZZ_ASSERT(m2.hdr.exchange == m->hdr.exchange && m2.hdr.flags == m->hdr.flags);
    FUZZ_ASSERT(m2.hdr.msg_id == m->hdr.msg_id);
    lists_equal(&m->outer, &m2.outer);
    FUZZ_ASSERT(m2.has_inner == m->has_inner);
    if (m->has_inner)
        lists_equal(&m->inner, &m2.inner);
    /* The rules only look at types and notify types: same verdict. */
    enum ike_msg_kind k = harness_kind(&m->hdr);
    FUZZ_ASSERT(
        ike_payload_rules_check(m->hdr.exchange, k, &m->outer, m->has_inner ? &m->inner : NULL) ==
        ike_payload_rules_check(m2.hdr.exchange, k, &m2.outer, m2.has_inner ? &m2.inner : NULL));
}

static void bare_chain(const uint8_t *data, size_t size)
{
    static struct ike_payload_list l, l2;
    struct ike_msg_builder mb;
    uint8_t bad = 0;
    if (size < 1)
        return;
    if (ike_payloads_decode(data[0], data + 1, size - 1, &l, &bad) != IKE_OK)
        return;
    if (harness_decode_list(&l) != IKE_OK)
        return;
    (void)ike_payload_rules_check(INFORMATIONAL, IKE_MSG_REQUEST, &l, &l);
    ike_mb_init_chain(&mb, out, sizeof(out));
    int n = reencode(&mb, &l);
    FUZZ_ASSERT(n >= 0);
    if (l.n && l.pl[l.n - 1].type == IKE_PL_SK)
        out[mb.pl_start] = l.sk_inner_first;
    FUZZ_ASSERT(ike_payloads_decode(ike_mb_first_type(&mb), out, (size_t)n, &l2, &bad) == IKE_OK);
    lists_equal(&l, &l2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness_msg m;
    if (size > IKE_MAX_MSG_LEN) /* not a UDP datagram; keeps re-encoding in bounds */
        return 0;
    if (harness_decode_msg(data, size, &m) == IKE_OK) {
        enum ike_msg_kind k = harness_kind(&m.hdr);
        (void)ike_payload_rules_check(m.hdr.exchange, k, &m.outer, NULL);
        (void)ike_payload_rules_check(m.hdr.exchange, k, &m.outer, m.has_inner ? &m.inner : NULL);
        (void)ike_exchange_name(m.hdr.exchange);
        message_round_trip(&m);
    }
    bare_chain(data, size);
    return 0;
}

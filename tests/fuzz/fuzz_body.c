/*
 * fuzz_body.c: libFuzzer target for the payload body decoders alone. The
 * first input byte picks the payload type (mod the known types), the rest
 * is the body. What decodes is encoded again and must decode to the same
 * values; names of every decoded number are looked up (never NULL). Finds
 * what fuzz_msg.c reaches only slowly: deep SA/TS/CP/Delete structure.
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

static void names(uint8_t type, const union pl_decoded *d)
{
    FUZZ_ASSERT(ike_payload_name(type) != NULL);
    if (type == IKE_PL_SA)
        for (size_t i = 0; i < d->sa.n_proposals; i++) {
            FUZZ_ASSERT(ike_proto_name(d->sa.p[i].proto) != NULL);
            for (size_t j = 0; j < d->sa.p[i].n_transforms; j++)
                FUZZ_ASSERT(ike_transform_name(d->sa.p[i].t[j].type, d->sa.p[i].t[j].id) != NULL);
        }
    if (type == IKE_PL_NOTIFY)
        FUZZ_ASSERT(ike_notify_name(d->notify.type) != NULL);
    if (type == IKE_PL_IDI || type == IKE_PL_IDR)
        FUZZ_ASSERT(ike_id_type_name(d->id.type) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static union pl_decoded a, b;
    static uint8_t out[IKE_MAX_MSG_LEN + 1024];
    struct ike_msg_builder mb;
    struct ike_payload_list l;
    if (size < 1 || size - 1 > UINT16_MAX - IKE_GENERIC_HDR_LEN)
        return 0;
    uint8_t type = harness_body_types[data[0] % HARNESS_BODY_TYPES_N];
    struct ike_view body = {data + 1, size - 1};
    if (harness_decode_payload(type, body, &a) != IKE_OK)
        return 0;
    names(type, &a);
    ike_mb_init_chain(&mb, out, sizeof(out));
    harness_encode_payload(&mb, type, &a);
    int n = ike_mb_finish(&mb);
    FUZZ_ASSERT(n >= IKE_GENERIC_HDR_LEN);
    FUZZ_ASSERT(ike_payloads_decode(type, out, (size_t)n, &l, NULL) == IKE_OK);
    FUZZ_ASSERT(l.n == 1 && l.pl[0].type == type);
    FUZZ_ASSERT(harness_decode_payload(type, l.pl[0].body, &b) == IKE_OK);
    FUZZ_ASSERT(harness_decoded_eq(type, &a, &b));
    return 0;
}

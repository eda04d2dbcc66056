/*
 * skf.c: the Encrypted Fragment payload framing (RFC 7383 2.5). Checked:
 * fragment number >= 1, total >= fragment number, and some encrypted data
 * present. Reassembly, the "first fragment carries the inner type" rule
 * and decryption live in the engine and crypto layers, never here.
 */
#include "ike/err.h"
#include "ike/wire.h"
#include "body.h"

int ike_skf_decode(struct ike_view body, struct ike_skf_payload *f)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u16(&r, &f->frag_num);
    (void)ike_read_u16(&r, &f->total_frags);
    if (f->frag_num == 0 || f->total_frags < f->frag_num)
        return IKE_ERR_INVALID_SYNTAX;
    (void)ike_read_view(&r, ike_reader_left(&r), &f->data);
    /* 2.5: IV, ciphertext and ICV are never all empty. */
    return f->data.len ? IKE_OK : IKE_ERR_EMPTY_PAYLOAD;
}

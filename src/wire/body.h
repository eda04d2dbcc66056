/*
 * body.h: shared by the payload decoders of src/wire (not a public API).
 */
#ifndef IKE_WIRE_BODY_H
#define IKE_WIRE_BODY_H

#include "ike/wire.h"

/* Open a payload body that starts with a fixed header of hdr_len bytes:
 * an empty body is IKE_ERR_EMPTY_PAYLOAD, a shorter one IKE_ERR_TRUNCATED. */
int ike_body_open(struct ike_view body, size_t hdr_len, struct ike_reader *r);

#endif

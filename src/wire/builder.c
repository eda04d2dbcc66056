/*
 * builder.c: strings payloads into a message (RFC 7296 3.1, 3.2). Each
 * ike_mb_begin() writes a generic header and patches the previous
 * "next payload" byte (the IKE header's, or the previous payload's), each
 * ike_mb_end() patches the payload length, and ike_mb_finish() patches the
 * header length. Errors are sticky in the writer: a builder checks only the
 * result of ike_mb_finish(). Must not allocate; never reads the network.
 */
#include "ike/err.h"
#include "ike/wire.h"

#define NO_NP_OFF   ((size_t)-1) /* no byte to patch yet (bare chain) */
#define HDR_NP_OFF  16           /* 3.1: next payload byte of the header */
#define HDR_LEN_OFF 24           /* 3.1: length field of the header */

void ike_mb_init(struct ike_msg_builder *mb, uint8_t *buf, size_t cap, const struct ike_hdr *h)
{
    struct ike_hdr hh = *h;
    ike_writer_init(&mb->w, buf, cap);
    hh.next_payload = IKE_PL_NONE;
    hh.length = IKE_HDR_LEN;
    ike_hdr_encode(&mb->w, &hh);
    mb->np_off = HDR_NP_OFF;
    mb->pl_start = 0;
    mb->open = false;
    mb->has_hdr = true;
    mb->first_type = IKE_PL_NONE;
}

void ike_mb_init_chain(struct ike_msg_builder *mb, uint8_t *buf, size_t cap)
{
    ike_writer_init(&mb->w, buf, cap);
    mb->np_off = NO_NP_OFF;
    mb->pl_start = 0;
    mb->open = false;
    mb->has_hdr = false;
    mb->first_type = IKE_PL_NONE;
}

void ike_mb_begin(struct ike_msg_builder *mb, uint8_t type, bool critical)
{
    if (mb->open)
        ike_mb_end(mb); /* forgiving: a forgotten end closes the payload */
    if (mb->w.err)
        return;
    if (mb->first_type == IKE_PL_NONE)
        mb->first_type = type;
    if (mb->np_off != NO_NP_OFF)
        mb->w.buf[mb->np_off] = type;
    mb->pl_start = mb->w.len;
    ike_write_u8(&mb->w, IKE_PL_NONE); /* patched by the next begin */
    ike_write_u8(&mb->w, critical ? 0x80 : 0);
    ike_write_u16(&mb->w, 0); /* patched by end */
    if (mb->w.err)
        return;
    mb->np_off = mb->pl_start;
    mb->open = true;
}

void ike_mb_end(struct ike_msg_builder *mb)
{
    if (!mb->open)
        return;
    mb->open = false;
    if (mb->w.err)
        return;
    size_t plen = mb->w.len - mb->pl_start;
    if (plen > UINT16_MAX) { /* cannot be expressed in the 16-bit field */
        mb->w.err = IKE_ERR_BUF_TOO_SMALL;
        return;
    }
    ike_write_patch_u16(&mb->w, mb->pl_start + 2, (uint16_t)plen);
}

/* For an SK payload the caller patches the SK next-payload byte itself
 * (3.14: it names the first inner payload), after finishing. */
int ike_mb_finish(struct ike_msg_builder *mb)
{
    if (mb->open)
        ike_mb_end(mb);
    if (mb->w.err)
        return mb->w.err;
    if (mb->has_hdr)
        ike_write_patch_u32(&mb->w, HDR_LEN_OFF, (uint32_t)mb->w.len);
    if (mb->w.err)
        return mb->w.err;
    if (mb->w.len > (size_t)IKE_MAX_MSG_LEN && mb->has_hdr)
        return IKE_ERR_BUF_TOO_SMALL;
    return (int)mb->w.len;
}

uint8_t ike_mb_first_type(const struct ike_msg_builder *mb)
{
    return mb->first_type;
}

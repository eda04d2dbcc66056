/*
 * sa.c: the SA payload (RFC 7296 3.3): proposals (3.3.1), transforms
 * (3.3.2) and transform attributes (3.3.5; only Key Length is kept).
 * Checked: proposal and transform substructure lengths and "last" markers,
 * proposal numbering (non-zero, each one more than the previous), protocol
 * ID and SPI size, the announced transform count, attribute TV/TLV framing,
 * and the caps IKE_MAX_PROPOSALS / IKE_MAX_TRANSFORMS. Choosing a proposal
 * is the engine's job: this file only says whether the bytes are well formed.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"

#define PROP_HDR_LEN   8 /* 3.3.1 fixed part */
#define XFORM_HDR_LEN  8 /* 3.3.2 fixed part */
#define LAST_PROP      0
#define MORE_PROP      2
#define LAST_XFORM     0
#define MORE_XFORM     3
#define ATTR_TYPE_MASK 0x7fff

/* 3.3.1: IKE SPIs are 8 octets (0 in the initial IKE_SA_INIT), AH/ESP 4. */
static int check_spi_size(uint8_t proto, uint8_t spi_size)
{
    switch (proto) {
    case IKE_PROTO_IKE:
        return spi_size == 0 || spi_size == IKE_SPI_LEN ? IKE_OK : IKE_ERR_BAD_SPI;
    case IKE_PROTO_AH:
    case IKE_PROTO_ESP:
        return spi_size == IKE_CHILD_SPI_LEN ? IKE_OK : IKE_ERR_BAD_SPI;
    }
    return IKE_ERR_INVALID_SYNTAX;
}

/* 3.3.5: attributes are TV (AF=1, 4 octets) or TLV (AF=0, 4 + length). */
static int decode_attrs(struct ike_reader *r, struct ike_transform *t)
{
    bool have_keylen = false;
    while (ike_reader_left(r) > 0) {
        uint16_t af_type, lv;
        if (ike_read_u16(r, &af_type) != IKE_OK || ike_read_u16(r, &lv) != IKE_OK)
            return IKE_ERR_TRUNCATED;
        bool tv = (af_type & IKE_ATTR_TV_BIT) != 0;
        uint16_t type = af_type & ATTR_TYPE_MASK;
        if (type == IKE_ATTR_KEY_LENGTH) {
            /* Key Length is TV only, and once per transform. */
            if (!tv || have_keylen || lv == 0)
                return IKE_ERR_INVALID_SYNTAX;
            have_keylen = true;
            t->keylen = lv;
        } else if (!tv && ike_read_skip(r, lv) != IKE_OK) {
            return IKE_ERR_BAD_LENGTH; /* TLV value past the transform */
        }
    }
    return IKE_OK;
}

static int decode_transform(struct ike_reader *r, uint8_t *last, struct ike_transform *t)
{
    uint8_t rsv;
    uint16_t tlen;
    struct ike_view attrs;
    if (ike_reader_left(r) < XFORM_HDR_LEN)
        return IKE_ERR_TRUNCATED;
    (void)ike_read_u8(r, last);
    (void)ike_read_u8(r, &rsv);
    (void)ike_read_u16(r, &tlen);
    (void)ike_read_u8(r, &t->type);
    (void)ike_read_u8(r, &rsv);
    (void)ike_read_u16(r, &t->id);
    t->keylen = 0;
    if (*last != LAST_XFORM && *last != MORE_XFORM)
        return IKE_ERR_INVALID_SYNTAX;
    if (tlen < XFORM_HDR_LEN)
        return IKE_ERR_BAD_LENGTH;
    if (ike_read_view(r, tlen - XFORM_HDR_LEN, &attrs) != IKE_OK)
        return IKE_ERR_BAD_LENGTH; /* transform runs past its proposal */
    struct ike_reader ar;
    ike_reader_init(&ar, attrs.p, attrs.len);
    return decode_attrs(&ar, t);
}

static int decode_transforms(struct ike_reader *r, uint8_t announced, struct ike_proposal *p)
{
    uint8_t last = MORE_XFORM;
    p->n_transforms = 0;
    if (announced == 0)
        return IKE_ERR_INVALID_SYNTAX;
    if (announced > IKE_MAX_TRANSFORMS)
        return IKE_ERR_TOO_MANY;
    while (last == MORE_XFORM) {
        if (p->n_transforms == announced)
            return IKE_ERR_INVALID_SYNTAX; /* more transforms than announced */
        int rc = decode_transform(r, &last, &p->t[p->n_transforms]);
        if (rc != IKE_OK)
            return rc;
        p->n_transforms++;
    }
    if (p->n_transforms != announced)
        return IKE_ERR_INVALID_SYNTAX;
    if (ike_reader_left(r) != 0)
        return IKE_ERR_BAD_LENGTH; /* proposal longer than its transforms */
    return IKE_OK;
}

static int decode_proposal(struct ike_reader *r, uint8_t *last, struct ike_proposal *p)
{
    uint8_t rsv, n_xf;
    uint16_t plen;
    struct ike_view body;
    if (ike_reader_left(r) < PROP_HDR_LEN)
        return IKE_ERR_TRUNCATED;
    (void)ike_read_u8(r, last);
    (void)ike_read_u8(r, &rsv);
    (void)ike_read_u16(r, &plen);
    (void)ike_read_u8(r, &p->num);
    (void)ike_read_u8(r, &p->proto);
    (void)ike_read_u8(r, &p->spi_size);
    (void)ike_read_u8(r, &n_xf);
    if (*last != LAST_PROP && *last != MORE_PROP)
        return IKE_ERR_INVALID_SYNTAX;
    if (plen < PROP_HDR_LEN)
        return IKE_ERR_BAD_LENGTH;
    if (ike_read_view(r, plen - PROP_HDR_LEN, &body) != IKE_OK)
        return IKE_ERR_BAD_LENGTH; /* proposal runs past the payload */
    int rc = check_spi_size(p->proto, p->spi_size);
    if (rc != IKE_OK)
        return rc;
    struct ike_reader pr;
    ike_reader_init(&pr, body.p, body.len);
    memset(p->spi, 0, sizeof(p->spi));
    if (ike_read_copy(&pr, p->spi, p->spi_size) != IKE_OK)
        return IKE_ERR_BAD_LENGTH;
    return decode_transforms(&pr, n_xf, p);
}

int ike_sa_decode(struct ike_view body, struct ike_sa_payload *sa)
{
    struct ike_reader r;
    uint8_t last = MORE_PROP;
    sa->n_proposals = 0;
    if (body.len == 0)
        return IKE_ERR_EMPTY_PAYLOAD; /* 3.3: at least one proposal */
    ike_reader_init(&r, body.p, body.len);
    while (last == MORE_PROP) {
        if (sa->n_proposals == IKE_MAX_PROPOSALS)
            return IKE_ERR_TOO_MANY;
        struct ike_proposal *p = &sa->p[sa->n_proposals];
        int rc = decode_proposal(&r, &last, p);
        if (rc != IKE_OK)
            return rc;
        /* 3.3.1: numbers start anywhere in a response (the accepted one)
         * but are never 0 and each is one more than the previous. */
        if (p->num == 0)
            return IKE_ERR_INVALID_SYNTAX;
        if (sa->n_proposals > 0 && p->num != sa->p[sa->n_proposals - 1].num + 1)
            return IKE_ERR_INVALID_SYNTAX;
        sa->n_proposals++;
    }
    if (ike_reader_left(&r) != 0)
        return IKE_ERR_BAD_LENGTH; /* bytes after the last proposal */
    return IKE_OK;
}

static void encode_transform(struct ike_writer *w, const struct ike_transform *t, bool last)
{
    uint16_t tlen = XFORM_HDR_LEN + (t->keylen ? 4 : 0);
    ike_write_u8(w, last ? LAST_XFORM : MORE_XFORM);
    ike_write_u8(w, 0);
    ike_write_u16(w, tlen);
    ike_write_u8(w, t->type);
    ike_write_u8(w, 0);
    ike_write_u16(w, t->id);
    if (t->keylen) {
        ike_write_u16(w, IKE_ATTR_TV_BIT | IKE_ATTR_KEY_LENGTH);
        ike_write_u16(w, t->keylen);
    }
}

static void encode_proposal(struct ike_writer *w, const struct ike_proposal *p, bool last)
{
    size_t start = w->len;
    uint8_t spi_size = p->spi_size <= IKE_MAX_SPI_LEN ? p->spi_size : IKE_MAX_SPI_LEN;
    uint8_t n = p->n_transforms <= IKE_MAX_TRANSFORMS ? p->n_transforms : IKE_MAX_TRANSFORMS;
    ike_write_u8(w, last ? LAST_PROP : MORE_PROP);
    ike_write_u8(w, 0);
    ike_write_u16(w, 0); /* length, patched below */
    ike_write_u8(w, p->num);
    ike_write_u8(w, p->proto);
    ike_write_u8(w, spi_size);
    ike_write_u8(w, n);
    ike_write_bytes(w, p->spi, spi_size);
    for (uint8_t i = 0; i < n; i++)
        encode_transform(w, &p->t[i], i + 1 == n);
    if (!w->err && w->len - start > UINT16_MAX)
        w->err = IKE_ERR_BUF_TOO_SMALL;
    ike_write_patch_u16(w, start + 2, (uint16_t)(w->len - start));
}

void ike_sa_encode(struct ike_msg_builder *mb, const struct ike_sa_payload *sa)
{
    uint8_t n = sa->n_proposals <= IKE_MAX_PROPOSALS ? sa->n_proposals : IKE_MAX_PROPOSALS;
    ike_mb_begin(mb, IKE_PL_SA, false);
    for (uint8_t i = 0; i < n; i++)
        encode_proposal(&mb->w, &sa->p[i], i + 1 == n);
    ike_mb_end(mb);
}

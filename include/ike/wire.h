/*
 * ike/wire.h: the pure IKEv2 codec (src/wire).
 *
 * Reading: every byte from the network goes through struct ike_reader,
 * which checks bounds on every access. Decoders fill plain structs whose
 * ike_view fields BORROW from the datagram: they are valid only while the
 * datagram buffer is. Decoders never touch SA state and never allocate.
 * Every count from the wire has a named cap (IKE_MAX_*); exceeding it is
 * IKE_ERR_TOO_MANY, never a truncation.
 *
 * Writing: struct ike_writer appends into a caller's buffer; on overflow it
 * records IKE_ERR_BUF_TOO_SMALL (sticky) and ignores further writes, so a
 * builder checks once at the end. struct ike_msg_builder strings payloads
 * together, patching each "next payload" and length field.
 *
 * Errors (include/ike/err.h): IKE_ERR_TRUNCATED, IKE_ERR_BAD_LENGTH,
 * IKE_ERR_BAD_VERSION, IKE_ERR_BAD_PAYLOAD_CHAIN, IKE_ERR_TOO_MANY,
 * IKE_ERR_UNSUPPORTED_CRITICAL, IKE_ERR_INVALID_SYNTAX, IKE_ERR_EMPTY_PAYLOAD,
 * IKE_ERR_MISSING_PAYLOAD, IKE_ERR_UNEXPECTED_PAYLOAD,
 * IKE_ERR_DUPLICATE_PAYLOAD, IKE_ERR_NOT_ENCRYPTED, IKE_ERR_BAD_SPI,
 * IKE_ERR_BUF_TOO_SMALL.
 */
#ifndef IKE_WIRE_H
#define IKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"

/* ---- caps on counts and sizes taken from the wire ---- */
#define IKE_MAX_MSG_LEN     65535 /* a UDP datagram */
#define IKE_MAX_PAYLOADS    32    /* payloads in one chain (plain or in SK) */
#define IKE_MAX_PROPOSALS   16    /* proposals in one SA payload */
#define IKE_MAX_TRANSFORMS  32    /* transforms in one proposal */
#define IKE_MAX_TS          16    /* selectors in one TS payload */
#define IKE_MAX_DELETE_SPIS 64    /* SPIs in one Delete payload */
#define IKE_MAX_CP_ATTRS    32    /* attributes in one CP payload */
#define IKE_MAX_SPI_LEN     8     /* proposal / notify SPI size */

/* ---- bounds-checked reader ---- */
struct ike_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
};

void ike_reader_init(struct ike_reader *r, const uint8_t *p, size_t len);
size_t ike_reader_left(const struct ike_reader *r);
int ike_read_u8(struct ike_reader *r, uint8_t *v);
int ike_read_u16(struct ike_reader *r, uint16_t *v); /* network order in */
int ike_read_u32(struct ike_reader *r, uint32_t *v);
int ike_read_u64(struct ike_reader *r, uint64_t *v);
int ike_read_view(struct ike_reader *r, size_t n, struct ike_view *v);
int ike_read_copy(struct ike_reader *r, void *dst, size_t n);
int ike_read_skip(struct ike_reader *r, size_t n);

/* ---- writer ---- */
struct ike_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err; /* 0 or IKE_ERR_BUF_TOO_SMALL, sticky */
};

void ike_writer_init(struct ike_writer *w, uint8_t *buf, size_t cap);
void ike_write_u8(struct ike_writer *w, uint8_t v);
void ike_write_u16(struct ike_writer *w, uint16_t v);
void ike_write_u32(struct ike_writer *w, uint32_t v);
void ike_write_u64(struct ike_writer *w, uint64_t v);
void ike_write_bytes(struct ike_writer *w, const void *p, size_t n);
void ike_write_zeros(struct ike_writer *w, size_t n);
/* Overwrite 2 bytes already written at offset off (for length fields). */
void ike_write_patch_u16(struct ike_writer *w, size_t off, uint16_t v);
void ike_write_patch_u32(struct ike_writer *w, size_t off, uint32_t v);

/* ---- IKE header (RFC 7296 3.1) ---- */
struct ike_hdr {
    uint64_t spi_i;
    uint64_t spi_r;
    uint8_t next_payload;
    uint8_t version; /* IKE_VERSION_2 */
    uint8_t exchange;
    uint8_t flags; /* IKE_FLAG_* */
    uint32_t msg_id;
    uint32_t length;
};

/* Decode the 28-byte header; checks major version 2 (IKE_ERR_BAD_VERSION)
 * and that length equals len (IKE_ERR_BAD_LENGTH) and is >= 28. */
int ike_hdr_decode(const uint8_t *msg, size_t len, struct ike_hdr *h);
void ike_hdr_encode(struct ike_writer *w, const struct ike_hdr *h);

/* ---- generic payload chain (RFC 7296 3.2) ---- */
struct ike_payload {
    uint8_t type;
    bool critical;
    struct ike_view body; /* after the 4-byte generic header */
};

struct ike_payload_list {
    size_t n;
    struct ike_payload pl[IKE_MAX_PAYLOADS];
    /* Set when the chain ended in SK or SKF: that payload is the last
     * one in pl[] and its own next-payload field names the first inner
     * payload (RFC 7296 3.14). */
    uint8_t sk_inner_first;
};

/*
 * Split a payload chain starting with type `first` over bytes [p, p+len).
 * Unknown payload types without the critical bit are skipped (not stored);
 * with it: IKE_ERR_UNSUPPORTED_CRITICAL and *bad_type is set to the type so
 * the caller can send UNSUPPORTED_CRITICAL_PAYLOAD with it. SK/SKF must be
 * the last payload (RFC 7296 3.14). Bytes left after the last payload:
 * IKE_ERR_BAD_PAYLOAD_CHAIN.
 */
int ike_payloads_decode(uint8_t first, const uint8_t *p, size_t len, struct ike_payload_list *out,
                        uint8_t *bad_type);

/* Find the n-th (0-based) payload of a type; NULL when absent. */
const struct ike_payload *ike_payload_find(const struct ike_payload_list *l, uint8_t type,
                                           size_t nth);

/* ---- per-exchange payload rules (strongSwan payload_rule_t style) ---- */
enum ike_msg_kind { IKE_MSG_REQUEST = 0, IKE_MSG_RESPONSE = 1 };

/*
 * Check a decoded message against the rule table for its exchange and
 * direction: outer is the unencrypted chain, inner the decrypted SK chain
 * (NULL for IKE_SA_INIT or if not yet decrypted; then only the outer rules
 * are checked). A message carrying an error Notify is checked only for
 * payloads that may never appear.
 */
int ike_payload_rules_check(uint8_t exchange, enum ike_msg_kind kind,
                            const struct ike_payload_list *outer,
                            const struct ike_payload_list *inner);

/* ---- message builder ---- */
struct ike_msg_builder {
    struct ike_writer w;
    size_t np_off;   /* offset of the byte naming the next payload */
    size_t pl_start; /* offset of the open payload's generic header */
    bool open;
    bool has_hdr;       /* started by ike_mb_init (header at offset 0) */
    uint8_t first_type; /* type of the first payload begun (IKE_PL_NONE) */
};

/* Start a message: writes the IKE header (length patched by finish). */
void ike_mb_init(struct ike_msg_builder *mb, uint8_t *buf, size_t cap, const struct ike_hdr *h);
/* Start a bare payload chain (for the plaintext inside SK): no header;
 * *first_type receives the type of the first payload at finish. */
void ike_mb_init_chain(struct ike_msg_builder *mb, uint8_t *buf, size_t cap);
/* Open a payload: writes the generic header, patches the previous
 * next-payload field. Close it with ike_mb_end(). */
void ike_mb_begin(struct ike_msg_builder *mb, uint8_t type, bool critical);
void ike_mb_end(struct ike_msg_builder *mb);
/* Patch the header length (if any); returns total length or a negative
 * error (IKE_ERR_BUF_TOO_SMALL). */
int ike_mb_finish(struct ike_msg_builder *mb);
/* The type of the first payload written (IKE_PL_NONE if none). */
uint8_t ike_mb_first_type(const struct ike_msg_builder *mb);

/* ---- SA payload (RFC 7296 3.3) ---- */
struct ike_transform {
    uint8_t type;    /* IKE_TRANSFORM_* */
    uint16_t id;     /* ENCR_*, PRF_*, AUTH_*, group, ESN_* */
    uint16_t keylen; /* IKE_ATTR_KEY_LENGTH in bits, 0 when absent */
};

struct ike_proposal {
    uint8_t num;      /* proposal number, 1-based */
    uint8_t proto;    /* IKE_PROTO_* */
    uint8_t spi_size; /* 0, 4 or 8 */
    uint8_t spi[IKE_MAX_SPI_LEN];
    uint8_t n_transforms;
    struct ike_transform t[IKE_MAX_TRANSFORMS];
};

struct ike_sa_payload {
    uint8_t n_proposals;
    struct ike_proposal p[IKE_MAX_PROPOSALS];
};

int ike_sa_decode(struct ike_view body, struct ike_sa_payload *sa);
void ike_sa_encode(struct ike_msg_builder *mb, const struct ike_sa_payload *sa);

/* ---- KE (3.4) ---- */
struct ike_ke_payload {
    uint16_t group;
    struct ike_view data;
};
int ike_ke_decode(struct ike_view body, struct ike_ke_payload *ke);
void ike_ke_encode(struct ike_msg_builder *mb, uint16_t group, const uint8_t *data, size_t len);

/* ---- IDi / IDr (3.5) ---- */
struct ike_id_payload {
    uint8_t type;         /* ID_* */
    struct ike_view data; /* identification data */
    struct ike_view body; /* whole body: what MACedIDFor{I,R} covers (2.15) */
};
int ike_id_decode(struct ike_view body, struct ike_id_payload *id);
void ike_id_encode(struct ike_msg_builder *mb, uint8_t pl_type, uint8_t id_type,
                   const uint8_t *data, size_t len);

/* ---- CERT / CERTREQ (3.6, 3.7): framing only ---- */
struct ike_cert_payload {
    uint8_t encoding;
    struct ike_view data;
};
int ike_cert_decode(struct ike_view body, struct ike_cert_payload *c);
void ike_cert_encode(struct ike_msg_builder *mb, uint8_t pl_type, uint8_t encoding,
                     const uint8_t *data, size_t len);

/* ---- AUTH (3.8) ---- */
struct ike_auth_payload {
    uint8_t method; /* IKE_AUTH_* */
    struct ike_view data;
};
int ike_auth_decode(struct ike_view body, struct ike_auth_payload *a);
void ike_auth_encode(struct ike_msg_builder *mb, uint8_t method, const uint8_t *data, size_t len);

/* ---- Nonce (3.9): 16..256 octets ---- */
int ike_nonce_decode(struct ike_view body, struct ike_view *nonce);
void ike_nonce_encode(struct ike_msg_builder *mb, const uint8_t *data, size_t len);

/* ---- Notify (3.10) ---- */
struct ike_notify_payload {
    uint8_t proto;    /* 0 or IKE_PROTO_* */
    uint8_t spi_size; /* 0, 4 or 8 */
    uint16_t type;    /* IKE_N_* */
    struct ike_view spi;
    struct ike_view data;
};
int ike_notify_decode(struct ike_view body, struct ike_notify_payload *n);
void ike_notify_encode(struct ike_msg_builder *mb, uint8_t proto, const uint8_t *spi,
                       size_t spi_size, uint16_t type, const uint8_t *data, size_t len);

/* ---- Delete (3.11) ---- */
struct ike_delete_payload {
    uint8_t proto;
    uint8_t spi_size; /* 0 for IKE, 4 for ESP/AH */
    uint16_t n_spi;
    struct ike_view spis; /* n_spi * spi_size bytes */
};
int ike_delete_decode(struct ike_view body, struct ike_delete_payload *d);
/* The i-th SPI of an ESP/AH Delete payload (host order). */
uint32_t ike_delete_spi32(const struct ike_delete_payload *d, size_t i);
void ike_delete_encode(struct ike_msg_builder *mb, uint8_t proto, uint8_t spi_size,
                       const uint8_t *spis, uint16_t n_spi);

/* ---- Vendor ID (3.12) ---- */
void ike_vendor_encode(struct ike_msg_builder *mb, const uint8_t *data, size_t len);

/* ---- TSi / TSr (3.13) ---- */
struct ike_ts {
    uint8_t type;     /* TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE */
    uint8_t ip_proto; /* 0 = any */
    uint16_t start_port;
    uint16_t end_port;
    uint8_t start_addr[16]; /* 4 bytes used for IPv4 */
    uint8_t end_addr[16];
};

struct ike_ts_payload {
    uint8_t n;
    struct ike_ts ts[IKE_MAX_TS];
};
int ike_ts_decode(struct ike_view body, struct ike_ts_payload *ts);
void ike_ts_encode(struct ike_msg_builder *mb, uint8_t pl_type, const struct ike_ts_payload *ts);

/* ---- SK (3.14) and SKF (RFC 7383 2.5): framing only, crypto elsewhere ---- */
struct ike_skf_payload {
    uint16_t frag_num;    /* 1-based */
    uint16_t total_frags; /* >= frag_num */
    struct ike_view data; /* IV | ciphertext | ICV */
};
int ike_skf_decode(struct ike_view body, struct ike_skf_payload *f);

/* ---- CP (3.15) ---- */
struct ike_cp_attr {
    uint16_t type;
    struct ike_view value;
};
struct ike_cp_payload {
    uint8_t cfg_type; /* CFG_* */
    uint8_t n;
    struct ike_cp_attr attr[IKE_MAX_CP_ATTRS];
};
int ike_cp_decode(struct ike_view body, struct ike_cp_payload *cp);
void ike_cp_encode(struct ike_msg_builder *mb, const struct ike_cp_payload *cp);

/* ---- EAP (3.16): framing only ---- */
struct ike_eap_payload {
    uint8_t code; /* 1 request, 2 response, 3 success, 4 failure */
    uint8_t id;
    uint16_t length;
    uint8_t type; /* 0 when code is success/failure */
    struct ike_view data;
};
int ike_eap_decode(struct ike_view body, struct ike_eap_payload *e);

/* ---- names for logs (never NULL; unknown values print as "UNKNOWN") ---- */
const char *ike_exchange_name(uint8_t exchange);
const char *ike_payload_name(uint8_t type);
const char *ike_notify_name(uint16_t type);
const char *ike_transform_type_name(uint8_t type);
const char *ike_transform_name(uint8_t type, uint16_t id);
const char *ike_proto_name(uint8_t proto);
const char *ike_id_type_name(uint8_t type);
const char *ike_auth_method_name(uint8_t method);
const char *ike_ts_type_name(uint8_t type);
const char *ike_cert_encoding_name(uint8_t encoding);
const char *ike_cfg_type_name(uint8_t type);

#endif /* IKE_WIRE_H */

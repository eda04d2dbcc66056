/*
 * ike/ctl.h: the control protocol between rekeyctl and rekeyd (src/ctl/ctl.c).
 *
 * Transport: a unix stream socket (rekeyd -S PATH, default /run/rekeyd.ctl).
 * Every message is one frame:
 *
 *   u32 length (network order, 1..IKE_CTL_FRAME_MAX) | body[length]
 *
 * A request body (client -> daemon), exactly:
 *   u8 type = IKE_CTL_MSG_REQUEST | u8 version = IKE_CTL_VERSION
 *   | u8 cmd (enum ike_ctl_cmd) | u8 flags (IKE_CTL_F_*)
 *   | u8 name_len (0..IKE_CTL_NAME_MAX) | name[name_len]
 * The name is a connection name: printable ASCII (0x21..0x7e), no NUL.
 *
 * A reply body (daemon -> client):
 *   u8 type (IKE_CTL_MSG_DATA | _EVENT | _DONE) | i32 code (two's
 *   complement, network order; 0 or an IKE_ERR_*) | text[rest]
 * DATA carries output text (status, diagnose) to print as is; EVENT one
 * line of `watch` (no newline); DONE ends the reply: code 0 = success,
 * otherwise text is the one-line error. A request gets any number of
 * DATA/EVENT frames and then one DONE (watch: DONE only on error).
 * Text bytes must be printable or '\n'/'\t'; a decoder refuses others so
 * a hostile daemon or client cannot put terminal escapes on a screen.
 *
 * Every decoder reads through struct ike_reader (ike/wire.h) and checks
 * lengths first; nothing is trusted. No function allocates.
 *
 * Errors: IKE_ERR_TRUNCATED (frame not complete yet), IKE_ERR_BAD_LENGTH
 * (length 0 or above IKE_CTL_FRAME_MAX, or trailing bytes), IKE_ERR_CTL
 * (bad type, version, command, flags or name), IKE_ERR_BUF_TOO_SMALL.
 */
#ifndef IKE_CTL_H
#define IKE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_CTL_VERSION   1
#define IKE_CTL_FRAME_MAX (1u << 20) /* 1 MiB: status of ~2000 SAs */
#define IKE_CTL_HDR_LEN   4
#define IKE_CTL_NAME_MAX  63 /* IKE_CONN_NAME_MAX - 1 */
#define IKE_CTL_REQ_MAX   (IKE_CTL_HDR_LEN + 5 + IKE_CTL_NAME_MAX)
#define IKE_CTL_REPLY_HDR 5 /* type + code */

enum ike_ctl_msg_type {
    IKE_CTL_MSG_REQUEST = 1,
    IKE_CTL_MSG_DATA = 2,
    IKE_CTL_MSG_EVENT = 3,
    IKE_CTL_MSG_DONE = 4,
};

enum ike_ctl_cmd {
    IKE_CTL_STATUS = 1, /* flags: IKE_CTL_F_JSON */
    IKE_CTL_UP,         /* name required */
    IKE_CTL_DOWN,       /* name required */
    IKE_CTL_REKEY,      /* name required; flags: IKE_CTL_F_IKE or _CHILD */
    IKE_CTL_RELOAD,
    IKE_CTL_DIAGNOSE, /* name optional; flags: IKE_CTL_F_JSON */
    IKE_CTL_WATCH,
};

#define IKE_CTL_F_JSON  0x01
#define IKE_CTL_F_IKE   0x02
#define IKE_CTL_F_CHILD 0x04

struct ike_ctl_request {
    uint8_t cmd;
    uint8_t flags;
    char name[IKE_CTL_NAME_MAX + 1]; /* "" when none */
};

struct ike_ctl_reply {
    uint8_t type; /* DATA, EVENT or DONE */
    int32_t code;
    const uint8_t *text; /* borrowed from the body */
    size_t text_len;
};

/* Length of the first frame in buf: IKE_CTL_HDR_LEN + body length, or
 * IKE_ERR_TRUNCATED when more bytes are needed, IKE_ERR_BAD_LENGTH when the
 * length field is 0 or above max_body. body and body_len (may be NULL) are
 * set to the body when the frame is complete. */
long ike_ctl_frame(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **body,
                   size_t *body_len);

/* Whole frames (header included): the frame length or an error. */
int ike_ctl_encode_request(uint8_t *buf, size_t cap, const struct ike_ctl_request *req);
long ike_ctl_encode_reply(uint8_t *buf, size_t cap, uint8_t type, int32_t code, const char *text,
                          size_t text_len);

/* Bodies (without the length header), as ike_ctl_frame returns them. */
int ike_ctl_decode_request(const uint8_t *body, size_t len, struct ike_ctl_request *req);
int ike_ctl_decode_reply(const uint8_t *body, size_t len, struct ike_ctl_reply *rep);

/* Command name <-> number ("status", "up", ...); NULL or 0 when unknown. */
const char *ike_ctl_cmd_name(uint8_t cmd);
uint8_t ike_ctl_cmd_parse(const char *name);

/* Whether a connection name may be sent (non-empty, printable, fits). */
bool ike_ctl_name_valid(const char *name);

#endif /* IKE_CTL_H */

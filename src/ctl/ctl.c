/*
 * ctl.c: the control protocol codec shared by rekeyd and rekeyctl (the
 * format is documented in include/ike/ctl.h).
 *
 * Pure: no I/O, no allocation. Decoders read only through struct ike_reader
 * and check the length field before anything else; they must never trust a
 * byte of the frame (both ends may be hostile: any local user can connect to
 * the socket if its mode allows).
 */
#include <string.h>

#include "ike/ctl.h"
#include "ike/err.h"
#include "ike/wire.h"

static const char *const cmd_names[] = {
    [IKE_CTL_STATUS] = "status", [IKE_CTL_UP] = "up",         [IKE_CTL_DOWN] = "down",
    [IKE_CTL_REKEY] = "rekey",   [IKE_CTL_RELOAD] = "reload", [IKE_CTL_DIAGNOSE] = "diagnose",
    [IKE_CTL_WATCH] = "watch",
};
#define N_CMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

const char *ike_ctl_cmd_name(uint8_t cmd)
{
    return cmd < N_CMDS ? cmd_names[cmd] : NULL;
}

uint8_t ike_ctl_cmd_parse(const char *name)
{
    for (uint8_t i = 1; i < N_CMDS; i++)
        if (cmd_names[i] && !strcmp(cmd_names[i], name))
            return i;
    return 0;
}

static bool name_bytes_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return false;
    return true;
}

bool ike_ctl_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= IKE_CTL_NAME_MAX && name_bytes_valid((const uint8_t *)name, n);
}

/* Printable ASCII plus newline and tab (see ctl.h). */
static bool text_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n' && p[i] != '\t')
            return false;
    return true;
}

long ike_ctl_frame(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **body,
                   size_t *body_len)
{
    struct ike_reader r;
    uint32_t n;
    ike_reader_init(&r, buf, len);
    if (ike_read_u32(&r, &n) < 0)
        return IKE_ERR_TRUNCATED;
    if (n == 0 || n > max_body || n > IKE_CTL_FRAME_MAX)
        return IKE_ERR_BAD_LENGTH;
    if (ike_reader_left(&r) < n)
        return IKE_ERR_TRUNCATED;
    if (body)
        *body = buf + IKE_CTL_HDR_LEN;
    if (body_len)
        *body_len = n;
    return (long)IKE_CTL_HDR_LEN + (long)n;
}

static bool flags_valid(uint8_t cmd, uint8_t flags)
{
    switch (cmd) {
    case IKE_CTL_STATUS:
    case IKE_CTL_DIAGNOSE:
        return !(flags & ~IKE_CTL_F_JSON);
    case IKE_CTL_REKEY:
        /* --ike and --child are alternatives */
        return !(flags & ~(IKE_CTL_F_IKE | IKE_CTL_F_CHILD)) &&
               flags != (IKE_CTL_F_IKE | IKE_CTL_F_CHILD);
    default:
        return flags == 0;
    }
}

static bool name_rule_ok(uint8_t cmd, size_t name_len)
{
    switch (cmd) {
    case IKE_CTL_UP:
    case IKE_CTL_DOWN:
    case IKE_CTL_REKEY:
        return name_len > 0;
    case IKE_CTL_DIAGNOSE:
        return true;
    default:
        return name_len == 0;
    }
}

static int check_request(const struct ike_ctl_request *req, size_t name_len)
{
    if (!req->cmd || req->cmd >= N_CMDS || !flags_valid(req->cmd, req->flags) ||
        !name_rule_ok(req->cmd, name_len))
        return IKE_ERR_CTL;
    return 0;
}

int ike_ctl_encode_request(uint8_t *buf, size_t cap, const struct ike_ctl_request *req)
{
    size_t nl = strnlen(req->name, sizeof(req->name));
    if (nl > IKE_CTL_NAME_MAX || (nl && !ike_ctl_name_valid(req->name)) ||
        check_request(req, nl) < 0)
        return IKE_ERR_CTL;
    struct ike_writer w;
    ike_writer_init(&w, buf, cap);
    ike_write_u32(&w, (uint32_t)(5 + nl));
    ike_write_u8(&w, IKE_CTL_MSG_REQUEST);
    ike_write_u8(&w, IKE_CTL_VERSION);
    ike_write_u8(&w, req->cmd);
    ike_write_u8(&w, req->flags);
    ike_write_u8(&w, (uint8_t)nl);
    ike_write_bytes(&w, req->name, nl);
    return w.err ? w.err : (int)w.len;
}

int ike_ctl_decode_request(const uint8_t *body, size_t len, struct ike_ctl_request *req)
{
    struct ike_reader r;
    uint8_t type, ver, nl;
    struct ike_view name;
    memset(req, 0, sizeof(*req));
    ike_reader_init(&r, body, len);
    if (ike_read_u8(&r, &type) < 0 || ike_read_u8(&r, &ver) < 0 || ike_read_u8(&r, &req->cmd) < 0 ||
        ike_read_u8(&r, &req->flags) < 0 || ike_read_u8(&r, &nl) < 0)
        return IKE_ERR_TRUNCATED;
    if (type != IKE_CTL_MSG_REQUEST || ver != IKE_CTL_VERSION || nl > IKE_CTL_NAME_MAX)
        return IKE_ERR_CTL;
    if (ike_read_view(&r, nl, &name) < 0)
        return IKE_ERR_TRUNCATED;
    if (ike_reader_left(&r))
        return IKE_ERR_BAD_LENGTH;
    if (!name_bytes_valid(name.p, name.len))
        return IKE_ERR_CTL;
    memcpy(req->name, name.p, name.len);
    req->name[name.len] = '\0';
    return check_request(req, name.len);
}

long ike_ctl_encode_reply(uint8_t *buf, size_t cap, uint8_t type, int32_t code, const char *text,
                          size_t text_len)
{
    if (type < IKE_CTL_MSG_DATA || type > IKE_CTL_MSG_DONE ||
        text_len > IKE_CTL_FRAME_MAX - IKE_CTL_REPLY_HDR ||
        (text_len && !text_valid((const uint8_t *)text, text_len)))
        return IKE_ERR_CTL;
    struct ike_writer w;
    ike_writer_init(&w, buf, cap);
    ike_write_u32(&w, (uint32_t)(IKE_CTL_REPLY_HDR + text_len));
    ike_write_u8(&w, type);
    ike_write_u32(&w, (uint32_t)code);
    ike_write_bytes(&w, text, text_len);
    return w.err ? w.err : (long)w.len;
}

int ike_ctl_decode_reply(const uint8_t *body, size_t len, struct ike_ctl_reply *rep)
{
    struct ike_reader r;
    uint32_t code;
    struct ike_view text;
    memset(rep, 0, sizeof(*rep));
    ike_reader_init(&r, body, len);
    if (ike_read_u8(&r, &rep->type) < 0 || ike_read_u32(&r, &code) < 0)
        return IKE_ERR_TRUNCATED;
    if (rep->type < IKE_CTL_MSG_DATA || rep->type > IKE_CTL_MSG_DONE)
        return IKE_ERR_CTL;
    if (ike_read_view(&r, ike_reader_left(&r), &text) < 0)
        return IKE_ERR_TRUNCATED;
    if (!text_valid(text.p, text.len))
        return IKE_ERR_CTL;
    rep->code = (int32_t)code;
    rep->text = text.len ? text.p : (const uint8_t *)"";
    rep->text_len = text.len;
    return 0;
}

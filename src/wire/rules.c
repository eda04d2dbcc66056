/*
 * rules.c: which payloads each message may carry (RFC 7296 1.2-1.5, 2.6,
 * 3.x; strongSwan's payload_rule_t idea). One table row per exchange and
 * direction lists each allowed payload type with its min/max count and
 * whether it belongs inside SK (SKF counts as SK, RFC 7383). Anything not
 * listed is IKE_ERR_UNEXPECTED_PAYLOAD; an encrypted-only payload in clear
 * is IKE_ERR_NOT_ENCRYPTED; too many is IKE_ERR_DUPLICATE_PAYLOAD; too few
 * IKE_ERR_MISSING_PAYLOAD (skipped when the message carries an error
 * Notify or COOKIE, which replace the normal content, 2.6 and 2.21).
 * This file judges only presence and counts, never payload contents.
 */
#include "ike/err.h"
#include "ike/wire.h"

#define MANY IKE_MAX_PAYLOADS

struct payload_rule {
    uint8_t type;
    uint8_t min;
    uint8_t max;
    bool encrypted; /* must be inside SK */
};

struct rule_row {
    uint8_t exchange;
    enum ike_msg_kind kind;
    const struct payload_rule *rules;
    size_t n;
};

/* 1.2: HDR, SAi1, KEi, Ni [, N(COOKIE)] [, N...] [, V...]; responses may
 * add CERTREQ (and N(COOKIE) / an error Notify alone, handled above). */
static const struct payload_rule sa_init_req[] = {
    {IKE_PL_SA, 1, 1, false},        {IKE_PL_KE, 1, 1, false},        {IKE_PL_NONCE, 1, 1, false},
    {IKE_PL_NOTIFY, 0, MANY, false}, {IKE_PL_VENDOR, 0, MANY, false},
};
static const struct payload_rule sa_init_resp[] = {
    {IKE_PL_SA, 1, 1, false},        {IKE_PL_KE, 1, 1, false},
    {IKE_PL_NONCE, 1, 1, false},     {IKE_PL_NOTIFY, 0, MANY, false},
    {IKE_PL_VENDOR, 0, MANY, false}, {IKE_PL_CERTREQ, 0, MANY, false},
};
/* 1.2: SK{IDi, [CERT+], [CERTREQ+], [IDr], AUTH, [CP], SAi2, TSi, TSr};
 * SA/TS are optional because of childless setups (RFC 6023) and error
 * responses. rekeyd does not run EAP, so AUTH is required. */
static const struct payload_rule auth_req[] = {
    {IKE_PL_SK, 1, 1, false},        {IKE_PL_IDI, 1, 1, true},       {IKE_PL_CERT, 0, 4, true},
    {IKE_PL_CERTREQ, 0, MANY, true}, {IKE_PL_IDR, 0, 1, true},       {IKE_PL_AUTH, 1, 1, true},
    {IKE_PL_CP, 0, 1, true},         {IKE_PL_SA, 0, 1, true},        {IKE_PL_TSI, 0, 1, true},
    {IKE_PL_TSR, 0, 1, true},        {IKE_PL_NOTIFY, 0, MANY, true}, {IKE_PL_VENDOR, 0, MANY, true},
    {IKE_PL_EAP, 0, 1, true},
};
static const struct payload_rule auth_resp[] = {
    {IKE_PL_SK, 1, 1, false},       {IKE_PL_IDR, 1, 1, true}, {IKE_PL_CERT, 0, 4, true},
    {IKE_PL_AUTH, 1, 1, true},      {IKE_PL_CP, 0, 1, true},  {IKE_PL_SA, 0, 1, true},
    {IKE_PL_TSI, 0, 1, true},       {IKE_PL_TSR, 0, 1, true}, {IKE_PL_NOTIFY, 0, MANY, true},
    {IKE_PL_VENDOR, 0, MANY, true}, {IKE_PL_EAP, 0, 1, true},
};
/* 1.3: SK{[N(REKEY_SA)], SA, Ni, [KEi], [TSi, TSr]}, the same back. */
static const struct payload_rule child_msg[] = {
    {IKE_PL_SK, 1, 1, false},       {IKE_PL_SA, 1, 1, true},        {IKE_PL_NONCE, 1, 1, true},
    {IKE_PL_KE, 0, 1, true},        {IKE_PL_TSI, 0, 1, true},       {IKE_PL_TSR, 0, 1, true},
    {IKE_PL_NOTIFY, 0, MANY, true}, {IKE_PL_VENDOR, 0, MANY, true},
};
/* 1.4: SK{[N+], [D+], [CP+]}; an empty SK is a liveness check. The
 * unprotected INFORMATIONAL of 1.5 (a clear N(INVALID_SPI) about an SA we
 * do not know) gets IKE_ERR_NOT_ENCRYPTED here: the engine may still read
 * it as a hint, outside these rules. */
static const struct payload_rule info_msg[] = {
    {IKE_PL_SK, 1, 1, false}, {IKE_PL_NOTIFY, 0, MANY, true}, {IKE_PL_DELETE, 0, MANY, true},
    {IKE_PL_CP, 0, 1, true},  {IKE_PL_VENDOR, 0, MANY, true},
};

#define ROW(x, k, r)                                                                               \
    {                                                                                              \
        x, k, r, sizeof(r) / sizeof(r[0])                                                          \
    }
static const struct rule_row rule_table[] = {
    ROW(IKE_SA_INIT, IKE_MSG_REQUEST, sa_init_req),
    ROW(IKE_SA_INIT, IKE_MSG_RESPONSE, sa_init_resp),
    ROW(IKE_AUTH, IKE_MSG_REQUEST, auth_req),
    ROW(IKE_AUTH, IKE_MSG_RESPONSE, auth_resp),
    ROW(CREATE_CHILD_SA, IKE_MSG_REQUEST, child_msg),
    ROW(CREATE_CHILD_SA, IKE_MSG_RESPONSE, child_msg),
    ROW(INFORMATIONAL, IKE_MSG_REQUEST, info_msg),
    ROW(INFORMATIONAL, IKE_MSG_RESPONSE, info_msg),
};

static uint8_t canonical(uint8_t type)
{
    return type == IKE_PL_SKF ? IKE_PL_SK : type;
}

static const struct payload_rule *find_rule(const struct rule_row *row, uint8_t type)
{
    for (size_t i = 0; i < row->n; i++)
        if (row->rules[i].type == canonical(type))
            return &row->rules[i];
    return NULL;
}

/* Count payloads of one chain against the row; inside says which chain. */
static int check_chain(const struct rule_row *row, const struct ike_payload_list *l, bool inside,
                       uint8_t counts[])
{
    for (size_t i = 0; i < l->n; i++) {
        const struct payload_rule *ru = find_rule(row, l->pl[i].type);
        if (!ru || (inside && !ru->encrypted))
            return IKE_ERR_UNEXPECTED_PAYLOAD;
        if (!inside && ru->encrypted)
            return IKE_ERR_NOT_ENCRYPTED;
        size_t k = (size_t)(ru - row->rules);
        if (++counts[k] > ru->max)
            return IKE_ERR_DUPLICATE_PAYLOAD;
    }
    return IKE_OK;
}

/* True when a Notify of an error type (< 16384, 3.10.1) or COOKIE (2.6)
 * is present: such a message stands in for the normal content. */
static bool has_stand_in_notify(const struct ike_payload_list *l)
{
    const struct ike_payload *pl;
    for (size_t nth = 0; (pl = ike_payload_find(l, IKE_PL_NOTIFY, nth)) != NULL; nth++) {
        struct ike_reader r;
        uint16_t type;
        ike_reader_init(&r, pl->body.p, pl->body.len);
        if (ike_read_skip(&r, 2) != IKE_OK || ike_read_u16(&r, &type) != IKE_OK)
            continue;
        if (type <= IKE_N_ERROR_MAX || type == IKE_N_COOKIE)
            return true;
    }
    return false;
}

static const struct rule_row *find_row(uint8_t exchange, enum ike_msg_kind kind)
{
    for (size_t i = 0; i < sizeof(rule_table) / sizeof(rule_table[0]); i++)
        if (rule_table[i].exchange == exchange && rule_table[i].kind == kind)
            return &rule_table[i];
    return NULL;
}

int ike_payload_rules_check(uint8_t exchange, enum ike_msg_kind kind,
                            const struct ike_payload_list *outer,
                            const struct ike_payload_list *inner)
{
    const struct rule_row *row = find_row(exchange, kind);
    uint8_t counts[IKE_MAX_PAYLOADS] = {0};
    if (!row || !outer)
        return IKE_ERR_INVALID_SYNTAX; /* exchange type rekeyd does not speak */
    int rc = check_chain(row, outer, false, counts);
    if (rc == IKE_OK && inner)
        rc = check_chain(row, inner, true, counts);
    if (rc != IKE_OK)
        return rc;
    bool stand_in = has_stand_in_notify(inner ? inner : outer);
    for (size_t k = 0; k < row->n; k++) {
        const struct payload_rule *ru = &row->rules[k];
        if (ru->encrypted && !inner)
            continue; /* not decrypted yet: checked on the second call */
        if (counts[k] >= ru->min)
            continue;
        /* SK itself is always required; contents may be stood in for. */
        if (stand_in && ru->type != IKE_PL_SK)
            continue;
        return IKE_ERR_MISSING_PAYLOAD;
    }
    return IKE_OK;
}

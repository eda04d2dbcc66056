/*
 * proposal.c: SA payload proposals (RFC 7296 2.7, 3.3.6) from our ike= /
 * esp= config, and selection from a peer's offer.
 *
 * As responder we walk the peer's proposals in its order of preference and
 * take the first one our config accepts, choosing within it the peer's most
 * preferred acceptable algorithm of each type. Child proposals in IKE_AUTH
 * carry no key exchange (no KE payload there), so their DH transforms are
 * ignored (selection) and not sent (building).
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

static void add_t(struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t keylen)
{
    if (p->n_transforms < IKE_MAX_TRANSFORMS)
        p->t[p->n_transforms++] = (struct ike_transform){type, id, keylen};
}

/* only_dh: 0 = no DH transforms (IKE_AUTH children); otherwise the group
 * of our KE payload first, then the other configured groups. */
void ike_proposal_build(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto, const uint8_t *spi,
                        uint8_t spi_size, uint16_t only_dh, struct ike_sa_payload *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n && i < IKE_MAX_PROPOSALS; i++) {
        const struct ike_prop_cfg *c = &cfg[i];
        struct ike_proposal *p = &out->p[out->n_proposals++];
        p->num = (uint8_t)(i + 1);
        p->proto = proto;
        p->spi_size = spi_size;
        if (spi_size)
            memcpy(p->spi, spi, spi_size);
        for (uint8_t k = 0; k < c->n_encr; k++)
            add_t(p, IKE_TRANSFORM_ENCR, c->encr[k].id, c->encr[k].keylen);
        if (proto == IKE_PROTO_IKE)
            for (uint8_t k = 0; k < c->n_prf; k++)
                add_t(p, IKE_TRANSFORM_PRF, c->prf[k], 0);
        for (uint8_t k = 0; k < c->n_integ; k++)
            add_t(p, IKE_TRANSFORM_INTEG, c->integ[k], 0);
        if (only_dh) {
            bool has = false;
            for (uint8_t k = 0; k < c->n_dh; k++)
                has |= c->dh[k] == only_dh;
            if (has)
                add_t(p, IKE_TRANSFORM_DH, only_dh, 0);
            for (uint8_t k = 0; k < c->n_dh; k++)
                if (c->dh[k] != only_dh) /* every acceptable group, KE's first */
                    add_t(p, IKE_TRANSFORM_DH, c->dh[k], 0);
        }
        if (proto != IKE_PROTO_IKE)
            add_t(p, IKE_TRANSFORM_ESN, c->esn ? ESN_YES : ESN_NO, 0);
    }
}

static bool cfg_has(const struct ike_prop_cfg *c, const struct ike_transform *t)
{
    switch (t->type) {
    case IKE_TRANSFORM_ENCR:
        for (uint8_t k = 0; k < c->n_encr; k++)
            if (c->encr[k].id == t->id && c->encr[k].keylen == t->keylen)
                return true;
        return false;
    case IKE_TRANSFORM_PRF:
        for (uint8_t k = 0; k < c->n_prf; k++)
            if (c->prf[k] == t->id)
                return true;
        return false;
    case IKE_TRANSFORM_INTEG:
        for (uint8_t k = 0; k < c->n_integ; k++)
            if (c->integ[k] == t->id)
                return true;
        return false;
    case IKE_TRANSFORM_DH:
        if (t->id == IKE_DH_NONE)
            return c->n_dh == 0;
        for (uint8_t k = 0; k < c->n_dh; k++)
            if (c->dh[k] == t->id)
                return true;
        return false;
    case IKE_TRANSFORM_ESN:
        return t->id == (c->esn ? ESN_YES : ESN_NO);
    }
    return false;
}

/* Does proposal p fit config c? Fills algs with the peer's first
 * acceptable algorithm of each type. prefer_dh: take this group if the
 * proposal allows it (saves an INVALID_KE round trip). */
static bool fits(const struct ike_prop_cfg *c, uint8_t proto, const struct ike_proposal *p,
                 uint16_t prefer_dh, bool ignore_dh, struct ike_algs *a)
{
    bool got[6] = {false}, offered[6] = {false};
    memset(a, 0, sizeof(*a));
    for (uint8_t i = 0; i < p->n_transforms; i++) {
        const struct ike_transform *t = &p->t[i];
        if (t->type == 0 || t->type > IKE_TRANSFORM_ESN)
            continue; /* unknown transform types cannot be selected */
        if (t->type == IKE_TRANSFORM_DH && ignore_dh)
            continue;
        offered[t->type] = true;
        if (!cfg_has(c, t))
            continue;
        if (t->type == IKE_TRANSFORM_DH && got[t->type] && t->id == prefer_dh)
            a->dh = t->id; /* the group of the KE payload wins */
        if (got[t->type])
            continue;
        got[t->type] = true;
        switch (t->type) {
        case IKE_TRANSFORM_ENCR:
            a->encr = t->id;
            a->encr_keylen = t->keylen;
            break;
        case IKE_TRANSFORM_PRF:
            a->prf = t->id;
            break;
        case IKE_TRANSFORM_INTEG:
            a->integ = t->id;
            break;
        case IKE_TRANSFORM_DH:
            a->dh = t->id;
            break;
        case IKE_TRANSFORM_ESN:
            a->esn = t->id == ESN_YES;
            break;
        }
    }
    if (!got[IKE_TRANSFORM_ENCR])
        return false;
    if ((c->n_integ > 0) != got[IKE_TRANSFORM_INTEG])
        return false; /* AEAD offers no integrity; CBC needs one */
    if (proto == IKE_PROTO_IKE)
        return got[IKE_TRANSFORM_PRF] && got[IKE_TRANSFORM_DH];
    /* Every transform type offered must get one choice (3.3.6): a peer
     * that offers PFS groups we lack gets no proposal, not a child
     * without PFS; and we require PFS when esp= names a group. */
    if (!ignore_dh && (c->n_dh || offered[IKE_TRANSFORM_DH]) && !got[IKE_TRANSFORM_DH])
        return false;
    return true;
}

int ike_proposal_select(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto,
                        const struct ike_sa_payload *offer, uint16_t prefer_dh, bool ignore_dh,
                        struct ike_algs *algs)
{
    for (uint8_t i = 0; i < offer->n_proposals; i++) {
        const struct ike_proposal *p = &offer->p[i];
        if (p->proto != proto)
            continue;
        for (size_t k = 0; k < n; k++)
            if (fits(&cfg[k], proto, p, prefer_dh, ignore_dh, algs))
                return i;
    }
    return IKE_ERR_NO_PROPOSAL;
}

/* A response must hold exactly one proposal, one transform per type, all
 * from what we offered (RFC 7296 3.3.6). */
int ike_proposal_check_reply(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto,
                             const struct ike_sa_payload *reply, bool ignore_dh,
                             struct ike_algs *algs)
{
    if (reply->n_proposals != 1 || reply->p[0].proto != proto)
        return IKE_ERR_NO_PROPOSAL;
    const struct ike_proposal *p = &reply->p[0];
    uint8_t seen[6] = {0};
    for (uint8_t i = 0; i < p->n_transforms; i++)
        if (p->t[i].type <= IKE_TRANSFORM_ESN && seen[p->t[i].type]++)
            return IKE_ERR_NO_PROPOSAL;
    for (size_t k = 0; k < n; k++)
        if (fits(&cfg[k], proto, p, 0, ignore_dh, algs))
            return 0;
    return IKE_ERR_NO_PROPOSAL;
}

bool ike_proposal_has_dh(const struct ike_prop_cfg *cfg, size_t n, uint16_t group)
{
    for (size_t i = 0; i < n; i++)
        for (uint8_t k = 0; k < cfg[i].n_dh; k++)
            if (cfg[i].dh[k] == group)
                return true;
    return false;
}

uint16_t ike_proposal_first_dh(const struct ike_prop_cfg *cfg, size_t n)
{
    return n && cfg[0].n_dh ? cfg[0].dh[0] : IKE_DH_NONE;
}

/* Our one-proposal answer: the peer's proposal number, our SPI, the
 * chosen transforms. */
void ike_proposal_answer(uint8_t num, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
                         const struct ike_algs *a, struct ike_sa_payload *out)
{
    memset(out, 0, sizeof(*out));
    out->n_proposals = 1;
    struct ike_proposal *p = &out->p[0];
    p->num = num;
    p->proto = proto;
    p->spi_size = spi_size;
    if (spi_size)
        memcpy(p->spi, spi, spi_size);
    add_t(p, IKE_TRANSFORM_ENCR, a->encr, a->encr_keylen);
    if (proto == IKE_PROTO_IKE)
        add_t(p, IKE_TRANSFORM_PRF, a->prf, 0);
    if (a->integ)
        add_t(p, IKE_TRANSFORM_INTEG, a->integ, 0);
    if (a->dh)
        add_t(p, IKE_TRANSFORM_DH, a->dh, 0);
    if (proto != IKE_PROTO_IKE)
        add_t(p, IKE_TRANSFORM_ESN, a->esn ? ESN_YES : ESN_NO, 0);
}

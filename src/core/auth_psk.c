/*
 * auth_psk.c: the AUTH payload value for pre-shared keys (RFC 7296 2.15).
 *
 *   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
 *   ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR
 *   MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
 *   MACedIDForR = prf(SK_pr, RestOfRespIDPayload)
 *   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 *
 * RealMessage1/2 are the IKE_SA_INIT request/response exactly as sent. The
 * padded key prf(PSK, pad) is wiped before returning.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

static const char key_pad[] = "Key Pad for IKEv2"; /* 17 octets, no NUL */

int ike_auth_psk(struct ike_engine *e, struct ike_sa *sa, bool for_initiator,
                 const uint8_t *id_body, size_t id_len, uint8_t *out, size_t *out_len)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    uint16_t prf = sa->algs.prf;
    int plen = ike_alg_prf_len(prf);
    uint8_t maced_id[IKE_KEY_MAX], padded[IKE_KEY_MAX];
    int rc;
    if (plen < 0)
        return plen;
    if (!sa->setup->init_req || !sa->setup->init_resp || !c->psk_len)
        return IKE_ERR_STATE;
    const struct ike_key *sk_p = for_initiator ? &sa->keys.sk_pi : &sa->keys.sk_pr;
    struct ike_iov id = {id_body, id_len};
    /* MACedIDFor{I,R} = prf(SK_p{i,r}, RestOf{Init,Resp}IDPayload) */
    if ((rc = e->c->prf(prf, sk_p->b, sk_p->len, &id, 1, maced_id)) < 0)
        goto out;
    /* prf(Shared Secret, "Key Pad for IKEv2") */
    struct ike_iov pad = {(const uint8_t *)key_pad, sizeof(key_pad) - 1};
    if ((rc = e->c->prf(prf, c->psk, c->psk_len, &pad, 1, padded)) < 0)
        goto out;
    struct ike_iov octets[3];
    if (for_initiator) {
        octets[0] = (struct ike_iov){sa->setup->init_req, sa->setup->init_req_len};
        octets[1] = (struct ike_iov){sa->setup->nonce_r, sa->setup->nonce_r_len};
    } else {
        octets[0] = (struct ike_iov){sa->setup->init_resp, sa->setup->init_resp_len};
        octets[1] = (struct ike_iov){sa->setup->nonce_i, sa->setup->nonce_i_len};
    }
    octets[2] = (struct ike_iov){maced_id, (size_t)plen};
    /* AUTH = prf(prf(PSK, pad), SignedOctets) */
    if ((rc = e->c->prf(prf, padded, (size_t)plen, octets, 3, out)) < 0)
        goto out;
    *out_len = (size_t)plen;
    rc = 0;
out:
    ike_wipe(padded, sizeof(padded));
    ike_wipe(maced_id, sizeof(maced_id));
    return rc;
}

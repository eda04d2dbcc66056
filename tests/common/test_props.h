/*
 * test_props.h: the proposals every engine-level test and benchmark uses
 * unless it is about proposals: ike=aes256gcm16-prfsha256-x25519 and
 * esp=aes256gcm16 (no PFS). One definition, so the exchange harness, the
 * simulation, the benchmark and the UDP load generator negotiate alike.
 */
#ifndef IKE_TEST_PROPS_H
#define IKE_TEST_PROPS_H

#include "ike/config.h"
#include "ike/types.h"

static inline void t_default_props(struct ike_conn_cfg *c)
{
    c->n_ike = 1;
    c->ike[0] = (struct ike_prop_cfg){.n_encr = 1, .n_prf = 1, .n_dh = 1};
    c->ike[0].encr[0].id = ENCR_AES_GCM_16;
    c->ike[0].encr[0].keylen = 256;
    c->ike[0].prf[0] = PRF_HMAC_SHA2_256;
    c->ike[0].dh[0] = CURVE25519;
    c->n_esp = 1;
    c->esp[0] = (struct ike_prop_cfg){.n_encr = 1};
    c->esp[0].encr[0].id = ENCR_AES_GCM_16;
    c->esp[0].encr[0].keylen = 256;
}

#endif

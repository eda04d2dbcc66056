/*
 * ike/config.h: connection configuration as plain data.
 *
 * One struct ike_conn_cfg per ipsec.conf `conn` section (DESIGN.md section
 * 3); the field comments name the keyword each one comes from. The daemon's
 * parser (src/daemon/conf.c) fills these; the engine only reads them.
 * Durations are milliseconds. The PSK is a secret: ike_conn_cfg_clear()
 * wipes it.
 */
#ifndef IKE_CONFIG_H
#define IKE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"

#define IKE_CONN_NAME_MAX 64
#define IKE_ID_MAX        128 /* identification data bytes */
#define IKE_PSK_MAX       128
#define IKE_CFG_PROPOSALS 8 /* proposals per ike= / esp= list */
#define IKE_CFG_ALGS      4 /* algorithms of one type within a proposal */

/* One proposal of ike= or esp= (strongSwan syntax: one dash-separated
 * item list). Each list holds alternatives of one transform type in
 * order of preference; n_* counts them. An AEAD proposal has no integ. */
struct ike_prop_cfg {
    uint8_t n_encr, n_integ, n_prf, n_dh;
    struct {
        uint16_t id;
        uint16_t keylen; /* bits; 0 = fixed-size algorithm */
    } encr[IKE_CFG_ALGS];
    uint16_t integ[IKE_CFG_ALGS];
    uint16_t prf[IKE_CFG_ALGS];
    uint16_t dh[IKE_CFG_ALGS]; /* esp=: PFS groups; IKE_DH_NONE allowed */
    bool esn;                  /* esp=: offer ESN (else only no-ESN) */
};

/* A subnet (leftsubnet/rightsubnet); prefix 0 with family 0 = the host's
 * own address (the default in ipsec.conf). */
struct ike_subnet {
    struct ike_addr addr;
    uint8_t prefix;
    uint8_t ip_proto; /* [proto/port] suffix; 0 = any */
    uint16_t port;    /* 0 = any */
};

/* An identity (leftid/rightid): type and data as sent in IDi/IDr. */
struct ike_id_cfg {
    uint8_t type; /* ID_*; 0 = derive from the address */
    uint8_t len;
    uint8_t data[IKE_ID_MAX];
    bool any; /* %any: accept any peer identity */
};

enum ike_dpd_action { IKE_DPD_CLEAR = 0, IKE_DPD_HOLD, IKE_DPD_RESTART };
enum ike_auto { IKE_AUTO_IGNORE = 0, IKE_AUTO_ADD, IKE_AUTO_START, IKE_AUTO_ROUTE };

struct ike_conn_cfg {
    char name[IKE_CONN_NAME_MAX];

    struct ike_endpoint local;  /* left (port 0 = default 500) */
    struct ike_endpoint remote; /* right */
    bool remote_any;            /* right=%any */
    struct ike_id_cfg local_id, remote_id;
    struct ike_subnet local_ts, remote_ts; /* leftsubnet, rightsubnet */

    /* authby=secret / leftauth=psk: the PSK comes from the secrets file. */
    uint8_t psk[IKE_PSK_MAX];
    size_t psk_len;

    uint8_t n_ike, n_esp;
    struct ike_prop_cfg ike[IKE_CFG_PROPOSALS]; /* ike= */
    struct ike_prop_cfg esp[IKE_CFG_PROPOSALS]; /* esp= */

    uint8_t mode;                          /* type=tunnel|transport (enum ike_ipsec_mode) */
    uint8_t auto_mode;                     /* auto= (enum ike_auto) */
    uint64_t ike_lifetime_ms;              /* ikelifetime (default 3h) */
    uint64_t child_lifetime_ms;            /* lifetime / keylife (default 1h) */
    uint64_t rekey_margin_ms;              /* rekeymargin (default 9m) */
    uint32_t rekey_fuzz_pct;               /* rekeyfuzz (default 100) */
    uint64_t life_bytes, life_packets;     /* lifebytes, lifepackets (0 = none) */
    uint64_t margin_bytes, margin_packets; /* marginbytes, marginpackets */
    bool rekey;                            /* rekey=yes|no */
    /* rekeycheck=yes|no: rekey the first Child SA once, a few seconds after
     * set-up, so a PFS/proposal mismatch shows at once rather than at the
     * first real rekey (ike/diag.h). The engine default is off; the
     * daemon's parser turns it on by default. */
    bool rekey_check;
    uint64_t dpd_delay_ms;                 /* dpddelay (0 = off) */
    uint64_t dpd_timeout_ms;               /* dpdtimeout */
    uint8_t dpd_action;                    /* dpdaction (enum ike_dpd_action) */
    uint8_t close_action;                  /* closeaction (enum ike_dpd_action) */
    uint32_t keyingtries;                  /* keyingtries (0 = %forever) */

    /* Retransmission (RFC 7296 2.4), strongSwan-like defaults. */
    uint32_t retransmit_base_ms;    /* 4000 */
    uint32_t retransmit_factor_pct; /* 180 = x1.8 per try */
    uint32_t retransmit_tries;      /* 5 */

    uint32_t reqid; /* 0 = engine assigns */
};

/* Fill defaults (lifetimes, retransmission, proposals left empty). */
void ike_conn_cfg_defaults(struct ike_conn_cfg *c);
/* Wipe the PSK. */
void ike_conn_cfg_clear(struct ike_conn_cfg *c);

#endif /* IKE_CONFIG_H */

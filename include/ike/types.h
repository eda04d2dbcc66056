/*
 * ike/types.h: protocol numbers of IKEv2 (RFC 7296 section 3 and the IANA
 * registries it creates) and the small plain types every layer shares.
 *
 * Pure data: no layer below or above needs anything but <stdint.h> and
 * <stddef.h> to use it. Constants are spelled as in RFC 7296 / IANA so a
 * reader can grep the RFC for them.
 */
#ifndef IKE_TYPES_H
#define IKE_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* A borrowed, read-only view of bytes (usually into a received datagram). */
struct ike_view {
    const uint8_t *p;
    size_t len;
};

/* Address families, numerically equal to Linux AF_INET / AF_INET6, so the
 * pure layers never need <sys/socket.h>. */
#define IKE_AF_INET  2
#define IKE_AF_INET6 10

/* An IP address: family plus 4 or 16 bytes in network order. */
struct ike_addr {
    uint8_t family; /* IKE_AF_INET, IKE_AF_INET6, 0 = unset */
    uint8_t bytes[16];
};

/* An address with a UDP port (host order). */
struct ike_endpoint {
    struct ike_addr addr;
    uint16_t port;
};

/* RFC 7296 3.1: fixed IKE header. */
#define IKE_HDR_LEN            28
#define IKE_GENERIC_HDR_LEN    4
#define IKE_VERSION_2          0x20 /* major 2, minor 0 */
#define IKE_FLAG_INITIATOR     0x08
#define IKE_FLAG_VERSION       0x10
#define IKE_FLAG_RESPONSE      0x20
#define IKE_NON_ESP_MARKER_LEN 4 /* RFC 3948 2.2: four zero octets on port 4500 */

/* RFC 7296 3.1: exchange types. */
enum ike_exchange {
    IKE_SA_INIT = 34,
    IKE_AUTH = 35,
    CREATE_CHILD_SA = 36,
    INFORMATIONAL = 37,
    IKE_SESSION_RESUME = 38, /* RFC 5723 */
    IKE_INTERMEDIATE = 43,   /* RFC 9242 */
};

/* RFC 7296 3.2: payload types ("Next Payload" values). */
enum ike_payload_type {
    IKE_PL_NONE = 0,
    IKE_PL_SA = 33,
    IKE_PL_KE = 34,
    IKE_PL_IDI = 35,
    IKE_PL_IDR = 36,
    IKE_PL_CERT = 37,
    IKE_PL_CERTREQ = 38,
    IKE_PL_AUTH = 39,
    IKE_PL_NONCE = 40,
    IKE_PL_NOTIFY = 41,
    IKE_PL_DELETE = 42,
    IKE_PL_VENDOR = 43,
    IKE_PL_TSI = 44,
    IKE_PL_TSR = 45,
    IKE_PL_SK = 46,
    IKE_PL_CP = 47,
    IKE_PL_EAP = 48,
    IKE_PL_SKF = 53, /* RFC 7383 */
};

/* RFC 7296 3.3.1: protocol IDs. */
enum ike_proto {
    IKE_PROTO_IKE = 1,
    IKE_PROTO_AH = 2,
    IKE_PROTO_ESP = 3,
};

/* RFC 7296 3.3.2: transform types. */
enum ike_transform_type {
    IKE_TRANSFORM_ENCR = 1,
    IKE_TRANSFORM_PRF = 2,
    IKE_TRANSFORM_INTEG = 3,
    IKE_TRANSFORM_DH = 4, /* "Key Exchange Method" since RFC 9370 */
    IKE_TRANSFORM_ESN = 5,
};

/* Transform type 1: encryption algorithms. */
enum ike_encr {
    ENCR_3DES = 3,
    ENCR_NULL = 11,
    ENCR_AES_CBC = 12,
    ENCR_AES_CTR = 13,
    ENCR_AES_CCM_8 = 14,
    ENCR_AES_CCM_12 = 15,
    ENCR_AES_CCM_16 = 16,
    ENCR_AES_GCM_8 = 18,
    ENCR_AES_GCM_12 = 19,
    ENCR_AES_GCM_16 = 20,
    ENCR_CHACHA20_POLY1305 = 28, /* RFC 7634 */
};

/* Transform type 2: pseudorandom functions. */
enum ike_prf {
    PRF_HMAC_MD5 = 1,
    PRF_HMAC_SHA1 = 2,
    PRF_AES128_XCBC = 4,
    PRF_HMAC_SHA2_256 = 5,
    PRF_HMAC_SHA2_384 = 6,
    PRF_HMAC_SHA2_512 = 7,
};

/* Transform type 3: integrity algorithms. */
enum ike_integ {
    AUTH_NONE = 0,
    AUTH_HMAC_MD5_96 = 1,
    AUTH_HMAC_SHA1_96 = 2,
    AUTH_AES_XCBC_96 = 5,
    AUTH_HMAC_SHA2_256_128 = 12,
    AUTH_HMAC_SHA2_384_192 = 13,
    AUTH_HMAC_SHA2_512_256 = 14,
};

/* Transform type 4: Diffie-Hellman groups (key exchange methods). */
enum ike_dh_group {
    IKE_DH_NONE = 0,
    MODP_1024 = 2,
    MODP_1536 = 5,
    MODP_2048 = 14,
    MODP_3072 = 15,
    MODP_4096 = 16,
    MODP_6144 = 17,
    MODP_8192 = 18,
    ECP_256 = 19,
    ECP_384 = 20,
    ECP_521 = 21,
    CURVE25519 = 31,
    CURVE448 = 32,
};

/* Transform type 5: extended sequence numbers. */
enum ike_esn {
    ESN_NO = 0,
    ESN_YES = 1,
};

/* RFC 7296 3.3.5: transform attribute types. */
#define IKE_ATTR_KEY_LENGTH 14
#define IKE_ATTR_TV_BIT     0x8000 /* attribute format bit: type/value */

/* RFC 7296 3.5: identification types. */
enum ike_id_type {
    ID_IPV4_ADDR = 1,
    ID_FQDN = 2,
    ID_RFC822_ADDR = 3,
    ID_IPV6_ADDR = 5,
    ID_DER_ASN1_DN = 9,
    ID_DER_ASN1_GN = 10,
    ID_KEY_ID = 11,
    ID_NULL = 13, /* RFC 7619 */
};

/* RFC 7296 3.8 and RFC 7427: authentication methods. */
enum ike_auth_method {
    IKE_AUTH_RSA_SIG = 1,
    IKE_AUTH_SHARED_KEY_MIC = 2,
    IKE_AUTH_DSS_SIG = 3,
    IKE_AUTH_ECDSA_256 = 9,
    IKE_AUTH_ECDSA_384 = 10,
    IKE_AUTH_ECDSA_521 = 11,
    IKE_AUTH_NULL = 13,
    IKE_AUTH_DIGITAL_SIGNATURE = 14,
};

/* RFC 7296 3.13.1: traffic selector types. */
enum ike_ts_type {
    TS_IPV4_ADDR_RANGE = 7,
    TS_IPV6_ADDR_RANGE = 8,
};

/* RFC 7296 3.6: certificate encodings (only the framing is handled). */
enum ike_cert_encoding {
    CERT_X509_SIGNATURE = 4,
    CERT_HASH_AND_URL_X509 = 12,
};

/* RFC 7296 3.15: configuration payload types. */
enum ike_cfg_type {
    CFG_REQUEST = 1,
    CFG_REPLY = 2,
    CFG_SET = 3,
    CFG_ACK = 4,
};

/* RFC 7296 3.10.1: notify message types. Error types are < 16384. */
enum ike_notify_type {
    IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
    IKE_N_INVALID_IKE_SPI = 4,
    IKE_N_INVALID_MAJOR_VERSION = 5,
    IKE_N_INVALID_SYNTAX = 7,
    IKE_N_INVALID_MESSAGE_ID = 9,
    IKE_N_INVALID_SPI = 11,
    IKE_N_NO_PROPOSAL_CHOSEN = 14,
    IKE_N_INVALID_KE_PAYLOAD = 17,
    IKE_N_AUTHENTICATION_FAILED = 24,
    IKE_N_SINGLE_PAIR_REQUIRED = 34,
    IKE_N_NO_ADDITIONAL_SAS = 35,
    IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
    IKE_N_FAILED_CP_REQUIRED = 37,
    IKE_N_TS_UNACCEPTABLE = 38,
    IKE_N_INVALID_SELECTORS = 39,
    IKE_N_TEMPORARY_FAILURE = 43,
    IKE_N_CHILD_SA_NOT_FOUND = 44,
    IKE_N_ERROR_MAX = 16383,

    IKE_N_INITIAL_CONTACT = 16384,
    IKE_N_SET_WINDOW_SIZE = 16385,
    IKE_N_ADDITIONAL_TS_POSSIBLE = 16386,
    IKE_N_IPCOMP_SUPPORTED = 16387,
    IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
    IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
    IKE_N_COOKIE = 16390,
    IKE_N_USE_TRANSPORT_MODE = 16391,
    IKE_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
    IKE_N_REKEY_SA = 16393,
    IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
    IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
    IKE_N_MOBIKE_SUPPORTED = 16396,              /* RFC 4555 */
    IKE_N_UPDATE_SA_ADDRESSES = 16400,           /* RFC 4555 */
    IKE_N_CHILDLESS_IKEV2_SUPPORTED = 16418,     /* RFC 6023 */
    IKE_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430, /* RFC 7383 */
    IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,     /* RFC 7427 */
};

/* Field sizes fixed by RFC 7296. */
#define IKE_SPI_LEN       8  /* IKE SA SPIs */
#define IKE_CHILD_SPI_LEN 4  /* ESP/AH SPIs */
#define IKE_NONCE_MIN     16 /* 2.10: at least 128 bits */
#define IKE_NONCE_MAX     256
#define IKE_COOKIE_MAX    64 /* 2.6: cookie data 1..64 octets */

#endif /* IKE_TYPES_H */

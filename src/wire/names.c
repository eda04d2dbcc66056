/*
 * names.c: names for the protocol numbers of include/ike/types.h, for logs
 * and diagnostics. Names are spelled as in RFC 7296 / IANA (notify types
 * without the IKE_N_ prefix, as the RFC prints them). Every function
 * returns a static string and never NULL; unknown values are "UNKNOWN".
 * Pure lookup tables: no formatting, no allocation.
 */
#include "ike/wire.h"

struct name {
    uint16_t v;
    const char *s;
};

#define N(x)                                                                                       \
    {                                                                                              \
        x, #x                                                                                      \
    }
#define COUNT(t) (sizeof(t) / sizeof(t[0]))

static const char *lookup(const struct name *t, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].v == v)
            return t[i].s;
    return "UNKNOWN";
}

static const struct name exchanges[] = {
    N(IKE_SA_INIT),   N(IKE_AUTH),           N(CREATE_CHILD_SA),
    N(INFORMATIONAL), N(IKE_SESSION_RESUME), N(IKE_INTERMEDIATE),
};

const char *ike_exchange_name(uint8_t exchange)
{
    return lookup(exchanges, COUNT(exchanges), exchange);
}

/* The short names of the RFC 7296 3.2 table. */
static const struct name payloads[] = {
    {IKE_PL_NONE, "NONE"},       {IKE_PL_SA, "SA"},     {IKE_PL_KE, "KE"},
    {IKE_PL_IDI, "IDi"},         {IKE_PL_IDR, "IDr"},   {IKE_PL_CERT, "CERT"},
    {IKE_PL_CERTREQ, "CERTREQ"}, {IKE_PL_AUTH, "AUTH"}, {IKE_PL_NONCE, "Nonce"},
    {IKE_PL_NOTIFY, "N"},        {IKE_PL_DELETE, "D"},  {IKE_PL_VENDOR, "V"},
    {IKE_PL_TSI, "TSi"},         {IKE_PL_TSR, "TSr"},   {IKE_PL_SK, "SK"},
    {IKE_PL_CP, "CP"},           {IKE_PL_EAP, "EAP"},   {IKE_PL_SKF, "SKF"},
};

const char *ike_payload_name(uint8_t type)
{
    return lookup(payloads, COUNT(payloads), type);
}

#define NN(x)                                                                                      \
    {                                                                                              \
        IKE_N_##x, #x                                                                              \
    }
static const struct name notifies[] = {
    NN(UNSUPPORTED_CRITICAL_PAYLOAD),
    NN(INVALID_IKE_SPI),
    NN(INVALID_MAJOR_VERSION),
    NN(INVALID_SYNTAX),
    NN(INVALID_MESSAGE_ID),
    NN(INVALID_SPI),
    NN(NO_PROPOSAL_CHOSEN),
    NN(INVALID_KE_PAYLOAD),
    NN(AUTHENTICATION_FAILED),
    NN(SINGLE_PAIR_REQUIRED),
    NN(NO_ADDITIONAL_SAS),
    NN(INTERNAL_ADDRESS_FAILURE),
    NN(FAILED_CP_REQUIRED),
    NN(TS_UNACCEPTABLE),
    NN(INVALID_SELECTORS),
    NN(TEMPORARY_FAILURE),
    NN(CHILD_SA_NOT_FOUND),
    NN(INITIAL_CONTACT),
    NN(SET_WINDOW_SIZE),
    NN(ADDITIONAL_TS_POSSIBLE),
    NN(IPCOMP_SUPPORTED),
    NN(NAT_DETECTION_SOURCE_IP),
    NN(NAT_DETECTION_DESTINATION_IP),
    NN(COOKIE),
    NN(USE_TRANSPORT_MODE),
    NN(HTTP_CERT_LOOKUP_SUPPORTED),
    NN(REKEY_SA),
    NN(ESP_TFC_PADDING_NOT_SUPPORTED),
    NN(NON_FIRST_FRAGMENTS_ALSO),
    NN(MOBIKE_SUPPORTED),
    NN(UPDATE_SA_ADDRESSES),
    NN(CHILDLESS_IKEV2_SUPPORTED),
    NN(IKEV2_FRAGMENTATION_SUPPORTED),
    NN(SIGNATURE_HASH_ALGORITHMS),
};

const char *ike_notify_name(uint16_t type)
{
    return lookup(notifies, COUNT(notifies), type);
}

static const struct name transform_types[] = {
    {IKE_TRANSFORM_ENCR, "ENCR"}, {IKE_TRANSFORM_PRF, "PRF"}, {IKE_TRANSFORM_INTEG, "INTEG"},
    {IKE_TRANSFORM_DH, "KE"},     {IKE_TRANSFORM_ESN, "ESN"},
};

const char *ike_transform_type_name(uint8_t type)
{
    return lookup(transform_types, COUNT(transform_types), type);
}

static const struct name encrs[] = {
    N(ENCR_3DES),       N(ENCR_NULL),       N(ENCR_AES_CBC),           N(ENCR_AES_CTR),
    N(ENCR_AES_CCM_8),  N(ENCR_AES_CCM_12), N(ENCR_AES_CCM_16),        N(ENCR_AES_GCM_8),
    N(ENCR_AES_GCM_12), N(ENCR_AES_GCM_16), N(ENCR_CHACHA20_POLY1305),
};
static const struct name prfs[] = {
    N(PRF_HMAC_MD5),      N(PRF_HMAC_SHA1),     N(PRF_AES128_XCBC),
    N(PRF_HMAC_SHA2_256), N(PRF_HMAC_SHA2_384), N(PRF_HMAC_SHA2_512),
};
static const struct name integs[] = {
    N(AUTH_NONE),
    N(AUTH_HMAC_MD5_96),
    N(AUTH_HMAC_SHA1_96),
    N(AUTH_AES_XCBC_96),
    N(AUTH_HMAC_SHA2_256_128),
    N(AUTH_HMAC_SHA2_384_192),
    N(AUTH_HMAC_SHA2_512_256),
};
static const struct name groups[] = {
    N(IKE_DH_NONE), N(MODP_1024),  N(MODP_1536), N(MODP_2048), N(MODP_3072),
    N(MODP_4096),   N(MODP_6144),  N(MODP_8192), N(ECP_256),   N(ECP_384),
    N(ECP_521),     N(CURVE25519), N(CURVE448),
};
static const struct name esns[] = {N(ESN_NO), N(ESN_YES)};

const char *ike_transform_name(uint8_t type, uint16_t id)
{
    switch (type) {
    case IKE_TRANSFORM_ENCR:
        return lookup(encrs, COUNT(encrs), id);
    case IKE_TRANSFORM_PRF:
        return lookup(prfs, COUNT(prfs), id);
    case IKE_TRANSFORM_INTEG:
        return lookup(integs, COUNT(integs), id);
    case IKE_TRANSFORM_DH:
        return lookup(groups, COUNT(groups), id);
    case IKE_TRANSFORM_ESN:
        return lookup(esns, COUNT(esns), id);
    }
    return "UNKNOWN";
}

static const struct name protos[] = {
    {IKE_PROTO_IKE, "IKE"},
    {IKE_PROTO_AH, "AH"},
    {IKE_PROTO_ESP, "ESP"},
};

const char *ike_proto_name(uint8_t proto)
{
    return lookup(protos, COUNT(protos), proto);
}

static const struct name id_types[] = {
    N(ID_IPV4_ADDR),   N(ID_FQDN),        N(ID_RFC822_ADDR), N(ID_IPV6_ADDR),
    N(ID_DER_ASN1_DN), N(ID_DER_ASN1_GN), N(ID_KEY_ID),      N(ID_NULL),
};

const char *ike_id_type_name(uint8_t type)
{
    return lookup(id_types, COUNT(id_types), type);
}

static const struct name auth_methods[] = {
    {IKE_AUTH_RSA_SIG, "RSA_SIG"},     {IKE_AUTH_SHARED_KEY_MIC, "SHARED_KEY_MIC"},
    {IKE_AUTH_DSS_SIG, "DSS_SIG"},     {IKE_AUTH_ECDSA_256, "ECDSA_256"},
    {IKE_AUTH_ECDSA_384, "ECDSA_384"}, {IKE_AUTH_ECDSA_521, "ECDSA_521"},
    {IKE_AUTH_NULL, "NULL_AUTH"},      {IKE_AUTH_DIGITAL_SIGNATURE, "DIGITAL_SIGNATURE"},
};

const char *ike_auth_method_name(uint8_t method)
{
    return lookup(auth_methods, COUNT(auth_methods), method);
}

static const struct name ts_types[] = {N(TS_IPV4_ADDR_RANGE), N(TS_IPV6_ADDR_RANGE)};

const char *ike_ts_type_name(uint8_t type)
{
    return lookup(ts_types, COUNT(ts_types), type);
}

static const struct name cert_encodings[] = {N(CERT_X509_SIGNATURE), N(CERT_HASH_AND_URL_X509)};

const char *ike_cert_encoding_name(uint8_t encoding)
{
    return lookup(cert_encodings, COUNT(cert_encodings), encoding);
}

static const struct name cfg_types[] = {N(CFG_REQUEST), N(CFG_REPLY), N(CFG_SET), N(CFG_ACK)};

const char *ike_cfg_type_name(uint8_t type)
{
    return lookup(cfg_types, COUNT(cfg_types), type);
}

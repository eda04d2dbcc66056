/*
 * err.c: English text for every IKE_ERR_* code (include/ike/err.h).
 * Pure: used by logs and tests; no I/O.
 */
#include "ike/err.h"

const char *ike_err_str(int err)
{
    switch (err) {
    case IKE_OK:
        return "success";
    case IKE_ERR_INVALID_ARG:
        return "invalid argument";
    case IKE_ERR_NOMEM:
        return "out of memory";
    case IKE_ERR_BUF_TOO_SMALL:
        return "buffer too small";
    case IKE_ERR_TRUNCATED:
        return "message truncated";
    case IKE_ERR_BAD_LENGTH:
        return "length field inconsistent with data";
    case IKE_ERR_BAD_VERSION:
        return "unsupported IKE major version";
    case IKE_ERR_BAD_PAYLOAD_CHAIN:
        return "payload chain malformed";
    case IKE_ERR_TOO_MANY:
        return "count exceeds implementation limit";
    case IKE_ERR_UNSUPPORTED_CRITICAL:
        return "unsupported critical payload";
    case IKE_ERR_INVALID_SYNTAX:
        return "invalid syntax";
    case IKE_ERR_MISSING_PAYLOAD:
        return "required payload missing";
    case IKE_ERR_UNEXPECTED_PAYLOAD:
        return "payload not allowed in this message";
    case IKE_ERR_DUPLICATE_PAYLOAD:
        return "payload repeated more often than allowed";
    case IKE_ERR_NOT_ENCRYPTED:
        return "payload must be encrypted";
    case IKE_ERR_EMPTY_PAYLOAD:
        return "empty payload where data is required";
    case IKE_ERR_BAD_SPI:
        return "invalid SPI";
    case IKE_ERR_NOT_FOUND:
        return "not found";
    case IKE_ERR_CRYPTO:
        return "cryptographic library failure";
    case IKE_ERR_UNSUPPORTED_ALG:
        return "unsupported algorithm";
    case IKE_ERR_INTEGRITY:
        return "integrity check failed";
    case IKE_ERR_BAD_PADDING:
        return "invalid padding";
    case IKE_ERR_KE_INVALID:
        return "invalid key exchange public value";
    case IKE_ERR_KE_ZERO:
        return "all-zero shared secret";
    case IKE_ERR_NO_PROPOSAL:
        return "no proposal chosen";
    case IKE_ERR_AUTH_FAILED:
        return "authentication failed";
    case IKE_ERR_TS_UNACCEPTABLE:
        return "traffic selectors unacceptable";
    case IKE_ERR_INVALID_KE:
        return "invalid KE payload (wrong group)";
    case IKE_ERR_STATE:
        return "not valid in this state";
    case IKE_ERR_WINDOW:
        return "message ID outside window";
    case IKE_ERR_NO_SA:
        return "no such SA";
    case IKE_ERR_TIMEOUT:
        return "peer did not answer (retransmissions exhausted)";
    case IKE_ERR_TEMPORARY:
        return "temporary failure";
    case IKE_ERR_NO_CONFIG:
        return "no matching connection";
    case IKE_ERR_BUSY:
        return "exchange already in progress";
    case IKE_ERR_KERNEL:
        return "kernel refused the operation";
    case IKE_ERR_KERNEL_EXISTS:
        return "kernel: entry already exists";
    case IKE_ERR_KERNEL_NOENT:
        return "kernel: no such entry";
    case IKE_ERR_KERNEL_NOESP:
        return "kernel: no ESP support in this kernel";
    case IKE_ERR_KERNEL_ALG:
        return "kernel: algorithm not available";
    case IKE_ERR_CONFIG:
        return "configuration error";
    case IKE_ERR_IO:
        return "I/O error";
    case IKE_ERR_CTL:
        return "malformed control request";
    }
    return "unknown error";
}

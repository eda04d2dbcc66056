/*
 * ike/err.h: the error codes every rekeyd function returns.
 *
 * Convention (ngtcp2 style): functions return 0 (IKE_OK) or a value >= 0 on
 * success and one of these negative codes on failure. Each code names one
 * precise cause, so a caller (and a test) can tell a truncated header from a
 * lying length field. ike_err_str() gives a short English text for logs.
 *
 * Ranges: -1..-29 generic and wire codec, -30..-49 crypto, -50..-79 engine,
 * -80..-99 kernel, -100.. daemon/config/control. Add new codes at the end of
 * their range and give each a string in src/wire/err.c.
 */
#ifndef IKE_ERR_H
#define IKE_ERR_H

enum ike_err {
    IKE_OK = 0,

    /* generic and wire codec */
    IKE_ERR_INVALID_ARG = -1,          /* caller passed something impossible */
    IKE_ERR_NOMEM = -2,                /* allocation failed */
    IKE_ERR_BUF_TOO_SMALL = -3,        /* writer ran out of room */
    IKE_ERR_TRUNCATED = -4,            /* fewer bytes than a field needs */
    IKE_ERR_BAD_LENGTH = -5,           /* a length field lies (too short/long) */
    IKE_ERR_BAD_VERSION = -6,          /* IKE major version is not 2 */
    IKE_ERR_BAD_PAYLOAD_CHAIN = -7,    /* chain overruns, or trailing bytes */
    IKE_ERR_TOO_MANY = -8,             /* a count from the wire exceeds its cap */
    IKE_ERR_UNSUPPORTED_CRITICAL = -9, /* unknown payload with critical bit */
    IKE_ERR_INVALID_SYNTAX = -10,      /* field value the RFC forbids */
    IKE_ERR_MISSING_PAYLOAD = -11,     /* payload rule: required payload absent */
    IKE_ERR_UNEXPECTED_PAYLOAD = -12,  /* payload rule: not allowed here */
    IKE_ERR_DUPLICATE_PAYLOAD = -13,   /* payload rule: appears too often */
    IKE_ERR_NOT_ENCRYPTED = -14,       /* must be inside SK but is not */
    IKE_ERR_EMPTY_PAYLOAD = -15,       /* zero-length body where RFC forbids */
    IKE_ERR_BAD_SPI = -16,             /* SPI size/value invalid */
    IKE_ERR_NOT_FOUND = -17,           /* lookup found nothing */

    /* crypto */
    IKE_ERR_CRYPTO = -30,          /* the crypto library failed */
    IKE_ERR_UNSUPPORTED_ALG = -31, /* algorithm or group not implemented */
    IKE_ERR_INTEGRITY = -32,       /* ICV / tag mismatch */
    IKE_ERR_BAD_PADDING = -33,     /* SK payload padding invalid */
    IKE_ERR_KE_INVALID = -34,      /* peer public value fails RFC 6989 checks */
    IKE_ERR_KE_ZERO = -35,         /* all-zero shared secret (RFC 8031) */

    /* engine */
    IKE_ERR_NO_PROPOSAL = -50,     /* no acceptable proposal */
    IKE_ERR_AUTH_FAILED = -51,     /* AUTH payload did not verify */
    IKE_ERR_TS_UNACCEPTABLE = -52, /* traffic selectors do not match */
    IKE_ERR_INVALID_KE = -53,      /* peer sent KE of a group we do not want */
    IKE_ERR_STATE = -54,           /* message not valid in this state */
    IKE_ERR_WINDOW = -55,          /* message ID outside the window */
    IKE_ERR_NO_SA = -56,           /* no SA for these SPIs */
    IKE_ERR_TIMEOUT = -57,         /* retransmissions exhausted */
    IKE_ERR_TEMPORARY = -58,       /* peer said TEMPORARY_FAILURE */
    IKE_ERR_NO_CONFIG = -59,       /* no matching connection config */
    IKE_ERR_BUSY = -60,            /* an exchange is already outstanding */

    /* kernel */
    IKE_ERR_KERNEL = -80,        /* kernel refused (see errno text) */
    IKE_ERR_KERNEL_EXISTS = -81, /* EEXIST */
    IKE_ERR_KERNEL_NOENT = -82,  /* ENOENT */
    IKE_ERR_KERNEL_NOESP = -83,  /* EPROTONOSUPPORT: no ESP in kernel */
    IKE_ERR_KERNEL_ALG = -84,    /* algorithm not available in kernel */

    /* daemon, config, control */
    IKE_ERR_CONFIG = -100, /* config file error (file:line given) */
    IKE_ERR_IO = -101,     /* system call failed */
    IKE_ERR_CTL = -102,    /* malformed control request */
};

/* Short English description of an error code; never NULL. */
const char *ike_err_str(int err);

#endif /* IKE_ERR_H */

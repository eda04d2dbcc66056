/*
 * hex.h: hex-string helpers for the crypto suites (test vectors are kept
 * as hex, exactly as the RFCs print them, so they can be compared by eye).
 */
#ifndef IKE_TEST_HEX_H
#define IKE_TEST_HEX_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (spaces ignored) into out; returns the byte count. */
static inline size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *c = hex; *c; c++) {
        int v;
        if (*c >= '0' && *c <= '9')
            v = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            v = *c - 'a' + 10;
        else if (*c >= 'A' && *c <= 'F')
            v = *c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        ck_assert_uint_lt(n, cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    ck_assert_int_eq(hi, -1);
    return n;
}

/* Assert that got[0..len) equals the hex string (and its length). */
#define ck_assert_hex_eq(got, len, hex)                                                            \
    do {                                                                                           \
        uint8_t want_[1024];                                                                       \
        size_t want_len_ = hex_decode((hex), want_, sizeof(want_));                                \
        ck_assert_uint_eq((len), want_len_);                                                       \
        ck_assert_mem_eq((got), want_, want_len_);                                                 \
    } while (0)

#endif

/*
 * malformed_cases.h: the table of malformed IKEv2 datagrams and the exact
 * IKE_ERR_* each must produce when decoded by header -> chain -> each
 * payload's decoder (tests/fuzz/wire_harness.h). Hex may contain spaces.
 * Unless .raw is set, the test patches the header Length field to the
 * real datagram length so each case lies about one thing only. Shared by
 * test_wire_malformed.c and the fuzz corpus generator.
 */
#ifndef MALFORMED_CASES_H
#define MALFORMED_CASES_H

#include <stdbool.h>

#include "ike/err.h"

struct malformed_case {
    const char *name;
    const char *hex;
    int err;
    bool raw; /* keep the header Length field as written */
};

/* IKE header with next payload np for exchange ex (length patched). */
#define HX(np, ex) "1122334455667788 99aabbccddeeff00 " np " 20 " ex " 08 00000000 00000000 "
#define H(np)      HX(np, "22")
#define HDR_BASE   "1122334455667788 0000000000000000 "
#define X2(s)      s s
#define X4(s)      X2(X2(s))
#define X8(s)      X2(X4(s))
#define X16(s)     X2(X8(s))
#define X32(s)     X2(X16(s))
#define B16        "000102030405060708090a0b0c0d0e0f "
/* A transform (3.3.2) ENCR_AES_CBC without attributes, last. */
#define XF "00000008 0100000c "
/* An IKE proposal numbered nn with that one transform; mark 00 or 02. */
#define PROP(mark, nn) mark "000010 " nn "010001 " XF
#define SEL4           "07000010 0000ffff 0a000000 0a0000ff "

__attribute__((unused)) static const struct malformed_case malformed_cases[] = {
    /* ---- IKE header (3.1) ---- */
    {"empty datagram", "", IKE_ERR_TRUNCATED, true},
    {"header cut at 27 octets", HDR_BASE "00202208 00000000 000000", IKE_ERR_TRUNCATED, true},
    {"IKEv1 major version", HDR_BASE "00102208 00000000 0000001c", IKE_ERR_BAD_VERSION, true},
    {"major version 3", HDR_BASE "00302208 00000000 0000001c", IKE_ERR_BAD_VERSION, true},
    {"length field 0", HDR_BASE "00202208 00000000 00000000", IKE_ERR_BAD_LENGTH, true},
    {"length field below header", HDR_BASE "00202208 00000000 0000001b", IKE_ERR_BAD_LENGTH, true},
    {"length field past datagram", HDR_BASE "00202208 00000000 00000040", IKE_ERR_BAD_LENGTH, true},
    {"length field shorter than datagram", HDR_BASE "00202208 00000000 0000001c 00000004",
     IKE_ERR_BAD_LENGTH, true},
    {"length field 2^32-1", HDR_BASE "00202208 00000000 ffffffff", IKE_ERR_BAD_LENGTH, true},

    /* ---- generic payload chain (3.2) ---- */
    {"payload announced but absent", H("28"), IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"generic header cut", H("28") "0000", IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"payload length 0", H("2b") "00000000", IKE_ERR_BAD_LENGTH},
    {"payload length 3", H("2b") "00000003", IKE_ERR_BAD_LENGTH},
    {"payload length past datagram", H("28") "00000024" B16, IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"payload length one past datagram", H("2b") "0000000a 0102030405", IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"payload length too short leaves bytes", H("28") "00000008" B16, IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"next payload beyond the end", H("28") "29000014" B16, IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"trailing garbage after last payload", H("28") "00000014" B16 "deadbeef",
     IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"one trailing octet", H("28") "00000014" B16 "ff", IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"no payload but bytes follow", H("00") "00000004", IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"critical unknown payload", H("3c") "00800004", IKE_ERR_UNSUPPORTED_CRITICAL},
    {"critical unknown after a known one", H("2b") "3c000005 aa 00800004",
     IKE_ERR_UNSUPPORTED_CRITICAL},
    {"unknown payload overruns", H("3c") "00000010 aabb", IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"SK not last", HX("2b", "25") "2e000005 aa 23000008 01020304 00000004",
     IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"SKF not last", HX("35", "23") "00000010 00010001 0102030405060708 00000004",
     IKE_ERR_BAD_PAYLOAD_CHAIN},
    {"33 payloads", H("2b") X32("2b000004 ") "00000004", IKE_ERR_TOO_MANY},
    {"33 skipped unknown payloads", H("3c") X32("3c000004 ") "00000004", IKE_ERR_TOO_MANY},

    /* ---- payloads that must not be empty or short ---- */
    {"Nonce empty", H("28") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"Nonce 15 octets", H("28") "00000013 000102030405060708090a0b0c0d0e", IKE_ERR_INVALID_SYNTAX},
    {"Nonce 257 octets", H("28") "00000105" X16(B16) "ff", IKE_ERR_INVALID_SYNTAX},
    {"KE empty", H("22") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"KE without public value", H("22") "00000008 001f0000", IKE_ERR_EMPTY_PAYLOAD},
    {"KE fixed part cut", H("22") "00000006 001f", IKE_ERR_TRUNCATED},
    {"IDi without data", H("23") "00000008 02000000", IKE_ERR_EMPTY_PAYLOAD},
    {"IDi IPv4 of 3 octets", H("23") "0000000b 01000000 c0a800", IKE_ERR_INVALID_SYNTAX},
    {"IDr IPv6 of 4 octets", H("24") "0000000c 05000000 20010db8", IKE_ERR_INVALID_SYNTAX},
    {"AUTH without data", H("27") "00000008 02000000", IKE_ERR_EMPTY_PAYLOAD},
    {"CERT empty", H("25") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"SK empty", HX("2e", "25") "00000004", IKE_ERR_EMPTY_PAYLOAD},

    /* ---- Notify (3.10) ---- */
    {"Notify empty", H("29") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"Notify cut", H("29") "00000006 0000", IKE_ERR_TRUNCATED},
    {"Notify SPI size 3", H("29") "0000000b 03034000 aabbcc", IKE_ERR_BAD_SPI},
    {"Notify SPI past payload", H("29") "0000000c 03084000 aabbccdd", IKE_ERR_BAD_LENGTH},

    /* ---- Delete (3.11) ---- */
    {"Delete IKE with SPI size 8", H("2a") "00000008 01080000", IKE_ERR_BAD_SPI},
    {"Delete IKE listing SPIs", H("2a") "00000008 01000001", IKE_ERR_BAD_SPI},
    {"Delete ESP SPI size 8", H("2a") "00000010 03080001 0102030405060708", IKE_ERR_BAD_SPI},
    {"Delete ESP count past payload", H("2a") "0000000c 03040002 01020304", IKE_ERR_TRUNCATED},
    {"Delete ESP bytes after SPIs", H("2a") "0000000e 03040001 01020304 0506", IKE_ERR_BAD_LENGTH},
    {"Delete over the SPI cap", H("2a") "00000008 03040041", IKE_ERR_TOO_MANY},
    {"Delete unknown protocol", H("2a") "00000008 07040000", IKE_ERR_INVALID_SYNTAX},
    {"Delete cut", H("2a") "00000007 030400", IKE_ERR_TRUNCATED},

    /* ---- SA, proposals, transforms, attributes (3.3) ---- */
    {"SA empty", H("21") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"proposal number 0", H("21") "00000014" PROP("00", "00"), IKE_ERR_INVALID_SYNTAX},
    {"proposal numbers 1 then 3", H("21") "00000024" PROP("02", "01") PROP("00", "03"),
     IKE_ERR_INVALID_SYNTAX},
    {"proposal numbers 1 then 1", H("21") "00000024" PROP("02", "01") PROP("00", "01"),
     IKE_ERR_INVALID_SYNTAX},
    {"proposal numbers 2 then 1", H("21") "00000024" PROP("02", "02") PROP("00", "01"),
     IKE_ERR_INVALID_SYNTAX},
    {"proposal length 7", H("21") "00000014 00000007 01010001" XF, IKE_ERR_BAD_LENGTH},
    {"proposal length past SA", H("21") "00000014 00000020 01010001" XF, IKE_ERR_BAD_LENGTH},
    {"proposal cut", H("21") "0000000a 000000100101", IKE_ERR_TRUNCATED},
    {"more-proposals mark, none follow", H("21") "00000014" PROP("02", "01"), IKE_ERR_TRUNCATED},
    {"bytes after the last proposal", H("21") "00000018" PROP("00", "01") "00000000",
     IKE_ERR_BAD_LENGTH},
    {"proposal mark 1", H("21") "00000014" PROP("01", "01"), IKE_ERR_INVALID_SYNTAX},
    {"17 proposals",
     H("21") "00000114" PROP("02", "01") PROP("02", "02") PROP("02", "03") PROP("02", "04")
         PROP("02", "05") PROP("02", "06") PROP("02", "07") PROP("02", "08") PROP("02", "09")
             PROP("02", "0a") PROP("02", "0b") PROP("02", "0c") PROP("02", "0d") PROP("02", "0e")
                 PROP("02", "0f") PROP("02", "10") PROP("00", "11"),
     IKE_ERR_TOO_MANY},
    {"ESP SPI size 8", H("21") "0000001c 00000018 01030801 1122334455667788" XF, IKE_ERR_BAD_SPI},
    {"ESP SPI size 0", H("21") "00000014 00000010 01030001" XF, IKE_ERR_BAD_SPI},
    {"IKE SPI size 4", H("21") "00000018 00000014 01010401 11223344" XF, IKE_ERR_BAD_SPI},
    {"SPI past proposal", H("21") "00000010 0000000c 01010801 00000008", IKE_ERR_BAD_LENGTH},
    {"unknown protocol 9", H("21") "00000014 00000010 01090001" XF, IKE_ERR_INVALID_SYNTAX},
    {"zero transforms", H("21") "0000000c 00000008 01010000", IKE_ERR_INVALID_SYNTAX},
    {"33 transforms announced", H("21") "00000014 00000010 01010021" XF, IKE_ERR_TOO_MANY},
    {"2 transforms announced, 1 present", H("21") "00000014 00000010 01010002" XF,
     IKE_ERR_INVALID_SYNTAX},
    {"more transforms than announced", H("21") "0000001c 00000018 01010001 03000008 0100000c" XF,
     IKE_ERR_INVALID_SYNTAX},
    {"transform length 7", H("21") "00000014 00000010 01010001 00000007 0100000c",
     IKE_ERR_BAD_LENGTH},
    {"transform past proposal", H("21") "00000014 00000010 01010001 0000000c 0100000c",
     IKE_ERR_BAD_LENGTH},
    {"transform cut", H("21") "00000010 0000000c 01010001 00000008", IKE_ERR_TRUNCATED},
    {"transform mark 2", H("21") "00000014 00000010 01010001 02000008 0100000c",
     IKE_ERR_INVALID_SYNTAX},
    {"Key Length as TLV", H("21") "0000001a 00000016 01010001 0000000e 0100000c 000e0002 0100",
     IKE_ERR_INVALID_SYNTAX},
    {"Key Length twice", H("21") "0000001c 00000018 01010001 00000010 0100000c 800e0080 800e0100",
     IKE_ERR_INVALID_SYNTAX},
    {"Key Length 0", H("21") "00000018 00000014 01010001 0000000c 0100000c 800e0000",
     IKE_ERR_INVALID_SYNTAX},
    {"TLV attribute past transform",
     H("21") "00000019 00000015 01010001 0000000d 0100000c 00050010 aa", IKE_ERR_BAD_LENGTH},
    {"attribute header cut", H("21") "00000016 00000012 01010001 0000000a 0100000c 800e",
     IKE_ERR_TRUNCATED},

    /* ---- TSi / TSr (3.13) ---- */
    {"TS empty", H("2c") "00000004", IKE_ERR_EMPTY_PAYLOAD},
    {"TS cut", H("2c") "00000006 0100", IKE_ERR_TRUNCATED},
    {"TS count 0", H("2c") "00000008 00000000", IKE_ERR_INVALID_SYNTAX},
    {"TS IPv4 start address > end", H("2c") "00000018 01000000 07000010 0000ffff 0a0000ff 0a000000",
     IKE_ERR_INVALID_SYNTAX},
    {"TS start port > end", H("2d") "00000018 01000000 07000010 01000050 0a000000 0a0000ff",
     IKE_ERR_INVALID_SYNTAX},
    {"TS IPv6 start address > end",
     H("2c") "00000030 01000000 08000028 0000ffff 20010db8000000000000000000000002"
             "20010db8000000000000000000000001",
     IKE_ERR_INVALID_SYNTAX},
    {"TS IPv4 selector says 40", H("2c") "00000018 01000000 07000028 0000ffff 0a000000 0a0000ff",
     IKE_ERR_BAD_LENGTH},
    {"TS IPv6 selector says 16", H("2c") "00000018 01000000 08000010 0000ffff 0a000000 0a0000ff",
     IKE_ERR_BAD_LENGTH},
    {"TS unknown type 9", H("2c") "00000018 01000000 09000010 0000ffff 0a000000 0a0000ff",
     IKE_ERR_INVALID_SYNTAX},
    {"TS count 2, one present", H("2c") "00000018 02000000" SEL4, IKE_ERR_TRUNCATED},
    {"TS selector cut", H("2c") "00000014 01000000 07000010 0000ffff 0a000000", IKE_ERR_TRUNCATED},
    {"TS bytes after selectors", H("2c") "0000001a 01000000" SEL4 "0000", IKE_ERR_BAD_LENGTH},
    {"TS 17 selectors announced", H("2c") "00000018 11000000" SEL4, IKE_ERR_TOO_MANY},

    /* ---- CP (3.15), EAP (3.16), SKF (RFC 7383) ---- */
    {"CP unknown type 5", H("2f") "00000008 05000000", IKE_ERR_INVALID_SYNTAX},
    {"CP attribute past payload", H("2f") "0000000e 01000000 00010008 0a00", IKE_ERR_BAD_LENGTH},
    {"CP attribute header cut", H("2f") "0000000a 01000000 0001", IKE_ERR_TRUNCATED},
    {"CP over the attribute cap", H("2f") "0000008c 01000000" X32("00030000 ") "00030000",
     IKE_ERR_TOO_MANY},
    {"EAP length lies", H("30") "0000000c 01010009 01aabbcc", IKE_ERR_BAD_LENGTH},
    {"EAP success with data", H("30") "00000009 03010005 00", IKE_ERR_BAD_LENGTH},
    {"EAP unknown code 7", H("30") "00000008 07010004", IKE_ERR_INVALID_SYNTAX},
    {"EAP request without type", H("30") "00000008 01010004", IKE_ERR_TRUNCATED},
    {"SKF fragment number 0", HX("35", "23") "00000010 00000001 0102030405060708",
     IKE_ERR_INVALID_SYNTAX},
    {"SKF number past total", HX("35", "23") "00000010 00030002 0102030405060708",
     IKE_ERR_INVALID_SYNTAX},
    {"SKF without data", HX("35", "23") "00000008 00010001", IKE_ERR_EMPTY_PAYLOAD},
    {"SKF cut", HX("35", "23") "00000006 0001", IKE_ERR_TRUNCATED},
};

#define MALFORMED_N (sizeof(malformed_cases) / sizeof(malformed_cases[0]))

/* Hex (spaces allowed) to bytes; returns the length or -1. */
static inline int malformed_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *c = hex; *c; c++) {
        int v;
        if (*c == ' ')
            continue;
        if (*c >= '0' && *c <= '9')
            v = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            v = *c - 'a' + 10;
        else
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (int)n : -1;
}

/* Decode a case into a datagram, patching the header length unless raw. */
static inline int malformed_bytes(const struct malformed_case *c, uint8_t *out, size_t cap)
{
    int n = malformed_unhex(c->hex, out, cap);
    if (n >= 28 && !c->raw) {
        out[24] = (uint8_t)(n >> 24);
        out[25] = (uint8_t)(n >> 16);
        out[26] = (uint8_t)(n >> 8);
        out[27] = (uint8_t)n;
    }
    return n;
}

#endif /* MALFORMED_CASES_H */

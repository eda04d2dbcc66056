/*
 * capture_data.h: loaders for the strongSwan captures in
 * tests/data/strongswan (see its README.md): hex message files, the
 * keys.txt of each case and charon's own one-line summary of every message.
 * Test helpers only; they abort the test (ck_assert) on malformed data.
 */
#ifndef CAPTURE_DATA_H
#define CAPTURE_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_MAX_MSGS    16
#define CAP_MAX_MSG_LEN 2048
#define CAP_MAX_KEYS    64
#define CAP_MAX_KEY_LEN 512
#define CAP_MAX_SUMMARY 32

/* One `name = hex` line of keys.txt. */
struct cap_kv {
    char name[40];
    size_t len;
    uint8_t v[CAP_MAX_KEY_LEN];
};

struct cap_keys {
    size_t n;
    struct cap_kv kv[CAP_MAX_KEYS];
};

/* charon's line for one message: "generating IKE_AUTH request 1 [ IDi ... ]".
 * types[] are payload types (the inner chain for encrypted messages);
 * notify[i] is the Notify type when types[i] is IKE_PL_NOTIFY, else 0. */
struct cap_summary {
    uint8_t exchange;
    bool response;
    uint32_t msg_id;
    size_t n;
    uint8_t types[CAP_MAX_SUMMARY];
    uint16_t notify[CAP_MAX_SUMMARY];
};

/* Path of a file of a case: $REKEYD_TESTDATA/strongswan/<case>/<file>. */
void cap_path(char *out, size_t cap, const char *case_name, const char *file);

/* Read a one-line hex file into out; returns the byte count. */
size_t cap_load_hex(const char *case_name, const char *file, uint8_t *out, size_t cap);

/* Parse <case>/keys.txt. */
void cap_keys_load(const char *case_name, struct cap_keys *k);

/* The value of a key; the test fails when it is absent. */
const struct cap_kv *cap_key(const struct cap_keys *k, const char *name);

/* The value of a key, or NULL when absent. */
const struct cap_kv *cap_key_opt(const struct cap_keys *k, const char *name);

/* Parse <case>/charon-initiator.txt; returns the number of lines. */
size_t cap_summary_load(const char *case_name, struct cap_summary *s, size_t cap);

/* The message file name for summary line i (0-based): NN-EXCHANGE-req.hex. */
void cap_msg_file(char *out, size_t cap, size_t i, const struct cap_summary *s);

#endif /* CAPTURE_DATA_H */

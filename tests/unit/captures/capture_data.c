/*
 * capture_data.c: reads the strongSwan capture files (tests/data/strongswan)
 * for the capture suite: hex messages, keys.txt and charon's message
 * summaries. Test-side parsing only: it checks the files' own syntax with
 * ck_assert and must not interpret IKE bytes (that is the code under test).
 */
#include "capture_data.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/types.h"

void cap_path(char *out, size_t cap, const char *case_name, const char *file)
{
    const char *dir = getenv("REKEYD_TESTDATA");
    ck_assert_msg(dir != NULL, "REKEYD_TESTDATA not set");
    int n = snprintf(out, cap, "%s/strongswan/%s/%s", dir, case_name, file);
    ck_assert(n > 0 && (size_t)n < cap);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode hex digits from s (stops at the first non-hex character). */
static size_t unhex(const char *s, uint8_t *out, size_t cap, const char *what)
{
    size_t n = 0;
    while (hexval((unsigned char)s[0]) >= 0) {
        int hi = hexval((unsigned char)s[0]), lo = hexval((unsigned char)s[1]);
        ck_assert_msg(lo >= 0, "%s: odd number of hex digits", what);
        ck_assert_msg(n < cap, "%s: more than %zu bytes", what, cap);
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    ck_assert_msg(!ferror(f) && feof(f), "cannot read all of %s", path);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

size_t cap_load_hex(const char *case_name, const char *file, uint8_t *out, size_t cap)
{
    char path[512];
    cap_path(path, sizeof path, case_name, file);
    const char *s = slurp(path);
    size_t n = unhex(s, out, cap, path);
    s += 2 * n;
    ck_assert_msg(*s == '\n' || *s == '\0', "%s: junk after the hex", path);
    return n;
}

void cap_keys_load(const char *case_name, struct cap_keys *k)
{
    char path[512];
    cap_path(path, sizeof path, case_name, "keys.txt");
    char *s = slurp(path);
    memset(k, 0, sizeof *k);
    for (char *line = strtok(s, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *eq = strstr(line, " = ");
        ck_assert_msg(eq != NULL, "%s: bad line '%s'", path, line);
        ck_assert(k->n < CAP_MAX_KEYS);
        struct cap_kv *kv = &k->kv[k->n++];
        size_t nl = (size_t)(eq - line);
        ck_assert(nl < sizeof kv->name);
        memcpy(kv->name, line, nl);
        kv->len = unhex(eq + 3, kv->v, sizeof kv->v, path);
        ck_assert_msg(kv->len > 0 && eq[3 + 2 * kv->len] == '\0', "%s: bad value of %s", path,
                      kv->name);
    }
}

const struct cap_kv *cap_key_opt(const struct cap_keys *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->kv[i].name, name) == 0)
            return &k->kv[i];
    return NULL;
}

const struct cap_kv *cap_key(const struct cap_keys *k, const char *name)
{
    const struct cap_kv *kv = cap_key_opt(k, name);
    ck_assert_msg(kv != NULL, "keys.txt has no '%s'", name);
    return kv;
}

static const struct {
    const char *name;
    uint8_t type;
} PL_NAMES[] = {
    {"SA", IKE_PL_SA},    {"KE", IKE_PL_KE},     {"No", IKE_PL_NONCE},  {"IDi", IKE_PL_IDI},
    {"IDr", IKE_PL_IDR},  {"AUTH", IKE_PL_AUTH}, {"TSi", IKE_PL_TSI},   {"TSr", IKE_PL_TSR},
    {"D", IKE_PL_DELETE}, {"V", IKE_PL_VENDOR},  {"CERT", IKE_PL_CERT}, {"CERTREQ", IKE_PL_CERTREQ},
};

/* charon's short Notify names (strongSwan notify_type_short_names). */
static const struct {
    const char *name;
    uint16_t type;
} N_NAMES[] = {
    {"INVAL_KE", IKE_N_INVALID_KE_PAYLOAD},
    {"INIT_CONTACT", IKE_N_INITIAL_CONTACT},
    {"NATD_S_IP", IKE_N_NAT_DETECTION_SOURCE_IP},
    {"NATD_D_IP", IKE_N_NAT_DETECTION_DESTINATION_IP},
    {"REKEY_SA", IKE_N_REKEY_SA},
    {"MOBIKE_SUP", IKE_N_MOBIKE_SUPPORTED},
    {"NO_ADD_ADDR", 16399},    /* NO_ADDITIONAL_ADDRESSES, RFC 4555 */
    {"REDIR_SUP", 16406},      /* REDIRECT_SUPPORTED, RFC 5685 */
    {"MULT_AUTH", 16404},      /* MULTIPLE_AUTH_SUPPORTED, RFC 4739 */
    {"EAP_ONLY", 16417},       /* EAP_ONLY_AUTHENTICATION, RFC 5998 */
    {"MSG_ID_SYN_SUP", 16420}, /* IKEV2_MESSAGE_ID_SYNC_SUPPORTED, RFC 6311 */
    {"CHDLESS_SUP", IKE_N_CHILDLESS_IKEV2_SUPPORTED},
    {"FRAG_SUP", IKE_N_IKEV2_FRAGMENTATION_SUPPORTED},
    {"HASH_ALG", IKE_N_SIGNATURE_HASH_ALGORITHMS},
};

static void summary_token(struct cap_summary *s, const char *tok, const char *line)
{
    ck_assert_msg(s->n < CAP_MAX_SUMMARY, "too many payloads in '%s'", line);
    size_t i = s->n++;
    s->notify[i] = 0;
    if (strncmp(tok, "N(", 2) == 0) {
        s->types[i] = IKE_PL_NOTIFY;
        size_t len = strlen(tok) - 3; /* without "N(" and ")" */
        for (size_t j = 0; j < sizeof N_NAMES / sizeof N_NAMES[0]; j++)
            if (strlen(N_NAMES[j].name) == len && strncmp(tok + 2, N_NAMES[j].name, len) == 0)
                s->notify[i] = N_NAMES[j].type;
        ck_assert_msg(s->notify[i] != 0, "unknown notify '%s' in '%s'", tok, line);
        return;
    }
    for (size_t j = 0; j < sizeof PL_NAMES / sizeof PL_NAMES[0]; j++)
        if (strcmp(tok, PL_NAMES[j].name) == 0) {
            s->types[i] = PL_NAMES[j].type;
            return;
        }
    ck_abort_msg("unknown payload '%s' in '%s'", tok, line);
}

static uint8_t exchange_number(const char *name)
{
    if (strcmp(name, "IKE_SA_INIT") == 0)
        return IKE_SA_INIT;
    if (strcmp(name, "IKE_AUTH") == 0)
        return IKE_AUTH;
    if (strcmp(name, "CREATE_CHILD_SA") == 0)
        return CREATE_CHILD_SA;
    if (strcmp(name, "INFORMATIONAL") == 0)
        return INFORMATIONAL;
    ck_abort_msg("unknown exchange '%s'", name);
    return 0;
}

static void summary_line(struct cap_summary *s, char *line)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    memset(s, 0, sizeof *s);
    char *save = NULL;
    char *verb = strtok_r(line, " ", &save);
    char *exch = strtok_r(NULL, " ", &save);
    char *kind = strtok_r(NULL, " ", &save);
    char *mid = strtok_r(NULL, " ", &save);
    char *open = strtok_r(NULL, " ", &save);
    ck_assert_msg(verb && exch && kind && mid && open && strcmp(open, "[") == 0, "bad line '%s'",
                  copy);
    s->exchange = exchange_number(exch);
    s->response = strcmp(kind, "response") == 0;
    s->msg_id = (uint32_t)strtoul(mid, NULL, 10);
    for (char *tok = strtok_r(NULL, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        if (strcmp(tok, "]") == 0)
            return;
        summary_token(s, tok, copy);
    }
    ck_abort_msg("no closing ']' in '%s'", copy);
}

size_t cap_summary_load(const char *case_name, struct cap_summary *s, size_t cap)
{
    char path[512];
    cap_path(path, sizeof path, case_name, "charon-initiator.txt");
    char *buf = slurp(path);
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(n < cap, "%s: more than %zu messages", path, cap);
        summary_line(&s[n++], line);
    }
    return n;
}

static const char *exchange_file_name(uint8_t exchange)
{
    switch (exchange) {
    case IKE_SA_INIT:
        return "IKE_SA_INIT";
    case IKE_AUTH:
        return "IKE_AUTH";
    case CREATE_CHILD_SA:
        return "CREATE_CHILD_SA";
    default:
        return "INFORMATIONAL";
    }
}

void cap_msg_file(char *out, size_t cap, size_t i, const struct cap_summary *s)
{
    int n = snprintf(out, cap, "%02zu-%s-%s.hex", i + 1, exchange_file_name(s->exchange),
                     s->response ? "resp" : "req");
    ck_assert(n > 0 && (size_t)n < cap);
}

/*
 * conf_secrets.c: the ipsec.secrets subset `[ID ...] : PSK "secret"` and
 * the choice of a PSK for each conn.
 *
 * A line matches a conn when its IDs name the conn's local or remote
 * identity (IP addresses compared in canonical form), or hold %any, or it
 * has no IDs; the line naming both identities wins, then one naming the
 * peer, then %any, then an ID-less line (strongSwan's order). Must never
 * put secret bytes in an error message, and wipes every copy it makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "ike/crypto.h"
#include "ike/err.h"

#define MAX_IDS  8
#define LINE_MAX 1024

struct secret_line {
    char ids[MAX_IDS][IKE_ID_MAX + 1];
    int n_ids;
    uint8_t psk[IKE_PSK_MAX];
    size_t psk_len;
    int line;
};

/* IP addresses in canonical text so "::1" matches "0::1". */
static void canon_id(char *id, size_t cap)
{
    struct ike_addr a;
    if (conf_parse_addr(id, &a))
        conf_addr_text(&a, id, cap);
}

static int score(const struct secret_line *s, const struct ike_conf_conn *cc)
{
    if (!s->n_ids)
        return 1;
    bool l = false, r = false, any = false;
    for (int i = 0; i < s->n_ids; i++) {
        l |= !strcmp(s->ids[i], cc->local_id);
        r |= !strcmp(s->ids[i], cc->remote_id);
        any |= !strcmp(s->ids[i], "%any");
    }
    if (l && r)
        return 5;
    if (r)
        return 4;
    if (l && (any || s->n_ids == 1))
        return 3;
    return any ? 2 : 0;
}

/* Parses `ID ID : PSK "secret"`; 1 = a line, 0 = blank/comment. */
/* The separator is a ':' standing alone, so IPv6 IDs ("::1") keep theirs. */
static char *find_sep(char *l)
{
    for (char *c = strchr(l, ':'); c; c = strchr(c + 1, ':'))
        if ((c == l || c[-1] == ' ' || c[-1] == '\t') && (c[1] == ' ' || c[1] == '\t' || !c[1]))
            return c;
    return NULL;
}

static int parse_line(char *l, struct secret_line *s, const struct conf_err *e)
{
    char *colon = find_sep(l);
    char *p = l;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    if (!colon) {
        conf_errf(e, s->line, "expected 'ID ID : PSK \"secret\"'");
        return IKE_ERR_CONFIG;
    }
    *colon = '\0';
    for (char *tok = strtok(l, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (s->n_ids == MAX_IDS || strlen(tok) > IKE_ID_MAX) {
            conf_errf(e, s->line, "too many or too long IDs");
            return IKE_ERR_CONFIG;
        }
        snprintf(s->ids[s->n_ids], sizeof(s->ids[0]), "%s", tok);
        canon_id(s->ids[s->n_ids], sizeof(s->ids[0]));
        s->n_ids++;
    }
    char *t = colon + 1;
    while (*t == ' ' || *t == '\t')
        t++;
    if (strncmp(t, "PSK", 3) || (t[3] != ' ' && t[3] != '\t')) {
        conf_errf(e, s->line, "only PSK secrets are supported");
        return IKE_ERR_CONFIG;
    }
    t += 4;
    while (*t == ' ' || *t == '\t')
        t++;
    char *end = *t == '"' ? strchr(t + 1, '"') : NULL;
    char *rest = end ? end + 1 : NULL;
    while (rest && (*rest == ' ' || *rest == '\t' || *rest == '\r'))
        rest++;
    if (!end || (*rest && *rest != '#') || end == t + 1 || (size_t)(end - t - 1) > IKE_PSK_MAX) {
        conf_errf(e, s->line, "PSK must be one non-empty \"quoted\" string of at most %d bytes",
                  IKE_PSK_MAX);
        return IKE_ERR_CONFIG;
    }
    s->psk_len = (size_t)(end - t - 1);
    memcpy(s->psk, t + 1, s->psk_len);
    return 1;
}

static void offer(struct ike_conf *c, const struct secret_line *s, int *best)
{
    for (size_t i = 0; i < c->n_conns; i++) {
        int sc = score(s, &c->conns[i]);
        if (sc > best[i]) {
            best[i] = sc;
            memcpy(c->conns[i].cfg.psk, s->psk, s->psk_len);
            c->conns[i].cfg.psk_len = s->psk_len;
        }
    }
}

static int read_lines(const char *text, size_t len, struct ike_conf *c, int *best,
                      const struct conf_err *e)
{
    char l[LINE_MAX + 1];
    struct secret_line s;
    int rc = 0, line = 0;
    for (size_t off = 0; rc >= 0 && off < len;) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        memset(&s, 0, sizeof(s));
        s.line = ++line;
        if (n > LINE_MAX || memchr(text + off, '\0', n)) {
            conf_errf(e, line, "line too long or NUL byte");
            rc = IKE_ERR_CONFIG;
            break;
        }
        memcpy(l, text + off, n);
        l[n] = '\0';
        off += n + 1;
        rc = parse_line(l, &s, e);
        if (rc > 0)
            offer(c, &s, best);
    }
    ike_wipe(l, sizeof(l));
    ike_wipe(&s, sizeof(s));
    return rc;
}

int ike_conf_apply_secrets(const char *text, size_t len, const char *name, struct ike_conf *c,
                           char *err, size_t cap)
{
    struct conf_err e = {name, err, cap};
    int best_small[16] = {0};
    int *best = best_small;
    if (c->n_conns > 16) {
        best = calloc(c->n_conns, sizeof(int));
        if (!best)
            return IKE_ERR_NOMEM;
    }
    int rc = read_lines(text, len, c, best, &e);
    for (size_t i = 0; rc >= 0 && i < c->n_conns; i++) {
        if (c->conns[i].psk_auth && !best[i]) {
            snprintf(err, cap, "%s: no PSK for conn '%s' (%s <-> %s)", name, c->conns[i].cfg.name,
                     c->conns[i].local_id, c->conns[i].remote_id);
            rc = IKE_ERR_CONFIG;
        }
    }
    if (best != best_small)
        free(best);
    return rc < 0 ? rc : 0;
}

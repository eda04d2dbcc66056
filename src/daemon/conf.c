/*
 * conf.c: the ipsec.conf subset (DESIGN.md section 3): splits the text into
 * sections (`config setup`, `conn NAME`), resolves `conn %default` and
 * `also=` and hands each key to conf_keys.c; loads both files.
 *
 * Precedence (as strongSwan's starter): a conn's own keys override what
 * also= brings in, which overrides %default, which overrides built-in
 * defaults. Every error names file:line and the key; nothing unknown is
 * skipped silently. Must not log or print: errors go to the caller's
 * buffer, and never contain a secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_int.h"
#include "ike/crypto.h"
#include "ike/err.h"

#define MAX_ALSO_DEPTH 16
#define MAX_LINE_LEN   1024
#define MAX_FILE_SIZE  (4u << 20)

struct kv {
    char key[32];
    char val[MAX_LINE_LEN];
    int line;
};

struct section {
    char name[IKE_CONN_NAME_MAX];
    bool setup;
    int line;
    struct kv *kv;
    size_t n, cap;
};

struct sections {
    struct section *s;
    size_t n, cap;
};

void conf_errf(const struct conf_err *e, int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(e->buf, e->cap, "%s:%d: ", e->name, line);
    if (n < 0 || (size_t)n >= e->cap)
        return;
    va_start(ap, fmt);
    vsnprintf(e->buf + n, e->cap - (size_t)n, fmt, ap);
    va_end(ap);
}

static void sections_free(struct sections *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        ike_wipe(ss->s[i].kv, ss->s[i].cap * sizeof(struct kv));
        free(ss->s[i].kv);
    }
    free(ss->s);
}

static struct section *find_section(struct sections *ss, const char *name)
{
    for (size_t i = 0; i < ss->n; i++)
        if (!ss->s[i].setup && !strcmp(ss->s[i].name, name))
            return &ss->s[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Cuts a '#' comment that is not inside double quotes. */
static void cut_comment(char *s)
{
    bool q = false;
    for (; *s; s++) {
        if (*s == '"')
            q = !q;
        else if (*s == '#' && !q) {
            *s = '\0';
            return;
        }
    }
}

static int header_line(struct sections *ss, char *l, int line, const struct conf_err *e)
{
    char *t = trim(l);
    struct section sec = {.line = line};
    if (!strcmp(t, "config setup")) {
        sec.setup = true;
    } else if (!strncmp(t, "conn", 4) && (t[4] == ' ' || t[4] == '\t')) {
        char *name = trim(t + 5);
        size_t n = strlen(name);
        if (!n || n >= IKE_CONN_NAME_MAX || strpbrk(name, " \t\"=")) {
            conf_errf(e, line, "bad conn name '%.*s'", 64, name);
            return IKE_ERR_CONFIG;
        }
        if (find_section(ss, name)) {
            conf_errf(e, line, "conn '%s' defined twice", name);
            return IKE_ERR_CONFIG;
        }
        memcpy(sec.name, name, n + 1);
    } else {
        conf_errf(e, line, "expected 'conn NAME' or 'config setup', got '%.40s'", t);
        return IKE_ERR_CONFIG;
    }
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 8;
        struct section *s = realloc(ss->s, cap * sizeof(*s));
        if (!s)
            return IKE_ERR_NOMEM;
        ss->s = s;
        ss->cap = cap;
    }
    ss->s[ss->n++] = sec;
    return 0;
}

/* "key=value" or "key = value", value optionally in double quotes. */
static int split_kv(char *t, struct kv *kv, int line, const struct conf_err *e)
{
    char *eq = strchr(t, '=');
    if (!eq) {
        conf_errf(e, line, "expected key=value, got '%.40s'", t);
        return IKE_ERR_CONFIG;
    }
    *eq = '\0';
    char *k = trim(t), *v = trim(eq + 1);
    size_t vl = strlen(v);
    if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        v[vl - 1] = '\0';
        v++;
    } else if (strchr(v, '"')) {
        conf_errf(e, line, "unbalanced quote in value of '%.31s'", k);
        return IKE_ERR_CONFIG;
    }
    if (!*k || strlen(k) >= sizeof(kv->key)) {
        conf_errf(e, line, "bad key '%.40s'", k);
        return IKE_ERR_CONFIG;
    }
    if (!*v) {
        conf_errf(e, line, "empty value for '%s'", k);
        return IKE_ERR_CONFIG;
    }
    snprintf(kv->key, sizeof(kv->key), "%s", k);
    snprintf(kv->val, sizeof(kv->val), "%s", v);
    kv->line = line;
    return 0;
}

static int kv_line(struct sections *ss, char *l, int line, const struct conf_err *e)
{
    if (!ss->n) {
        conf_errf(e, line, "key outside of a section");
        return IKE_ERR_CONFIG;
    }
    struct section *s = &ss->s[ss->n - 1];
    struct kv kv;
    int rc = split_kv(trim(l), &kv, line, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->kv[i].key, kv.key) && strcmp(kv.key, "also")) {
            conf_errf(e, line, "duplicate key '%s' (first on line %d)", kv.key, s->kv[i].line);
            return IKE_ERR_CONFIG;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct kv *n = realloc(s->kv, cap * sizeof(*n));
        if (!n)
            return IKE_ERR_NOMEM;
        s->kv = n;
        s->cap = cap;
    }
    s->kv[s->n++] = kv;
    return 0;
}

static int split_sections(const char *text, size_t len, struct sections *ss,
                          const struct conf_err *e)
{
    char l[MAX_LINE_LEN + 2];
    int line = 0;
    for (size_t off = 0; off < len;) {
        line++;
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        if (n > MAX_LINE_LEN || memchr(text + off, '\0', n)) {
            conf_errf(e, line, n > MAX_LINE_LEN ? "line too long" : "NUL byte in line");
            return IKE_ERR_CONFIG;
        }
        memcpy(l, text + off, n);
        l[n] = '\0';
        off += n + 1;
        cut_comment(l);
        if (!*trim(l))
            continue;
        int rc =
            (l[0] == ' ' || l[0] == '\t') ? kv_line(ss, l, line, e) : header_line(ss, l, line, e);
        ike_wipe(l, sizeof(l));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* config setup: keys accepted for compatibility; they change nothing. */
static int check_setup(const struct section *s, const struct conf_err *e)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->kv[i].key, "uniqueids") && strcmp(s->kv[i].key, "charondebug")) {
            conf_errf(e, s->kv[i].line, "unknown key '%s' in config setup", s->kv[i].key);
            return IKE_ERR_CONFIG;
        }
    return 0;
}

static int apply_section(struct sections *ss, const struct section *s, struct conf_build *b,
                         int depth, const struct conf_err *e)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->kv[i].key, "also"))
            continue;
        const struct section *t = find_section(ss, s->kv[i].val);
        if (!t || !strcmp(s->kv[i].val, "%default")) {
            conf_errf(e, s->kv[i].line, "also: no conn '%.63s'", s->kv[i].val);
            return IKE_ERR_CONFIG;
        }
        if (depth >= MAX_ALSO_DEPTH) {
            conf_errf(e, s->kv[i].line, "also: loop through conn '%s'", t->name);
            return IKE_ERR_CONFIG;
        }
        int rc = apply_section(ss, t, b, depth + 1, e);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->kv[i].key, "also"))
            continue;
        int rc = conf_apply_key(b, s->kv[i].key, s->kv[i].val, s->kv[i].line, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_conn(struct ike_conf *out, const struct ike_conf_conn *cc)
{
    struct ike_conf_conn *n = realloc(out->conns, (out->n_conns + 1) * sizeof(*n));
    if (!n)
        return IKE_ERR_NOMEM;
    out->conns = n;
    out->conns[out->n_conns++] = *cc;
    return 0;
}

static int build_conn(struct sections *ss, const struct section *s, const struct ike_conf_opts *o,
                      struct ike_conf *out, const struct conf_err *e)
{
    struct ike_conf_conn cc;
    memset(&cc, 0, sizeof(cc));
    ike_conn_cfg_defaults(&cc.cfg);
    cc.cfg.auto_mode = IKE_AUTO_IGNORE; /* ipsec.conf's default */
    cc.cfg.rekey_check = true;          /* rekeycheck=yes unless said otherwise */
    snprintf(cc.cfg.name, sizeof(cc.cfg.name), "%s", s->name);
    cc.line = s->line;
    struct conf_build b = {.cc = &cc, .opts = o};
    const struct section *def = find_section(ss, "%default");
    int rc = def ? apply_section(ss, def, &b, 0, e) : 0;
    if (rc >= 0)
        rc = apply_section(ss, s, &b, 0, e);
    if (rc >= 0)
        rc = conf_finish(&b, e);
    if (rc >= 0 && cc.cfg.auto_mode == IKE_AUTO_IGNORE)
        out->n_ignored++;
    else if (rc >= 0 && ike_conf_find(out, cc.cfg.name)) {
        conf_errf(e, s->line, "conn '%s' defined twice", cc.cfg.name);
        rc = IKE_ERR_CONFIG;
    } else if (rc >= 0)
        rc = add_conn(out, &cc);
    ike_wipe(&cc, sizeof(cc));
    return rc;
}

int ike_conf_parse(const char *text, size_t len, const char *name, const struct ike_conf_opts *o,
                   struct ike_conf *out, char *err, size_t cap)
{
    struct conf_err e = {name, err, cap};
    struct sections ss = {0};
    if (cap)
        err[0] = '\0';
    int rc = split_sections(text, len, &ss, &e);
    for (size_t i = 0; rc >= 0 && i < ss.n; i++) {
        if (ss.s[i].setup)
            rc = check_setup(&ss.s[i], &e);
        else if (strcmp(ss.s[i].name, "%default"))
            rc = build_conn(&ss, &ss.s[i], o, out, &e);
    }
    if (rc == IKE_ERR_NOMEM)
        snprintf(err, cap, "%s: out of memory", name);
    sections_free(&ss);
    return rc;
}

const struct ike_conf_conn *ike_conf_find(const struct ike_conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_conns; i++)
        if (!strcmp(c->conns[i].cfg.name, name))
            return &c->conns[i];
    return NULL;
}

bool ike_conf_conn_equal(const struct ike_conf_conn *a, const struct ike_conf_conn *b)
{
    /* Both are built field by field on memset() storage, so padding is
     * zero and a byte comparison is exact. */
    return !memcmp(&a->cfg, &b->cfg, sizeof(a->cfg)) && a->psk_auth == b->psk_auth &&
           !strcmp(a->local_id, b->local_id) && !strcmp(a->remote_id, b->remote_id);
}

void ike_conf_free(struct ike_conf *c)
{
    if (c->conns) {
        ike_wipe(c->conns, c->n_conns * sizeof(*c->conns));
        free(c->conns);
    }
    memset(c, 0, sizeof(*c));
}

/* Reads a whole file; the caller wipes and frees *out. */
static int read_file(const char *path, char **out, size_t *len, struct stat *st, char *err,
                     size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) < 0 || st->st_size > MAX_FILE_SIZE) {
        snprintf(err, cap, "%s: cannot read: %s", path, fd < 0 ? strerror(errno) : "too large");
        if (fd >= 0)
            close(fd);
        return IKE_ERR_IO;
    }
    size_t n = (size_t)st->st_size, got = 0;
    char *buf = malloc(n + 1);
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) {
        snprintf(err, cap, "%s: out of memory", path);
        return IKE_ERR_NOMEM;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static int load_secrets(const char *path, struct ike_conf *out, char *err, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int rc = read_file(path, &text, &len, &st, err, cap);
    if (rc < 0)
        return rc;
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
        snprintf(err, cap,
                 "%s: refusing a secrets file readable by group or others (mode %04o; chmod 600)",
                 path, (unsigned)(st.st_mode & 07777));
        rc = IKE_ERR_CONFIG;
    } else {
        rc = ike_conf_apply_secrets(text, len, path, out, err, cap);
    }
    ike_wipe(text, len);
    free(text);
    return rc;
}

int ike_conf_load(const char *conf_path, const char *secrets_path, const struct ike_conf_opts *o,
                  struct ike_conf *out, char *err, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    memset(out, 0, sizeof(*out));
    int rc = read_file(conf_path, &text, &len, &st, err, cap);
    if (rc < 0)
        return rc;
    rc = ike_conf_parse(text, len, conf_path, o, out, err, cap);
    free(text);
    bool need_psk = false;
    for (size_t i = 0; rc >= 0 && i < out->n_conns; i++)
        need_psk |= out->conns[i].psk_auth;
    if (rc >= 0 && need_psk)
        rc = load_secrets(secrets_path, out, err, cap);
    if (rc < 0)
        ike_conf_free(out);
    return rc;
}

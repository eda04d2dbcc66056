/*
 * conf_int.h: what the config parser files (conf.c, conf_keys.c,
 * conf_secrets.c) share. Not installed; nothing outside src/daemon and its
 * tests includes it.
 */
#ifndef REKEYD_CONF_INT_H
#define REKEYD_CONF_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "ike/conf.h"

/* Error sink: "name:line: text" into err. */
struct conf_err {
    const char *name;
    char *buf;
    size_t cap;
};

void conf_errf(const struct conf_err *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A conn being assembled from %default, also= sections and its own keys. */
struct conf_build {
    struct ike_conf_conn *cc;
    const struct ike_conf_opts *opts;
    bool have_left, have_right, have_ike, have_esp, have_lid, have_rid;
    uint16_t left_port, right_port; /* leftikeport / rightikeport, 0 = unset */
};

/* Apply one key=value; on error writes the message (with line). */
int conf_apply_key(struct conf_build *b, const char *key, const char *val, int line,
                   const struct conf_err *e);
/* Defaults that depend on other keys; checks completeness. */
int conf_finish(struct conf_build *b, const struct conf_err *e);

/* Address text -> ike_addr (IPv4 or IPv6), and back (canonical text). */
bool conf_parse_addr(const char *s, struct ike_addr *a);
void conf_addr_text(const struct ike_addr *a, char *buf, size_t cap);

#endif

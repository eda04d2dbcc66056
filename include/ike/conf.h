/*
 * ike/conf.h: rekeyd's configuration files (src/daemon/conf*.c).
 *
 * The config file is the ipsec.conf subset of DESIGN.md section 3:
 * `config setup`, `conn NAME` sections (`conn %default` gives defaults to
 * every conn, `also=NAME` includes another section), keys indented under
 * their section as `key=value`, `#` comments, values optionally in double
 * quotes. Each conn becomes one struct ike_conn_cfg (ike/config.h).
 * The secrets file holds ipsec.secrets lines `ID ID : PSK "secret"` (IDs
 * optional, `%any` matches every identity); each conn gets the PSK of the
 * best matching line.
 *
 * Errors are one line naming file:line and the key, e.g.
 *   "rekeyd.conf:7: unknown key 'lefty'"
 * written to err (always NUL-terminated); the functions then return
 * IKE_ERR_CONFIG (or IKE_ERR_IO / IKE_ERR_NOMEM). No error text ever
 * contains a secret.
 *
 * Ownership: struct ike_conf owns its conns; ike_conf_free() wipes every
 * PSK and frees them.
 */
#ifndef IKE_CONF_H
#define IKE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/config.h"

#define IKE_CONF_ERR_MAX 256

/* One loaded conn: the engine config plus what the daemon needs besides. */
struct ike_conf_conn {
    struct ike_conn_cfg cfg;
    char local_id[IKE_ID_MAX + 1];  /* leftid text (or the left address) */
    char remote_id[IKE_ID_MAX + 1]; /* rightid text (or the right address) */
    bool psk_auth;                  /* authby=secret / leftauth=psk */
    bool local_from_route;          /* left unset: the daemon picks it */
    int line;                       /* line of the `conn` header */
};

struct ike_conf {
    struct ike_conf_conn *conns; /* conns with auto != ignore, in file order */
    size_t n_conns;
    size_t n_ignored; /* conns with auto=ignore (parsed, not loaded) */
};

/* Built-in values the daemon's options decide (--port). */
struct ike_conf_opts {
    uint16_t ike_port; /* local port, and the remote one unless rightikeport= */
};

/* Parse config text (name is used in messages). Adds to *out, which must
 * be zeroed or a previous result. */
int ike_conf_parse(const char *text, size_t len, const char *name, const struct ike_conf_opts *o,
                   struct ike_conf *out, char *err, size_t cap);

/* Fill every psk_auth conn's PSK from secrets text; a conn without a
 * matching secret is an error naming the conn. */
int ike_conf_apply_secrets(const char *text, size_t len, const char *name, struct ike_conf *c,
                           char *err, size_t cap);

/* Read both files (the secrets file is refused when group or others can
 * read it, or when it is missing while a conn needs a PSK). */
int ike_conf_load(const char *conf_path, const char *secrets_path, const struct ike_conf_opts *o,
                  struct ike_conf *out, char *err, size_t cap);

/* The conn named name, or NULL. */
const struct ike_conf_conn *ike_conf_find(const struct ike_conf *c, const char *name);

/* Same engine config (used by reload to keep unchanged tunnels). */
bool ike_conf_conn_equal(const struct ike_conf_conn *a, const struct ike_conf_conn *b);

void ike_conf_free(struct ike_conf *c);

/* Helpers shared by the parser files, exposed for the unit tests.
 * Durations: "28800" (seconds), "45s", "3m", "1h", "1d" -> ms. */
int ike_conf_parse_duration(const char *s, uint64_t *ms);
/* One ike= or esp= list: proposals separated by ',', items by '-'. */
int ike_conf_parse_proposals(const char *s, bool esp, struct ike_prop_cfg *props, uint8_t *n);

#endif /* IKE_CONF_H */

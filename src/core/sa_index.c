/*
 * sa_index.c: the engine's secondary indexes, so nothing per exchange or
 * per control verb walks every SA (DESIGN.md section 6: the same cost per
 * exchange at 100,000 SAs as at 1,000).
 *
 *  - connections by name (ike_conn_find), a hash map with a chain for the
 *    rare 64-bit hash collision;
 *  - each connection's IKE SAs, a list with a count of the established;
 *  - IKE SAs by (connection, peer address) from ESTABLISHED until DEAD
 *    (REKEYED and DELETING ones too: the peer may still hold them), for
 *    INITIAL_CONTACT (RFC 7296 2.4).
 *
 * These only mirror state kept elsewhere: they must never decide anything.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* FNV-1a over bytes; the map spreads the result again. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t name_key(const char *name)
{
    return hash_bytes(0xcbf29ce484222325ULL, name, strlen(name));
}

static size_t addr_len(const struct ike_addr *a)
{
    return a->family == IKE_AF_INET ? 4 : 16;
}

static uint64_t peer_key(const struct ike_conn *c, const struct ike_addr *a)
{
    uintptr_t cp = (uintptr_t)c;
    uint64_t h = hash_bytes(0xcbf29ce484222325ULL, &cp, sizeof(cp));
    h = hash_bytes(h, &a->family, sizeof(a->family));
    return hash_bytes(h, a->bytes, addr_len(a));
}

static bool same_peer(const struct ike_sa *sa, const struct ike_conn *c, const struct ike_addr *a)
{
    return sa->conn == c && sa->remote.addr.family == a->family &&
           !memcmp(sa->remote.addr.bytes, a->bytes, addr_len(a));
}

/* ---- connections by name ---- */
struct ike_conn *ike_conn_find(struct ike_engine *e, const char *name)
{
    for (struct ike_conn *c = ike_map_get(&e->conn_by_name, name_key(name)); c; c = c->name_next)
        if (!strcmp(c->cfg.name, name))
            return c;
    return NULL;
}

int ike_index_conn_add(struct ike_engine *e, struct ike_conn *c)
{
    uint64_t k = name_key(c->cfg.name);
    struct ike_conn *head = ike_map_get(&e->conn_by_name, k);
    if (head) { /* a hash collision: chain behind the head */
        c->name_next = head->name_next;
        head->name_next = c;
        return 0;
    }
    c->name_next = NULL;
    return ike_map_put(&e->conn_by_name, k, c);
}

void ike_index_conn_del(struct ike_engine *e, struct ike_conn *c)
{
    uint64_t k = name_key(c->cfg.name);
    struct ike_conn *head = ike_map_get(&e->conn_by_name, k);
    if (head == c) {
        if (c->name_next)
            ike_map_replace(&e->conn_by_name, k, c->name_next);
        else
            ike_map_del(&e->conn_by_name, k);
        return;
    }
    for (struct ike_conn *p = head; p; p = p->name_next)
        if (p->name_next == c) {
            p->name_next = c->name_next;
            return;
        }
}

/* ---- each connection's SAs ---- */
void ike_index_sa_add(struct ike_sa *sa)
{
    struct ike_conn *c = sa->conn;
    sa->conn_prev = NULL;
    sa->conn_next = c->sas;
    if (c->sas)
        c->sas->conn_prev = sa;
    c->sas = sa;
    c->n_sas++;
}

void ike_index_sa_del(struct ike_sa *sa)
{
    struct ike_conn *c = sa->conn;
    if (sa->conn_prev)
        sa->conn_prev->conn_next = sa->conn_next;
    else if (c->sas == sa)
        c->sas = sa->conn_next;
    else
        return; /* not linked */
    if (sa->conn_next)
        sa->conn_next->conn_prev = sa->conn_prev;
    sa->conn_next = sa->conn_prev = NULL;
    c->n_sas--;
}

/* ---- established SAs by (connection, peer) ---- */
static void peer_add(struct ike_engine *e, struct ike_sa *sa)
{
    uint64_t k = peer_key(sa->conn, &sa->remote.addr);
    struct ike_sa *head = ike_map_get(&e->sa_by_peer, k);
    sa->peer_prev = NULL;
    if (head) { /* insert behind the head: the map keeps its value */
        sa->peer_prev = head;
        sa->peer_next = head->peer_next;
        if (head->peer_next)
            head->peer_next->peer_prev = sa;
        head->peer_next = sa;
    } else {
        sa->peer_next = NULL;
        if (ike_map_put(&e->sa_by_peer, k, sa) < 0)
            ike_log(e, IKE_LOG_ERROR, "out of memory indexing an IKE SA by peer");
    }
}

static void peer_del(struct ike_engine *e, struct ike_sa *sa)
{
    uint64_t k = peer_key(sa->conn, &sa->remote.addr);
    if (sa->peer_prev) {
        sa->peer_prev->peer_next = sa->peer_next;
        if (sa->peer_next)
            sa->peer_next->peer_prev = sa->peer_prev;
    } else if (ike_map_get(&e->sa_by_peer, k) == sa) {
        if (sa->peer_next) {
            sa->peer_next->peer_prev = NULL;
            ike_map_replace(&e->sa_by_peer, k, sa->peer_next);
        } else {
            ike_map_del(&e->sa_by_peer, k);
        }
    }
    sa->peer_next = sa->peer_prev = NULL;
}

/* In the peer index from ESTABLISHED until DEAD: REKEYED and DELETING are
 * reached only through ESTABLISHED (ike_sa.c). */
static bool peer_indexed(enum ike_sa_state s)
{
    return s == IKE_SA_ESTABLISHED || s == IKE_SA_REKEYED || s == IKE_SA_DELETING;
}

void ike_index_state(struct ike_engine *e, struct ike_sa *sa, enum ike_sa_state from,
                     enum ike_sa_state to)
{
    if (from == to)
        return;
    if (to == IKE_SA_ESTABLISHED)
        sa->conn->n_established++;
    else if (from == IKE_SA_ESTABLISHED)
        sa->conn->n_established--;
    if (peer_indexed(to) && !peer_indexed(from))
        peer_add(e, sa);
    else if (peer_indexed(from) && !peer_indexed(to))
        peer_del(e, sa);
}

struct ike_sa *ike_index_peer_first(struct ike_engine *e, const struct ike_conn *c,
                                    const struct ike_addr *a)
{
    struct ike_sa *sa = ike_map_get(&e->sa_by_peer, peer_key(c, a));
    while (sa && !same_peer(sa, c, a))
        sa = sa->peer_next;
    return sa;
}

struct ike_sa *ike_index_peer_next(const struct ike_sa *sa)
{
    const struct ike_conn *c = sa->conn;
    const struct ike_addr *a = &sa->remote.addr;
    struct ike_sa *n = sa->peer_next;
    while (n && !same_peer(n, c, a))
        n = n->peer_next;
    return n;
}

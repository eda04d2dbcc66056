/*
 * map.c: a small open-addressing hash map from u64 keys to pointers.
 *
 * SAs are found by SPI through these maps, never by walking a list, so an
 * engine with 100,000 SAs costs per message what one with 1,000 does
 * (DESIGN.md section 6). Linear probing; deletes leave tombstones that a
 * rehash clears. Values must not be NULL.
 */
#include <stdlib.h>

#include "core.h"
#include "ike/err.h"

static char tomb_marker;
#define TOMB ((void *)&tomb_marker)

static uint32_t hash64(uint64_t k)
{
    /* splitmix64 finalizer: spreads sequential and random SPIs alike. */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return (uint32_t)k;
}

int ike_map_init(struct ike_map *m, uint32_t cap_hint)
{
    uint32_t cap = 16;
    while (cap < cap_hint * 2 && cap < (1u << 30))
        cap <<= 1;
    m->keys = calloc(cap, sizeof(*m->keys));
    m->vals = calloc(cap, sizeof(*m->vals));
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        return IKE_ERR_NOMEM;
    }
    m->cap = cap;
    m->n = 0;
    m->tombs = 0;
    return 0;
}

void ike_map_clear(struct ike_map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = m->tombs = 0;
}

static uint32_t slot_of(const struct ike_map *m, uint64_t key, bool *found)
{
    uint32_t mask = m->cap - 1, i = hash64(key) & mask, first_tomb = UINT32_MAX;
    for (;;) {
        void *v = m->vals[i];
        if (!v) {
            *found = false;
            return first_tomb != UINT32_MAX ? first_tomb : i;
        }
        if (v == TOMB) {
            if (first_tomb == UINT32_MAX)
                first_tomb = i;
        } else if (m->keys[i] == key) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

void *ike_map_get(const struct ike_map *m, uint64_t key)
{
    bool found;
    if (!m->cap)
        return NULL;
    uint32_t i = slot_of(m, key, &found);
    return found ? m->vals[i] : NULL;
}

static int rehash(struct ike_map *m, uint32_t cap)
{
    struct ike_map n = {.cap = cap};
    n.keys = calloc(cap, sizeof(*n.keys));
    n.vals = calloc(cap, sizeof(*n.vals));
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return IKE_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->vals[i] && m->vals[i] != TOMB) {
            bool found;
            uint32_t j = slot_of(&n, m->keys[i], &found);
            n.keys[j] = m->keys[i];
            n.vals[j] = m->vals[i];
            n.n++;
        }
    }
    ike_map_clear(m);
    *m = n;
    return 0;
}

int ike_map_put(struct ike_map *m, uint64_t key, void *val)
{
    if (!val)
        return IKE_ERR_INVALID_ARG;
    if (!m->cap && ike_map_init(m, 8) < 0)
        return IKE_ERR_NOMEM;
    /* Keep the load (live + tombstones) under 3/4. */
    if ((m->n + m->tombs + 1) * 4 > m->cap * 3) {
        uint32_t cap = (m->n + 1) * 4 > m->cap * 2 ? m->cap * 2 : m->cap;
        int rc = rehash(m, cap);
        if (rc < 0)
            return rc;
    }
    bool found;
    uint32_t i = slot_of(m, key, &found);
    if (found)
        return IKE_ERR_BAD_SPI; /* key already present */
    if (m->vals[i] == TOMB)
        m->tombs--;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

void ike_map_replace(struct ike_map *m, uint64_t key, void *val)
{
    bool found;
    if (!m->cap || !val)
        return;
    uint32_t i = slot_of(m, key, &found);
    if (found)
        m->vals[i] = val;
}

void ike_map_del(struct ike_map *m, uint64_t key)
{
    bool found;
    if (!m->cap)
        return;
    uint32_t i = slot_of(m, key, &found);
    if (!found)
        return;
    m->vals[i] = TOMB;
    m->n--;
    m->tombs++;
}

void *ike_map_at(const struct ike_map *m, uint32_t i)
{
    void *v = i < m->cap ? m->vals[i] : NULL;
    return v == TOMB ? NULL : v;
}

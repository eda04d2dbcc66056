/*
 * kmem_table.c: the data structures of the in-memory kernel model: an
 * open-addressing hash table (linear probing, backward-shift deletion, no
 * tombstones, load <= 1/2) keyed by the canonical key bytes at the start of
 * each slot, and a binary min-heap of timed expiries with lazy deletion
 * (an entry whose SA was deleted or changed is skipped and compacted away).
 * No I/O, no clock; never reads key material, only identity keys.
 */
#include <stdlib.h>
#include <string.h>

#include "ike/err.h"
#include "kmem_int.h"

uint32_t ike_kmem_hash(const uint8_t *key, size_t len)
{
    /* FNV-1a 64 with a final avalanche (murmur3 fmix64): the keys are
     * short and attacker-chosen only by our own peers' SPIs. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static const uint8_t *slot_key(const void *base, size_t stride, uint32_t slot)
{
    return (const uint8_t *)base + (size_t)slot * stride;
}

int ike_kmem_tab_find(const struct kmem_tab *t, const void *base, size_t stride, const uint8_t *key,
                      size_t klen)
{
    uint32_t h;
    size_t pos;

    if (t->cap == 0)
        return -1;
    h = ike_kmem_hash(key, klen);
    for (pos = h & (t->cap - 1);; pos = (pos + 1) & (t->cap - 1)) {
        uint32_t ix = t->ix[pos];
        if (ix == 0)
            return -1;
        if (t->hash[pos] == h && memcmp(slot_key(base, stride, ix - 1), key, klen) == 0)
            return (int)(ix - 1);
    }
}

static void put_raw(struct kmem_tab *t, uint32_t ix, uint32_t h)
{
    size_t pos = h & (t->cap - 1);
    while (t->ix[pos])
        pos = (pos + 1) & (t->cap - 1);
    t->ix[pos] = ix;
    t->hash[pos] = h;
}

int ike_kmem_tab_reserve(struct kmem_tab *t, size_t need)
{
    size_t cap = t->cap ? t->cap : 64;
    uint32_t *ix, *hs, *oix = t->ix, *ohs = t->hash;
    size_t ocap = t->cap;

    while (need * 2 > cap)
        cap *= 2;
    if (cap == t->cap)
        return 0;
    ix = calloc(cap, sizeof(*ix));
    hs = calloc(cap, sizeof(*hs));
    if (!ix || !hs) {
        free(ix);
        free(hs);
        return IKE_ERR_NOMEM;
    }
    t->ix = ix;
    t->hash = hs;
    t->cap = cap;
    for (size_t i = 0; i < ocap; i++)
        if (oix[i])
            put_raw(t, oix[i], ohs[i]);
    free(oix);
    free(ohs);
    return 0;
}

void ike_kmem_tab_add(struct kmem_tab *t, const void *base, size_t stride, size_t klen,
                      uint32_t slot)
{
    put_raw(t, slot + 1, ike_kmem_hash(slot_key(base, stride, slot), klen));
    t->n++;
}

void ike_kmem_tab_del(struct kmem_tab *t, const void *base, size_t stride, size_t klen,
                      uint32_t slot)
{
    size_t mask = t->cap - 1, i, j;
    uint32_t h = ike_kmem_hash(slot_key(base, stride, slot), klen);

    for (i = h & mask; t->ix[i] != slot + 1; i = (i + 1) & mask)
        if (t->ix[i] == 0)
            return; /* not present: nothing to do */
    /* Backward shift: pull later members of the probe run into the hole
     * unless their home position lies cyclically in (hole, j]. */
    for (j = (i + 1) & mask; t->ix[j]; j = (j + 1) & mask) {
        size_t home = t->hash[j] & mask;
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->ix[i] = t->ix[j];
        t->hash[i] = t->hash[j];
        i = j;
    }
    t->ix[i] = 0;
    t->hash[i] = 0;
    t->n--;
}

/* ---- expiry heap ---- */

static bool exp_before(const struct kmem_exp *a, const struct kmem_exp *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    if (a->kind != b->kind)
        return a->kind < b->kind; /* soft before hard at the same second */
    return a->slot < b->slot;
}

static void sift_up(struct kmem_exp *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct kmem_exp tmp;
        if (!exp_before(&h[i], &h[p]))
            break;
        tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

static void sift_down(struct kmem_exp *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        struct kmem_exp tmp;
        if (l < n && exp_before(&h[l], &h[best]))
            best = l;
        if (r < n && exp_before(&h[r], &h[best]))
            best = r;
        if (best == i)
            return;
        tmp = h[i];
        h[i] = h[best];
        h[best] = tmp;
        i = best;
    }
}

bool ike_kmem_exp_live(const struct ike_kmem *m, const struct kmem_exp *e)
{
    const struct kmem_sa *s = &m->sas[e->slot];
    if (!s->used || s->gen != e->gen)
        return false;
    return e->kind == KMEM_EXP_HARD || (!s->soft_done && !s->larval);
}

/* Drop stale entries and rebuild the heap (amortised O(1) per push). */
static void compact(struct ike_kmem *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->heap_n; i++)
        if (ike_kmem_exp_live(m, &m->heap[i]))
            m->heap[n++] = m->heap[i];
    m->heap_n = n;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(m->heap, n, i);
}

int ike_kmem_heap_push(struct ike_kmem *m, uint64_t due, uint32_t slot, uint8_t kind)
{
    struct kmem_exp e = {due, slot, m->sas[slot].gen, kind};

    /* Each SA has at most 2 live entries, so past 4 per SA at least half
     * are stale: compacting then costs O(1) amortised per push. */
    if (m->heap_n > 4 * m->n_sa + 1024)
        compact(m);
    if (m->heap_n == m->heap_cap) {
        size_t cap = m->heap_cap ? m->heap_cap * 2 : 256;
        struct kmem_exp *h = realloc(m->heap, cap * sizeof(*h));
        if (!h)
            return IKE_ERR_NOMEM;
        m->heap = h;
        m->heap_cap = cap;
    }
    m->heap[m->heap_n] = e;
    sift_up(m->heap, m->heap_n++);
    return 0;
}

void ike_kmem_heap_pop(struct ike_kmem *m)
{
    if (m->heap_n == 0)
        return;
    m->heap[0] = m->heap[--m->heap_n];
    sift_down(m->heap, m->heap_n, 0);
}

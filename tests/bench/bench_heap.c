/*
 * bench_heap.c: heap accounting for the engine benchmark by linker
 * wrapping (-Wl,--wrap=malloc,...): every malloc/calloc/realloc/free made
 * by code linked into bench_engine (the engine, the kernel model, the
 * benchmark) adds or subtracts malloc_usable_size() to the counter of the
 * current context, so the responder's engine and its kernel model are told
 * apart at the cost of two adds per allocation (mallinfo2() walks the free
 * lists and would evict the caches the timed calls use). Allocations made
 * inside libcrypto are not seen: the engine keeps no OpenSSL object per SA.
 */
#include <malloc.h>
#include <stddef.h>

#include "bench.h"

int64_t bench_heap[BH_N];
int bench_heap_ctx;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    if (p)
        bench_heap[bench_heap_ctx] += (int64_t)malloc_usable_size(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    void *p = __real_calloc(n, m);
    if (p)
        bench_heap[bench_heap_ctx] += (int64_t)malloc_usable_size(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    int64_t old = p ? (int64_t)malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);
    if (q || !n)
        bench_heap[bench_heap_ctx] -= old;
    if (q)
        bench_heap[bench_heap_ctx] += (int64_t)malloc_usable_size(q);
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        bench_heap[bench_heap_ctx] -= (int64_t)malloc_usable_size(p);
    __real_free(p);
}

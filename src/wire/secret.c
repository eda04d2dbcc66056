/*
 * secret.c: the two secret containers of include/ike/crypto.h (struct
 * ike_key inline, struct ike_secret on the heap), a wipe that the compiler
 * cannot drop, and a constant-time comparison.
 *
 * Pure (src/wire): must not include OpenSSL, so the wipe uses
 * explicit_bzero (glibc >= 2.25) rather than OPENSSL_cleanse. Nothing here
 * ever prints or logs the bytes it holds.
 */
#include <stdlib.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"

void ike_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

int ike_ct_memcmp(const void *a, const void *b, size_t n)
{
    /* Accumulate differences without data-dependent branches, so the time
     * taken does not reveal where two ICVs first differ. */
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc != 0;
}

int ike_key_set(struct ike_key *k, const uint8_t *p, size_t n)
{
    if (k == NULL || n > IKE_KEY_MAX || (p == NULL && n > 0))
        return IKE_ERR_INVALID_ARG;
    ike_key_clear(k);
    if (n > 0)
        memcpy(k->b, p, n);
    k->len = (uint8_t)n;
    return IKE_OK;
}

void ike_key_clear(struct ike_key *k)
{
    if (k == NULL)
        return;
    ike_wipe(k->b, sizeof(k->b));
    k->len = 0;
}

int ike_secret_alloc(struct ike_secret *s, size_t len)
{
    if (s == NULL)
        return IKE_ERR_INVALID_ARG;
    s->p = NULL;
    s->len = 0;
    if (len == 0)
        return IKE_OK;
    s->p = calloc(1, len);
    if (s->p == NULL)
        return IKE_ERR_NOMEM;
    s->len = len;
    return IKE_OK;
}

void ike_secret_free(struct ike_secret *s)
{
    if (s == NULL)
        return;
    ike_wipe(s->p, s->len);
    free(s->p);
    s->p = NULL;
    s->len = 0;
}

/*
 * rekey.c: rekeying Child SAs and the IKE SA (RFC 7296 1.3.2, 1.3.3, 2.8).
 * (Being written: see the rekey issue.)
 */
#include "core.h"
#include "ike/err.h"

int ike_engine_rekey(struct ike_engine *e, const char *name, bool ike, uint64_t now_ms)
{
    (void)ike;
    (void)now_ms;
    return ike_conn_find(e, name) ? IKE_ERR_NO_SA : IKE_ERR_NO_CONFIG;
}

/*
 * trap.c: auto=route. The conn's trap policy (child_sa.c) makes the kernel
 * send ACQUIRE when outbound traffic matches a selector no SA serves yet;
 * here that event becomes an initiation, once: the kernel repeats ACQUIRE
 * for every new flow (and after its acquire timeout, 30 s by default), so
 * an ACQUIRE while the conn's tunnel is on its way or up changes nothing.
 * Control path only: it walks the conns and the conn's SAs, never per
 * datagram.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

static struct ike_conn *routed_conn(struct ike_engine *e, uint32_t reqid)
{
    for (struct ike_conn *c = e->conns; c; c = c->next)
        if (c->trap && c->reqid == reqid)
            return c;
    return NULL;
}

/* Is a tunnel of this conn being made or up? Our own setups, an IKE SA
 * with a live child, or one with a Child SA exchange queued or running.
 * Not the peer's half-open SA: an ACQUIRE ignored for it waited for the
 * kernel's next one (its acquire timeout, 30 s) when the peer had given
 * up after losing our IKE_SA_INIT response. */
static bool tunnel_on_its_way(const struct ike_conn *c)
{
    if (c->trap->users)
        return true; /* a child holds the policy: the ACQUIRE raced it */
    for (const struct ike_sa *sa = c->sas; sa; sa = sa->conn_next) {
        if (sa->state == IKE_SA_DELETING || sa->state == IKE_SA_DEAD || ike_sa_peers_half_open(sa))
            continue; /* the peer's half-open SA may be abandoned (core.h) */
        if (sa->state != IKE_SA_ESTABLISHED)
            return true; /* IKE_SA_INIT / IKE_AUTH under way */
        if (sa->children || ike_task_has(sa, TASK_CHILD_CREATE))
            return true;
    }
    return false;
}

int ike_trap_acquire(struct ike_engine *e, const struct ike_kernel_event *ev)
{
    struct ike_conn *c = routed_conn(e, ev->reqid);
    if (!c) {
        ike_log(e, IKE_LOG_DEBUG, "kernel ACQUIRE for reqid %u: no routed conn", ev->reqid);
        return IKE_ERR_NOT_FOUND;
    }
    if (tunnel_on_its_way(c)) {
        ike_log(e, IKE_LOG_DEBUG, "%s: kernel ACQUIRE ignored: the tunnel is up or on its way",
                c->cfg.name);
        return 0;
    }
    ike_log(e, IKE_LOG_INFO, "%s: kernel ACQUIRE (traffic hit the trap policy): initiating",
            c->cfg.name);
    return ike_engine_initiate(e, c->cfg.name, e->now_ms);
}

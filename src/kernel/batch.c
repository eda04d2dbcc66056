/*
 * batch.c: ike_kernel_apply_batch(), all-or-nothing application of a list
 * of kernel ops through any backend (include/ike/kernel.h).
 *
 * On a failure the ADDs already applied are undone in reverse order, so a
 * Child SA whose outbound policy is refused does not leave its SAs in the
 * kernel. Pure: it only calls the backend; it never logs key bytes.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/kernel.h"

/* The op that undoes op, or false when op cannot be undone. */
static bool undo_of(const struct ike_kernel_op *op, struct ike_kernel_op *undo)
{
    memset(undo, 0, sizeof(*undo));
    if (op->type == IKE_KOP_ADD_SA) {
        undo->type = IKE_KOP_DEL_SA;
        undo->u.sa_id = op->u.sa.id;
        return true;
    }
    if (op->type == IKE_KOP_ADD_POLICY) {
        const struct ike_kernel_policy *p = &op->u.policy;
        undo->type = IKE_KOP_DEL_POLICY;
        undo->u.policy_id.sel = p->sel;
        undo->u.policy_id.dir = p->dir;
        undo->u.policy_id.mark = p->mark;
        undo->u.policy_id.mark_mask = p->mark_mask;
        undo->u.policy_id.if_id = p->if_id;
        return true;
    }
    return false;
}

int ike_kernel_apply_batch(const struct ike_kernel_backend *be, const struct ike_kernel_op *ops,
                           size_t n, size_t *failed_at, unsigned *undo_errors)
{
    size_t i;
    int rc = 0;
    unsigned bad = 0;

    if (!be || !be->apply || (n && !ops))
        return IKE_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        rc = be->apply(be->ctx, &ops[i]);
        if (rc < 0)
            break;
    }
    if (failed_at)
        *failed_at = i;
    if (rc < 0) {
        while (i-- > 0) {
            struct ike_kernel_op undo;
            if (undo_of(&ops[i], &undo) && be->apply(be->ctx, &undo) < 0)
                bad++;
        }
    }
    if (undo_errors)
        *undo_errors = bad;
    return rc < 0 ? rc : 0;
}

/*
 * kernel_int.h: helpers shared by the files of src/kernel (not a public API).
 * Text forms of addresses and selectors for op descriptions, the memory
 * model's dump and the backends' error messages. Never formats key bytes.
 */
#ifndef IKE_KERNEL_INT_H
#define IKE_KERNEL_INT_H

#include <stddef.h>

#include "ike/kernel.h"

#define IKE_KERNEL_ADDR_STRLEN 48 /* INET6_ADDRSTRLEN plus room */

/* "10.0.0.1", "2001:db8::1", or "-" when unset. Returns buf. */
const char *ike_kernel_fmt_addr(const struct ike_addr *a, char *buf, size_t cap);

/* "10.1.0.0/16->10.2.0.0/16 proto 6 sport 0 dport 443" (ports and proto
 * only when set). Returns buf. */
const char *ike_kernel_fmt_sel(const struct ike_selector *s, char *buf, size_t cap);

/* "in", "out", "fwd" or "dir?" */
const char *ike_kernel_dir_name(uint8_t dir);

/* "transport" / "tunnel" / "mode?" */
const char *ike_kernel_mode_name(uint8_t mode);

/* Bytes of an address of this family (4, 16), 0 for unset or unknown. */
size_t ike_kernel_addr_len(uint8_t family);

#endif /* IKE_KERNEL_INT_H */

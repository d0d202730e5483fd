/* What the status pages show about renewals, in shared memory: one slot per
 * managed domain plus global counters, written by the watchdog child and
 * read by any child answering a status request, without locks.
 *
 * Life cycle: the parent makes an anonymous segment (apr_shm_create with no
 * file name) in post_config of every real configuration pass; children
 * inherit the mapping whatever the MPM. Slot i belongs to the i-th domain of
 * g->mds. At a graceful restart the new generation gets a new segment; the
 * global counters and each domain's last success carry over by name, and
 * everything else is seeded again from the store (mod_acme_status_facts.c).
 * A child of the old generation still finishing a renewal writes to the old
 * segment, which no new reader sees.
 *
 * Slots are seqlocks with one writer each: the parent before children
 * exist, then the worker that has the domain in flight (mod_acme_status_slot.h).
 *
 * Nothing secret goes in here. */
#ifndef MOD_ACME_STATUS_SHM_H
#define MOD_ACME_STATUS_SHM_H

#include <apr_pools.h>
#include <apr_time.h>

#include <httpd.h>

#include "mod_acme_config.h"
#include "mod_acme_status_slot.h"

/* post_config (parent, real pass): makes the segment for g->mds (after
 * carrying over the previous generation's counters) and registers its
 * removal on pconf. A failure is logged and leaves the status without
 * renewal state (slots read as APR_ENOENT), never fails the start. */
apr_status_t acme_status_shm_create(apr_pool_t *pconf, const acme_config_global_t *g,
                                    server_rec *s);

/* Index of a domain's slot, -1 when there is none (no segment, unknown). */
int acme_status_slot_index(const char *md_name);

#endif /* MOD_ACME_STATUS_SHM_H */

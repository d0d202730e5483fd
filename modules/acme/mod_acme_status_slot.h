/* The layout and access of the status slots and counters (see
 * mod_acme_status_shm.h for where the memory comes from and who writes):
 * seqlocked slots, atomic counters, failure classes. No httpd header, so
 * unit tests (test/unit/check_status) run it on plain memory.
 *
 * Concurrency: each slot is a seqlock. A writer bumps the slot's generation
 * to odd, writes, bumps it to even; a reader copies the slot and retries
 * when the generation was odd or changed, a bounded number of times, so a
 * reader never waits for a writer (a writer killed mid-write leaves the slot
 * unreadable, not hanging). One writer per slot at a time. Counters are
 * atomic additions. Texts are truncated and reduced to printable ASCII when
 * written, so renderers show them as they are (after their own escaping). */
#ifndef MOD_ACME_STATUS_SLOT_H
#define MOD_ACME_STATUS_SLOT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acme_result.h"

typedef enum {
    ACME_STATUS_NO_CERT = 0,    /* nothing usable served yet (fallback) */
    ACME_STATUS_OK,             /* a certificate is served, nothing due */
    ACME_STATUS_RENEWING,       /* a renewal is under way */
    ACME_STATUS_STAGED,         /* a new certificate waits for a graceful restart */
    ACME_STATUS_ERRORED,        /* the last attempt failed (see problem/detail) */
    ACME_STATUS_EXPIRING,       /* inside MDWarnWindow, no renewal succeeded yet */
    ACME_STATUS_STATE_COUNT
} acme_status_state_e;

/* Failure classes counted by acme_renewal_failures_total{problem=...}. */
typedef enum {
    ACME_STATUS_PROB_RATE_LIMITED = 0,
    ACME_STATUS_PROB_BAD_NONCE,
    ACME_STATUS_PROB_CONNECTION,
    ACME_STATUS_PROB_UNAUTHORIZED,
    ACME_STATUS_PROB_REJECTED_IDENTIFIER,
    ACME_STATUS_PROB_DNS,
    ACME_STATUS_PROB_CAA,
    ACME_STATUS_PROB_EAB,
    ACME_STATUS_PROB_OTHER,
    ACME_STATUS_PROB_COUNT
} acme_status_problem_e;

/* Upper bounds (seconds) of the renewal duration histogram; +Inf is implied. */
#define ACME_STATUS_DURATION_BUCKETS { 1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400 }
#define ACME_STATUS_DURATION_BUCKET_COUNT 10

/* Key specs of a staged set kept in a slot (more are left out). */
#define ACME_STATUS_SPECS_MAX 4

typedef struct {
    char spec[24];              /* "rsa2048", "P-256"; "" ends the list */
    apr_time_t from;            /* notBefore */
    apr_time_t until;           /* notAfter */
    char serial[72];            /* uppercase hex */
    char sha256[65];            /* lowercase hex of the DER */
    char issuer_name[160];      /* mod_md's issuer-name ("/CN=..."); "" if none or longer */
    char ari_cert_id[120];      /* the ARI certificate id; "" if none or longer */
} acme_status_cert_facts_t;

/* One domain's slot: a plain value (copied out by acme_status_slot_read). */
typedef struct {
    char md_name[256];          /* whose slot it is ("" when unused) */
    int state;                  /* acme_status_state_e */
    char step[24];              /* the job's step ("authz", "done"), "" without a job */
    int errors;                 /* consecutive failed attempts */
    apr_time_t next_at;         /* next check or retry; 0 unknown */
    apr_time_t renew_at;        /* when renewal is (was) due; 0 unknown */
    apr_time_t last_success;    /* when a certificate was last staged; 0 never seen */
    apr_time_t updated;         /* this slot's last write */
    apr_time_t cycle_started;   /* start of the renewal under way, 0 if none */
    char problem[96];           /* last problem type (URN), truncated; "" if none */
    char detail[256];           /* last problem's detail, truncated; "" if none */
    char activity[128];         /* what was last done or failed */
    int ca_index;               /* index into the domain's CA URLs */
    apr_uint64_t order_hash;    /* of the job's order URL, 0 if none */
    apr_time_t job_started;     /* creation time of the job last seen, 0 if none */
    int job_orders;             /* orders that job had made by then (see
                                 * mod_acme_status_drive.c) */
    apr_time_t staged_until;    /* earliest notAfter of the staged set; 0 if none */
    acme_status_cert_facts_t staged[ACME_STATUS_SPECS_MAX];
    /* ARI and profiles (mod_acme_ari.h) */
    apr_time_t ari_start;       /* the CA's renewal window; 0 when none known */
    apr_time_t ari_end;
    apr_time_t ari_next;        /* next renewalInfo check; 0 when none planned */
    char ari_explanation[256];  /* the window's explanationURL, "" if none */
    char ari_error[160];        /* the last check's failure, "" if none */
    int profile_offered;        /* MDProfile: 0 unknown, 1 offered by the CA, 2 not */
    /* mod_md's job fields */
    apr_time_t last_run;        /* start of the last run that renewed (or tried); 0 none seen */
    int notified;               /* the staged set's MDNotifyCmd ran (mod_md's notified) */
} acme_status_slot_t;

typedef struct {
    apr_uint64_t orders;                        /* orders started */
    apr_uint64_t renewals_ok;                   /* certificate sets staged */
    apr_uint64_t failures[ACME_STATUS_PROB_COUNT];
    apr_uint64_t duration_ms_sum;               /* renewal durations (start to staged) */
    apr_uint64_t duration_count;
    apr_uint64_t duration_buckets[ACME_STATUS_DURATION_BUCKET_COUNT];  /* not cumulative */
} acme_status_counters_t;

/* The cluster's shared store (MDSharedStore) as this server sees it: one
 * seqlocked record, written by the parent at start and then by the link
 * thread of the renewal watchdog child (mod_acme_shared_link.c). */
typedef enum {
    ACME_STATUS_SHARED_NONE = 0,    /* no MDSharedStore */
    ACME_STATUS_SHARED_OFF,         /* configured, off for this run (error says why) */
    ACME_STATUS_SHARED_CONNECTING,  /* not tried yet */
    ACME_STATUS_SHARED_UP,          /* answers */
    ACME_STATUS_SHARED_DOWN,        /* does not answer (error says why); retried */
    ACME_STATUS_SHARED_STATE_COUNT
} acme_status_shared_state_e;

typedef struct {
    int state;                  /* acme_status_shared_state_e */
    char url[192];              /* printable, password masked */
    char error[256];            /* why OFF or DOWN, "" otherwise */
    apr_time_t since;           /* when the state began */
    apr_time_t last_ok;         /* last exchange that worked, 0 none */
    apr_time_t next_try;        /* DOWN: next connection attempt */
} acme_status_shared_t;

/* Bytes needed for `count` slots and the counters. */
apr_size_t acme_status_slots_size(int count);

/* Uses `mem` (acme_status_slots_size(count) bytes, zeroed by the caller,
 * shared with the readers) from now on; NULL detaches (every read is then
 * APR_ENOENT, every write and count ignored). */
void acme_status_slots_attach(void *mem, int count);

/* Copies or writes the shared store's record (one writer at a time, as a
 * slot). A read without a segment, or busy through every retry, gives a
 * zeroed record (state NONE) and APR_ENOENT or APR_EAGAIN. */
apr_status_t acme_status_shared_read(acme_status_shared_t *out);
void acme_status_shared_write(const acme_status_shared_t *in);
const char *acme_status_shared_state_name(int state);               /* "up" */

/* Copies slot `index` into *out. APR_ENOENT: no segment or bad index;
 * APR_EAGAIN: a writer kept it busy through every retry (*out is then
 * zeroed apart from md_name). */
apr_status_t acme_status_slot_read(acme_status_slot_t *out, int index);

/* Writes *in as slot `index` (one writer per slot, see above), stamping
 * `updated`. Ignored without a segment. */
void acme_status_slot_write(int index, const acme_status_slot_t *in);

/* Counters: zeros without a segment. */
void acme_status_counters_read(acme_status_counters_t *out);
void acme_status_count_orders(int n);
void acme_status_count_failure(const acme_result_t *r);
void acme_status_count_renewal(apr_interval_time_t duration);

/* The class of a failure: by the CA's problem type, else "connection" for
 * transport errors; NULL r counts as other. */
acme_status_problem_e acme_status_problem_classify(const acme_result_t *r);

const char *acme_status_problem_name(acme_status_problem_e prob);   /* "rateLimited" */
const char *acme_status_state_name(acme_status_state_e state);      /* "renewing" */

/* Copies src (NULL: "") into dst of `size` bytes: control characters
 * become spaces, other bytes outside printable ASCII '?', cut to fit. */
void acme_status_text_copy(char *dst, apr_size_t size, const char *src);

/* A 64-bit hash (FNV-1a) of a text, e.g. an order URL; 0 for NULL. */
apr_uint64_t acme_status_text_hash(const char *s);

/* The module's version (PACKAGE_VERSION), for the JSON status. */
const char *acme_status_version(void);

/* Sets the counters (a restart carries them over). */
void acme_status_counters_restore(const acme_status_counters_t *in);

#endif /* MOD_ACME_STATUS_SLOT_H */

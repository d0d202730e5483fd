/* The cluster's records in the shared Redis (MDSharedStore, docs/cluster.md):
 * what one server's renewal leaves there for the others. Each record is one
 * Redis string (so it is read and written whole, never half), a JSON object
 * of text:
 *
 *   <ns>:set:<md>       {"v":1, "id", "token", "files": {aspect: text}}
 *                       a domain's newest certificate set: md.json, per key
 *                       spec pubcert[.<curve>].pem and privkey[.<curve>].pem,
 *                       the keys sealed (acme_seal.h), never plain
 *   <ns>:account:<ca>   {"v":1, "token", "id", "json": account.json, "key": sealed}
 *                       the cluster's account at a CA (<ca>: acme_cluster_ca_name())
 *   <ns>:job:<md>       {"v":1, "token", "job": job.json}
 *                       a renewal's progress, for the next lease holder
 *
 * Writes go through the domain's lease (acme_lease_fenced_set()): a server
 * that lost its lease writes nothing. "token" is the writer's fencing token.
 *
 * Reads trust nothing: whoever can write to Redis (httpd's User, on any
 * server) may have put anything there. A record is bounded, must be a
 * record of this form, and a set's aspects must be mod_md's file names
 * (acme_layout.h) with PEM certificates and sealed keys; what it holds is
 * checked again by the reader (the set fully, as a staged one, before it
 * goes live; a sealed key only opens under the cluster's key and its name).
 *
 * Errors: APR_ENOENT (no record), APR_EINVAL (a record that is not one),
 * the lease's and the connection's codes (acme_lease.h, acme_redis.h); then
 * *perr (perr is required here) is a one-line reason in the pool passed. */
#ifndef ACME_CLUSTER_H
#define ACME_CLUSTER_H

#include <apr_hash.h>
#include <apr_pools.h>

#include "acme_lease.h"
#include "acme_redis.h"

/* Files in one set: md.json and a chain and a key per key spec. */
#define ACME_CLUSTER_SET_FILES_MAX 9

/* A domain's certificate set as the cluster holds it. */
typedef struct {
    const char *id;         /* hex SHA-256 over its chains (pubcert files, by
                             * name): the same set has the same id on every
                             * server, whatever its keys were sealed with */
    apr_int64_t token;      /* the writer's fencing token */
    apr_hash_t *files;      /* aspect -> acme_cluster_text_t * */
} acme_cluster_set_t;

typedef struct {
    const char *data;       /* NUL-terminated */
    apr_size_t len;
} acme_cluster_text_t;

typedef struct {
    apr_int64_t token;
    const char *id;         /* the writer's ACCOUNTS name ("ACME-ca.example-0001"):
                             * servers import it under the same name */
    const char *json;       /* account.json as the writer had it */
    const char *sealed_key; /* account.pem, sealed */
} acme_cluster_account_t;

/* The record's key: "<ns>:<kind>:<name>" ("set", "account", "job"), or NULL
 * when name cannot be one (acme_lease.h's rules for names). */
const char *acme_cluster_key(apr_pool_t *p, const char *ns, const char *kind, const char *name);

/* The name of a CA's account record: hex of SHA-256 over the directory URL
 * and the EAB key id (an account is per CA and per EAB binding). */
const char *acme_cluster_ca_name(apr_pool_t *p, const char *ca_url, const char *eab_kid);

/* ---- sets */
/* The id of the chains (pubcert files) among `files` (aspect ->
 * acme_cluster_text_t *): what acme_cluster_set_t.id is, also for a set a
 * server has in its own store. NULL when OpenSSL fails. */
const char *acme_cluster_set_id(apr_pool_t *p, apr_hash_t *files);

/* A set of `files` (aspect -> acme_cluster_text_t *), its id computed. */
apr_status_t acme_cluster_set_make(acme_cluster_set_t **pset, apr_pool_t *p, apr_hash_t *files,
                                   const char **perr);
/* The record's text, and back (decode checks everything said above). */
const char *acme_cluster_set_encode(apr_pool_t *p, const acme_cluster_set_t *set,
                                    apr_int64_t token);
apr_status_t acme_cluster_set_decode(acme_cluster_set_t **pset, apr_pool_t *p, const char *text,
                                     apr_size_t len, const char **perr);
/* Writes md's set under the lease (named md). */
apr_status_t acme_cluster_set_put(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const acme_cluster_set_t *set,
                                  const char **perr);
apr_status_t acme_cluster_set_get(acme_cluster_set_t **pset, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const char **perr);

/* ---- accounts */
const char *acme_cluster_account_encode(apr_pool_t *p, const acme_cluster_account_t *acct);
apr_status_t acme_cluster_account_decode(acme_cluster_account_t **pacct, apr_pool_t *p,
                                         const char *text, apr_size_t len, const char **perr);
/* Writes the account of `ca` (acme_cluster_ca_name()) under a lease (any
 * domain's: the one whose renewal made the account). acct->token is set
 * from the lease. */
apr_status_t acme_cluster_account_put(const acme_lease_t *lse, apr_pool_t *p,
                                      acme_redis_t *conn, const char *ns, const char *ca,
                                      const acme_cluster_account_t *acct, const char **perr);
apr_status_t acme_cluster_account_get(acme_cluster_account_t **pacct, apr_pool_t *p,
                                      acme_redis_t *conn, const char *ns, const char *ca,
                                      const char **perr);

/* ---- jobs */
/* Writes job.json (a JSON object's text) of md under md's lease. */
apr_status_t acme_cluster_job_put(const acme_lease_t *lse, apr_pool_t *p, acme_redis_t *conn,
                                  const char *ns, const char *md, const char *job_json,
                                  const char **perr);
/* job.json as the last holder left it, and its token. */
apr_status_t acme_cluster_job_get(const char **pjob_json, apr_int64_t *ptoken, apr_pool_t *p,
                                  acme_redis_t *conn, const char *ns, const char *md,
                                  const char **perr);

#endif /* ACME_CLUSTER_H */

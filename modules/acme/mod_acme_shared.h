/* The cluster's shared store in the httpd glue (MDSharedStore,
 * docs/cluster.md). mod_acme_shared_link.c: the renewal watchdog child's
 * connection to it. */
#ifndef MOD_ACME_SHARED_H
#define MOD_ACME_SHARED_H

#include <apr_pools.h>

#include <httpd.h>

#include "mod_acme_config.h"

/* The prefix of every key mod_acme writes in the shared store. */
#define ACME_SHARED_NS "mod_acme"

typedef struct acme_shared_link_t acme_shared_link_t;

/* This server's name in the cluster: "<host name>:<pid of httpd's parent>". */
const char *acme_shared_server_id(apr_pool_t *p);

/* Starts the link thread when the configuration has a usable MDSharedStore
 * (else *plink is NULL and nothing runs). Called in the renewal watchdog
 * child; `p` lives until acme_shared_link_stop(). */
apr_status_t acme_shared_link_start(acme_shared_link_t **plink, apr_pool_t *p,
                                    const acme_config_global_t *g, server_rec *s);

/* 1 while the shared store answers. NULL (no link) is 0. Any thread. */
int acme_shared_link_is_up(const acme_shared_link_t *link);

/* Stops the thread and waits for it (at most a connect timeout). NULL is fine. */
void acme_shared_link_stop(acme_shared_link_t *link);

/* post_config (parent, after the status segment is made): the status record
 * says what the configuration asks for, before any child connects. */
void acme_shared_status_seed(const acme_config_global_t *g);

#endif /* MOD_ACME_SHARED_H */

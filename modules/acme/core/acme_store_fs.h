/* The filesystem backend of the store (acme_store.h).
 *
 * The layout is mod_md's, so that both modules use one store (a server
 * switches by its LoadModule line, both ways); what mod_acme keeps beyond
 * it lives in files and directories mod_md ignores:
 *   md_store.json                   mod_md's marker, with the store key and
 *                                   our format (acme_store_fs_format.c)
 *   accounts/<id>/<aspect>          dirs 0700
 *   domains/<key>/<aspect>          LIVE; dirs 0755 (keys inside are 0600)
 *   staging/ challenges/ ocsp/      like domains/; tmp/ like accounts
 *   archive/<key>.N/<aspect>        previous live sets
 *   jobs/<key>/job.json             ours: renewal job state
 *   pending/<key>/                  ours: staged sets copied by root
 *   intents/<key>                   ours: activation in progress (see below)
 *   locks/<group>/<key>             ours: flock(2) lock files, 0600 in 0700 dirs
 *   locks/activation/<key>          serializes activations of one name
 * where <key> is the name itself, "*.example.org" for a wildcard, as mod_md
 * names it (acme_names_domain_to_key). Files are 0644, or 0600 for ACME_STORE_SECRET.
 * Names and aspects can never start with '.', so the backend's temporary
 * entries (".tmp.*") never collide with items and are skipped by listings.
 *
 * Writes: a temp file is created in the item's directory with
 * open(O_CREAT|O_EXCL, 0600), so it is never readable by others, even
 * briefly; then written, fsync'ed, given its final mode, renamed over the
 * item (or hard-linked for ACME_STORE_EXCL), and the directory fsync'ed.
 * Every path component is opened with O_NOFOLLOW: a symlink planted in a
 * group the worker owns cannot redirect reads or writes of the parent.
 *
 * Locks are flock(2)s: a process forked while holding one shares it with its
 * parent (release before forking workers); exec'd commands do not inherit it.
 *
 * Activation of <key>: the activating process (root) first takes the staged
 * set over: it copies staging/<key> into fresh files of its own in
 * pending/<key> and checks that copy (acme_store_fs_take.c); nothing the
 * worker owns is renamed into live/ or chowned. Then, under
 * locks/activation/<key>,
 *   1. intents/<key> = {"archive": N, the staged set's identity}
 *      (N = 0 when there is no live set)
 *   2. rename live/<key> -> archive/<key>.N           (if live exists)
 *   3. rename pending/<key> -> live/<key>
 *   4. remove staging/<key> (if it is still the set taken), then intents/<key>
 * each step fsync'ed (acme_store_fs_activate.c). A crash leaves an intent;
 * recovery runs the same routine: it rolls forward when pending/<key>
 * exists (steps 2-4), rolls back (archive -> live) when pending is gone but
 * live is missing, and otherwise only finishes step 4. Pending copies no
 * intent refers to are swept. At every point the old or the new set is
 * complete.
 *
 * Ownership (the parent runs as root, the httpd workers as User/Group):
 * the worker runs the renewal jobs, so it owns STAGING, JOBS, CHALLENGES and
 * TMP. It also owns ACCOUNTS, to write account.json when it registers an
 * account; the account keys in it are ACME_STORE_PRIVATE files of the key
 * holder (root, 0600), which signs for the worker; EAB HMAC secrets are
 * never stored (they stay in root's configuration and the key holder). The OCSP
 * watchdog runs in a child too, so the worker owns OCSP: responses are
 * public and signed by the CA, and are checked again whenever loaded. LIVE
 * and ARCHIVE stay with root: the worker cannot read live private keys or
 * change what gets served. acme_store_fs_group_for_worker() encodes this policy. */
#ifndef ACME_STORE_FS_H
#define ACME_STORE_FS_H

#include <sys/types.h>

#include "acme_store.h"

/* Highest mod_acme format (md_store.json "mod_acme.format") this code reads,
 * and the one it writes. 1 was mod_acme's own layout (store.json, live/). */
#define ACME_STORE_FS_FORMAT 2

/* Opens (creating if needed) the store at base_dir; the parent directory must
 * exist. A store mod_md wrote is used as it is; one in mod_acme's first
 * layout is converted. Errors: APR_ENOTIMPL when md_store.json is of a newer
 * mod_md or mod_acme, or of mod_md before 2.0; APR_EINVAL when it is
 * corrupt; APR_EEXIST when a first-layout store cannot be converted (both
 * live/ and domains/); OS errors otherwise. The store and
 * its directory handle live until p is destroyed. */
apr_status_t acme_store_fs_open(acme_store_t **pstore, apr_pool_t *p, const char *base_dir);

/* Opens the existing store at base_dir for reading only, for the admin
 * tool while httpd runs: nothing is created, converted, locked or changed
 * on disk. The store key is read (md_store.json is root's, 0600) so that
 * staged sets, whose keys are kept encrypted with it, can be checked as
 * the activation checks them; it is cleared when p is destroyed. Loads and
 * listings work as in acme_store_fs_open(); every change (save, remove, move, lock, activation...) fails with
 * APR_FROM_OS_ERROR(EROFS). Errors: the OS error of opening base_dir or
 * reading md_store.json (APR_ENOENT: not a store, or no such directory;
 * APR_EACCES: not readable by this user), APR_EGENERAL for a store in
 * mod_acme's first layout (the module converts it at its next start),
 * APR_ENOTIMPL / APR_EINVAL as acme_store_fs_open(). Nothing is logged but
 * the version checks' lines. */
apr_status_t acme_store_fs_open_readonly(acme_store_t **pstore, apr_pool_t *p,
                                         const char *base_dir);

/* Makes `group` (its directory, its lock directory and everything in them)
 * owned by uid:gid, and remembers the owner so that entries created later by
 * root in that group, or moved into it, get it too. The worker can take
 * locks only in groups given to it here (this creates their lock directory).
 * Needs root unless uid/gid are the caller's own. Call at start-up, before
 * other threads use the store (the owner table is not synchronized).
 * APR_EINVAL if `store` is not an fs store. */
apr_status_t acme_store_fs_set_owner(acme_store_t *store, apr_pool_t *p,
                                     acme_store_group_e group, uid_t uid, gid_t gid);

/* True for the groups the httpd worker user should own (see above). */
int acme_store_fs_group_for_worker(acme_store_group_e group);

/* The filesystem path of the existing regular file LIVE/name/aspect, in *ppath
 * (allocated from p). Only for handing files to code that insists on paths:
 * mod_ssl loads certificates and keys by file name. It is restricted to LIVE
 * on purpose: LIVE stays with root, so nobody else can swap the file for a
 * symlink between this check and mod_ssl's open, and a path into a worker
 * owned group would give that up. Everything else goes through the store
 * interface, which never exposes paths (a shared backend has none).
 * APR_EINVAL for an invalid name or aspect or a store that is not an fs
 * store, APR_ENOENT when the file does not exist (or is not a regular file). */
/* Clears the store key from this process's memory (a child of httpd, where
 * only the key holder encrypts and decrypts keys): acme_store_secret_key()
 * gives APR_ENOTIMPL afterwards. */
void acme_store_fs_forget_secret_key(acme_store_t *store);

apr_status_t acme_store_fs_live_path(const char **ppath, apr_pool_t *p, acme_store_t *store,
                                     const char *name, const char *aspect);

#endif /* ACME_STORE_FS_H */

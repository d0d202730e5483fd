/* Fixed keys of the fuzz targets (test/fuzz/): generated once for fuzzing
 * only, never used anywhere else. The seeds in test/fuzz/corpus/ that carry
 * signatures (JWS) were made with them by test/fuzz/make_seeds.c, so a key
 * replaced here makes those seeds fail verification (they still run). */
#include <string.h>

#include <openssl/pem.h>

#include "fuzz_common.h"
#include "fuzz_keys.h"

const char fuzz_key_p256_a_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWy5nQIfLhSQ2Rn8Y\n"
    "KqOBTCdTtLADnZOLZIK0LicW/86hRANCAATzJLUwLO6G2NupIaC6WwwFXhdXzA+C\n"
    "0ApIjN19PFPV0ftFJaNgANKi2tcoezzDkls+Kc5oRrpZoyFl4Xw9RJV/\n"
    "-----END PRIVATE KEY-----\n"
    ;

const char fuzz_key_p256_b_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZPGbHHlbYf9XQeMN\n"
    "hX1NQVqyVEkCcBwn4tG5XUJ76rShRANCAAQNp3VJZp1B7vWK0Kk53OTynjrfW/rR\n"
    "+mOudT287XJdN+jvXRJ9rmYGKYC3HDbDnLzygg0fkDXqqmWljslsqquE\n"
    "-----END PRIVATE KEY-----\n"
    ;

const char fuzz_key_rsa_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCrZkh3K9URU/iE\n"
    "DfF2xa/FsR5EgH8hBrKphHMJotEocgYZEyISDDz2C+X1HfhnnqZPoehN/TidD6Pq\n"
    "WLpdNpBUCCcC1ax/uWOpyy+/+pRi/juel6HSodC5XqEV/mkUp4Dw8IVxZNTPaGiN\n"
    "AJ123loJX1mvRxV6s4WVZT6Mu59qHmDIOvdxm47gO7TwcDM892/ylfQE3igw5aqM\n"
    "vM+tT8E0Gi/kJNPBcF1HzNRiwIWMw6Z5H3YFIdarwqqGpzIyM6AIiG3LpUAWT4/r\n"
    "uh9UY3QXOAI99jpF+oIeOEHIQwHzhod3/+NClYPsKWOK3aU7Xu7HF0MCzRwL1t5N\n"
    "d7Cya5PVAgMBAAECggEAJzATkWusI3IXd9nYQ1efgIumZ/MZHevyHV/zDVj0iVLI\n"
    "oiMFvyqdJYRC53Aaw1Y6oCpcerhSoVZaG9J9iaJYDV5vzO4dqnYwmzmhiTs5ggiu\n"
    "iOwSS55Dop5IJkcsr1Q83tmfKPXs0h8FCHgDiJH98/ahAro15v/0oturGXIsWI6I\n"
    "wHDJVPy+ZMEzZT376yDGDIXuLJZ2uEh3gnMNSA6vrTqiJF8YVuu0ua+9eg7gkObQ\n"
    "lqf7lUvDtuN4ybdysY9SOoxCjdpZXVvaJyr6I3WnHgo7bniD3N/AF0tHhGSRSCqn\n"
    "mess1g4iVgWUHMV6KAIYi1muec9C8FwGscHnf7l/AQKBgQDxfsLru+TTkklHTC1U\n"
    "riVq0IXo/iY/eOgsYNKaPZ/hVE6LTiQXaGyf7urFpBimHEFnSvB5Aav9hEZ3M6X+\n"
    "glzmsQPI+6NJQob7PznSxbFv0cUS2r5tcj/lUGdTA64hIPsEOWsHsKd7dvumxXLk\n"
    "pgADLvkiMeob69L4F9uWsoHZTQKBgQC1sbqUBFZQq05GKwDVYaLYfDPxj5d1qAM8\n"
    "pwTdopm8rkc2Ko1MTgLbdg5bHh69IwW054K8ADDx2QuVGQx4jlFlqY0q29Ci6Uop\n"
    "MUQAUTF+iTgAUuK+7i7XdKTOPm324jIg5N9efNSaoiXGBnL4qjXFOyNKcYX6QRv4\n"
    "j/HHJO+gqQKBgAMvCKLS91FSvGSUPITBRv0BgsJvl1F+5pCvNheSeGkgE2kCvrcQ\n"
    "SV5SaAXzA+Asvy/9bO4rd3kAJW2s4KNaVJ819jbQGnb8yYrGapy8vnoa6d41xAzt\n"
    "VKpRRQtzIPiO1sBXgXG4gny+NNMeB0W8aoOgOuiYf92eXkmnBt4VvGCBAoGBAJWu\n"
    "cwyZfho65eL8blVbd/Jsb8ZjCt2Mqg3/cgy8dXZxBI1lBL6FzejKGw2JhL0/6uWb\n"
    "i6IhbjDvI5GS7ykp5Xig84EJUZnEIqpIwcKZIPMjTBVIMzAjvEcW+uZFnAW1VqKu\n"
    "qi2HHQa+6et3SKP+ZQm0rGAZocwGc2qT+xSaIybxAoGAfQjverdFSxIlSlvF3NFg\n"
    "rdV6VFEBLtpP5SKZ3g+jvAuC6gpTRUUDaSX6e4D+2xqfT8fwYTpTVcHHnTSHCSk1\n"
    "AG+UZ6k0iVbTgWLUd3axfBEnrK6FqRwudjj4I7YOnZbTsKty6jh0Dhvx5yXmymdm\n"
    "9fQQdHBWamtdG1bqDeF6ABE=\n"
    "-----END PRIVATE KEY-----\n"
    ;

const char fuzz_key_ed25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIKae0VivuOgzFsockQmdRgV0TZgxDxLTPk4VxEdX4KQa\n"
    "-----END PRIVATE KEY-----\n"
    ;

/* The pools' memory may be mapped, where LeakSanitizer does not look: this
 * keeps the OpenSSL keys reachable from a global. */
EVP_PKEY *fuzz_key_evps[FUZZ_KEY_COUNT];

acme_pkey_t *fuzz_key(fuzz_key_e which)
{
    static acme_pkey_t *keys[FUZZ_KEY_COUNT];
    static apr_pool_t *pool;
    static const char *const pems[FUZZ_KEY_COUNT] = {
        fuzz_key_p256_a_pem, fuzz_key_p256_b_pem, fuzz_key_rsa_pem
    };
    const char *err = NULL;

    if ((int)which < 0 || which >= FUZZ_KEY_COUNT) {
        fuzz_abort("fuzz_key: no such key");
    }
    if (keys[which] == NULL) {
        if (pool == NULL) {
            /* a child of the fuzz root pool, never destroyed: the keys live
             * as long as the process */
            apr_pool_t *p = fuzz_pool_create();
            pool = p;
        }
        if (acme_pkey_from_pem(&keys[which], pool, pems[which], strlen(pems[which]), &err)
            != APR_SUCCESS) {
            fuzz_abort("fuzz_key: a fixed key does not load");
        }
        fuzz_key_evps[which] = acme_pkey_get_evp(keys[which]);
    }
    return keys[which];
}

EVP_PKEY *fuzz_evp_ed25519(void)
{
    static EVP_PKEY *key;

    if (key == NULL) {
        BIO *bio = BIO_new_mem_buf(fuzz_key_ed25519_pem, -1);
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (key == NULL) {
            fuzz_abort("fuzz_evp_ed25519: the fixed key does not load");
        }
    }
    return key;
}

/* What acme_seal.c and acme_seal_key.c share: the key's layout. */
#ifndef ACME_SEAL_INT_H
#define ACME_SEAL_INT_H

#include "acme_seal.h"

struct acme_seal_key_t {
    unsigned char bytes[ACME_SEAL_KEY_LEN];  /* wiped by a cleanup of its pool */
    char id[ACME_SEAL_KEY_ID_LEN + 1];
};

#endif /* ACME_SEAL_INT_H */

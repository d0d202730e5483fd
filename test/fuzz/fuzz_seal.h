/* What fuzz_seal.c and make_seeds.c (which seals the seed blobs) share: the
 * target's keys and item name. */
#ifndef ACME_FUZZ_SEAL_H
#define ACME_FUZZ_SEAL_H

/* The item name every blob is sealed for. */
#define FUZZ_SEAL_AAD "domains/example.org/privkey.pem"
/* A key's bytes are first, first+1, ...: the target's key and another. */
#define FUZZ_SEAL_KEY_FIRST   0x5a
#define FUZZ_SEAL_OTHER_FIRST 0xa5

#endif /* ACME_FUZZ_SEAL_H */

/* A stand-in for libFuzzer's driver: feeds each file named on the command
 * line (directories: each regular file inside, in name order) to
 * LLVMFuzzerTestOneInput() once. Lets any build, gcc included, replay the
 * seed corpora and the regression inputs; a crash or a broken property
 * aborts the process, which is what the runner (run-replay.sh) reports.
 * Prints one line per input and "replayed N inputs" at the end. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

/* Inputs larger than this are not fuzz inputs (libFuzzer's default cap is
 * far below); refusing them keeps a stray file from looking like a hang. */
#define REPLAY_MAX_BYTES (8 * 1024 * 1024)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    int rc = 1;

    if (!f) {
        perror(path);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > REPLAY_MAX_BYTES
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: unreadable or larger than %d bytes\n", path, REPLAY_MAX_BYTES);
        goto cleanup;
    }
    /* An exact-size heap buffer: ASan sees any read past the input. */
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "%s: read failed\n", path);
        goto cleanup;
    }
    printf("replay %s (%ld bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    rc = 0;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

static int replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replays the regular files of `dir` in name order; *pcount counts them. */
static int replay_dir(const char *dir, int *pcount)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (!d) {
        perror(dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
            if (!grown) {
                rc = 1;
                goto cleanup;
            }
            names = grown;
        }
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n]) {
            rc = 1;
            goto cleanup;
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    if (n) {
        qsort(names, n, sizeof(*names), replay_name_cmp);
    }
    for (i = 0; i < n && rc == 0; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = replay_file(names[i]);
            (*pcount)++;
        }
    }
cleanup:
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int i, count = 0, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 1;
        }
        else if (S_ISDIR(st.st_mode)) {
            rc = replay_dir(argv[i], &count);
        }
        else {
            rc = replay_file(argv[i]);
            count++;
        }
    }
    printf("replayed %d inputs\n", count);
    return rc;
}

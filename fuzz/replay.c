/* replay.c: feeds a fuzz target every file of its committed corpus, so the
 * corpus runs in every test run (suite fuzz-corpus) with no libFuzzer.
 * usage: replay DIR-or-FILE...   (output: TAP) */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_file(const char *path, int n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok %d - %s: cannot open\n", n, path);
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (buf == NULL) {
        printf("not ok %d - %s: out of memory\n", n, path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s\n", n, path);
    return 0;
}

int main(int argc, char **argv)
{
    char **files = NULL;
    size_t count = 0, cap = 0;
    int missing = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            missing++;
            continue;
        }
        DIR *d = S_ISDIR(st.st_mode) ? opendir(argv[i]) : NULL;
        if (d == NULL) {
            if (count == cap && (files = realloc(files, (cap = cap ? cap * 2 : 64) * sizeof *files)) == NULL)
                return 1;
            files[count++] = strdup(argv[i]);
            continue;
        }
        struct dirent *e;
        size_t before = count;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            size_t n = strlen(argv[i]) + strlen(e->d_name) + 2;
            char *path = malloc(n);
            if (path == NULL)
                return 1;
            snprintf(path, n, "%s/%s", argv[i], e->d_name);
            if (count == cap && (files = realloc(files, (cap = cap ? cap * 2 : 64) * sizeof *files)) == NULL)
                return 1;
            files[count++] = path;
        }
        closedir(d);
        if (count == before)
            missing++; /* an empty corpus must not pass silently */
    }
    if (files != NULL)
        qsort(files, count, sizeof *files, by_name);
    printf("1..%zu\n", count + (size_t)missing);
    int failed = 0, n = 0;
    for (size_t i = 0; i < count; i++) {
        failed |= replay_file(files[i], ++n);
        free(files[i]);
    }
    for (int i = 0; i < missing; i++)
        printf("not ok %d - a corpus is missing or empty\n", ++n), failed = 1;
    free(files);
    return failed;
}

/* replay.c: runs one fuzz target over committed corpus files, without
 * libFuzzer, and reports each file as a TAP test.
 *
 * Each argument is a file or a directory; a directory stands for every
 * regular file in it, sorted by name so that the output is stable. A missing
 * or empty directory is a failure: a corpus that got lost must not pass. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line of the TAP plan: a file to replay, or a problem to report. */
typedef struct entry {
    char *path;        /* what to open; NULL for a problem */
    char *label;       /* what the TAP line says */
} entry;

typedef struct list {
    entry *v;
    size_t n, cap;
} list;

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* Takes both strings (path NULL: a problem). -1 when out of memory. */
static int add(list *l, char *path, char *label, int need_path)
{
    if (label == NULL || (need_path && path == NULL)) {
        free(path);
        free(label);
        return -1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        entry *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            free(path);
            free(label);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].path = path;
    l->v[l->n].label = label;
    l->n++;
    return 0;
}

static int problem(list *l, const char *what, const char *arg)
{
    size_t n = strlen(what) + strlen(arg) + 4;
    char *label = malloc(n);
    if (label == NULL)
        return -1;
    snprintf(label, n, "%s: %s", arg, what);
    return add(l, NULL, label, 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every regular file of `dir`, sorted by name. */
static int add_dir(list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return problem(l, strerror(errno), dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", ".." and hidden files such as .gitkeep */
        char *path = join(dir, de->d_name);
        struct stat st;
        if (path == NULL) {
            rc = -1;
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                char **v = realloc(names, cap * sizeof *v);
                if (v == NULL)
                    rc = -1;
                else
                    names = v;
            }
            if (rc == 0 && (names[n] = copy_string(de->d_name)) != NULL)
                n++;
            else
                rc = -1;
        }
        free(path);
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = problem(l, "no corpus files", dir);
    if (n > 0)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = add(l, join(dir, names[i]), names[i], 1);
        else
            free(names[i]);
    }
    free(names);
    return rc;
}

/* Reads the whole file into a malloc'd buffer (at least one byte, so that an
 * empty file still gives a pointer). Returns 0 on success. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    int rc = buf == NULL ? -1 : 0;
    while (rc == 0) {
        if (n == cap) {
            uint8_t *p = realloc(buf, cap * 2);
            if (p == NULL) {
                rc = -1;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

int main(int argc, char **argv)
{
    list l = {0};
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) != 0)
            rc = problem(&l, strerror(errno), argv[i]);
        else if (S_ISDIR(st.st_mode))
            rc = add_dir(&l, argv[i]);
        else
            rc = add(&l, copy_string(argv[i]), copy_string(argv[i]), 1);
        if (rc != 0) {
            fprintf(stderr, "replay: out of memory\n");
            return 1;
        }
    }
    if (argc < 2 && problem(&l, "no corpus given", argv[0]) != 0)
        return 1;

    int failed = 0;
    printf("1..%zu\n", l.n);
    for (size_t i = 0; i < l.n; i++) {
        const entry *e = &l.v[i];
        uint8_t *data = NULL;
        size_t size = 0;
        if (e->path == NULL) {
            printf("not ok %zu - %s\n", i + 1, e->label);
            failed = 1;
        } else if (read_file(e->path, &data, &size) != 0) {
            printf("not ok %zu - %s: cannot read: %s\n", i + 1, e->label, strerror(errno));
            failed = 1;
        } else {
            fflush(stdout); /* a crash inside the target still shows the lines before */
            LLVMFuzzerTestOneInput(data, size);
            free(data);
            printf("ok %zu - %s\n", i + 1, e->label);
        }
        fflush(stdout);
        free(e->path);
        free(e->label);
    }
    free(l.v);
    return failed;
}

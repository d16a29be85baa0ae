/* sources.c -- see sources.h. */
#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "status.h"

#define SOURCES_MAX_DEPTH 64

typedef struct sources_dirid {
    dev_t dev;
    ino_t ino;
} sources_dirid;

int sources_push(source_list *l, const char *item, const char *error) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **it = realloc(l->items, cap * sizeof *it);
        if (!it) return NZ_ENOMEM;
        l->items = it;
        char **er = realloc(l->errors, cap * sizeof *er);
        if (!er) return NZ_ENOMEM;
        l->errors = er;
        l->cap = cap;
    }
    l->items[l->n] = strdup(item);
    l->errors[l->n] = error ? strdup(error) : NULL;
    if (!l->items[l->n] || (error && !l->errors[l->n])) {
        free(l->items[l->n]);
        free(l->errors[l->n]);
        return NZ_ENOMEM;
    }
    l->n++;
    return NZ_OK;
}

static int sources_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sources_walk(source_list *l, const char *dir, sources_dirid *stack, int depth) {
    if (depth >= SOURCES_MAX_DEPTH)
        return sources_push(l, dir, "directory nesting deeper than 64 levels");
    DIR *d = opendir(dir);
    if (!d) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot open directory: %s", strerror(errno));
        return sources_push(l, dir, msg);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = NZ_ENOMEM;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., and hidden files */
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) goto out;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) goto out;
        n++;
    }
    qsort(names, n, sizeof *names, sources_cmp);
    for (size_t i = 0; i < n; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]) < 0)
            goto out;
        struct stat st;
        int r = 0;
        if (stat(path, &st) < 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", errno == ELOOP ? "symlink loop" : strerror(errno));
            r = sources_push(l, path, msg);
        } else if (S_ISDIR(st.st_mode)) {
            int loop = 0;
            for (int k = 0; k <= depth; k++)
                if (stack[k].dev == st.st_dev && stack[k].ino == st.st_ino) loop = 1;
            if (loop) r = sources_push(l, path, "symlink loop: directory already being walked");
            else {
                stack[depth + 1] = (sources_dirid){st.st_dev, st.st_ino};
                r = sources_walk(l, path, stack, depth + 1);
            }
        } else {
            r = sources_push(l, path, NULL);
        }
        free(path);
        if (r < 0) goto out;
    }
    rc = NZ_OK;
out:
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int sources_add(source_list *l, const char *src) {
    struct stat st;
    if (strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0)
        return sources_push(l, src, NULL);
    if (strcmp(src, "-") != 0 && stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        sources_dirid stack[SOURCES_MAX_DEPTH + 1];
        stack[0] = (sources_dirid){st.st_dev, st.st_ino};
        return sources_walk(l, src, stack, 0);
    }
    /* files, "-", and names that fail stat: the reader reports the error */
    return sources_push(l, src, NULL);
}

int sources_add_from(source_list *l, const char *listfile) {
    FILE *f = strcmp(listfile, "-") == 0 ? stdin : fopen(listfile, "r");
    if (!f) return NZ_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = NZ_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        if ((rc = sources_add(l, line)) < 0) break;
    }
    if (ferror(f)) rc = NZ_EIO;
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

void sources_keep(source_list *l, const unsigned char *keep) {
    size_t j = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (keep[i]) {
            l->items[j] = l->items[i];
            l->errors[j++] = l->errors[i];
        } else {
            free(l->items[i]);
            free(l->errors[i]);
        }
    }
    l->n = j;
}

void sources_free(source_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
        free(l->errors[i]);
    }
    free(l->items);
    free(l->errors);
    memset(l, 0, sizeof *l);
}

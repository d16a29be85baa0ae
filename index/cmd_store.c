/* cmd_store.c -- `nz-index push` and `nz-index pull`: snapshots to and from
 * S3-compatible object storage.
 *
 *   nz-index push [-o ROOT] [--snapshot ID] s3://BUCKET/PREFIX
 *   nz-index pull [-o ROOT] s3://BUCKET/PREFIX
 *
 * store_cmd parses either command's options into a store_opts and
 * store_run calls store.h's store_push or store_pull (which publishes
 * through the same atomic swap as a build); the report is a JSON line.
 * Prefix: store_ (the file's statics), cmd_push, cmd_pull.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "nz.h"
#include "status.h"
#include "store.h"

typedef struct store_opts {
    int pull;             /* 0: push */
    const char *root;     /* -o ROOT, default INDEX_PATH */
    const char *snapshot; /* push --snapshot: a name in ROOT, or a path */
    const char *url;      /* s3://BUCKET/PREFIX */
} store_opts;

/* Push or pull, print the report; the exit code. */
static int store_run(const store_opts *o) {
    char err[512] = "", *path = NULL;
    json_t *report = NULL;
    int rc = NZ_ENOMEM;
    if (o->pull) rc = store_pull(o->url, o->root, &report, err, sizeof err);
    else if (!o->snapshot || strchr(o->snapshot, '/')) {
        rc = store_push(o->snapshot ? o->snapshot : o->root, o->url, &report, err, sizeof err);
    } else if (asprintf(&path, "%s/%s", o->root, o->snapshot) >= 0) {
        rc = store_push(path, o->url, &report, err, sizeof err);
        free(path);
    }
    if (rc < 0) {
        log_error("%s failed: %s", o->pull ? "pull" : "push", *err ? err : nz_strerror(rc));
        return NZ_EXIT_FAIL;
    }
    cmd_print_json(report);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

static int store_cmd(int argc, char **argv, int pull) {
    store_opts o = {.pull = pull};
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"snapshot", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.root = optarg; break;
        case 's': o.snapshot = optarg; break;
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: cmd_usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || strncmp(argv[optind], "s3://", 5) != 0 || (pull && o.snapshot)) {
        log_error("%s: expected one s3://BUCKET/PREFIX%s", pull ? "pull" : "push",
                  pull ? " (and no --snapshot)" : "");
        return NZ_EXIT_USAGE;
    }
    o.url = argv[optind];
    if (!o.root) o.root = config_get(CFG_INDEX_PATH);
    return store_run(&o);
}

int cmd_push(int argc, char **argv) { return store_cmd(argc, argv, 0); }
int cmd_pull(int argc, char **argv) { return store_cmd(argc, argv, 1); }

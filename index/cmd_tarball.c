/* cmd_tarball.c -- `nz-index export` and `nz-index import`: one snapshot as
 * a gzip tarball (backup), and a verified tarball made ROOT's current
 * (restore).
 *
 *   nz-index export [--snapshot ID] [ROOT] -o FILE.tar.gz
 *   nz-index import FILE.tar.gz [-o ROOT]
 *
 * tarball_cmd parses either command's options into a tarball_opts and
 * tarball_cli calls tarball.h's tarball_export or tarball_import; a refused
 * tarball is bad input (exit 3). Prefix: tarball_ (the file's statics),
 * cmd_export, cmd_import.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "nz.h"
#include "progress.h"
#include "status.h"
#include "tarball.h"

typedef struct tarball_opts {
    const char *root;     /* ROOT (export: where ID lives; import: where to restore) */
    const char *snapshot; /* export: --snapshot ID, or NULL for current */
    const char *file;     /* the tarball ("-": stdout / stdin) */
    int import;
} tarball_opts;

/* Export or import; the exit code: a refused tarball is bad input (3). */
static int tarball_cli(const tarball_opts *o) {
    char err[512] = "", *path = NULL;
    tarball_result r;
    double t0 = progress_now();
    int rc;
    if (o->import) {
        rc = tarball_import(o->file, o->root, &r, err, sizeof err);
    } else if (o->snapshot && !tarball_name_ok(o->snapshot)) {
        log_error("export: --snapshot %s: not a snapshot name", o->snapshot);
        return NZ_EXIT_USAGE;
    } else if (o->snapshot && asprintf(&path, "%s/%s", o->root, o->snapshot) < 0) {
        log_error("export: out of memory");
        return NZ_EXIT_FAIL;
    } else {
        rc = tarball_export(path ? path : o->root, o->file, &r, err, sizeof err);
    }
    free(path);
    if (rc < 0) {
        log_error("%s failed, nothing changed: %s", o->import ? "import" : "export", err);
        return o->import && (rc == NZ_EINVAL || rc == NZ_ECORRUPT || rc == NZ_ELIMIT)
                   ? NZ_EXIT_REJECTED
                   : NZ_EXIT_FAIL;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:i,s:I,s:f}", "snapshot", r.snapshot,
                          o->import ? "root" : "output", o->import ? o->root : o->file, "from",
                          o->import ? r.from : r.snapshot, "count", (json_int_t)r.count, "files",
                          r.files, "bytes", (json_int_t)r.bytes, "seconds",
                          round((progress_now() - t0) * 1000) / 1000);
    if (!o->import && strcmp(o->file, "-") == 0) { /* the tarball is on stdout */
        log_info("exported %s: %llu bytes", r.snapshot, (unsigned long long)r.bytes);
        json_decref(j);
        return NZ_EXIT_OK;
    }
    cmd_print_json(j);
    return fflush(stdout) == 0 ? NZ_EXIT_OK : NZ_EXIT_FAIL;
}

/* export [--snapshot ID] [ROOT] -o FILE, or import FILE [-o ROOT]. */
static int tarball_cmd(int argc, char **argv, int import) {
    tarball_opts o = {.import = import};
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"snapshot", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (import) goto usage;
            o.snapshot = optarg;
            break;
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: goto usage;
        }
    }
    if (argc - optind > 1 || (import ? argc - optind != 1 : !out)) goto usage;
    o.file = import ? argv[optind] : out;
    o.root = import ? (out ? out : config_get(CFG_INDEX_PATH)) : cmd_path_arg(argc, argv);
    return tarball_cli(&o);
usage:
    log_error("usage: nz-index export [--snapshot ID] [ROOT] -o FILE.tar.gz | "
              "nz-index import FILE.tar.gz [-o ROOT]");
    return NZ_EXIT_USAGE;
}

int cmd_export(int argc, char **argv) { return tarball_cmd(argc, argv, 0); }
int cmd_import(int argc, char **argv) { return tarball_cmd(argc, argv, 1); }

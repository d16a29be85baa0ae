/* cmd_verify.c -- `nz-index info` and `nz-index verify`: a snapshot's
 * manifest, and the check of every file's CRC32 and every record.
 *
 *   nz-index info   [ROOT|SNAPSHOT]
 *   nz-index verify [ROOT|SNAPSHOT]
 *
 * Both take only --help and the one operand (cmd_simple_opts), open the
 * snapshot (snapshot.h) and print one JSON line. Prefix: cmd_.
 */
#include <stdio.h>

#include "cmd.h"
#include "log.h"
#include "nz.h"
#include "snapshot.h"

int cmd_info(int argc, char **argv) {
    int rc = cmd_simple_opts(argc, argv);
    if (rc >= 0) return rc;
    char err[512];
    snapshot *s = snapshot_open(cmd_path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    cmd_print_json(json_pack("{s:s,s:O}", "path", s->dir, "manifest", s->manifest));
    snapshot_close(s);
    return NZ_EXIT_OK;
}

int cmd_verify(int argc, char **argv) {
    int rc = cmd_simple_opts(argc, argv);
    if (rc >= 0) return rc;
    char err[512];
    snapshot *s = snapshot_open(cmd_path_arg(argc, argv), err, sizeof err);
    if (!s) {
        log_error("verify failed: %s", err);
        return NZ_EXIT_FAIL;
    }
    if (snapshot_verify(s, err, sizeof err) < 0) {
        log_error("verify failed: %s", err);
        snapshot_close(s);
        return NZ_EXIT_FAIL;
    }
    cmd_print_json(json_pack("{s:s,s:s,s:I}", "status", "ok", "snapshot", s->name, "count",
                             (json_int_t)s->count));
    snapshot_close(s);
    return NZ_EXIT_OK;
}

/* cmd_prune.c -- `nz-index prune`: remove all but the newest N snapshots.
 *
 *   nz-index prune [ROOT] --keep N
 *
 * Under ROOT's lock (publish.h's root_lock, the one a build publishes
 * under), never removing `current`; prints the removed names as a JSON
 * line. Prefix: cmd_.
 */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "nz.h"
#include "publish.h"

int cmd_prune(int argc, char **argv) {
    long keep = -1;
    static const struct option longopts[] = {
        {"keep", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (config_parse_long("--keep", optarg, 1, 1000, &keep) < 0) return NZ_EXIT_USAGE;
            break;
        case 'h': cmd_usage(stdout); return NZ_EXIT_OK;
        default: cmd_usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (keep < 0 || argc - optind > 1) {
        log_error("prune: --keep N is required");
        return NZ_EXIT_USAGE;
    }
    char err[512];
    index_root ir = {.lock_fd = -1};
    if (root_lock(&ir, cmd_path_arg(argc, argv), err, sizeof err) < 0) {
        log_error("%s", err);
        return NZ_EXIT_FAIL;
    }
    json_t *removed = json_array();
    int rc = root_prune(&ir, (int)keep, removed, err, sizeof err);
    if (rc < 0) log_error("prune: %s", err);
    else {
        cmd_print_json(json_pack("{s:O}", "pruned", removed));
    }
    json_decref(removed);
    root_unlock(&ir);
    return rc < 0 ? NZ_EXIT_FAIL : NZ_EXIT_OK;
}

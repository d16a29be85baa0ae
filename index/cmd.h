/* cmd.h -- nz-index's commands, one file each, like git's builtin/.
 *
 * nz_index.c holds main (the dispatch table) and the usage text; each
 * command lives in index/cmd_NAME.c (a close family shares one file:
 * info/verify, export/import, push/pull) and follows one shape: parse its
 * options into a struct, validate them, call ONE function that does the
 * work. Every cmd_* entry point takes the arguments after the command name
 * (argv[0] is the command) and returns the process's exit code (NZ_EXIT_*,
 * nz.h): 0 ok, 1 failure, 2 usage, 3 bad input. They are the tool's, not
 * the index library's: nothing outside nz-index links them.
 */
#ifndef NZ_CMD_H
#define NZ_CMD_H

#include <jansson.h>
#include <stdio.h>

/* The entry points (see the usage text in nz_index.c). */
int cmd_build(int argc, char **argv);  /* cmd_build.c */
int cmd_info(int argc, char **argv);   /* cmd_verify.c */
int cmd_verify(int argc, char **argv); /* cmd_verify.c */
int cmd_query(int argc, char **argv);  /* cmd_query.c */
int cmd_search(int argc, char **argv); /* cmd_search.c */
int cmd_prune(int argc, char **argv);  /* cmd_prune.c */
int cmd_export(int argc, char **argv); /* cmd_tarball.c */
int cmd_import(int argc, char **argv); /* cmd_tarball.c */
int cmd_push(int argc, char **argv);   /* cmd_store.c */
int cmd_pull(int argc, char **argv);   /* cmd_store.c */

/* What every command shares (nz_index.c). */

/* nz-index's usage text, on f (stdout for --help, stderr for a usage error). */
void cmd_usage(FILE *f);

/* Print one JSON line on stdout and drop the reference (j NULL: nothing). */
void cmd_print_json(json_t *j);

/* The ROOT|SNAPSHOT operand after getopt: argv[optind], or INDEX_PATH. */
const char *cmd_path_arg(int argc, char **argv);

/* Options of a command that takes only --help and at most one operand:
 * -1 to go on, or the exit code (NZ_EXIT_OK after --help, NZ_EXIT_USAGE). */
int cmd_simple_opts(int argc, char **argv);

#endif

/* nz-pipeline -- porcelain: run the four plumbing stages as one job.
 *
 *   nz-pipeline run [options] SOURCE...
 *
 * runs  nz-extract SOURCE... | nz-chunk | nz-embed | nz-index build
 * as child processes joined by pipes (chain.h), with the index build gated:
 * it sees end-of-input only after extract, chunk and embed have all
 * finished without failing, so a failure anywhere publishes nothing. Exit
 * code 3 from a stage (some inputs rejected) is not a failure: the good
 * inputs are published and the pipeline exits 3. The run ends with one
 * JSON summary on stdout; the stages' own logs go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "nz.h"

#define PIPELINE_MAX_ARGS 4096
#define PIPELINE_MAX_OUTPUT (1 << 20)
#define PIPELINE_KILL_AFTER 10.0

static volatile sig_atomic_t pipeline_stop_signal;

static void pipeline_on_signal(int sig) { pipeline_stop_signal = sig; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: nz-pipeline run [options] SOURCE...\n"
            "\n"
            "Run extract | chunk | embed | index build as one job; publish only if all succeed.\n"
            "\n"
            "  -o, --index-path DIR   snapshot root       (env INDEX_PATH, default ./data/index)\n"
            "      --from FILE        read more sources from FILE, one a line\n"
            "      --max-tokens N     chunk size limit (default 400)\n"
            "      --provider P       embedding provider  (env EMBEDDING_PROVIDER)\n"
            "      --model M          embedding model     (env EMBEDDING_MODEL)\n"
            "      --dim N            vector size         (env EMBEDDING_DIMENSIONS)\n"
            "      --keep N           snapshots to keep (default 3)\n"
            "  -h, --help             show this help\n"
            "\n"
            "Exit: 0 published, 1 a stage failed (nothing published), 2 usage,\n"
            "      3 published, but some inputs were rejected.\n");
}

/* Directory of this executable: the stages are installed beside it. */
static char *pipeline_bin_dir(void) {
    const char *env = getenv("NZ_BIN_DIR");
    if (env && *env) return strdup(env);
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return strdup(".");
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    return strdup(buf);
}

typedef struct argv_builder {
    char *v[PIPELINE_MAX_ARGS + 1];
    int n;
} argv_builder;

static int argv_push(argv_builder *a, const char *s) {
    if (a->n >= PIPELINE_MAX_ARGS) return -1;
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
    return 0;
}

static double pipeline_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int stage_ok(const chain_stage *s) {
    int code = chain_exit_code(s);
    return s->done && (code == NZ_EXIT_OK || code == NZ_EXIT_REJECTED);
}

static int cmd_run(int argc, char **argv) {
    const char *from = NULL, *max_tokens = NULL, *keep = NULL;
    static const struct option longopts[] = {{"index-path", required_argument, 0, 'o'},
                                             {"from", required_argument, 0, 'f'},
                                             {"max-tokens", required_argument, 0, 't'},
                                             {"provider", required_argument, 0, 'p'},
                                             {"model", required_argument, 0, 'm'},
                                             {"dim", required_argument, 0, 'd'},
                                             {"keep", required_argument, 0, 'k'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': config_set(CFG_INDEX_PATH, optarg); break;
        case 'f': from = optarg; break;
        case 't': max_tokens = optarg; break;
        case 'p': config_set(CFG_EMBEDDING_PROVIDER, optarg); break;
        case 'm': config_set(CFG_EMBEDDING_MODEL, optarg); break;
        case 'd': config_set(CFG_EMBEDDING_DIMENSIONS, optarg); break;
        case 'k': keep = optarg; break;
        case 'h': usage(stdout); return NZ_EXIT_OK;
        default: usage(stderr); return NZ_EXIT_USAGE;
        }
    }
    if (optind == argc && !from) {
        log_error("run: no sources given");
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    char *bin = pipeline_bin_dir();
    char *exe[4] = {NULL, NULL, NULL, NULL};
    static const char *const names[4] = {"extract", "chunk", "embed", "index"};
    argv_builder a[4] = {0};
    int exit_code = NZ_EXIT_FAIL;
    char *output = NULL;
    json_t *summary = NULL;
    double t0 = pipeline_now();
    if (!bin) goto oom;
    for (int i = 0; i < 4; i++)
        if (asprintf(&exe[i], "%s/nz-%s", bin, names[i]) < 0) goto oom;

    const char *root = config_get(CFG_INDEX_PATH);
    int bad = argv_push(&a[0], exe[0]);
    if (from) bad |= argv_push(&a[0], "--from") | argv_push(&a[0], from);
    bad |= argv_push(&a[0], "--");
    for (int i = optind; i < argc; i++) bad |= argv_push(&a[0], argv[i]);
    bad |= argv_push(&a[1], exe[1]);
    if (max_tokens) bad |= argv_push(&a[1], "--max-tokens") | argv_push(&a[1], max_tokens);
    bad |= argv_push(&a[2], exe[2]) | argv_push(&a[2], "--provider") |
           argv_push(&a[2], config_get(CFG_EMBEDDING_PROVIDER)) | argv_push(&a[2], "--model") |
           argv_push(&a[2], config_get(CFG_EMBEDDING_MODEL)) | argv_push(&a[2], "--dim") |
           argv_push(&a[2], config_get(CFG_EMBEDDING_DIMENSIONS));
    bad |= argv_push(&a[3], exe[3]) | argv_push(&a[3], "build") | argv_push(&a[3], "-o") |
           argv_push(&a[3], root);
    if (keep) bad |= argv_push(&a[3], "--keep") | argv_push(&a[3], keep);
    if (bad) {
        log_error("run: more than %d arguments; use --from FILE", PIPELINE_MAX_ARGS);
        exit_code = NZ_EXIT_USAGE;
        goto out;
    }

    struct sigaction sa = {.sa_handler = pipeline_on_signal}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    chain_stage st[4];
    for (int i = 0; i < 4; i++) st[i] = (chain_stage){.name = names[i], .argv = a[i].v};
    chain ch;
    if (chain_start(&ch, st, 4) < 0) {
        log_error("run: cannot start the stages: %s", strerror(errno));
        goto out;
    }

    /* Wait for extract, chunk and embed; the index build waits at the gate. */
    int upstream_left = 3, failed = 0, stopped = 0;
    while (upstream_left > 0) {
        if (pipeline_stop_signal && !stopped) {
            log_warn("run: signal %d: stopping every stage, nothing will be published",
                     (int)pipeline_stop_signal);
            chain_kill_last(&ch);
            chain_kill_all(&ch, SIGTERM);
            stopped = failed = 1;
        }
        int i = chain_wait_any(&ch);
        if (i == -1) {
            if (errno == EINTR) continue;
            break; /* ECHILD: nothing left */
        }
        if (i < 0) continue;
        if (i < 3) upstream_left--;
        if (!stage_ok(&st[i]) && !failed) {
            char how[64];
            log_error("run: stage %s failed (%s): nothing will be published", st[i].name,
                      chain_describe(&st[i], how, sizeof how));
            failed = 1;
            chain_kill_last(&ch);
        }
    }
    if (!failed) chain_open_gate(&ch); /* index build sees EOF and publishes */

    /* Collect the index build's summary line (bounded) until it exits. A
     * stopped index build gets PIPELINE_KILL_AFTER seconds, then SIGKILL. */
    size_t olen = 0, ocap = 4096;
    output = malloc(ocap);
    double kill_at = failed ? pipeline_now() + PIPELINE_KILL_AFTER : 0;
    for (;;) {
        if (pipeline_stop_signal && !stopped) {
            chain_kill_last(&ch);
            stopped = failed = 1;
            kill_at = pipeline_now() + PIPELINE_KILL_AFTER;
        }
        if (kill_at && pipeline_now() > kill_at) {
            log_warn("run: index build did not stop: killing it");
            chain_kill_all(&ch, SIGKILL);
            kill_at = 0;
        }
        struct pollfd pfd = {.fd = ch.output_fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        char scratch[4096], *dst = scratch;
        size_t room = sizeof scratch;
        if (output && olen + 1 < ocap) {
            dst = output + olen;
            room = ocap - olen - 1;
        } else if (output && ocap < PIPELINE_MAX_OUTPUT) {
            char *no = realloc(output, ocap * 2);
            if (no) {
                output = no;
                ocap *= 2;
                dst = output + olen;
                room = ocap - olen - 1;
            }
        }
        ssize_t n = read(ch.output_fd, dst, room);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* EOF: the index build is gone */
        if (dst != scratch) olen += (size_t)n;
    }
    if (output) output[olen] = '\0';
    close(ch.output_fd);
    while (!st[3].done) {
        int i = chain_wait_any(&ch);
        if (i == -1 && errno != EINTR) break;
    }
    chain_open_gate(&ch);
    if (!stage_ok(&st[3])) failed = 1;

    int any_rejected = 0;
    json_t *stages = json_array();
    for (int i = 0; i < 4; i++) {
        char how[64];
        int code = st[i].done ? chain_exit_code(&st[i]) : -1;
        if (code == NZ_EXIT_REJECTED) any_rejected = 1;
        json_array_append_new(stages,
                              json_pack("{s:s,s:s,s:i,s:f}", "name", st[i].name, "result",
                                        chain_describe(&st[i], how, sizeof how), "exit", code,
                                        "seconds", (double)(long)(st[i].seconds * 1000) / 1000));
    }
    json_t *index = NULL;
    if (!failed && output) {
        char *nl = strchr(output, '\n');
        if (nl) *nl = '\0';
        index = json_loads(output, 0, NULL);
    }
    exit_code = failed ? NZ_EXIT_FAIL : any_rejected ? NZ_EXIT_REJECTED : NZ_EXIT_OK;
    summary = json_pack("{s:s,s:i,s:s,s:o,s:o*,s:f}", "status", failed ? "failed" : "published",
                        "exit", exit_code, "index_path", root, "stages", stages, "index", index,
                        "seconds", (double)(long)((pipeline_now() - t0) * 1000) / 1000);
    if (summary) {
        char *s = json_dumps(summary, JSONL_DUMP_FLAGS);
        if (s) {
            puts(s);
            free(s);
        }
    }
    if (fflush(stdout) != 0) exit_code = NZ_EXIT_FAIL;
    goto out;
oom:
    log_error("out of memory");
out:
    json_decref(summary);
    free(output);
    for (int i = 0; i < 4; i++) free(exe[i]);
    free(bin);
    return exit_code;
}

int main(int argc, char **argv) {
    log_init("nz-pipeline");
    if (argc < 2) {
        usage(stderr);
        return NZ_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return NZ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nz-pipeline %s\n", NZ_VERSION);
        return NZ_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    log_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return NZ_EXIT_USAGE;
}

/* fuzz_fvecs.c -- libFuzzer target: the .fvecs reader (fvecs.h), as
 * `nz-index build --fvecs` and the query bench read a file.
 *
 * The input is written to a file, loaded whole with fvecs_load() (the
 * bench's queries), then built with build_run() (ingest_fvecs: row by row
 * into a flat snapshot; every row's d, length and values checked). The
 * oracle: a file fvecs_load accepts with n rows builds a snapshot of n
 * rows (or is refused for a zero row, which only the builder checks), and
 * one it refuses is refused by the build too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "build.h"
#include "fvecs.h"
#include "fuzzio.h"
#include "status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_quiet("fuzz-fvecs");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("rows.fvecs");
    fuzz_write(path, data, size);
    char err[512], root[512];
    uint64_t rows = 0;
    uint32_t dim = 0;
    float *all = fvecs_load(path, &rows, &dim, err, sizeof err);
    free(all);
    snprintf(root, sizeof root, "%s/index", fuzz_dir());
    build_opts o = {.root = root, .fvecs = path, .keep = 1, .flat = 1, .tool = "fuzz-fvecs"};
    build_result r;
    int rc = build_run(&o, &r, err, sizeof err);
    if (rc == NZ_OK) {
        if (!all || r.count != rows || r.dim != dim) {
            fprintf(stderr, "fuzz-fvecs: built %llu rows of %u, fvecs_load said %s\n",
                    (unsigned long long)r.count, r.dim, all ? "otherwise" : "no");
            abort();
        }
        build_result_free(&r);
    } else if (rc != NZ_EINVAL) {
        fprintf(stderr, "fuzz-fvecs: build failed: %s (%s)\n", nz_strerror(rc), err);
        abort();
    }
    return 0;
}

/* test_archive.c -- unit tests of index/tarball's entry checks: which
 * names and paths an imported tarball may hold. */
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "tarball.h"
#include "unit.h"

#define SNAP "snap-20261201T144310.696063510Z"

UNIT_TEST(tarball_name_ok_takes_snapshot_files) {
    CHECK(tarball_name_ok("MANIFEST.json"));
    CHECK(tarball_name_ok("vectors.bin"));
    CHECK(tarball_name_ok(SNAP));
    CHECK(tarball_name_ok("a_b-c.d"));
}

UNIT_TEST(tarball_name_ok_refuses_dots_slashes_and_odd_bytes) {
    const char *bad[] = {"",    ".",    "..",          ".tmp-snap-x", ".hidden", "a/b",   "/abs",
                         "a b", "a\\b", "caf\xc3\xa9", "a\nb",        "x:y",     "*.bin", "~root"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(!tarball_name_ok(bad[i]));
    char longest[TARBALL_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[TARBALL_NAME_MAX] = '\0';
    CHECK(tarball_name_ok(longest));
    longest[TARBALL_NAME_MAX] = 'a';
    longest[TARBALL_NAME_MAX + 1] = '\0';
    CHECK(!tarball_name_ok(longest));
}

UNIT_TEST(tarball_path_split_takes_folder_and_file) {
    char folder[TARBALL_NAME_MAX + 1], file[TARBALL_NAME_MAX + 1];
    CHECK(tarball_path_split(SNAP "/MANIFEST.json", folder, file) == NZ_OK);
    CHECK_STR(folder, SNAP);
    CHECK_STR(file, "MANIFEST.json");
    CHECK(tarball_path_split(SNAP "/graph.bin", folder, file) == NZ_OK);
    CHECK_STR(file, "graph.bin");
}

UNIT_TEST(tarball_path_split_refuses_traversal_absolute_and_depth) {
    char folder[TARBALL_NAME_MAX + 1], file[TARBALL_NAME_MAX + 1];
    const char *bad[] = {
        "../evil",
        SNAP "/../evil",
        SNAP "/../../etc/passwd",
        "/etc/passwd",
        "/" SNAP "/vectors.bin",
        "./" SNAP "/vectors.bin",
        SNAP "/./vectors.bin",
        SNAP "//vectors.bin",
        SNAP "/",
        SNAP,
        SNAP "/sub/vectors.bin",
        SNAP "/..",
        SNAP "/.hidden",
        "data/vectors.bin", /* not a snapshot folder */
        ".tmp-" SNAP "/vectors.bin",
        "snap-x/vec tors.bin",
        "",
        "/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (tarball_path_split(bad[i], folder, file) != NZ_EINVAL) {
            fprintf(stderr, "# accepted: %s\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(tarball_path_split(NULL, folder, file) == NZ_EINVAL);
}

UNIT_TEST(tarball_path_split_bounds_each_part) {
    char folder[TARBALL_NAME_MAX + 1], file[TARBALL_NAME_MAX + 1];
    char p[3 * TARBALL_NAME_MAX];
    snprintf(p, sizeof p, "snap-%0*d/x.bin", TARBALL_NAME_MAX - 5, 0); /* folder at the bound */
    CHECK(tarball_path_split(p, folder, file) == NZ_OK);
    snprintf(p, sizeof p, "snap-%0*d/x.bin", TARBALL_NAME_MAX - 4, 0); /* one past */
    CHECK(tarball_path_split(p, folder, file) == NZ_EINVAL);
    snprintf(p, sizeof p, "snap-a/%0*d", TARBALL_NAME_MAX + 1, 0);
    CHECK(tarball_path_split(p, folder, file) == NZ_EINVAL);
}

UNIT_TEST(tarball_import_refuses_a_missing_file_and_leaves_the_root_clean) {
    char err[512] = "", in[512], root[512];
    tarball_result r;
    snprintf(in, sizeof in, "%s/none.tar.gz", unit_tmpdir());
    snprintf(root, sizeof root, "%s/root", unit_tmpdir());
    CHECK(tarball_import(in, root, &r, err, sizeof err) == NZ_EIO);
    CHECK(strstr(err, "none.tar.gz") != NULL);
    char cur[600];
    snprintf(cur, sizeof cur, "%s/current", root);
    FILE *f = fopen(cur, "r");
    CHECK(f == NULL);
}

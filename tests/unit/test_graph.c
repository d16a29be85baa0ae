/* test_graph.c -- unit tests of the graph index: every kernel path against
 * the portable one, int8 quantisation, the beam and visited set, recall
 * against the exact scan (the oracle), byte-identical builds whatever the
 * thread count, filters during the walk, and the .fvecs reader. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beam.h"
#include "builder.h"
#include "fvecs.h"
#include "graph.h"
#include "graph_search.h"
#include "kernels.h"
#include "publish.h"
#include "flat.h"
#include "search.h"
#include "snapshot.h"
#include "status.h"
#include "unit.h"

static unsigned long long g_rng = 99;
static double grnd(void) { /* uniform in [0, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}
static float gauss(void) {
    double u = grnd() + 1e-12, v = grnd();
    return (float)(sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

UNIT_TEST(kernel_paths_agree_with_portable) {
    const kern_ops *ref = kern_ops_for(KERN_PORTABLE);
    CHECK(ref != NULL);
    int tested = 0;
    for (int p = 0; p < KERN_NPATHS; p++) {
        const kern_ops *ops = kern_ops_for((kern_path)p);
        if (!ops) {
            printf("# kernel path %s: not on this CPU, not tested here\n",
                   kern_path_name((kern_path)p));
            continue;
        }
        tested++;
        for (size_t n = 1; n <= 1600; n += (n < 130 ? 1 : 97)) {
            float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
            int8_t *ca = malloc(n), *cb = malloc(n);
            CHECK(a && b && ca && cb);
            double mag = 0;
            for (size_t i = 0; i < n; i++) {
                a[i] = gauss();
                b[i] = gauss();
                mag += fabs((double)a[i] * b[i]);
                /* extremes included: -127 and 127 */
                ca[i] = (int8_t)(i % 17 == 0   ? 127
                                 : i % 19 == 0 ? -127
                                               : (int)(grnd() * 255) - 127);
                cb[i] = (int8_t)(i % 23 == 0   ? -127
                                 : i % 29 == 0 ? 127
                                               : (int)(grnd() * 255) - 127);
            }
            /* int8: exact, every path */
            CHECK(ops->dot_i8(ca, cb, n) == ref->dot_i8(ca, cb, n));
            /* float: within 1e-5 of sum |a_i b_i| */
            CHECK(fabs((double)ops->dot(a, b, n) - (double)ref->dot(a, b, n)) <= 1e-5 * mag + 1e-6);
            free(a);
            free(b);
            free(ca);
            free(cb);
        }
    }
    CHECK(tested >= 1);
    printf("# kernel paths tested: %d; active: %s\n", tested, kern_path_name(kern_active()));
}

UNIT_TEST(quantise_error_is_half_a_step) {
    float x[300];
    int8_t c[300];
    for (int i = 0; i < 300; i++) x[i] = gauss();
    kern_normalise(x, 300);
    float sc = kern_quantise(x, 300, c);
    CHECK(sc > 0);
    for (int i = 0; i < 300; i++) CHECK(fabsf(x[i] - sc * c[i]) <= sc * 0.5f + 1e-7f);
    float zero[8] = {0};
    CHECK(kern_quantise(zero, 8, c) == 0 && c[0] == 0 && c[7] == 0);
}

UNIT_TEST(beam_keeps_best_sorted_and_visited_grows) {
    beam b;
    CHECK(beam_init(&b, 5) == 0);
    float d[] = {0.5f, 0.1f, 0.9f, 0.3f, 0.1f, 0.7f, 0.2f, 0.05f};
    for (uint32_t i = 0; i < 8; i++) beam_insert(&b, d[i], i);
    CHECK(b.n == 5);
    CHECK(b.v[0].id == 7 && b.v[1].id == 1 && b.v[2].id == 4 && b.v[3].id == 6 && b.v[4].id == 3);
    CHECK(beam_next(&b) == 0 && beam_next(&b) == 1);
    beam_insert(&b, 0.01f, 42); /* lands before the cursor: expanded next */
    CHECK(b.v[beam_next(&b)].id == 42);
    beam_free(&b);
    visited v;
    CHECK(visited_init(&v, 4) == 0);
    for (uint32_t i = 0; i < 1000; i++) CHECK(visited_add(&v, i * 7919u) == 1);
    for (uint32_t i = 0; i < 1000; i++) CHECK(visited_add(&v, i * 7919u) == 0);
    visited_reset(&v);
    CHECK(visited_add(&v, 0) == 1);
    visited_free(&v);
}

#define G_N 3000
#define G_DIM 64
#define G_LATENT 8

/* Clustered rows of low intrinsic dimension, like text embeddings. */
static float *clustered(int n, unsigned long long seed) {
    g_rng = seed;
    static float basis[G_LATENT][G_DIM], centers[20][G_LATENT];
    for (int l = 0; l < G_LATENT; l++)
        for (int d = 0; d < G_DIM; d++) basis[l][d] = gauss();
    for (int c = 0; c < 20; c++)
        for (int l = 0; l < G_LATENT; l++) centers[c][l] = gauss() * 2;
    float *x = malloc((size_t)n * G_DIM * sizeof *x);
    if (!x) return NULL;
    for (int i = 0; i < n; i++) {
        int c = (int)(grnd() * 20);
        float z[G_LATENT];
        for (int l = 0; l < G_LATENT; l++) z[l] = centers[c][l] + gauss() * 0.6f;
        for (int d = 0; d < G_DIM; d++) {
            float s = 0.05f * gauss();
            for (int l = 0; l < G_LATENT; l++) s += z[l] * basis[l][d];
            x[(size_t)i * G_DIM + d] = s;
        }
    }
    return x;
}

/* Publish a graph snapshot of the rows under root. */
static int build_graph(const char *root, const float *x, int n, int threads) {
    char err[256], *name = NULL, *tmp = NULL;
    index_root ir;
    if (root_lock(&ir, root, err, sizeof err) < 0 ||
        root_begin(&ir, &name, &tmp, err, sizeof err) < 0)
        return -1;
    index_builder *b = builder_open(tmp, err, sizeof err);
    graph_params gp = {.degree = 24, .build_ef = 64, .alpha = 1.2f, .seed = 5, .threads = threads};
    if (!b || builder_set_graph(b, &gp, NULL, NULL) < 0) return -1;
    for (int r = 0; r < n; r++) {
        char id[32], doc[32];
        snprintf(id, sizeof id, "c%d", r);
        snprintf(doc, sizeof doc, "d%d", r / 10);
        builder_meta m = {.page = r};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = doc;
        m.f[NZI_F_URI] = r % 2 ? "file:///odd/" : "file:///even/";
        m.f[NZI_F_LANG] = r % 3 ? "en" : "id";
        if (builder_add(b, x + (size_t)r * G_DIM, G_DIM, &m, err, sizeof err) < 0) return -1;
    }
    manifest_build mb = {
        .snapshot = name, .created = 1, .tool = "test", .provider = "test", .model = "clustered"};
    int rc = builder_finish(b, &mb, err, sizeof err);
    if (rc < 0) fprintf(stderr, "build_graph: %s\n", err);
    builder_free(b);
    if (rc == 0) rc = root_publish(&ir, name, tmp, err, sizeof err);
    root_unlock(&ir);
    free(name);
    free(tmp);
    return rc;
}

/* mean recall@k of the graph against the exact scan over nq queries */
static double graph_recall(const snapshot *s, const float *queries, int nq, size_t k, size_t ef,
                           const search_filter *f) {
    long hit = 0, want = 0;
    for (int q = 0; q < nq; q++) {
        topk_hit ex[100], gr[100];
        search_params p = {.k = k, .ef = ef, .filter = f, .threads = 1};
        long ne = flat_search(s, queries + (size_t)q * G_DIM, &p, ex);
        long ng = graph_search(s, queries + (size_t)q * G_DIM, &p, gr);
        if (ne < 0 || ng < 0) return -1;
        want += ne;
        for (long i = 0; i < ne; i++)
            for (long j = 0; j < ng; j++)
                if (ex[i].id == gr[j].id) {
                    hit++;
                    break;
                }
    }
    return want ? (double)hit / (double)want : 1.0;
}

static float *queries_for(int nq) {
    float *q = clustered(nq, 777);
    for (int i = 0; q && i < nq; i++) kern_normalise(q + (size_t)i * G_DIM, G_DIM);
    return q;
}

UNIT_TEST(graph_recall_against_exact_scan) {
    const char *root = unit_tmpdir();
    float *x = clustered(G_N, 1234), *q = queries_for(100);
    CHECK(x && q);
    CHECK(build_graph(root, x, G_N, 2) == 0);
    char err[256];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    CHECK(s->adj != NULL && !strcmp(s->kind, "vamana") && s->degree == 24 && s->entry < G_N);
    CHECK(snapshot_verify(s, err, sizeof err) == 0);
    double r_hi = graph_recall(s, q, 100, 10, 200, NULL);
    double r_lo = graph_recall(s, q, 100, 10, 20, NULL);
    printf("# recall@10: ef=200 %.4f, ef=20 %.4f\n", r_hi, r_lo);
    CHECK(r_hi >= 0.99);
    CHECK(r_lo >= 0.85);
    /* index_search walks the graph; exact forces the scan */
    topk_hit a[10], b[10];
    search_params pe = {.k = 10, .ef = 200, .exact = 1}, pg = {.k = 10, .ef = 200};
    CHECK(index_search(s, q, &pe, a) == 10 && flat_search(s, q, &pe, b) == 10);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(index_search(s, q, &pg, a) == 10);
    for (int i = 1; i < 10; i++) CHECK(a[i - 1].score >= a[i].score);
    snapshot_close(s);
    free(x);
    free(q);
}

static int files_equal(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    while (eq) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb) eq = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return eq;
}

UNIT_TEST(graph_build_is_byte_identical_whatever_the_threads) {
    const char *base = unit_tmpdir();
    char r1[4096], r2[4096], r3[4096];
    snprintf(r1, sizeof r1, "%s/one", base);
    snprintf(r2, sizeof r2, "%s/two", base);
    snprintf(r3, sizeof r3, "%s/four", base);
    float *x = clustered(1500, 4321);
    CHECK(x != NULL);
    CHECK(build_graph(r1, x, 1500, 1) == 0);
    CHECK(build_graph(r2, x, 1500, 2) == 0);
    CHECK(build_graph(r3, x, 1500, 4) == 0);
    const char *files[] = {NZI_GRAPH, NZI_CODES, NZI_VECTORS, NZI_CHUNKS};
    for (int f = 0; f < 4; f++) {
        char a[8192], b[8192], c[8192];
        snprintf(a, sizeof a, "%s/current/%s", r1, files[f]);
        snprintf(b, sizeof b, "%s/current/%s", r2, files[f]);
        snprintf(c, sizeof c, "%s/current/%s", r3, files[f]);
        CHECK(files_equal(a, b));
        CHECK(files_equal(a, c));
    }
    free(x);
}

UNIT_TEST(graph_filters_return_only_matching_rows) {
    const char *root = unit_tmpdir();
    float *x = clustered(G_N, 1234), *q = queries_for(30);
    CHECK(x && q);
    CHECK(build_graph(root, x, G_N, 2) == 0);
    char err[256];
    snapshot *s = snapshot_open(root, err, sizeof err);
    CHECK(s != NULL);
    /* a third of the rows: walked with the filter */
    search_filter lang = {.lang = "id"};
    search_filter both = {.lang = "en", .uri_prefix = "file:///odd/"};
    search_filter doc = {.doc_id = "d42"}; /* 10 rows: exact scan of matches */
    for (int qi = 0; qi < 30; qi++) {
        topk_hit h[20];
        search_params p = {.k = 20, .ef = 64, .filter = &lang};
        long n = graph_search(s, q + (size_t)qi * G_DIM, &p, h);
        CHECK(n == 20);
        for (long i = 0; i < n; i++) CHECK(h[i].id % 3 == 0);
        p.filter = &both;
        n = graph_search(s, q + (size_t)qi * G_DIM, &p, h);
        CHECK(n == 20);
        for (long i = 0; i < n; i++) CHECK(h[i].id % 3 != 0 && h[i].id % 2 == 1);
        p.filter = &doc;
        n = graph_search(s, q + (size_t)qi * G_DIM, &p, h);
        CHECK(n == 10);
        for (long i = 0; i < n; i++) CHECK(h[i].id / 10 == 42);
    }
    double r = graph_recall(s, q, 30, 10, 64, &lang);
    printf("# filtered recall@10 (lang, 1/3 of rows), ef=64: %.4f\n", r);
    CHECK(r >= 0.9);
    snapshot_close(s);
    free(x);
    free(q);
}

UNIT_TEST(graph_snapshot_with_a_flipped_byte_fails_verify) {
    const char *root = unit_tmpdir();
    float *x = clustered(500, 55);
    CHECK(x != NULL);
    CHECK(build_graph(root, x, 500, 2) == 0);
    free(x);
    const char *files[] = {NZI_GRAPH, NZI_CODES};
    for (int f = 0; f < 2; f++) {
        char path[8192], err[256];
        snprintf(path, sizeof path, "%s/current/%s", root, files[f]);
        CHECK(unit_flip_byte(path, 3000, 0x01) == 0);
        snapshot *s = snapshot_open(root, err, sizeof err);
        CHECK(s != NULL);
        CHECK(snapshot_verify(s, err, sizeof err) < 0 && strstr(err, files[f]) != NULL);
        snapshot_close(s);
        CHECK(unit_flip_byte(path, 3000, 0x01) == 0); /* back */
    }
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

UNIT_TEST(fvecs_reader_names_bad_rows) {
    const char *dir = unit_tmpdir();
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/x.fvecs", dir);
    struct {
        int32_t d;
        float v[3];
    } rows[3] = {{3, {1, 2, 3}}, {3, {4, 5, 6}}, {3, {7, 8, 9}}};
    write_file(path, rows, sizeof rows);
    uint64_t n;
    uint32_t dim;
    float *all = fvecs_load(path, &n, &dim, err, sizeof err);
    CHECK(all && n == 3 && dim == 3 && all[8] == 9);
    free(all);
    write_file(path, rows, sizeof rows - 2); /* truncated */
    CHECK(fvecs_load(path, &n, &dim, err, sizeof err) == NULL && strstr(err, "truncated in row 2"));
    rows[1].d = 4; /* wrong dimension */
    write_file(path, rows, sizeof rows);
    CHECK(fvecs_load(path, &n, &dim, err, sizeof err) == NULL &&
          strstr(err, "row 1 has dimension 4"));
    rows[1].d = 3;
    rows[2].v[1] = NAN;
    write_file(path, rows, sizeof rows);
    CHECK(fvecs_load(path, &n, &dim, err, sizeof err) == NULL && strstr(err, "row 2 has a NaN"));
    write_file(path, "", 0);
    CHECK(fvecs_load(path, &n, &dim, err, sizeof err) == NULL && strstr(err, "empty"));
}

/* Wide rows: the reader's buffer starts at a few rows of dimension 65536
 * and grows; every row comes back whole and in order. */
UNIT_TEST(fvecs_load_grows_wide_rows) {
    enum { D = 65536, ROWS = 11 };
    const char *dir = unit_tmpdir();
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/wide.fvecs", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    float *row = malloc(D * sizeof *row);
    CHECK(row != NULL);
    for (int r = 0; r < ROWS && f && row; r++) {
        int32_t d = D;
        for (int i = 0; i < D; i++) row[i] = (float)(r * 7 + i % 5);
        CHECK(fwrite(&d, sizeof d, 1, f) == 1 && fwrite(row, sizeof *row, D, f) == D);
    }
    if (f) fclose(f);
    free(row);
    uint64_t n = 0;
    uint32_t dim = 0;
    float *all = fvecs_load(path, &n, &dim, err, sizeof err);
    CHECK(all && n == ROWS && dim == D);
    for (int r = 0; all && r < ROWS; r++)
        CHECK(all[(size_t)r * D] == (float)(r * 7) &&
              all[(size_t)r * D + D - 1] == (float)(r * 7 + (D - 1) % 5));
    free(all);
}

/* ---- incremental graphs (graph_update): generations of a base with rows
 * dropped and rows added, against the exact scan and a full rebuild. */

#define U_BASE 5000
#define U_CHURN 250 /* 5% dropped and 5% new each generation */
#define U_GENS 3
#define U_NQ 200

/* One generation's rows, as a snapshot in memory (no files: vec_fd -1
 * makes the re-rank read the vectors from memory). */
typedef struct u_gen {
    int n;
    uint32_t *ids; /* row -> row of the pool */
    float *vec;
    int8_t *codes;
    uint32_t *adj;
    uint32_t entry;
} u_gen;

static const graph_params u_params = {.degree = GRAPH_DEFAULT_DEGREE,
                                      .build_ef = GRAPH_DEFAULT_BUILD_EF,
                                      .alpha = GRAPH_DEFAULT_ALPHA,
                                      .seed = GRAPH_DEFAULT_SEED,
                                      .threads = 2};

/* Vectors, codes and room for edges for g->ids from the (normalised) pool. */
static int u_fill(u_gen *g, const float *pool) {
    size_t stride = (size_t)nzi_code_stride(G_DIM), so = (size_t)nzi_code_scale_off(G_DIM);
    g->vec = malloc((size_t)g->n * G_DIM * sizeof *g->vec);
    g->codes = calloc((size_t)g->n, stride);
    g->adj = malloc((size_t)g->n * u_params.degree * sizeof *g->adj);
    if (!g->vec || !g->codes || !g->adj) return -1;
    for (int r = 0; r < g->n; r++) {
        float *v = g->vec + (size_t)r * G_DIM;
        memcpy(v, pool + (size_t)g->ids[r] * G_DIM, G_DIM * sizeof *v);
        float sc = kern_quantise(v, G_DIM, g->codes + (size_t)r * stride);
        memcpy(g->codes + (size_t)r * stride + so, &sc, sizeof sc);
    }
    return 0;
}

static void u_free(u_gen *g) {
    free(g->ids);
    free(g->vec);
    free(g->codes);
    free(g->adj);
}

static graph_codes u_codes(const u_gen *g) {
    return (graph_codes){.codes = g->codes,
                         .stride = (size_t)nzi_code_stride(G_DIM),
                         .scale_off = (size_t)nzi_code_scale_off(G_DIM),
                         .n = (uint64_t)g->n,
                         .dim = G_DIM};
}

/* recall@10 at the default ef of the graph adj (entry) over g's rows */
static double u_recall(const u_gen *g, const uint32_t *adj, uint32_t entry, const float *q) {
    snapshot s = {.dim = G_DIM,
                  .count = (uint64_t)g->n,
                  .vectors = g->vec,
                  .codes = g->codes,
                  .code_stride = (size_t)nzi_code_stride(G_DIM),
                  .scale_off = (size_t)nzi_code_scale_off(G_DIM),
                  .adj = adj,
                  .degree = u_params.degree,
                  .entry = entry,
                  .kind = "vamana",
                  .vec_fd = -1};
    return graph_recall(&s, q, U_NQ, 10, 0, NULL);
}

/* The next generation: ndrop rows of prev dropped (seeded), nnew rows
 * from the pool at first_new put first, then the carried rows in order;
 * map[b] = the new row of prev's row b, or GRAPH_EMPTY. */
static int u_next(const u_gen *prev, int ndrop, int nnew, int first_new, uint32_t *map, u_gen *g) {
    unsigned char *gone = calloc((size_t)prev->n, 1);
    if (!gone) return -1;
    for (int k = 0; k < ndrop;) {
        int r = (int)(grnd() * prev->n);
        if (!gone[r]) gone[r] = 1, k++;
    }
    g->n = prev->n - ndrop + nnew;
    g->ids = malloc((size_t)g->n * sizeof *g->ids);
    if (!g->ids) {
        free(gone);
        return -1;
    }
    for (int i = 0; i < nnew; i++) g->ids[i] = (uint32_t)(first_new + i);
    int at = nnew;
    for (int b = 0; b < prev->n; b++) {
        map[b] = gone[b] ? GRAPH_EMPTY : (uint32_t)at;
        if (!gone[b]) g->ids[at++] = prev->ids[b];
    }
    free(gone);
    return 0;
}

/* Normalised rows harder than clustered(): loose clusters in all G_DIM
 * dimensions, so recall at the default ef is below 1 and can drop. */
static float *u_pool(int n, unsigned long long seed) {
    g_rng = seed;
    static float centers[50][G_DIM];
    for (int c = 0; c < 50; c++)
        for (int d = 0; d < G_DIM; d++) centers[c][d] = gauss();
    float *x = malloc((size_t)n * G_DIM * sizeof *x);
    for (int i = 0; x && i < n; i++) {
        int c = (int)(grnd() * 50);
        for (int d = 0; d < G_DIM; d++) x[(size_t)i * G_DIM + d] = centers[c][d] + 3.0f * gauss();
        kern_normalise(x + (size_t)i * G_DIM, G_DIM);
    }
    return x;
}

UNIT_TEST(graph_update_keeps_recall_over_generations) {
    int total = U_BASE + U_GENS * U_CHURN;
    float *pool = u_pool(total + U_NQ, 2468);
    CHECK(pool != NULL);
    const float *q = pool + (size_t)total * G_DIM; /* queries: never indexed */
    char err[256];
    u_gen prev = {.n = U_BASE, .ids = malloc(U_BASE * sizeof(uint32_t))};
    CHECK(prev.ids != NULL);
    for (int i = 0; i < U_BASE; i++) prev.ids[i] = (uint32_t)i;
    CHECK(u_fill(&prev, pool) == 0);
    graph_codes c0 = u_codes(&prev);
    CHECK(graph_build(&c0, &u_params, prev.adj, &prev.entry, NULL, NULL, err, sizeof err) == 0);
    printf("# generation 0: %d rows, recall@10 %.4f\n", prev.n,
           u_recall(&prev, prev.adj, prev.entry, q));
    g_rng = 13579;
    for (int gen = 1; gen <= U_GENS; gen++) {
        u_gen g = {0};
        uint32_t *map = malloc((size_t)prev.n * sizeof *map);
        CHECK(map && u_next(&prev, U_CHURN, U_CHURN, U_BASE + (gen - 1) * U_CHURN, map, &g) == 0);
        CHECK(u_fill(&g, pool) == 0);
        graph_codes c = u_codes(&g);
        graph_base gb = {.adj = prev.adj,
                         .count = (uint64_t)prev.n,
                         .degree = u_params.degree,
                         .entry = prev.entry,
                         .map = map};
        graph_stats st, st1;
        CHECK(graph_update(&c, &u_params, &gb, g.adj, &g.entry, &st, NULL, NULL, err, sizeof err) ==
              0);
        CHECK(st.inserted == U_CHURN && st.kept + st.repaired == (uint64_t)(prev.n - U_CHURN));
        CHECK(st.repaired > 0 && st.kept > 0);
        /* the same graph with one thread */
        graph_params p1 = u_params;
        p1.threads = 1;
        uint32_t *adj1 = malloc((size_t)g.n * u_params.degree * sizeof *adj1), e1;
        CHECK(adj1 != NULL);
        CHECK(graph_update(&c, &p1, &gb, adj1, &e1, &st1, NULL, NULL, err, sizeof err) == 0);
        CHECK(e1 == g.entry && st1.repaired == st.repaired);
        CHECK(memcmp(adj1, g.adj, (size_t)g.n * u_params.degree * sizeof *adj1) == 0);
        /* against a full rebuild of the same rows */
        uint32_t ef;
        CHECK(graph_build(&c, &u_params, adj1, &ef, NULL, NULL, err, sizeof err) == 0);
        double r_inc = u_recall(&g, g.adj, g.entry, q), r_full = u_recall(&g, adj1, ef, q);
        printf("# generation %d: %d rows (kept %llu, repaired %llu, inserted %llu), recall@10 "
               "incremental %.4f, full rebuild %.4f\n",
               gen, g.n, (unsigned long long)st.kept, (unsigned long long)st.repaired,
               (unsigned long long)st.inserted, r_inc, r_full);
        CHECK(r_inc >= r_full - 0.01);
        CHECK(r_inc >= 0.9);
        free(adj1);
        free(map);
        u_free(&prev);
        prev = g;
    }
    u_free(&prev);
    free(pool);
}

UNIT_TEST(graph_update_drop_only_keeps_untouched_lists) {
    float *pool = u_pool(1200, 97531);
    CHECK(pool != NULL);
    char err[256];
    u_gen prev = {.n = 1200, .ids = malloc(1200 * sizeof(uint32_t))}, g = {0};
    CHECK(prev.ids != NULL);
    for (int i = 0; i < 1200; i++) prev.ids[i] = (uint32_t)i;
    CHECK(u_fill(&prev, pool) == 0);
    graph_codes c0 = u_codes(&prev);
    CHECK(graph_build(&c0, &u_params, prev.adj, &prev.entry, NULL, NULL, err, sizeof err) == 0);
    uint32_t map[1200];
    g_rng = 4242;
    CHECK(u_next(&prev, 12, 0, 0, map, &g) == 0 && u_fill(&g, pool) == 0);
    graph_codes c = u_codes(&g);
    graph_base gb = {.adj = prev.adj, .count = 1200, .degree = u_params.degree, .map = map};
    gb.entry = prev.entry;
    graph_stats st;
    CHECK(graph_update(&c, &u_params, &gb, g.adj, &g.entry, &st, NULL, NULL, err, sizeof err) == 0);
    CHECK(st.inserted == 0 && st.kept > 0 && st.repaired > 0);
    CHECK(g.entry < (uint32_t)g.n);
    if (map[prev.entry] != GRAPH_EMPTY) CHECK(g.entry == map[prev.entry]);
    const uint32_t R = u_params.degree;
    uint64_t kept = 0;
    for (int b = 0; b < 1200; b++) {
        if (map[b] == GRAPH_EMPTY) continue;
        const uint32_t *ol = prev.adj + (size_t)b * R, *nl = g.adj + (size_t)map[b] * R;
        int lost = 0, same = 1;
        for (uint32_t j = 0; j < R; j++) {
            if (ol[j] != GRAPH_EMPTY && map[ol[j]] == GRAPH_EMPTY) lost = 1;
            uint32_t want = ol[j] == GRAPH_EMPTY ? GRAPH_EMPTY : map[ol[j]];
            if (nl[j] != want) same = 0;
            if (nl[j] != GRAPH_EMPTY) CHECK(nl[j] < (uint32_t)g.n && nl[j] != map[b]);
        }
        if (lost) continue;
        CHECK(same);
        kept++;
    }
    CHECK(kept == st.kept);
    /* a degree unlike the base's is refused */
    gb.degree = R + 1;
    CHECK(graph_update(&c, &u_params, &gb, g.adj, &g.entry, &st, NULL, NULL, err, sizeof err) ==
          NZ_EINVAL);
    u_free(&prev);
    u_free(&g);
    free(pool);
}

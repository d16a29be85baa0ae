/* ingest.c -- see ingest.h. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvecs.h"
#include "jsonl.h"
#include "log.h"
#include "status.h"
#include "vecb64.h"

static int ingest_stopped(const ingest *in) { return in->stop && *in->stop; }

/* The record's provider and model must be the index's (the first record's). */
static int ingest_embedding(ingest *in, const json_t *rec, const char *model, char *err,
                            size_t errlen) {
    const char *provider = jsonl_str(rec, "provider");
    if (!provider) provider = strncmp(model, "nz-hash", 7) == 0 ? "hash" : "openai";
    if (!in->provider[0]) {
        snprintf(in->provider, sizeof in->provider, "%s", provider);
        snprintf(in->model, sizeof in->model, "%s", model);
    } else if (strcmp(in->provider, provider) || strcmp(in->model, model)) {
        snprintf(err, errlen, "embedding %s/%s differs from the index's %s/%s", provider, model,
                 in->provider, in->model);
        return NZ_EINVAL;
    }
    return NZ_OK;
}

int ingest_record(ingest *in, const json_t *rec, char *err, size_t errlen) {
    const char *emb = jsonl_str(rec, "embedding");
    const char *model = jsonl_str(rec, "model");
    const char *chunk_id = jsonl_str(rec, "chunk_id"), *doc_id = jsonl_str(rec, "doc_id");
    float *v = NULL;
    int rc = NZ_ENOMEM;
    if (in->docs && doc_id && docset_add(in->docs, doc_id, strlen(doc_id)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = NZ_EINVAL;
    if (!emb || !model || !chunk_id || !doc_id) {
        snprintf(err, errlen, "record needs string fields embedding, model, chunk_id, doc_id");
        goto fail;
    }
    if (ingest_embedding(in, rec, model, err, errlen) < 0) goto fail;
    json_t *dimj = json_object_get(rec, "dim");
    long n = vecb64_decode(emb, strlen(emb), 0, &v);
    if (n == NZ_ENONFINITE) {
        snprintf(err, errlen, "embedding has a NaN or infinite value");
        goto fail;
    }
    if (n <= 0) {
        snprintf(err, errlen, "embedding is not base64 of float32 values");
        goto fail;
    }
    if (dimj && (!json_is_integer(dimj) || json_integer_value(dimj) != n)) {
        snprintf(err, errlen, "embedding has %ld values but \"dim\" says %lld", n,
                 (long long)json_integer_value(dimj));
        goto fail;
    }
    builder_meta m = {.page = (int32_t)jsonl_int(rec, "page", 0)};
    m.f[NZI_F_CHUNK_ID] = chunk_id;
    m.f[NZI_F_DOC_ID] = doc_id;
    m.f[NZI_F_URI] = jsonl_str(rec, "uri");
    m.f[NZI_F_TITLE] = jsonl_str(rec, "title");
    m.f[NZI_F_HEADING] = jsonl_str(rec, "heading");
    m.f[NZI_F_LANG] = jsonl_str(rec, "lang");
    m.f[NZI_F_TEXT] = jsonl_str(rec, "text");
    rc = builder_add(in->b, v, (uint32_t)n, &m, err, errlen);
fail:
    free(v);
    return rc;
}

/* One embedded.jsonl record (jsonl_each callback); -1 stops the input. */
static int ingest_each(void *ctx, json_t *rec, const char *name, size_t lineno) {
    ingest *in = ctx;
    char err[512];
    int rc = 0;
    in->records++;
    int brc = ingest_stopped(in) ? NZ_ESTOPPED : ingest_record(in, rec, err, sizeof err);
    if (brc == NZ_EINVAL) {
        const char *uri = jsonl_str(rec, "uri");
        log_reject(uri ? uri : name, "%s: line %zu: %s", name, lineno, err);
        in->rejected++;
    } else if (brc < 0) {
        if (brc != NZ_ESTOPPED) log_error("%s", err);
        rc = -1;
    }
    json_decref(rec);
    progress_add(&in->prog, 1);
    return rc;
}

int ingest_jsonl(ingest *in, FILE *fp, int nfiles, char *const *files, char *err, size_t errlen) {
    long bad_lines = 0;
    int failed = (fp ? jsonl_each_fp(fp, "-", 0, ingest_each, in, &bad_lines)
                     : jsonl_each(nfiles, files, 0, ingest_each, in, &bad_lines)) < 0;
    in->records += bad_lines;
    in->rejected += bad_lines;
    if (ingest_stopped(in)) return NZ_ESTOPPED;
    if (!failed) return NZ_OK;
    snprintf(err, errlen, "input could not be read to the end; nothing published");
    return NZ_EIO;
}

int ingest_fvecs(ingest *in, const char *path, char *err, size_t errlen) {
    fvecs_reader r;
    if (fvecs_open(&r, path, err, errlen) < 0) return NZ_EINVAL;
    float *v = malloc(r.dim * sizeof *v);
    int rc = NZ_ENOMEM;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(in->provider, sizeof in->provider, "fvecs");
    const char *base = strrchr(path, '/');
    snprintf(in->model, sizeof in->model, "%s", base ? base + 1 : path);
    if (in->docs && docset_add(in->docs, in->model, strlen(in->model)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (;;) {
        rc = NZ_ESTOPPED;
        if (ingest_stopped(in)) goto fail;
        rc = NZ_EINVAL;
        int n = fvecs_next(&r, v, err, errlen);
        if (n < 0) goto fail;
        if (n == 0) break;
        char id[32], e2[256];
        snprintf(id, sizeof id, "row-%llu", (unsigned long long)in->records);
        builder_meta m = {.page = 0};
        m.f[NZI_F_CHUNK_ID] = id;
        m.f[NZI_F_DOC_ID] = in->model;
        rc = builder_add(in->b, v, r.dim, &m, e2, sizeof e2);
        if (rc < 0) {
            snprintf(err, errlen, "%s: row %llu: %s", path, (unsigned long long)in->records, e2);
            goto fail;
        }
        in->records++;
        progress_add(&in->prog, 1);
    }
    rc = NZ_OK;
fail:
    free(v);
    fvecs_close(&r);
    return rc;
}

/* ingest.h -- the rows of a build: embedded.jsonl records, or an .fvecs
 * file, decoded and handed to a builder (builder.h).
 *
 * embedded.jsonl (nz-embed's output): one record per chunk, with the
 * base64 float32 "embedding" (vecb64.h), "model", "chunk_id", "doc_id",
 * and the chunk's metadata. Every record must use the first record's
 * provider and model, since an index answers only in one vector space. A
 * bad record is rejected (log_reject) and the build goes on.
 *
 * .fvecs (fvecs.h): row i becomes chunk "row-i" of doc <file name>, with
 * provider "fvecs". A bad row fails the whole input: skipping it would
 * shift every later id, and ids are what ANN benchmarks compare.
 *
 * Both check *stop (SIGTERM) before each row and count rows in prog.
 *
 * When in->docs is set, every doc_id the input names goes into it: each
 * record's "doc_id" (also a record then refused: the document has a new
 * version, whole or not), or the .fvecs file's name. A build with a base
 * (carry.h) leaves those documents' old rows out.
 */
#ifndef NZ_INGEST_H
#define NZ_INGEST_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "builder.h"
#include "docset.h"
#include "progress.h"

typedef struct ingest {
    index_builder *b;
    volatile sig_atomic_t *stop; /* may be NULL */
    docset *docs;                /* may be NULL: the input's doc_ids */
    char provider[64], model[256];
    long records, rejected; /* input records seen, and refused */
    progress prog;
} ingest;

/* Add one embedded.jsonl record. NZ_OK; NZ_EINVAL when the record is
 * refused (err says why); NZ_EIO or NZ_ENOMEM from the builder or the
 * docset (fatal). */
int ingest_record(ingest *in, const json_t *rec, char *err, size_t errlen);

/* Every record of the stream fp when not NULL (named "-"), else of the
 * named embedded.jsonl files (stdin when nfiles is 0).
 * Refused records and unreadable lines are logged and counted in
 * in->rejected. NZ_OK; NZ_ESTOPPED when *stop was set; NZ_EIO when the
 * input could not be read to the end or the builder failed (err set). */
int ingest_jsonl(ingest *in, FILE *fp, int nfiles, char *const *files, char *err, size_t errlen);

/* Every row of an .fvecs file. NZ_OK; NZ_EINVAL for a bad file or row;
 * NZ_EIO or NZ_ENOMEM when the builder failed; NZ_ESTOPPED. err set on
 * failure (not for NZ_ESTOPPED). */
int ingest_fvecs(ingest *in, const char *path, char *err, size_t errlen);

#endif

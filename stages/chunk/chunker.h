/* chunker.h -- structure-aware packing of a document's blocks into chunks.
 *
 * Sections (headings) are hard boundaries: a chunk never spans two. Inside
 * a section, whole blocks are packed until the next would pass max_tokens
 * (counted on what the embedder is sent: the context header, a blank line,
 * the text). A block too big on its own is split at sentence ends, and a
 * sentence too big at word boundaries. Each chunk carries the heading path
 * ("A > B") and the page of its first block.
 */
#ifndef NZ_CHUNKER_H
#define NZ_CHUNKER_H

#include <jansson.h>

typedef struct chunker_opts {
    long max_tokens;
} chunker_opts;

/* Chunk one docs.jsonl record. On success returns an array of chunk records
 * (every unknown field of the document copied through); on a bad record
 * returns NULL and writes the reason into err. */
json_t *chunker_chunk_doc(const json_t *doc, const chunker_opts *o, char *err, size_t errlen);

/* Split text into sentence spans: ends[i] is the byte offset after sentence
 * i. Returns the count, or -1 when out of memory. *ends is malloc'd. */
long chunker_sentences(const char *text, size_t len, size_t **ends);

#endif

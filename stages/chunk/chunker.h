/* chunker.h -- structure-aware chunks sized in exact cl100k_base tokens.
 *
 * A document's blocks are cut into sections at every heading; a chunk
 * never spans two sections. Inside a section the units are whole blocks;
 * a block too big for one chunk is cut into sentences (segment.h), a
 * sentence too big into words, a word too big at character boundaries (a
 * 100,000-letter "word" still becomes correct chunks). Tables too big are
 * cut between rows and every part repeats the header row; code is cut
 * between lines. Units are packed greedily; every chunk is then counted
 * exactly as sent (context, blank line, text) and never exceeds
 * max_tokens, nor BPE_MODEL_LIMIT (8,191) whatever the settings.
 *
 * overlap > 0 starts each chunk after the first of a section with the last
 * words of the previous one, up to `overlap` tokens. The record's
 * overlap_bytes says how many leading bytes of its text repeat what came
 * before: that overlap, or the header row a table part repeats. A chunk under
 * min_tokens is merged into its neighbour in the same section when they
 * fit together, or takes units from the chunk before it. With dedupe, a
 * chunk whose exact text already appeared in the document is dropped.
 */
#ifndef NZ_CHUNKER_H
#define NZ_CHUNKER_H

#include <jansson.h>

typedef struct chunker_opts {
    long max_tokens; /* per chunk, context included (<= 8191) */
    long min_tokens;
    long overlap;
    int dedupe;
} chunker_opts;

typedef struct chunker_stats {
    long chunks, duplicates, tokens;
} chunker_stats;

/* Chunk one docs.jsonl record: an array of chunk records (unknown fields
 * of the document copied to each), or NULL with the reason in err. */
json_t *chunker_chunk_doc(const json_t *doc, const chunker_opts *o, chunker_stats *st, char *err,
                          size_t errlen);

#endif

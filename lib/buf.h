/* buf.h -- the one growable byte buffer, in the manner of git's strbuf and
 * Redis's sds.
 *
 * A buf is a plain struct, so it lives on the stack or inside another
 * struct with no allocation until the first byte is added:
 *
 *     buf b = BUF_INIT;              // or buf_init(&b, max) for a cap
 *     if (buf_add(&b, p, n) < 0 || buf_addc(&b, '\n') < 0) goto fail;
 *     use(b.s, b.len);               // b.s is NUL-terminated after any add
 *     buf_free(&b);
 *
 * Invariants: once anything was added, `s[len] == '\0'` (text can be
 * handed to C string functions as it is, and binary data may hold NULs
 * before `len`); `len <= max` when a cap is set. Growth doubles, so n
 * appends cost O(n). A failed append leaves the buffer as it was and
 * returns NZ_ENOMEM, or NZ_ELIMIT when the cap would be passed; the
 * failure is also remembered (buf_failed) so a caller may append many
 * times and check once. buf_str() never returns NULL.
 */
#ifndef NZ_BUF_H
#define NZ_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *s;    /* NULL until the first append; NUL-terminated after it */
    size_t len; /* bytes in use, the NUL not counted */
    size_t cap; /* bytes allocated */
    size_t max; /* most bytes the buffer may hold; 0: no cap */
    int err;    /* the first failed append's status, or 0 */
} buf;

#define BUF_INIT \
    { NULL, 0, 0, 0, 0 }

void buf_init(buf *b, size_t max); /* empty, with a cap of max bytes (0: none) */
void buf_free(buf *b);             /* release; the buffer is empty and usable again */
void buf_reset(buf *b);            /* len = 0 and the error cleared; memory kept */

/* Room for `extra` more bytes (and the NUL). NZ_OK, NZ_ENOMEM, NZ_ELIMIT. */
int buf_grow(buf *b, size_t extra);
int buf_add(buf *b, const void *p, size_t n);
int buf_adds(buf *b, const char *s);
int buf_addc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);

void buf_truncate(buf *b, size_t len); /* shorten to len (no-op if longer) */
const char *buf_str(const buf *b);     /* the text, "" when nothing was added */
int buf_failed(const buf *b);          /* the first failed append's status, or 0 */

/* Hand the bytes to the caller (malloc'd, NUL-terminated, never NULL
 * unless out of memory); the buffer is left empty. *len may be NULL. */
char *buf_detach(buf *b, size_t *len);

#endif

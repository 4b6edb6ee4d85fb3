/*
 * buf.h - a growable byte buffer with a mandatory maximum size (curl's dynbuf, git's strbuf).
 *
 * Growing past `max` is an error (-E2BIG), never an out-of-memory crash, so a misbehaving
 * server or a hostile file cannot make the daemon allocate without bound.  The contents are
 * always NUL-terminated (the terminator is not counted in len), so text can be used as a C
 * string directly.
 */
#ifndef MVBACKUPFS_BUF_H
#define MVBACKUPFS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *p;	/* NULL until the first append */
	size_t len;	/* bytes used, excluding the NUL terminator */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard upper bound for len */
};

#define BUF_INIT(maxlen) { NULL, 0, 0, (maxlen) }

/* Initialise an empty buffer that may grow to `max` bytes.  Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Append n bytes.  Returns 0, -E2BIG past max, -ENOMEM. */
int buf_add(struct buf *b, const void *data, size_t n);

/* Append a C string. */
int buf_adds(struct buf *b, const char *s);

/* Append printf-style. */
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Make room for n more bytes without changing len (for read()-style fills at p + len). */
int buf_reserve(struct buf *b, size_t n);

/* Forget the contents, keep the allocation. */
void buf_reset(struct buf *b);

/* Free the allocation; the buffer is empty and reusable (max is kept). */
void buf_release(struct buf *b);

/* Hand the allocation to the caller (who frees it); the buffer is left empty.  Never NULL:
 * an empty buffer yields an allocated "". Returns NULL only on allocation failure. */
char *buf_detach(struct buf *b, size_t *len);

/*
 * Growable arrays (git's ALLOC_GROW): make room for element number `n` (0-based) of the array
 * `v`, which has room for `cap` elements, doubling it (to at least `first`) when full.
 * `v` and `cap` are lvalues, updated in place.  Evaluates to 0, or -ENOMEM with `v` and
 * `cap` unchanged.  The caller bounds `n` (style: every array has a limit).
 */
#define ARRAY_GROW(v, n, cap, first) \
	array_grow_((void *)&(v), (n), &(cap), sizeof(*(v)), (first))
int array_grow_(void *pv, size_t n, size_t *cap, size_t elem, size_t first);

#endif

/*
 * err.h - the human half of an error.
 *
 * Functions return 0 or -errno (the FUSE convention, so a code travels unchanged to the
 * syscall).  The sentence that explains it travels separately, in a caller-owned
 * struct errmsg (curl's failf idea): it feeds the log and .status.  Every API that can fail
 * for a reason worth telling takes a `struct errmsg *err` as its last argument; NULL is
 * always allowed and means "the caller does not want the sentence".
 *
 * Style of messages (style.md): lower-case, no full stop, error first, subject quoted:
 *   cannot read 'meta/full_meta.json': 503 SlowDown after 6 tries
 */
#ifndef MVBACKUPFS_ERR_H
#define MVBACKUPFS_ERR_H

#include <stddef.h>

struct errmsg {
	char msg[1024];
};

/* Set err->msg (printf-style); a no-op when err is NULL.  Returns `code` so that
 * `return errmsg_set(err, -ENOENT, "no backup '%s'", name);` reads naturally. */
int errmsg_set(struct errmsg *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message: "<prefix>: <old>".  Returns `code`.  No-op on NULL. */
int errmsg_prefix(struct errmsg *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear the message. */
void errmsg_clear(struct errmsg *err);

/*
 * Make a foreign string (an S3 <Message>, a Milvus reason, a grpc-message, a name read from
 * a meta file) safe to show on one line of .status, .info or the log: every control byte
 * (0x00-0x1f and 0x7f) is replaced in place - CR, LF and TAB by a space, the others by
 * '?' - so no server can inject a line ("state complete") or a terminal escape.  NULL is
 * fine.  errmsg_set, errmsg_prefix, job_fail and log_msg apply it to what they store, so
 * server text that travels through them is always clean.
 */
void text_sanitize(char *s);

/* The message, or strerror(-code) when none was set ("" when code is 0). */
const char *errmsg_str(const struct errmsg *err, int code);

#endif

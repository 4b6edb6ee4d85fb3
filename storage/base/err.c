/*
 * err.c - the human half of an error (see err.h).
 */
#include "mvbackupfs/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void text_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; p && *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

int errmsg_set(struct errmsg *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	text_sanitize(err->msg);	/* the arguments are often a server's words */
	return code;
}

int errmsg_prefix(struct errmsg *err, int code, const char *fmt, ...)
{
	char head[512], old[sizeof(err->msg)], both[sizeof(head) + sizeof(old) + 8];
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (old[0])
		snprintf(both, sizeof(both), "%s: %s", head, old);
	else
		snprintf(both, sizeof(both), "%s", head);
	snprintf(err->msg, sizeof(err->msg), "%.*s", (int)sizeof(err->msg) - 1, both);
	text_sanitize(err->msg);
	return code;
}

void errmsg_clear(struct errmsg *err)
{
	if (err)
		err->msg[0] = '\0';
}

const char *errmsg_str(const struct errmsg *err, int code)
{
	if (err && err->msg[0])
		return err->msg;
	if (code == 0)
		return "";
	return strerror(code < 0 ? -code : code);
}

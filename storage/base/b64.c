/*
 * b64.c - standard base64 (b64.h).
 */
#include "mvbackupfs/base/b64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode_to(char *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	char *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}

char *b64_encode(const void *data, size_t n)
{
	char *out = malloc(B64_ENCODED_SIZE(n));

	if (out)
		b64_encode_to(out, data, n);
	return out;
}

int b64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(s), n = 0;
	unsigned v = 0;
	int bits = 0;
	unsigned char *o;

	while (len && s[len - 1] == '=')
		len--;
	o = malloc(len * 3 / 4 + 1);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		const char *c = s[i] ? strchr(b64chars, s[i]) : NULL;

		if (!c) {
			free(o);
			return -EINVAL;
		}
		v = v << 6 | (unsigned)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

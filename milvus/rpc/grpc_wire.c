/*
 * grpc_wire.c - the pure parts of gRPC (grpc.h): status names and their errno, the
 * grpc-message percent-decoding, the grpc-timeout value, and the unpacking of a reply frame.
 * No I/O: the fuzzers (tests/fuzz) and the transport (grpc.c) share them.
 */
#include "grpc.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_status_name(int status)
{
	if (status < 0 || status >= (int)(sizeof(status_names) / sizeof(status_names[0])))
		return "UNKNOWN";
	return status_names[status];
}

int grpc_status_to_errno(int status)
{
	switch (status) {
	case 0:
		return 0;
	case 4:		/* DEADLINE_EXCEEDED */
		return -ETIMEDOUT;
	case 7:		/* PERMISSION_DENIED */
	case 16:	/* UNAUTHENTICATED */
		return -EACCES;
	case 12:	/* UNIMPLEMENTED */
		return -ENOSYS;
	case 14:	/* UNAVAILABLE */
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

size_t grpc_percent_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	int hi, lo;
	unsigned char ch;

	if (!outsz)
		return 0;
	for (i = 0; i < n && o + 1 < outsz; i++) {
		ch = (unsigned char)s[i];
		if (ch == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[o] = '\0';
	return o;
}

char *grpc_timeout_value(long ms, char *out, size_t outsz)
{
	/* gRPC over HTTP/2: TimeoutValue is at most 8 ASCII digits */
	if (ms < 1)
		ms = 1;
	if (ms < 100000000L)
		snprintf(out, outsz, "%ldm", ms);
	else if (ms / 1000 < 100000000L)
		snprintf(out, outsz, "%ldS", ms / 1000);
	else
		snprintf(out, outsz, "%ldH", ms / 3600000L < 99999999L ? ms / 3600000L : 99999999L);
	return out;
}

int grpc_frame_unpack(const void *body, size_t len, size_t max_recv,
		      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
		      char *cause, size_t causesz)
{
	const unsigned char *b = body;
	uint32_t frame_len;

	*resp = NULL;
	if (len < 5) {
		snprintf(cause, causesz, "grpc-status 0 without a reply message");
		return -EPROTO;
	}
	frame_len = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
	if (b[0] != 0) {
		snprintf(cause, causesz, "compressed reply (flag %u)", b[0]);
		return -EPROTO;
	}
	if (frame_len > max_recv) {
		snprintf(cause, causesz, "reply of %u bytes is over the %zu byte limit", frame_len,
			 max_recv);
		return -EPROTO;
	}
	if ((size_t)frame_len + 5 != len) {
		snprintf(cause, causesz, "reply frame of %u bytes but %zu received", frame_len,
			 len - 5);
		return -EPROTO;
	}
	*resp = protobuf_c_message_unpack(desc, NULL, frame_len, b + 5);
	if (!*resp) {
		snprintf(cause, causesz, "cannot decode the reply as '%s'", desc->name);
		return -EPROTO;
	}
	return 0;
}

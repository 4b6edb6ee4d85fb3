/*
 * b64.h - standard base64 (RFC 4648 §4, with padding), written once.
 *
 * Used for a field's default value in the meta (milvus-backup stores the packed
 * schema.ValueField as base64), the channel checkpoints, gRPC's basic auth header and S3's
 * Content-MD5.
 */
#ifndef MVBACKUPFS_B64_H
#define MVBACKUPFS_B64_H

#include <stddef.h>

/* Bytes b64_encode_to writes for n input bytes, its NUL included. */
#define B64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Encode n bytes into out (B64_ENCODED_SIZE(n) bytes); returns the length without the NUL. */
size_t b64_encode_to(char *out, const void *data, size_t n);

/* Encode n bytes; malloc'd and NUL-terminated, NULL on allocation failure. */
char *b64_encode(const void *data, size_t n);

/* Decode (padding optional, no whitespace).  *out is malloc'd (NUL-terminated for
 * convenience), *outlen its length.  0, -EINVAL for a bad character, -ENOMEM. */
int b64_decode(const char *s, unsigned char **out, size_t *outlen);

#endif

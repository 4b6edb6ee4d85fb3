/*
 * rand.h - random bytes for names that must not collide (job ids, temporary files, upload ids).
 *
 * Not for secrets and not for sampling: the bytes come from getrandom(2), which blocks only
 * before the kernel's pool is first initialised.
 */
#ifndef MVBACKUPFS_RAND_H
#define MVBACKUPFS_RAND_H

#include <stddef.h>

/* Fill buf with n random bytes.  0 or -EIO (no random source: buf is then zeroed). */
int rand_bytes(void *buf, size_t n);

/* Write 2*nbytes lower-case hex digits of random bytes and a NUL to out (which must hold
 * 2*nbytes+1 bytes; nbytes at most 32).  0 or -EIO as rand_bytes (the digits are then "0"). */
int rand_hex(char *out, size_t nbytes);

#endif

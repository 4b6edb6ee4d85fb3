/*
 * rand.c - random bytes (rand.h).
 */
#include "mvbackupfs/base/rand.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			memset(buf, 0, n);
			return -EIO;
		}
		got += (size_t)r;
	}
	return 0;
}

int rand_hex(char *out, size_t nbytes)
{
	unsigned char r[32];
	int rc;

	if (nbytes > sizeof(r))
		nbytes = sizeof(r);
	rc = rand_bytes(r, nbytes);
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	out[2 * nbytes] = '\0';
	return rc;
}

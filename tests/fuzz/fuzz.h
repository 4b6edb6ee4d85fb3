/*
 * fuzz.h - shared bits of the libFuzzer targets in tests/fuzz (built with -DMVB_FUZZ=ON, run by
 * scripts/fuzz.sh).  Each fuzz_<target>.c feeds one parser of untrusted input with arbitrary
 * bytes; ASan, UBSan (aborting) and LeakSanitizer turn any memory error, undefined behaviour or
 * leak into a crash.  FUZZ_CHECK turns a broken property of the parser's output into one too.
 */
#ifndef MVB_FUZZ_H
#define MVB_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/log.h"

/* Abort with the failed condition: libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* A malloc'd NUL-terminated copy of data[0..size) (NULL on OOM: the caller returns). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* The parsers log warnings for odd but acceptable input: keep the fuzzer's output readable. */
static inline void fuzz_quiet(void)
{
	static int done;

	if (!done) {
		log_setup(LOG_DEST_STDERR, LOG_LVL_ERR);
		done = 1;
	}
}

#endif

/*
 * live.h - what the live S3 test programs (s3_live_test, admin_live_test) share: one `ok`/`FAIL`
 * line per check with a pass/fail count for the closing "N passed, N failed" line, a
 * monotonic clock, and S3_ENDPOINT split into host, port and TLS.  Header-only: each
 * program is one translation unit.
 */
#ifndef MVB_TESTS_S3_LIVE_H
#define MVB_TESTS_S3_LIVE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int npass, nfail;

#define CHECK(cond, ...) check_((cond), #cond, __VA_ARGS__)

static int check_(int ok, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int check_(int ok, const char *expr, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf("  [%s]", expr);
	printf("\n");
	fflush(stdout);
	if (ok)
		npass++;
	else
		nfail++;
	return ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "http(s)://host[:port][/...]" -> host, port (0 when absent), use_ssl.  -1 on another scheme. */
static int live_parse_endpoint(const char *ep, char *host, size_t hostsize, int *port,
			       int *use_ssl)
{
	const char *p;

	*use_ssl = 0;
	if (!strncmp(ep, "https://", 8)) {
		*use_ssl = 1;
		ep += 8;
	} else if (!strncmp(ep, "http://", 7)) {
		ep += 7;
	} else {
		return -1;
	}
	snprintf(host, hostsize, "%.*s", (int)strcspn(ep, "/"), ep);
	p = strrchr(host, ':');
	*port = p ? atoi(p + 1) : 0;
	if (p)
		host[p - host] = '\0';
	return 0;
}

#endif

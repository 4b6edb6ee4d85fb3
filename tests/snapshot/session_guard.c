/*
 * session_guard.c - an LD_PRELOAD shim for t_sigterm_poll.sh, loaded into the ASan-built
 * daemon only: it makes a job that wakes a poll()er after the FUSE session is gone visible
 * to AddressSanitizer, every time.
 *
 * libfuse itself is not instrumented, so ASan cannot see libfuse reading its freed session
 * inside fuse_notify_poll().  This shim (built with -fsanitize=address) stands in front of
 * fuse_notify_poll() and touches the session the handle points to first: a freed session is
 * then a heap-use-after-free report.  It also holds the daemon for MVB_GUARD_HOLD_MS after
 * fuse_destroy() returns, so that a job thread still running at that point (the old shutdown
 * order: session destroyed first, jobs stopped after) does call back within the window
 * instead of only rarely.  With the fixed order every job has stopped before fuse_destroy,
 * and the hold only delays the exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* libfuse 3's private layout (lib/fuse_lowlevel.c, 3.x): the kernel handle, then the session */
struct fuse_pollhandle {
	uint64_t kh;
	void *se;
};
struct fuse;

int fuse_notify_poll(struct fuse_pollhandle *ph)
{
	int (*real)(struct fuse_pollhandle *) =
		(int (*)(struct fuse_pollhandle *))dlsym(RTLD_NEXT, "fuse_notify_poll");

	if (ph && ph->se)
		(void)*(volatile unsigned char *)ph->se;	/* the session must be alive */
	return real ? real(ph) : -1;
}

void fuse_destroy(struct fuse *f)
{
	void (*real)(struct fuse *) = (void (*)(struct fuse *))dlsym(RTLD_NEXT, "fuse_destroy");
	const char *s = getenv("MVB_GUARD_HOLD_MS");
	long ms = s ? atol(s) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (real)
		real(f);
	if (ms > 0)
		nanosleep(&ts, NULL);	/* widen the window after the session is freed */
}

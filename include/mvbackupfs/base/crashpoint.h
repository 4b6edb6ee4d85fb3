/*
 * crashpoint.h - test-only crash and fault points at the moments where a daemon dying (or a
 * store failing) could leave a half-done backup: the crash suite (tests/crash) proves that
 * whatever is left then never reads `complete` with data missing (issue 6, spec §4, §6).
 *
 * Compiled in only with the CMake option MVB_CRASH_POINTS=ON (the build of tests/crash);
 * in every other build MVB_CRASH_POINT(name) is the constant 0 and costs nothing.
 *
 * In a crash-point build the environment of the daemon chooses (read at each point):
 *   MVB_CRASH_AT=NAME   the daemon kills itself with SIGKILL (as `kill -9` would) at point
 *                       NAME, after one log line naming it;
 *   MVB_FAIL_AT=NAME    point NAME reports -EIO instead (where the caller checks the result),
 *                       as if the store had failed there;
 *   MVB_PAUSE_AT=NAME and MVB_PAUSE_FILE=PATH
 *                       at point NAME the thread creates PATH and waits (at most 120 s) until
 *                       the test removes it: another mount's operation can then be run at
 *                       exactly that moment.  Checked before MVB_CRASH_AT, so one point can
 *                       pause and then crash.
 * The points (each named where it is placed):
 *   snapshot_reserved        after a snapshot's reservation (its sidecar) is written
 *   snapshot_meta_levels     between the four level meta files and full_meta.json
 *   snapshot_commit_put      between the full_meta.json PUT and the post-commit check
 *   import_meta_levels       a copy's commit (cp -r into a mount): the mtimes record, the
 *                            sidecar and the level meta files written, full_meta.json not
 *   delete_meta_between      between the meta deletes: full_meta.json gone, backup_meta.json
 *                            not yet
 *   delete_meta_page         after a DeleteObjects page of the rest of meta/ (after the
 *                            two commit keys)
 *   delete_data_page         in the data delete, after a DeleteObjects page
 *   delete_before_sidecar    before the delete of the sidecar, the last object
 */
#ifndef MVBACKUPFS_CRASHPOINT_H
#define MVBACKUPFS_CRASHPOINT_H

#ifdef MVB_CRASH_POINTS

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mvbackupfs/base/log.h"

/* 0, -EIO (MVB_FAIL_AT names the point), or never returns (MVB_CRASH_AT names it). */
static inline int mvb_crash_point(const char *name)
{
	const char *crash = getenv("MVB_CRASH_AT"), *fail = getenv("MVB_FAIL_AT");
	const char *pause = getenv("MVB_PAUSE_AT"), *file = getenv("MVB_PAUSE_FILE");

	if (pause && file && !strcmp(pause, name)) {
		int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		log_err("pause point '%s': waiting until '%s' is removed", name, file);
		if (fd >= 0)
			close(fd);
		for (int i = 0; i < 6000 && access(file, F_OK) == 0; i++) {
			struct timespec ts = { 0, 20000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (crash && !strcmp(crash, name)) {
		log_err("crash point '%s': kill -9", name);
		raise(SIGKILL);
	}
	if (fail && !strcmp(fail, name)) {
		log_err("fault point '%s': failing with EIO", name);
		return -EIO;
	}
	return 0;
}
#define MVB_CRASH_POINT(name) mvb_crash_point(name)

#else

#define MVB_CRASH_POINT(name) 0

#endif

#endif

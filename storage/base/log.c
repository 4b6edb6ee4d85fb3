/*
 * log.c - stderr in the foreground, syslog once daemonised, or a log file (see log.h).
 */
#include "mvbackupfs/base/log.h"

#include "mvbackupfs/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_dest log_to = LOG_DEST_STDERR;
static enum log_level log_max = LOG_LVL_INFO;

void log_setup(enum log_dest dest, enum log_level level)
{
	log_to = dest;
	log_max = level;
	if (dest == LOG_DEST_SYSLOG)
		openlog("mvbackupfs", LOG_PID, LOG_DAEMON);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	text_sanitize(line);	/* one entry is one line, whatever a server said */
	if (log_to == LOG_DEST_SYSLOG) {
		syslog(prio[lvl], "%s%s", tag[lvl], line);
	} else if (log_to == LOG_DEST_FILE) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		/* one call: lines stay whole (the file is opened O_APPEND) */
		fprintf(stderr, "%s.%03ldZ mvbackupfs[%ld]: %s%s\n", when, ts.tv_nsec / 1000000L,
			(long)getpid(), tag[lvl], line);
	} else {
		fprintf(stderr, "mvbackupfs: %s%s\n", tag[lvl], line);	/* one call: lines stay whole */
	}
}

/*
 * log.c - stderr in the foreground, syslog once daemonised (see log.h).
 */
#include "mvbackupfs/base/log.h"

#include "mvbackupfs/base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static int log_syslog;
static enum log_level log_max = LOG_LVL_INFO;

void log_setup(int use_syslog, enum log_level level)
{
	log_syslog = use_syslog;
	log_max = level;
	if (use_syslog)
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
	if (log_syslog)
		syslog(prio[lvl], "%s%s", tag[lvl], line);
	else
		fprintf(stderr, "mvbackupfs: %s%s\n", tag[lvl], line);	/* one call: lines stay whole */
}

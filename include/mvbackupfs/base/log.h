/*
 * log.h - the daemon's log: stderr in the foreground, syslog once daemonised, or a file
 * (`-o log=FILE`: stderr is pointed at it, so the lines carry a time stamp, and whatever
 * else writes to stderr - a sanitizer's report, libfuse's own messages - lands there too).
 *
 * Never log credentials (spec §7): callers pass keys, names and causes, never secrets.
 */
#ifndef MVBACKUPFS_LOG_H
#define MVBACKUPFS_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Where lines go: stderr prefixed with "mvbackupfs: "; syslog(3) with ident "mvbackupfs";
 * or stderr that the caller has pointed at a log file, each line prefixed with its UTC
 * time (RFC 3339, milliseconds) and the pid. */
enum log_dest { LOG_DEST_STDERR = 0, LOG_DEST_SYSLOG, LOG_DEST_FILE };

/* Configure the destination and the most verbose level emitted (default LOG_LVL_INFO).
 * Thread-safe after this call. */
void log_setup(enum log_dest dest, enum log_level level);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

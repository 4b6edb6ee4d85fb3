/*
 * log.h - the daemon's log: stderr in the foreground, syslog once daemonised.
 *
 * Never log credentials (spec §7): callers pass keys, names and causes, never secrets.
 */
#ifndef MVBACKUPFS_LOG_H
#define MVBACKUPFS_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Configure: use_syslog != 0 sends lines to syslog(3) with ident "mvbackupfs";
 * otherwise lines go to stderr prefixed with "mvbackupfs: ".  `level` is the most
 * verbose level emitted (default LOG_LVL_INFO).  Thread-safe after this call. */
void log_setup(int use_syslog, enum log_level level);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

/*
 * vfiles.h - the text of the virtual, lookup-only files (spec §3, §5.7): the root `.info`
 * table, a backup's `.info` (for people) and `.info.json` (for programs), and `.status`
 * (stable `key value` lines for scripts).
 *
 * Rendering is pure: it formats summaries and job progress into a buffer, no I/O.
 */
#ifndef MVBACKUPFS_VFILES_H
#define MVBACKUPFS_VFILES_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/fs/namespace.h"

/* Progress of a job on a backup, as .status shows it.  Strings may be NULL ("-"). */
struct vstatus {
	const char *state;		/* complete, incomplete, creating, deleting, failed, ... */
	const char *job;		/* job id or NULL */
	const char *phase;		/* idle, flush, copy, verify, meta, ... */
	uint64_t bytes_done, bytes_total;
	uint64_t items_done, items_total;
	double rate_bps;
	int64_t eta_s;			/* -1 unknown */
	int64_t started, updated;	/* Unix seconds, 0 = none */
	const char *error;		/* NULL or "" when none */
};

/* "466.5 MiB" style, into out (>= 16 bytes). */
void vfile_human_size(uint64_t bytes, char *out, size_t size);

/* One row per backup: NAME STATE TYPE CREATED EXPIRES COLLECTIONS ENTITIES SIZE (STATE is
 * `expired` for a complete backup whose `expired` flag the mount set). */
int vfile_root_info(const struct ns_summary *v, size_t n, struct buf *out);

/* The same as a JSON array of the per-backup objects of vfile_backup_info_json. */
int vfile_root_info_json(const struct ns_summary *v, size_t n, struct buf *out);

/* A backup's .info: aligned `key: value` lines, then the collection table. */
int vfile_backup_info(const struct ns_summary *s, struct buf *out);

/* A backup's .info.json (one JSON object, newline-terminated). */
int vfile_backup_info_json(const struct ns_summary *s, struct buf *out);

/* A backup's .expires: "never" or its RFC 3339 UTC expiry, and a newline. */
int vfile_expires(const struct ns_summary *s, struct buf *out);

/* .status: state, job, phase, progress, bytes_done, bytes_total, items_done, items_total,
 * rate_bps, eta_s, started, updated, error - in that order, one per line; new keys are only
 * ever appended. */
int vfile_status(const struct vstatus *st, struct buf *out);

#endif

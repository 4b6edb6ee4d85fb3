/*
 * sidecar.h - mvbackupfs's own per-backup data: the object <root>/<name>/mvbackupfs.json.
 *
 * milvus-backup has no expiry or provenance fields (milvus-backup-format.md §2.5, §7), so we
 * keep ours in one ordinary, visible object next to meta/ and binlogs/: it travels with
 * `cp -r`, `rmdir` removes it with the prefix, and milvus-backup never reads it (spec §4).
 *
 *   {"format":1,"created_by":"mvbackupfs 0.1.0","created":"2026-08-20T02:00:00Z",
 *    "expires":"2026-08-23T02:00:00Z","kind":"scheduled","job":"j42"}
 *
 * A backup copied in (cp -r, rsync -a, tar -x) commits with the merge of the sidecar that
 * arrived and the copying mount's reservation (sidecar_merge_copy):
 *
 *   {"format":1,"created_by":"mvbackupfs 0.1.0","created":"2026-08-21T09:00:00Z",
 *    "expires":"2026-08-23T02:00:00Z","kind":"import","job":"import-1787...",
 *    "origin":"scheduled","origin_created":"2026-08-20T02:00:00Z","as_copied":"{...}"}
 *
 * "as_copied" holds the bytes that arrived, verbatim, while the merge has changed nothing
 * that travels (the expiry): the mount shows the file with those bytes (so the copy reads
 * byte-identical to its source and a second `rsync -a` finds nothing to do).  Every rewrite
 * through struct sidecar (an `.expires` change, a delete's re-mark) drops it.
 *
 * "expires" absent = never.  Reading is tolerant (unknown keys ignored, missing keys default,
 * a newer "format" accepted as long as the known keys parse) and bounded (SIDECAR_MAX bytes).
 */
#ifndef MVBACKUPFS_SIDECAR_H
#define MVBACKUPFS_SIDECAR_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/timefmt.h"	/* rfc3339_format, rfc3339_parse */

#define SIDECAR_NAME	"mvbackupfs.json"	/* key below <root>/<name>/ */
#define SIDECAR_MAX	65536			/* larger sidecars are refused */
#define SIDECAR_FORMAT	1

enum sidecar_kind {
	SIDECAR_KIND_UNKNOWN = 0,	/* absent or not one of the names below */
	SIDECAR_KIND_MANUAL,		/* "manual": mkdir .snapshot/<name> */
	SIDECAR_KIND_SCHEDULED,		/* "scheduled": mvbackupfs.schedule */
	SIDECAR_KIND_IMPORT,		/* "import": copied in (cp -r, rsync, tar) */
};

struct sidecar {
	int format;			/* SIDECAR_FORMAT when written by us */
	char created_by[64];		/* "mvbackupfs <version>" ("" if absent) */
	int64_t created;		/* Unix s; 0 if absent or unparsable */
	int64_t expires;		/* Unix s; 0 = never */
	enum sidecar_kind kind;
	char job[64];			/* job id ("" if absent) */
	/* a backup copied in: what made it where it came from (unknown: made by milvus-backup,
	 * or not said) and when that made it (0 unknown) */
	enum sidecar_kind origin;
	int64_t origin_created;
};

/* Parse `len` bytes of sidecar JSON into *out (zeroed first).  Returns 0, -EINVAL (not a
 * JSON object, a known key of the wrong type, a bad RFC 3339 time) or -EFBIG (len >
 * SIDECAR_MAX).  Over-long created_by / job strings are truncated (at a UTF-8 character
 * boundary). */
int sidecar_parse(const char *json, size_t len, struct sidecar *out, struct errmsg *err);

/* Append the compact JSON of `s` to `out` (key order as in the example above; "expires"
 * omitted when 0, "job" when "").  Returns 0 or the buf error. */
int sidecar_write(const struct sidecar *s, struct buf *out);

/*
 * The sidecar a copied backup commits with (issue 11 "the sidecar travels"), from the sidecar
 * that arrived with the copy (`src`; NULL when none arrived: a backup made by milvus-backup)
 * and the copying mount's reservation `resv`, into *out:
 *   - the reservation's fields stay (format, created_by, created, job): they say which mount
 *     copied it when, and the job id is what a delete or a second writer checks;
 *   - kind = import (TYPE `copied`), also when no sidecar arrived: the backup was not made
 *     here, it arrived by copy;
 *   - expires = the source's (a copy keeps its expiry; none arrived: the reservation's);
 *   - origin = the source's kind and origin_created its created; when the source was itself
 *     a copy, its origin and origin_created (the first maker is kept along a chain).
 * Pure; `out` may not alias the inputs.
 */
void sidecar_merge_copy(const struct sidecar *src, const struct sidecar *resv,
			struct sidecar *out);

/* sidecar_write, plus "as_copied" with `len` bytes of `raw` (a JSON string; valid UTF-8,
 * as a sidecar that parsed is) when len > 0. */
int sidecar_write_copied(const struct sidecar *s, const char *raw, size_t len,
			 struct buf *out);

/* The "as_copied" bytes of the sidecar JSON `json` into `out`: 1 when present, 0 when not
 * (or the JSON does not parse), -ENOMEM. */
int sidecar_as_copied(const char *json, size_t len, struct buf *out);

/* "mvbackupfs <version>" of this build, for created_by. */
const char *sidecar_creator(void);

/* The kind's name ("manual", …; "" for unknown) and back (SIDECAR_KIND_UNKNOWN if none). */
const char *sidecar_kind_name(enum sidecar_kind k);
enum sidecar_kind sidecar_kind_parse(const char *name);

#endif

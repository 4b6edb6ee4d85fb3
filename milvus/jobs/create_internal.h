/*
 * create_internal.h - what the files of the snapshot job share (private to milvus/jobs/):
 * backup_create.c (the job: GC pause, enumerate, the steps in order), create_describe.c
 * (describe, flush, segments and binlogs of a collection), create_copy.c (the copies on the
 * work queue, the verify, the meta files), create_util.c (pure helpers, public in
 * backup_create.h).
 */
#ifndef MVBACKUPFS_CREATE_INTERNAL_H
#define MVBACKUPFS_CREATE_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/jobs/backup_create.h"

#define FLUSH_POLL_MS	200			/* GetFlushState polling interval */
#define FLUSH_DEADLINE_S 1800			/* give up waiting for a flush after this */
#define FLUSH_TRIES	8			/* Flush attempts when Milvus rate-limits (retriable) */
#define SEGINFO_TRIES	20			/* GetPersistentSegmentInfo attempts (§3.2 8.1) */
#define SEGCHECK_TRIES	5			/* listings before an inconsistent segment fails */
#define SEGCHECK_DELAY_MS 500L			/* first re-list delay, doubled each time */
#define GC_PAUSE_S	3600			/* pause_seconds of each GC pause request */
#define GC_RENEW_S	1800			/* renew the pause this often (milvus-backup: 30 min) */

struct copy_item {
	char *src;		/* Milvus key */
	char *dst;		/* backup key */
	uint64_t size;
};

struct gcpause {
	const char *addr;	/* "" = disabled */
	int paused;
	time_t last;		/* when the pause was last requested */
};

struct create {
	struct job *j;
	struct backup_create_params *p;
	struct meta_backup meta;
	size_t cap_collections;
	struct copy_item *items;
	size_t nitems, cap_items;
	struct gcpause gc;
	char uuid[37];
	struct errmsg err;
};

static inline const char *nz(const char *s)
{
	return s ? s : "";
}

#define CHECK_CANCEL(cr)						\
	do {								\
		if (job_cancelled((cr)->j))				\
			return -ECANCELED;				\
	} while (0)

/* backup_create.c: sleep ms, waking early when the job is cancelled (-ECANCELED); renew the
 * GC pause when it is due */
int create_nap(struct job *j, long ms);
void create_gc_renew(struct gcpause *g);

/* create_describe.c (§3.2 steps 6, 7, 8.1-8.3) */
int describe_collection(struct create *cr, struct meta_collection *c);
int flush_collection(struct create *cr, struct meta_collection *c);
int collection_segments(struct create *cr, struct meta_collection *c);

/* create_copy.c (§3.2 steps 8.4, 8.5, 12) */
int copy_all(struct create *cr);
int verify_copies(struct create *cr);
int write_meta_files(struct create *cr);

#endif

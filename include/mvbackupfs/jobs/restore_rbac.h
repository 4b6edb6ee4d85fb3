/*
 * restore_rbac.h - the RBAC step of a restore (`rbac=1`; milvus-backup-format.md §4.1 step 3):
 * BackupRBAC on the target Milvus, leave out of the backup's `rbac_meta` the users, roles,
 * grants and privilege groups that exist there already, RestoreRBAC with the rest.
 *
 * BackupRBAC / RestoreRBAC exist from Milvus 2.5 on; an older server answers UNIMPLEMENTED,
 * which restore_rbac_check() turns into -ENOTSUP before anything is created.  The users'
 * `password` (Milvus' stored hash) is a secret: it is passed through to RestoreRBAC and never
 * appears in a message or the log.  Nothing restored here is undone when a later step fails
 * (milvus-backup does the same): the step only adds what did not exist.
 */
#ifndef MVBACKUPFS_RESTORE_RBAC_H
#define MVBACKUPFS_RESTORE_RBAC_H

#include <stddef.h>

#include "milvus.pb-c.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/base/job.h"

struct milvus_client;

/* What RestoreRBAC gets: `meta` points into memory owned by this struct. */
struct restore_rbac {
	Milvus__Proto__Milvus__RBACMeta meta;
	size_t skipped;		/* entries of the backup left out because they exist */
	void *json;		/* private: the parsed rbac_meta (meta's strings point into it) */
	void **mem;		/* private: meta's arrays and entries */
	size_t nmem;
};

/* Pure: the RBACMeta to restore from the backup's rbac_meta JSON text (`backup_json`, as kept
 * in meta_backup.rbac_meta_json) minus what `cur` (the target's BackupRBAC answer; NULL =
 * nothing) has: users, roles and privilege groups by name, grants by (role, object type,
 * object name, privilege, database - "" meaning "default").  0, -EINVAL (not an RBACMeta
 * object; *err says why), -ENOMEM.  Release with restore_rbac_release() in every case. */
int restore_rbac_plan(const char *backup_json, const Milvus__Proto__Milvus__RBACMeta *cur,
		      struct restore_rbac *out, struct errmsg *err);
void restore_rbac_release(struct restore_rbac *r);

/* Does the server have BackupRBAC?  0; -ENOTSUP (it answers UNIMPLEMENTED: Milvus < 2.5)
 * with the sentence; or the call's error. */
int restore_rbac_check(struct milvus_client *mc, struct errmsg *err);

/* The step in the job (phase "rbac"): plan against BackupRBAC, RestoreRBAC unless nothing is
 * left.  `backup` names the backup in log lines.  0 or -errno (job_fail called). */
int restore_rbac_run(struct job *j, struct milvus_client *mc, const char *backup,
		     const char *rbac_json);

#endif

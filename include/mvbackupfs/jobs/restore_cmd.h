/*
 * restore_cmd.h - the command language of a backup's `.restore` control file (mvbackupfs.md
 * §5.4, issue 8), parsed into a typed struct at the boundary, and the pure name mapping it
 * implies (milvus-backup-format.md §4.1 step 2: rename first, then suffix, then identity).
 *
 * One command is one write(): at most RESTORE_CMD_MAX bytes, a trailing newline ignored,
 * space-separated `key=value` words, or the bare word `cancel`:
 *   collections=db.c1,db.c2,db.*,c3   which collections (default all; "c3" = "default.c3")
 *   suffix=_bak                       new name = old name + suffix ([A-Za-z0-9_]+)
 *   rename=db1.c1:db2.c2,db1.*:db2.*  explicit renames (first match wins, before suffix)
 *   database=db2                      restore into this database (unless a rename says one)
 *   drop_existing=0|1  index=0|1 (default 1)  load=0|1  meta_only=0|1  rbac=0|1
 *   auto_index=0|1                    vector indexes as AUTOINDEX (milvus-backup useAutoIndex)
 *   skip_collection_properties=k1,k2  milvus-backup skipParams: keys left out of the
 *   skip_field_type_params=k1,...     collection properties, the fields' type_params, the
 *   skip_field_index_params=k1,...    fields' index_params and the CreateIndex params
 *   skip_index_params=k1,...          (keys: letters, digits, '_', '.', '-')
 * No FUSE and no I/O here: the caller (fs/restore_ctl.c) checks the result against the backup
 * and Milvus.
 */
#ifndef MVBACKUPFS_RESTORE_CMD_H
#define MVBACKUPFS_RESTORE_CMD_H

#include <stddef.h>

#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/base/err.h"

#define RESTORE_CMD_MAX		4096	/* bytes of one write */
#define RESTORE_NAME_MAX	255	/* Milvus' limit on database and collection names */

/* One rename rule "db1.c1:db2.c2" or "db1.*:db2.*" (src_coll = dst_coll = NULL). */
struct restore_rename {
	char *src_db, *src_coll;
	char *dst_db, *dst_coll;
};

/* A list of parameter keys (skipParams). */
struct restore_keys {
	char **v;
	size_t n;
};

struct restore_cmd {
	int cancel;			/* the bare word `cancel` (nothing else is set) */
	int has_filter;			/* collections= was given */
	struct backup_filter filter;	/* its entries (backup_create.h syntax) */
	char *suffix;			/* NULL = none */
	struct restore_rename *renames;
	size_t nrenames;
	char *database;			/* NULL = the source database */
	int drop_existing;		/* 0 */
	int index;			/* 1 */
	int load;			/* 0 */
	int meta_only;			/* 0 */
	int rbac;			/* 0 */
	int auto_index;			/* 0 */
	struct restore_keys skip_coll_props, skip_field_type, skip_field_index, skip_index;
};

/* Whether `key` is in the list. */
int restore_keys_has(const struct restore_keys *k, const char *key);

/* Parse `len` bytes of `text` (need not be NUL-terminated).  `out` is overwritten; release
 * it with restore_cmd_release (also after a failure).  Returns 0, -ENOMEM, or -EINVAL with
 * the reason in `err` ("unknown key 'foo'", "bad collection name '1x'", "key 'suffix' given
 * twice", "'cancel' takes no other words", "rename= and database= cannot be combined",
 * "empty command", "command longer than 4096 bytes", "a NUL byte in the command"). */
int restore_cmd_parse(const char *text, size_t len, struct restore_cmd *out, struct errmsg *err);

void restore_cmd_release(struct restore_cmd *c);

/* 1 when `name` is a valid Milvus database or collection name: a letter or '_' followed by
 * letters, digits and '_', at most RESTORE_NAME_MAX bytes. */
int restore_name_valid(const char *name);

/* Whether collection db.coll of the backup is chosen by the command's collections=. */
int restore_cmd_selects(const struct restore_cmd *c, const char *db, const char *coll);

/* The target of db.coll: the first rename rule that matches, else database= and the suffix,
 * else the same names.  Writes malloc'd strings to *out_db and *out_coll.  0, -ENOMEM, or
 * -EINVAL ("target name 'x…' is not a valid collection name") when the result is not a valid
 * name (e.g. too long after the suffix). */
int restore_cmd_target(const struct restore_cmd *c, const char *db, const char *coll,
		       char **out_db, char **out_coll, struct errmsg *err);

#endif

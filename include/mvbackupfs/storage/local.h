/*
 * local.h - the object store over a local directory (`storageType: local`).
 *
 * Keys map to files below the base directory ("a/b/c" -> "<dir>/a/b/c"); "directories" are
 * implied by paths, as on S3.  Writes go to a temporary file in the same directory and are
 * renamed into place, so a reader never sees half an object; OBJSTORE_IF_NONE_MATCH uses
 * link(2), which is atomic.  Multipart uploads are staged under
 * "<directory of the key>/.mvbackupfs-mpu/<upload id>/" (same filesystem as the object, and
 * writable even when the base is "/"); names starting with ".mvbackupfs-" are never listed.
 * Keys containing "." or ".." path elements, empty elements, a leading or trailing '/' or a
 * ".mvbackupfs-" element are refused with -EINVAL.  A key below an existing object
 * ("a/b" when "a" is an object) cannot be stored: -ENOTDIR.  Directories left empty by
 * objstore_delete are removed up to the base.  Etags are cheap (size and mtime), not MD5s.
 */
#ifndef MVBACKUPFS_LOCAL_H
#define MVBACKUPFS_LOCAL_H

#include "mvbackupfs/storage/objstore.h"

/* A store rooted at `dir` (must exist; -ENOENT otherwise).  Returns 0 and *out, or -errno. */
int local_store_new(const char *dir, struct objstore **out, struct errmsg *err);

#endif

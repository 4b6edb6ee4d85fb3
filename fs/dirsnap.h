/*
 * dirsnap.h - one open directory's listing, taken once and served by offset.
 *
 * Why: libfuse's high-level API serves a listing filled with offset 0 from its own buffer,
 * but then it cannot pass readdirplus entries to the kernel as lookups, so `ls -l` of a root
 * with 1000 backups made 1000 LOOKUP round trips after the READDIRPLUS that had the
 * attributes already (cold and warm alike).  Filling with non-zero offsets makes libfuse hand
 * the entries over, but then it calls readdir again for every page, with the offset to resume
 * from.  The offsets must be stable across those calls even when a backup appears or goes
 * between two pages, or `ls` would show a name twice or skip one.  So the first readdir of an
 * open directory (offset 0: opendir or rewinddir) takes the listing once into a dirsnap, and
 * every page is served from it: entry i has offset i + 1, "." and ".." are 1 and 2.
 *
 * A dirsnap belongs to one open directory handle; libfuse serialises readdir calls on one
 * handle, so there is no lock.
 */
#ifndef MVBACKUPFS_DIRSNAP_H
#define MVBACKUPFS_DIRSNAP_H

#include <sys/stat.h>
#include <sys/types.h>

struct dirsnap;

/* An empty listing ("." and ".." are implied); NULL when out of memory. */
struct dirsnap *dirsnap_new(void);
void dirsnap_free(struct dirsnap *d);

/* Forget the entries (a new listing of the same handle: rewinddir). */
void dirsnap_clear(struct dirsnap *d);

/* Append one entry; 0, -ENOMEM, or -EOVERFLOW past 4 Mi entries. */
int dirsnap_add(struct dirsnap *d, const char *name, const struct stat *st);

/* Number of entries added (without "." and ".."). */
size_t dirsnap_count(const struct dirsnap *d);

/* Serve the entries after `offset` (0 = from the start, "." and ".." first) to fill(ctx, name,
 * stat, next_offset, plus), stopping when it returns non-zero (libfuse's buffer is full). */
typedef int (*dirsnap_fill_fn)(void *ctx, const char *name, const struct stat *st, off_t off,
			       int plus);
void dirsnap_serve(const struct dirsnap *d, off_t offset, int plus, dirsnap_fill_fn fill,
		   void *ctx);

#endif

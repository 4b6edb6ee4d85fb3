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
 *
 * The kernel's readdir cache (dirsnap_book): a warm `ls -l` re-read the whole directory by
 * READDIRPLUS at every opendir and had the daemon compute every entry's attributes again.
 * opendir may instead tell the kernel to keep the listing it cached from the last read
 * (FOPEN_CACHE_DIR + FOPEN_KEEP_CACHE), which it then serves without asking the daemon.  That
 * is only right when the listing is still the same, and only faster while the entries the
 * last READDIRPLUS gave the kernel are still valid (entry and attribute timeouts, 1 s;
 * past them a cached listing would cost one LOOKUP per entry of `ls -l`, the READDIRPLUS only
 * a few pages).  So the book remembers, per directory path, the fingerprint of the listing
 * last served (names and kinds, in order) and when; opendir keeps the kernel's cache only
 * when that was less than DIRSNAP_KEEP_MS ago, no other handle of the path was reading
 * meanwhile, and the listing taken now has the same fingerprint.  Everything that changes a
 * listing (our own mkdir/rmdir, another mount's backup seen when the namespace refreshes, an
 * expiry, a snapshot starting or ending, a copy-in's files, its commit) changes what opendir
 * takes, so nothing needs to remember to invalidate.
 *
 * Only a handle opened while no other handle of the path is open uses the kernel's cache.
 * The kernel serves every caching handle from the one cache, matching our offsets, which are
 * positions in the handle's own listing: a handle still reading an older listing would go on
 * in a newer one at the same position and skip or repeat names.  A handle opened beside
 * another reads its own listing from the daemon and leaves the cache alone.
 */
#ifndef MVBACKUPFS_DIRSNAP_H
#define MVBACKUPFS_DIRSNAP_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct dirsnap;

/* An empty listing ("." and ".." are implied); NULL when out of memory. */
struct dirsnap *dirsnap_new(void);
void dirsnap_free(struct dirsnap *d);

/* Forget the entries (a new listing of the same handle: rewinddir). */
void dirsnap_clear(struct dirsnap *d);

/* Append one entry; 0, -ENOMEM, or -EOVERFLOW past 4 Mi entries.  pending: st is only what
 * the listing says (the kind); the attributes a lookup would give are to be taken when the
 * entry is served with attributes (readdirplus) - a plain `ls` reads most pages without. */
int dirsnap_add(struct dirsnap *d, const char *name, const struct stat *st, int pending);

/* Number of entries added (without "." and ".."). */
size_t dirsnap_count(const struct dirsnap *d);

/* Serve the entries after `offset` (0 = from the start, "." and ".." first) to fill(ctx, name,
 * stat, pending, next_offset, plus), stopping when it returns non-zero (libfuse's buffer is
 * full).  stat and pending are the entry's own (NULL for "." and ".."): fill may complete a
 * pending stat and clear *pending, and the entry keeps it.  Returns the number of entries
 * served, "." and ".." not counted. */
typedef int (*dirsnap_fill_fn)(void *ctx, const char *name, struct stat *st, int *pending,
			       off_t off, int plus);
size_t dirsnap_serve(struct dirsnap *d, off_t offset, int plus, dirsnap_fill_fn fill,
		   void *ctx);

/* Fold one listed entry (name and whether a directory) into a fingerprint (start from
 * DIRSNAP_FP_INIT): equal fingerprints mean the same names of the same kinds in the same order. */
#define DIRSNAP_FP_INIT 14695981039346656037ull
uint64_t dirsnap_fp_add(uint64_t fp, const char *name, int is_dir);

/* How long after a listing was served opendir may keep the kernel's cached copy of it: under
 * the 1 s entry and attribute timeouts of op_init, with the reply's latency to spare. */
#define DIRSNAP_KEEP_MS 500

/* The book of the listings the kernel may hold in its readdir cache; one per mount.  Bounded:
 * past DIRSNAP_BOOK_MAX paths, the records of directories no handle has open are dropped (a
 * dropped record only means one more READDIRPLUS).  Thread-safe (its own mutex). */
struct dirsnap_book;
#define DIRSNAP_BOOK_MAX 1024
struct dirsnap_book *dirsnap_book_new(void);
void dirsnap_book_free(struct dirsnap_book *b);

/* opendir of path: counts the handle open (0, or -ENOMEM), says in *others how many other
 * handles of path are open, and in *recent whether a listing of path was served less than
 * DIRSNAP_KEEP_MS before now_ms by a handle that read alone, and its fingerprint in *fp. */
int dirsnap_book_open(struct dirsnap_book *b, const char *path, int64_t now_ms,
		      unsigned *others, int *recent, uint64_t *fp);
/* The first readdir of a handle of path served the listing with fingerprint fp at now_ms.
 * Recorded only when this is the path's one open handle: with two, the kernel may have
 * cached either's listing. */
void dirsnap_book_served(struct dirsnap_book *b, const char *path, uint64_t fp, int64_t now_ms);
/* A page of path's listing was served without attributes (READDIR, not READDIRPLUS): the
 * kernel has not got its entries as lookups, so keeping its cached listing would cost `ls -l`
 * a LOOKUP per entry.  Forgets the listing served. */
void dirsnap_book_unplussed(struct dirsnap_book *b, const char *path);
/* releasedir of a handle dirsnap_book_open counted. */
void dirsnap_book_close(struct dirsnap_book *b, const char *path);

#endif

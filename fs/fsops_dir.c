/*
 * fsops_dir.c - the listings of the FUSE operations: readdir of the root, of .snapshot, of a
 * backup and of a backup being copied in.  The listing of an open directory is taken once,
 * on its first readdir, and served by stable offsets (dirsnap.h says why); every entry
 * served with attributes (readdirplus) carries those a lookup would give (fo_stat_stored,
 * taken then: a plain `ls` reads most pages without), because the kernel caches a
 * readdirplus entry as if it had been looked up.  opendir lets the kernel keep its cached
 * listing when the same listing was served moments ago (dirsnap_book, dirsnap.h).
 */
#include "fsops_internal.h"
#include "dirsnap.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/base/log.h"
#include "mvbackupfs/fs/autopilot.h"
#include "mvbackupfs/fs/import.h"
#include "mvbackupfs/fs/restore_ctl.h"

struct fill_ctx {
	struct mvbfs *m;
	const char *dir;	/* the path being listed ("/", "/NAME/meta", ...) */
	struct dirsnap *snap;	/* the open directory's listing being taken (dirsnap.h); NULL:
				 * only its fingerprint (fp) */
	uint64_t fp;		/* the listing's fingerprint so far (dirsnap_fp_add) */
	int err;		/* -errno when an entry could not be kept */
	int root;	/* listing the root: skip backups being deleted */
	char **seen;	/* names filled, when listing inside a backup being copied in */
	size_t nseen, cap_seen;
	int hide_sidecar;	/* the top of a backup being copied in: the reservation */
	int stat_each;		/* stored entries: their attributes as op_getattr gives them, taken
				 * when served with attributes (serve_one) */
};

static int fill_one(void *arg, const char *name, const struct ns_attr *a)
{
	struct fill_ctx *f = arg;
	struct stat st;

	if (f->root && fo_unlisted(f->m, name))
		return 0;
	if (f->hide_sidecar && !strcmp(name, SIDECAR_NAME))
		return 0;
	if (f->cap_seen != (size_t)-1 && !ARRAY_GROW(f->seen, f->nseen, f->cap_seen, 16) &&
	    (f->seen[f->nseen] = strdup(name)) != NULL)
		f->nseen++;
	f->fp = dirsnap_fp_add(f->fp, name, a->is_dir);
	if (!f->snap)
		return 0;
	/* stored entries: the listing's view now, what a lookup says when served with it */
	fo_fill_stat(f->m, &st, a);
	f->err = dirsnap_add(f->snap, name, &st, f->stat_each);
	return f->err;
}

struct serve_ctx {
	struct mvbfs *m;
	const char *dir;	/* the path listed */
	void *buf;
	fuse_fill_dir_t filler;
};

static int serve_one(void *arg, const char *name, struct stat *st, int *pending, off_t off,
		     int plus)
{
	struct serve_ctx *s = arg;

	if (plus && pending && *pending) {
		/* what a lookup of the entry would say (stat_stored), else the listing's view */
		struct errmsg e = { { 0 } };
		struct ns_attr a = { 0 };
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", strcmp(s->dir, "/") ? s->dir : "",
			     name) < (int)sizeof(path) &&
		    fo_stat_stored(s->m, path, &a, &e) == 0)
			fo_fill_stat(s->m, st, &a);
		*pending = 0;
	}
	return s->filler(s->buf, name, st, off, plus ? FUSE_FILL_DIR_PLUS : 0);
}

static int list_dir(const char *path, struct dirsnap *ds, uint64_t *fp);

/* An open directory (fi->fh). */
struct dirh {
	struct dirsnap *ds;	/* its listing, taken on the first readdir */
	char *path;		/* its path in the book (NULL: not booked, kernel cache unused) */
};

/*
 * The listing is taken once per open directory, on the first readdir (offset 0), and every
 * page is served from it with stable offsets (dirsnap.h says why: readdirplus entries reach
 * the kernel, so `ls -l` makes no LOOKUP per entry).
 */
int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct dirh *dh = (struct dirh *)(uintptr_t)fi->fh;
	struct serve_ctx sc = { fo_ctx(), path, buf, filler };
	int rc = 0;

	if (offset == 0) {
		uint64_t fp;

		dirsnap_clear(dh->ds);
		rc = list_dir(path, dh->ds, &fp);
		/* now: the kernel takes the entries (and starts their timeouts) after this */
		if (rc == 0 && dh->path)
			dirsnap_book_served(fo_ctx()->dirbook, dh->path, fp, mono_ms());
	}
	if (rc == 0 &&
	    dirsnap_serve(dh->ds, offset, (flags & FUSE_READDIR_PLUS) != 0, serve_one, &sc) &&
	    !(flags & FUSE_READDIR_PLUS) && dh->path)
		dirsnap_book_unplussed(fo_ctx()->dirbook, dh->path);
	return rc;
}

/* Take the listing of `path` into ds, or (ds NULL) only its fingerprint; *fp is the
 * fingerprint either way. */
static int list_dir(const char *path, struct dirsnap *ds, uint64_t *fp)
{
	struct mvbfs *m = fo_ctx();
	const char *snap;
	struct fill_ctx f = { .m = m, .dir = path, .snap = ds, .cap_seen = (size_t)-1,
			      .stat_each = 1, .fp = DIRSNAP_FP_INIT };
	struct errmsg e = { { 0 } };
	char name[256];
	int rc;

	if (!strcmp(path, "/")) {
		f.root = 1;
		rc = ns_list_root(m->ns, fill_one, &f, &e);
	} else if (!strcmp(path, "/.snapshot")) {
		/* the snapshots being taken now */
		char **names = jobtable_names(m->jobs, JT_SNAPSHOT);
		struct ns_attr a = { .is_dir = 1, .mtime = time(NULL) };
		size_t i;

		f.stat_each = 0;	/* not stored: what op_getattr says of /.snapshot/NAME */
		for (i = 0; names && names[i]; i++)
			if (fill_one(&f, names[i], &a))
				break;
		jobtable_names_free(names);
		rc = 0;
	} else if ((snap = fo_under_snapshot(path)) != NULL) {
		/* a snapshot being taken: an empty directory here; its data is at /NAME */
		rc = jobtable_running(m->jobs, snap, JT_SNAPSHOT) ? 0 : -ENOENT;
	} else if (fo_backup_of(path, name, sizeof(name)) &&
		   (ns_milvus_data(m->ns, name) || fo_hidden(m, name))) {
		/* Milvus's data (never walked) or a backup being deleted: empty (op_getattr) */
		rc = strchr(path + 1, '/') ? -ENOENT : 0;
	} else if (fo_backup_of(path, name, sizeof(name)) && import_active(m->imports, name)) {
		/* being copied in: what is stored plus what is being written */
		f.cap_seen = 0;
		f.hide_sidecar = !strchr(path + 1, '/');
		rc = ns_list_dir(m->ns, path + 1, fill_one, &f, &e);
		if (rc == -ENOENT || rc == 0) {
			f.hide_sidecar = 0;	/* a copied sidecar held for the commit is listed */
			rc = import_readdir(m->imports, path, f.seen, f.nseen, fill_one, &f);
		}
		for (size_t i = 0; i < f.nseen; i++)
			free(f.seen[i]);
		free(f.seen);
	} else
		rc = ns_list_dir(m->ns, path + 1, fill_one, &f, &e);
	if (rc == 0 && f.err)
		rc = f.err;
	if (rc && ds)
		fo_log_failure("cannot list", path, rc, &e);
	*fp = f.fp;
	return rc;
}

#if FUSE_MAJOR_VERSION == 3 && FUSE_MINOR_VERSION < 16
/*
 * libfuse before 3.16 drops keep_cache and cache_readdir on the way from the high-level
 * opendir to its reply (fuse_lib_opendir replies with its own fuse_file_info; 3.16 copies
 * them, libfuse commit 98eb8089).  Its fuse_lib_opendir calls fuse_reply_open through the
 * PLT right after op_opendir returned, in the same thread, so this definition of
 * fuse_reply_open (the executable's comes first) adds the flags op_opendir left in
 * pending_dir, and calls libfuse's.  Every other reply_open passes through unchanged.
 */
#include <dlfcn.h>
#include <fuse_lowlevel.h>

static __thread struct {
	int set;	/* op_opendir returned these flags, the reply is next */
	unsigned keep_cache, cache_readdir;
} pending_dir;

static void pass_dir_flags(const struct fuse_file_info *fi)
{
	pending_dir.set = 1;
	pending_dir.keep_cache = fi->keep_cache;
	pending_dir.cache_readdir = fi->cache_readdir;
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *f)
{
	typedef int (*reply_open_fn)(fuse_req_t, const struct fuse_file_info *);
	static reply_open_fn real;	/* libfuse's (atomic: set once, by any thread) */
	reply_open_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	struct fuse_file_info copy = *f;

	if (!fn) {
		*(void **)&fn = dlsym(RTLD_NEXT, "fuse_reply_open");
		if (!fn)
			return fuse_reply_err(req, EIO);
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	if (pending_dir.set) {
		pending_dir.set = 0;
		copy.keep_cache = pending_dir.keep_cache;
		copy.cache_readdir = pending_dir.cache_readdir;
	}
	return fn(req, &copy);
}
#else
static void pass_dir_flags(const struct fuse_file_info *fi)
{
	(void)fi;	/* libfuse >= 3.16 passes them itself */
}
#endif

/*
 * A handle opened alone has the kernel cache what it reads (cache_readdir); it keeps the
 * listing it has (keep_cache) only when the book says the same listing was served moments ago
 * and taking it again now gives the same fingerprint (dirsnap.h: the names are taken, not
 * their attributes, which is most of a listing's work).
 */
int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct mvbfs *m = fo_ctx();
	struct dirh *dh = calloc(1, sizeof(*dh));
	uint64_t was, now;
	unsigned others;
	int recent;

	if (!dh || !(dh->ds = dirsnap_new())) {
		free(dh);
		return -ENOMEM;
	}
	if (m->dirbook && (dh->path = strdup(path)) != NULL &&
	    dirsnap_book_open(m->dirbook, path, mono_ms(), &others, &recent, &was) == 0) {
		if (others) {
			/* another handle may be reading the cache: leave it, read our own */
			fi->keep_cache = 1;
		} else {
			fi->cache_readdir = 1;
			fi->keep_cache = recent && list_dir(path, NULL, &now) == 0 && now == was;
		}
	} else {
		free(dh->path);	/* unbooked: the kernel reads the directory at every open */
		dh->path = NULL;
	}
	fi->fh = (uint64_t)(uintptr_t)dh;
	pass_dir_flags(fi);
	return 0;
}

int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dirh *dh = (struct dirh *)(uintptr_t)fi->fh;

	if (dh->path)
		dirsnap_book_close(fo_ctx()->dirbook, dh->path);
	dirsnap_free(dh->ds);
	free(dh->path);
	free(dh);
	return 0;
}

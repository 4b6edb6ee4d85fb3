/*
 * dirsnap.c - one open directory's listing, taken once and served by offset, and the book of
 * the listings the kernel may keep cached (dirsnap.h).
 */
#include "dirsnap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"

/* More entries than any backup directory holds (a collection's binlogs are grouped by
 * segment and field): a bound on the memory one listing may take. */
#define DIRSNAP_MAX_ENTRIES ((size_t)1 << 22)

struct dirsnap_entry {
	char *name;
	struct stat st;
	int pending;	/* st is the listing's view (dirsnap_add) */
};

struct dirsnap {
	struct dirsnap_entry *e;
	size_t n, cap;
};

struct dirsnap *dirsnap_new(void)
{
	return calloc(1, sizeof(struct dirsnap));
}

void dirsnap_clear(struct dirsnap *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	d->n = 0;
}

void dirsnap_free(struct dirsnap *d)
{
	if (!d)
		return;
	dirsnap_clear(d);
	free(d->e);
	free(d);
}

int dirsnap_add(struct dirsnap *d, const char *name, const struct stat *st, int pending)
{
	char *copy;

	if (d->n >= DIRSNAP_MAX_ENTRIES)
		return -EOVERFLOW;
	if (ARRAY_GROW(d->e, d->n, d->cap, 64))
		return -ENOMEM;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->e[d->n].name = copy;
	d->e[d->n].st = *st;
	d->e[d->n].pending = pending;
	d->n++;
	return 0;
}

size_t dirsnap_count(const struct dirsnap *d)
{
	return d->n;
}

size_t dirsnap_serve(struct dirsnap *d, off_t offset, int plus, dirsnap_fill_fn fill,
		     void *ctx)
{
	size_t i, first = offset > 2 ? (size_t)offset - 2 : 0;

	/* "." = 1, ".." = 2, entry i = i + 3: the offset passed is where the next call resumes */
	if (offset < 1 && fill(ctx, ".", NULL, NULL, 1, 0))
		return 0;
	if (offset < 2 && fill(ctx, "..", NULL, NULL, 2, 0))
		return 0;
	for (i = first; i < d->n; i++)
		if (fill(ctx, d->e[i].name, &d->e[i].st, &d->e[i].pending, (off_t)i + 3, plus))
			break;
	return i > first ? i - first : 0;
}

uint64_t dirsnap_fp_add(uint64_t fp, const char *name, int is_dir)
{
	/* FNV-1a over the name, its terminating NUL and the kind */
	for (const unsigned char *c = (const unsigned char *)name;; c++) {
		fp = (fp ^ *c) * 1099511628211ull;
		if (!*c)
			break;
	}
	return (fp ^ (is_dir ? 2u : 1u)) * 1099511628211ull;
}

#define BOOK_BUCKETS 256

struct book_rec {
	struct book_rec *next;
	uint64_t fp;		/* the listing last served */
	int64_t at_ms;		/* when (mono_ms); 0: none, or not by a handle reading alone */
	unsigned opens;		/* handles of the path open now */
	char path[];
};

struct dirsnap_book {
	pthread_mutex_t lock;	/* guards bucket, n and every record */
	struct book_rec *bucket[BOOK_BUCKETS];
	size_t n;
};

struct dirsnap_book *dirsnap_book_new(void)
{
	struct dirsnap_book *b = calloc(1, sizeof(*b));

	if (b && pthread_mutex_init(&b->lock, NULL)) {
		free(b);
		b = NULL;
	}
	return b;
}

void dirsnap_book_free(struct dirsnap_book *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < BOOK_BUCKETS; i++)
		while (b->bucket[i]) {
			struct book_rec *r = b->bucket[i];

			b->bucket[i] = r->next;
			free(r);
		}
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static struct book_rec **book_slot(struct dirsnap_book *b, const char *path)
{
	struct book_rec **p = &b->bucket[dirsnap_fp_add(DIRSNAP_FP_INIT, path, 0) % BOOK_BUCKETS];

	while (*p && strcmp((*p)->path, path))
		p = &(*p)->next;
	return p;
}

/* Drop the records of the paths no handle has open (the book is full). */
static void book_prune(struct dirsnap_book *b)
{
	for (size_t i = 0; i < BOOK_BUCKETS; i++)
		for (struct book_rec **p = &b->bucket[i]; *p;) {
			struct book_rec *r = *p;

			if (r->opens) {
				p = &r->next;
				continue;
			}
			*p = r->next;
			free(r);
			b->n--;
		}
}

int dirsnap_book_open(struct dirsnap_book *b, const char *path, int64_t now_ms,
		      unsigned *others, int *recent, uint64_t *fp)
{
	struct book_rec **p, *r;
	int rc = 0;

	*others = 0;
	*recent = 0;
	*fp = 0;
	pthread_mutex_lock(&b->lock);
	p = book_slot(b, path);
	if (!*p) {
		size_t len = strlen(path);

		if (b->n >= DIRSNAP_BOOK_MAX) {
			book_prune(b);
			p = book_slot(b, path);
		}
		r = calloc(1, sizeof(*r) + len + 1);
		if (!r) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(r->path, path, len + 1);
		*p = r;
		b->n++;
	}
	r = *p;
	if (r->at_ms && now_ms - r->at_ms < DIRSNAP_KEEP_MS) {
		*recent = 1;
		*fp = r->fp;
	}
	*others = r->opens++;
out:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void dirsnap_book_served(struct dirsnap_book *b, const char *path, uint64_t fp, int64_t now_ms)
{
	struct book_rec *r;

	pthread_mutex_lock(&b->lock);
	r = *book_slot(b, path);
	if (r) {
		r->fp = fp;
		r->at_ms = r->opens == 1 ? now_ms : 0;
	}
	pthread_mutex_unlock(&b->lock);
}

void dirsnap_book_unplussed(struct dirsnap_book *b, const char *path)
{
	struct book_rec *r;

	pthread_mutex_lock(&b->lock);
	r = *book_slot(b, path);
	if (r)
		r->at_ms = 0;
	pthread_mutex_unlock(&b->lock);
}

void dirsnap_book_close(struct dirsnap_book *b, const char *path)
{
	struct book_rec *r;

	pthread_mutex_lock(&b->lock);
	r = *book_slot(b, path);
	if (r && r->opens)
		r->opens--;
	pthread_mutex_unlock(&b->lock);
}

/*
 * dirsnap.c - one open directory's listing, taken once and served by offset (dirsnap.h).
 */
#include "dirsnap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"

/* More entries than any backup directory holds (a collection's binlogs are grouped by
 * segment and field): a bound on the memory one listing may take. */
#define DIRSNAP_MAX_ENTRIES ((size_t)1 << 22)

struct dirsnap_entry {
	char *name;
	struct stat st;
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

int dirsnap_add(struct dirsnap *d, const char *name, const struct stat *st)
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
	d->n++;
	return 0;
}

size_t dirsnap_count(const struct dirsnap *d)
{
	return d->n;
}

void dirsnap_serve(const struct dirsnap *d, off_t offset, int plus, dirsnap_fill_fn fill,
		   void *ctx)
{
	/* "." = 1, ".." = 2, entry i = i + 3: the offset passed is where the next call resumes */
	if (offset < 1 && fill(ctx, ".", NULL, 1, 0))
		return;
	if (offset < 2 && fill(ctx, "..", NULL, 2, 0))
		return;
	for (size_t i = offset > 2 ? (size_t)offset - 2 : 0; i < d->n; i++)
		if (fill(ctx, d->e[i].name, &d->e[i].st, (off_t)i + 3, plus))
			return;
}

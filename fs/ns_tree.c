/*
 * ns_tree.c - a backup's tree of objects, built from its listing: directories and files with
 * sizes and times, children sorted by name for lookups and readdir (ns_internal.h).
 */
#include "ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_release(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_release(&n->kids[i]);
	free(n->kids);
	free(n->name);
	memset(n, 0, sizeof(*n));
}

static struct node *node_child(struct node *dir, const char *name, size_t len)
{
	size_t i;

	/* Keys arrive sorted, so the child we want is nearly always the last one added. */
	for (i = dir->nkids; i-- > 0;)
		if (strlen(dir->kids[i].name) == len && !memcmp(dir->kids[i].name, name, len))
			return &dir->kids[i];
	return NULL;
}

static struct node *node_add(struct node *dir, const char *name, size_t len, int is_dir)
{
	struct node *k;

	if (ARRAY_GROW(dir->kids, dir->nkids, dir->capkids, 4))
		return NULL;
	k = &dir->kids[dir->nkids];
	memset(k, 0, sizeof(*k));
	k->name = strndup(name, len);
	if (!k->name)
		return NULL;
	k->is_dir = is_dir;
	dir->nkids++;
	return k;
}

/* Insert "a/b/c" (relative to the backup) into the tree.  A trailing '/' is a directory
 * marker object: it creates the directory and no file. */
int tree_insert(struct node *root, const char *rel, const struct obj_entry *e)
{
	struct node *dir = root;
	const char *p = rel;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct node *k;

		if (len == 0) {
			if (!slash)
				return 0;	/* marker object "dir/" */
			p = slash + 1;		/* "a//b": skip empty element */
			continue;
		}
		k = node_child(dir, p, len);
		if (k && k->is_dir != (slash != NULL)) {
			/* "x" both a file and a directory: S3 allows it, a tree does not.
			 * The directory wins; the object stays readable through others' tools. */
			if (!slash)
				return 0;
			k->is_dir = 1;
			k->size = 0;
		}
		if (!k) {
			k = node_add(dir, p, len, slash != NULL);
			if (!k)
				return -ENOMEM;
		}
		if (e->mtime > k->mtime)
			k->mtime = e->mtime;
		if (!slash) {
			k->size = e->size;
			return 0;
		}
		dir = k;
		p = slash + 1;
	}
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

void tree_sort(struct node *n)
{
	size_t i;

	if (n->nkids == 0)
		return;	/* kids is NULL then, and qsort's first argument must not be */
	qsort(n->kids, n->nkids, sizeof(*n->kids), node_cmp);
	for (i = 0; i < n->nkids; i++)
		if (n->kids[i].is_dir)
			tree_sort(&n->kids[i]);
}

const struct node *tree_find(const struct node *n, const char *path)
{
	while (*path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		size_t lo = 0, hi = n->nkids;
		const struct node *found = NULL;

		if (!n->is_dir)
			return NULL;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = strncmp(n->kids[mid].name, path, len);

			if (c == 0 && n->kids[mid].name[len] != '\0')
				c = 1;
			if (c == 0) {
				found = &n->kids[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!found)
			return NULL;
		n = found;
		path = slash ? slash + 1 : path + len;
	}
	return n;
}

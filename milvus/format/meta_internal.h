/*
 * meta_internal.h - what the files of the meta module share (private to milvus/format/):
 * meta.c (release, derived values, JSON text), meta_parse.c (full_meta.json and the typed
 * getters), meta_levels.c (the four level files), meta_write.c (the writer).
 */
#ifndef MVBACKUPFS_META_INTERNAL_H
#define MVBACKUPFS_META_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/format/meta.h"

/* A parse in progress: where errors go and the JSON path of the value being parsed. */
struct pctx {
	struct errmsg *err;
	char path[256];		/* JSON path of the value being parsed, for messages */
	size_t plen;
};

/* meta.c: release an array of partitions / one segment / an array of segments */
void mi_partitions_release(struct meta_partition **v, size_t *n);
void mi_segment_release(struct meta_segment *s);
void mi_segments_release(struct meta_segment **v, size_t *n);

/* meta.c: a jansson value as compact Go-style JSON, keys in their stored order */
int mi_json_value(struct buf *out, json_t *v);

/* meta_parse.c: calloc of n elements (NULL for n == 0 is fine); the out-of-memory error;
 * text -> jansson root (errors name `what`); the root object of full_meta.json /
 * backup_meta.json (with_tree: collections included); typed array getters */
void *mi_alloc_n(size_t n, size_t size);
int mi_nomem(struct pctx *p);
int mi_load_json(struct pctx *p, const char *what, const char *text, size_t len,
		     json_t **out);
int mi_parse_root(struct pctx *p, json_t *o, struct meta_backup *b, bool with_tree);
int mi_get_collections(struct pctx *p, json_t *o, const char *key, struct meta_collection **out,
		       size_t *n);
int mi_get_partitions(struct pctx *p, json_t *o, const char *key, struct meta_partition **out,
		      size_t *n);
int mi_get_segments(struct pctx *p, json_t *o, const char *key, struct meta_segment **out,
		    size_t *n);

#endif

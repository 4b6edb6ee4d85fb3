/*
 * ytree.h - backup.yaml parsed into a small typed tree (private to milvus/config/): scalars,
 * mappings and sequences, each with the line and column it starts at, so that every error
 * can name FILE:LINE:COL.  Bounded: YAML_MAX_DEPTH levels, YAML_MAX_NODES nodes.
 */
#ifndef MVBACKUPFS_YTREE_H
#define MVBACKUPFS_YTREE_H

#include <stddef.h>

#include "mvbackupfs/base/err.h"

enum ynode_type { Y_NULL, Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode;

struct ypair {
	char *key;
	int line, col;
	struct ynode *val;
};

struct ynode {
	enum ynode_type type;
	int line, col;		/* 1-based, where the node starts */
	char *value;		/* Y_SCALAR */
	struct ypair *pairs;	/* Y_MAP */
	struct ynode **items;	/* Y_SEQ */
	size_t n;		/* pairs or items */
};

/* Parse `text` (len bytes of the file `path`, for messages) into *root (NULL for an empty
 * document).  0 or -EINVAL with "FILE:LINE:COL: message", -ENOMEM. */
int y_parse(const char *path, const char *text, size_t len, struct ynode **root,
		   struct errmsg *err);

/* The pair at "a.b.c" (matched case-insensitively, as milvus-backup does), or NULL. */
const struct ypair *y_find(const struct ynode *root, const char *dotted);

void ynode_free(struct ynode *n);

#endif

/*
 * config_internal.h - what the files of milvus/config/ share: the loader (a parsed file and
 * where errors go), one raw setting and its origin, the typed getters with milvus-backup's
 * precedence (environment > file > default), and the key table's entry points (keys.c).
 */
#ifndef MVBACKUPFS_CONFIG_INTERNAL_H
#define MVBACKUPFS_CONFIG_INTERNAL_H

#include "mvbackupfs/config/config.h"

#include "ytree.h"

#define MIB (1024ull * 1024)

struct loader {
	const char *path;	/* the file, for messages */
	struct ynode *root;	/* NULL: no file, or an empty one */
	struct errmsg *err;
};

/* One raw setting: its text and where it came from (for messages). */
struct val {
	const char *s;		/* NULL = unset */
	const char *key;	/* the YAML key that names it (the first alias) */
	const char *env;	/* set when it came from the environment */
	int line, col;		/* set when it came from the file */
};

/* Look `keys` ("a.b|c.d": aliases, first present wins) up in the environment variable `env`
 * (NULL: none; empty counts as unset), then in the file; v->s NULL when unset.  -EINVAL when
 * a section is not a mapping or the value not a scalar. */
int cfg_fetch(struct loader *L, const char *keys, const char *env, struct val *v);
int cfg_bad(struct loader *L, const struct val *v, const char *expect);
int cfg_replace_str(char **dst, const char *s);
int cfg_get_str(struct loader *L, const char *keys, const char *env, char **dst, int *set);
int cfg_parse_bool(const char *s, int *out);
int cfg_get_bool(struct loader *L, const char *keys, const char *env, int *dst);
int cfg_parse_long(const char *s, long *out);
int cfg_get_int(struct loader *L, const char *keys, const char *env, long lo, long hi,
		   int *dst);

/* "****" for a set secret, "" for an empty one. */
const char *cfg_mask(const char *secret);

/* The key table (keys.c): defaults of every key, load of milvus.*, minio.* beside the sides
 * and backup.*; load of mvbackupfs.* with warnings for unknown keys; release; dump of a part
 * in --print-config's order. */
enum config_keys_part { CONFIG_KEYS_MILVUS, CONFIG_KEYS_BACKUP, CONFIG_KEYS_FS };
int config_keys_default(struct config *c);
int config_keys_load_milvus(struct loader *L, struct config *c);
int config_keys_load_fs(struct loader *L, struct config *c);
void config_keys_release(struct config *c);
int config_keys_dump(const struct config *c, enum config_keys_part part, struct buf *out);

#endif

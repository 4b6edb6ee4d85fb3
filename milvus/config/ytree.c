/*
 * ytree.c - backup.yaml into a typed tree with positions (ytree.h), with libyaml's event API.
 */
#include "ytree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	if (n->type == Y_MAP) {
		for (i = 0; i < n->n; i++) {
			free(n->pairs[i].key);
			ynode_free(n->pairs[i].val);
		}
		free(n->pairs);
	} else if (n->type == Y_SEQ) {
		for (i = 0; i < n->n; i++)
			ynode_free(n->items[i]);
		free(n->items);
	}
	free(n->value);
	free(n);
}

struct yparse {
	yaml_parser_t parser;
	const char *path;
	size_t nodes;
	struct errmsg *err;
};

static int y_next(struct yparse *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->parser, ev))
		return 0;
	if (y->parser.error == YAML_MEMORY_ERROR)
		return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
	if (y->parser.context)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: %s %s (line %zu)", y->path,
				  y->parser.problem_mark.line + 1,
				  y->parser.problem_mark.column + 1, y->parser.problem,
				  y->parser.context, y->parser.context_mark.line + 1);
	return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: %s", y->path,
			  y->parser.problem_mark.line + 1, y->parser.problem_mark.column + 1,
			  y->parser.problem ? y->parser.problem : "invalid YAML");
}

/* A plain scalar that YAML reads as null: absent value, "~", "null". */
static int is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static int y_node(struct yparse *y, yaml_event_t *ev, int depth, struct ynode **out);

static int y_map(struct yparse *y, struct ynode *n, int depth)
{
	for (;;) {
		yaml_event_t kev, vev;
		struct ypair *p;
		size_t i;
		int rc;

		rc = y_next(y, &kev);
		if (rc)
			return rc;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			rc = errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: only plain keys are supported "
					"in a mapping", y->path, kev.start_mark.line + 1,
					kev.start_mark.column + 1);
			yaml_event_delete(&kev);
			return rc;
		}
		for (i = 0; i < n->n; i++)
			if (!strcmp(n->pairs[i].key, (const char *)kev.data.scalar.value))
				break;
		if (i < n->n) {
			rc = errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: duplicate key '%s' (first at "
					"line %d)", y->path, kev.start_mark.line + 1,
					kev.start_mark.column + 1,
					(const char *)kev.data.scalar.value, n->pairs[i].line);
			yaml_event_delete(&kev);
			return rc;
		}
		p = realloc(n->pairs, (n->n + 1) * sizeof(*p));
		if (!p) {
			yaml_event_delete(&kev);
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		}
		n->pairs = p;
		p = &n->pairs[n->n];
		memset(p, 0, sizeof(*p));
		p->key = strdup((const char *)kev.data.scalar.value);
		p->line = (int)kev.start_mark.line + 1;
		p->col = (int)kev.start_mark.column + 1;
		yaml_event_delete(&kev);
		if (!p->key)
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		n->n++;
		rc = y_next(y, &vev);
		if (rc)
			return rc;
		rc = y_node(y, &vev, depth + 1, &p->val);
		yaml_event_delete(&vev);
		if (rc)
			return rc;
	}
}

static int y_seq(struct yparse *y, struct ynode *n, int depth)
{
	for (;;) {
		yaml_event_t ev;
		struct ynode **items;
		int rc;

		rc = y_next(y, &ev);
		if (rc)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		items = realloc(n->items, (n->n + 1) * sizeof(*items));
		if (!items) {
			yaml_event_delete(&ev);
			return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		}
		n->items = items;
		n->items[n->n] = NULL;
		rc = y_node(y, &ev, depth + 1, &n->items[n->n]);
		yaml_event_delete(&ev);
		if (n->items[n->n])
			n->n++;
		if (rc)
			return rc;
	}
}

/* Build the node that starts with `ev` (the caller deletes ev). */
static int y_node(struct yparse *y, yaml_event_t *ev, int depth, struct ynode **out)
{
	struct ynode *n;
	int rc = 0;

	*out = NULL;
	if (depth > YAML_MAX_DEPTH || ++y->nodes > YAML_MAX_NODES)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: the document is nested too deeply "
				  "or too large", y->path, ev->start_mark.line + 1,
				  ev->start_mark.column + 1);
	if (ev->type == YAML_ALIAS_EVENT)
		return errmsg_set(y->err, -EINVAL, "%s:%zu:%zu: YAML aliases ('*%s') are not "
				  "supported", y->path, ev->start_mark.line + 1,
				  ev->start_mark.column + 1, (const char *)ev->data.alias.anchor);
	n = calloc(1, sizeof(*n));
	if (!n)
		return errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	*out = n;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (is_null_scalar(ev)) {
			n->type = Y_NULL;
			break;
		}
		n->type = Y_SCALAR;
		n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->value)
			rc = errmsg_set(y->err, -ENOMEM, "%s: out of memory", y->path);
		break;
	case YAML_MAPPING_START_EVENT:
		n->type = Y_MAP;
		rc = y_map(y, n, depth);
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->type = Y_SEQ;
		rc = y_seq(y, n, depth);
		break;
	default:
		rc = errmsg_set(y->err, -EINVAL, "%s:%d:%d: unexpected YAML event", y->path,
				n->line, n->col);
		break;
	}
	return rc;
}

/* Parse `text` into a tree.  An empty document yields NULL (no keys). */
int y_parse(const char *path, const char *text, size_t len, struct ynode **root,
		   struct errmsg *err)
{
	struct yparse y = { .path = path, .err = err };
	yaml_event_t ev;
	int rc, done = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&y.parser))
		return errmsg_set(err, -ENOMEM, "%s: out of memory", path);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	while (!done) {
		rc = y_next(&y, &ev);
		if (rc)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (*root || y.nodes) {
				rc = errmsg_set(err, -EINVAL, "%s:%zu:%zu: more than one YAML "
						"document", path, ev.start_mark.line + 1,
						ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		default:
			rc = y_node(&y, &ev, 0, root);
			if (!rc && *root && (*root)->type == Y_NULL) {
				ynode_free(*root);
				*root = NULL;
			} else if (!rc && *root && (*root)->type != Y_MAP) {
				rc = errmsg_set(err, -EINVAL, "%s:%d:%d: the top level must be a "
						"mapping of keys", path, (*root)->line,
						(*root)->col);
			}
			if (rc) {
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&y.parser);
	if (rc) {
		ynode_free(*root);
		*root = NULL;
	}
	return rc;
}

/* The last pair named by the dotted path (case-insensitive, as milvus-backup). */
const struct ypair *y_find(const struct ynode *root, const char *dotted)
{
	const struct ypair *found = NULL;
	const char *p = dotted;

	while (root && root->type == Y_MAP) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p), i;

		found = NULL;
		for (i = 0; i < root->n; i++)
			if (strlen(root->pairs[i].key) == len &&
			    !strncasecmp(root->pairs[i].key, p, len))
				found = &root->pairs[i];
		if (!found || !dot)
			return found;
		root = found->val;
		p = dot + 1;
	}
	return NULL;
}

/*
 * restore_schema.c - the stored schema of a backed-up collection as the CollectionSchema that
 * CreateCollection takes (the reverse of schema_convert.c): fields with their parameters and
 * default values, functions, properties; `$meta` left out (Milvus adds it).
 */
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/b64.h"

int rs_pbkvs_from(const struct meta_kvs *in, struct pbkvs *o, const struct restore_keys *skip,
		  const char *set_key, const char *set_value)
{
	size_t i, cap = in->n + (set_key ? 1 : 0);

	memset(o, 0, sizeof(*o));
	if (!cap)
		return 0;
	o->v = calloc(cap, sizeof(*o->v));
	o->p = calloc(cap, sizeof(*o->p));
	if (!o->v || !o->p)
		return -ENOMEM;
	for (i = 0; i < in->n; i++) {
		if ((skip && restore_keys_has(skip, in->v[i].key)) ||
		    (set_key && !strcmp(in->v[i].key, set_key)))
			continue;
		milvus__proto__common__key_value_pair__init(&o->v[o->n]);
		o->v[o->n].key = in->v[i].key;
		o->v[o->n].value = in->v[i].value;
		o->p[o->n] = &o->v[o->n];
		o->n++;
	}
	if (set_key) {
		milvus__proto__common__key_value_pair__init(&o->v[o->n]);
		o->v[o->n].key = (char *)set_key;
		o->v[o->n].value = (char *)set_value;
		o->p[o->n] = &o->v[o->n];
		o->n++;
	}
	return 0;
}

void rs_pbkvs_free(struct pbkvs *o)
{
	free(o->v);
	free(o->p);
}

void rs_pbschema_free(struct pbschema *b)
{
	size_t i;

	for (i = 0; i < b->nf; i++) {
		if (b->ftp)
			rs_pbkvs_free(&b->ftp[i]);
		if (b->fip)
			rs_pbkvs_free(&b->fip[i]);
		if (b->dv && b->dv[i])
			milvus__proto__schema__value_field__free_unpacked(b->dv[i], NULL);
	}
	for (i = 0; i < b->nfn && b->fnparams; i++)
		rs_pbkvs_free(&b->fnparams[i]);
	free(b->f);
	free(b->fp);
	free(b->ftp);
	free(b->fip);
	free(b->dv);
	free(b->fn);
	free(b->fnp);
	free(b->fnparams);
	rs_pbkvs_free(&b->props);
}

/* One field of the backup as a FieldSchema (its parameters minus the skipParams keys, its
 * default value decoded); ftp, fip and *dv are owned by the caller. */
static int field_build(const struct meta_field *mf, const struct restore_cmd *cmd,
		       Milvus__Proto__Schema__FieldSchema *f, struct pbkvs *ftp, struct pbkvs *fip,
		       Milvus__Proto__Schema__ValueField **dv, struct errmsg *err)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	int rc;

	milvus__proto__schema__field_schema__init(f);
	f->fieldid = mf->field_id;
	f->name = mf->name ? mf->name : "";
	f->is_primary_key = mf->is_primary_key;
	f->description = mf->description ? mf->description : "";
	f->data_type = mf->data_type;
	f->autoid = mf->auto_id;
	f->element_type = mf->element_type;
	f->is_partition_key = mf->is_partition_key;
	f->nullable = mf->nullable;
	f->is_function_output = mf->is_function_output;
	if ((rc = rs_pbkvs_from(&mf->type_params, ftp, &cmd->skip_field_type, NULL, NULL)) ||
	    (rc = rs_pbkvs_from(&mf->index_params, fip, &cmd->skip_field_index, NULL, NULL)))
		return rc;
	f->n_type_params = ftp->n;
	f->type_params = ftp->p;
	f->n_index_params = fip->n;
	f->index_params = fip->p;
	if (mf->default_value_base64 && *mf->default_value_base64) {
		rc = b64_decode(mf->default_value_base64, &raw, &rawlen);
		if (rc)
			return errmsg_set(err, rc, "bad default value of field '%s'", f->name);
	} else if (mf->default_value_proto && *mf->default_value_proto) {
		rawlen = strlen(mf->default_value_proto);
		raw = (unsigned char *)strdup(mf->default_value_proto);
		if (!raw)
			return -ENOMEM;
	}
	if (raw) {
		*dv = milvus__proto__schema__value_field__unpack(NULL, rawlen, raw);
		free(raw);
		if (!*dv)
			return errmsg_set(err, -EINVAL, "bad default value of field '%s'", f->name);
		f->default_value = *dv;
	}
	return 0;
}

static int functions_build(const struct meta_schema *ms, struct pbschema *b)
{
	size_t i;
	int rc;

	if (!ms->nfunctions)
		return 0;
	b->fn = calloc(ms->nfunctions, sizeof(*b->fn));
	b->fnp = calloc(ms->nfunctions, sizeof(*b->fnp));
	b->fnparams = calloc(ms->nfunctions, sizeof(*b->fnparams));
	if (!b->fn || !b->fnp || !b->fnparams)
		return -ENOMEM;
	for (i = 0; i < ms->nfunctions; i++) {
		const struct meta_function *mf = &ms->functions[i];
		Milvus__Proto__Schema__FunctionSchema *f = &b->fn[i];

		milvus__proto__schema__function_schema__init(f);
		f->name = mf->name ? mf->name : "";
		f->id = mf->id;
		f->description = mf->description ? mf->description : "";
		f->type = mf->type;
		f->n_input_field_names = mf->ninput_field_names;
		f->input_field_names = mf->input_field_names;
		f->n_output_field_names = mf->noutput_field_names;
		f->output_field_names = mf->output_field_names;
		b->nfn++;
		if ((rc = rs_pbkvs_from(&mf->params, &b->fnparams[i], NULL, NULL, NULL)))
			return rc;
		f->n_params = b->fnparams[i].n;
		f->params = b->fnparams[i].p;
		b->fnp[i] = f;
	}
	return 0;
}

/* Build the schema of `c` named `name` for CreateCollection: `$meta` (the dynamic field) is
 * left out, Milvus adds it for enable_dynamic_field, and so are the fields added after the
 * collection was created (restore_field_added_later: AddCollectionField after the create).
 * 0, -ENOMEM, -EINVAL (undecodable default value). */
int rs_schema_build(const struct meta_collection *c, const char *name,
		    const struct restore_cmd *cmd, struct pbschema *b, struct errmsg *err)
{
	const struct meta_schema *ms = &c->schema;
	size_t i;
	int rc;

	memset(b, 0, sizeof(*b));
	milvus__proto__schema__collection_schema__init(&b->s);
	b->s.name = (char *)name;
	b->s.description = ms->description ? ms->description : "";
	b->s.autoid = ms->auto_id;
	b->s.enable_dynamic_field = ms->enable_dynamic_field;
	if (ms->nfields) {
		b->f = calloc(ms->nfields, sizeof(*b->f));
		b->fp = calloc(ms->nfields, sizeof(*b->fp));
		b->ftp = calloc(ms->nfields, sizeof(*b->ftp));
		b->fip = calloc(ms->nfields, sizeof(*b->fip));
		b->dv = calloc(ms->nfields, sizeof(*b->dv));
		if (!b->f || !b->fp || !b->ftp || !b->fip || !b->dv)
			return -ENOMEM;
	}
	for (i = 0; i < ms->nfields; i++) {
		const struct meta_field *mf = &ms->fields[i];
		size_t k = b->nf;

		if (mf->is_dynamic || restore_field_added_later(ms, mf))
			continue;
		b->nf++;	/* from here rs_pbschema_free owns its parts */
		if ((rc = field_build(mf, cmd, &b->f[k], &b->ftp[k], &b->fip[k], &b->dv[k], err)))
			return rc;
		b->fp[k] = &b->f[k];
	}
	b->s.n_fields = b->nf;
	b->s.fields = b->fp;
	if ((rc = functions_build(ms, b)))
		return rc;
	b->s.n_functions = b->nfn;
	b->s.functions = b->fnp;
	if ((rc = rs_pbkvs_from(&ms->properties, &b->props, NULL, NULL, NULL)))
		return rc;
	b->s.n_properties = b->props.n;
	b->s.properties = b->props.p;
	return 0;
}

int rs_field_pack(const struct meta_field *mf, const struct restore_cmd *cmd, uint8_t **out,
		  size_t *len, struct errmsg *err)
{
	Milvus__Proto__Schema__FieldSchema f;
	Milvus__Proto__Schema__ValueField *dv = NULL;
	struct pbkvs ftp = { 0 }, fip = { 0 };
	int rc;

	*out = NULL;
	rc = field_build(mf, cmd, &f, &ftp, &fip, &dv, err);
	if (!rc) {
		*len = milvus__proto__schema__field_schema__get_packed_size(&f);
		if (!(*out = malloc(*len ? *len : 1)))
			rc = -ENOMEM;
		else
			milvus__proto__schema__field_schema__pack(&f, *out);
	}
	rs_pbkvs_free(&ftp);
	rs_pbkvs_free(&fip);
	if (dv)
		milvus__proto__schema__value_field__free_unpacked(dv, NULL);
	return rc;
}

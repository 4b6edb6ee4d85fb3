/*
 * schema_convert.c - Milvus protobuf replies -> milvus-backup meta structs (see
 * schema_convert.h).  Used by the snapshot job to store DescribeCollection's schema.
 */
#include "schema_convert.h"

#include "mvbackupfs/base/b64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *dup0(const char *s)
{
	return strdup(s ? s : "");
}

int schema_kvs_from_proto(Milvus__Proto__Common__KeyValuePair *const *kv, size_t n,
			  struct meta_kvs *out)
{
	out->v = NULL;
	out->n = 0;
	if (!n)
		return 0;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		out->v[i].key = dup0(kv[i]->key);
		out->v[i].value = dup0(kv[i]->value);
		out->n++;
		if (!out->v[i].key || !out->v[i].value) {
			meta_kvs_release(out);
			return -ENOMEM;
		}
	}
	return 0;
}

static int strs_from(char *const *in, size_t n, char ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = dup0(in[i]);
		(*nout)++;
		if (!(*out)[i])
			return -ENOMEM;		/* the caller releases the partial list */
	}
	return 0;
}

static int ids_from(const int64_t *in, size_t n, int64_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, in, n * sizeof(**out));
	*nout = n;
	return 0;
}

static int field_from(const Milvus__Proto__Schema__FieldSchema *in, struct meta_field *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->field_id = in->fieldid;
	f->is_primary_key = in->is_primary_key;
	f->data_type = (int)in->data_type;
	f->auto_id = in->autoid;
	f->state = (int)in->state;
	f->element_type = (int)in->element_type;
	f->is_dynamic = in->is_dynamic;
	f->is_partition_key = in->is_partition_key;
	f->nullable = in->nullable;
	f->is_function_output = in->is_function_output;
	if (!(f->name = dup0(in->name)) || !(f->description = dup0(in->description)))
		goto nomem;
	if ((rc = schema_kvs_from_proto(in->type_params, in->n_type_params, &f->type_params)) ||
	    (rc = schema_kvs_from_proto(in->index_params, in->n_index_params, &f->index_params)))
		goto nomem;
	if (in->default_value) {
		/* milvus-backup main: default_value_base64 = base64(proto.Marshal(DefaultValue)) */
		size_t n = protobuf_c_message_get_packed_size(&in->default_value->base);
		unsigned char *packed = malloc(n ? n : 1);

		if (!packed)
			goto nomem;
		protobuf_c_message_pack(&in->default_value->base, packed);
		f->default_value_base64 = b64_encode(packed, n);
		free(packed);
		if (!f->default_value_base64)
			goto nomem;
	}
	return 0;
nomem:
	meta_field_release(f);
	return -ENOMEM;
}

static int function_from(const Milvus__Proto__Schema__FunctionSchema *in,
			 struct meta_function *f)
{
	memset(f, 0, sizeof(*f));
	f->id = in->id;
	f->type = (int)in->type;
	if (!(f->name = dup0(in->name)) || !(f->description = dup0(in->description)) ||
	    strs_from(in->input_field_names, in->n_input_field_names, &f->input_field_names,
		      &f->ninput_field_names) ||
	    ids_from(in->input_field_ids, in->n_input_field_ids, &f->input_field_ids,
		     &f->ninput_field_ids) ||
	    strs_from(in->output_field_names, in->n_output_field_names, &f->output_field_names,
		      &f->noutput_field_names) ||
	    ids_from(in->output_field_ids, in->n_output_field_ids, &f->output_field_ids,
		     &f->noutput_field_ids) ||
	    schema_kvs_from_proto(in->params, in->n_params, &f->params)) {
		meta_function_release(f);
		return -ENOMEM;
	}
	return 0;
}

int schema_from_proto(const Milvus__Proto__Schema__CollectionSchema *in, struct meta_schema *out)
{
	memset(out, 0, sizeof(*out));
	if (!in)
		goto empty;
	out->auto_id = in->autoid;
	out->enable_dynamic_field = in->enable_dynamic_field;
	if (!(out->name = dup0(in->name)) || !(out->description = dup0(in->description)))
		goto nomem;
	if (schema_kvs_from_proto(in->properties, in->n_properties, &out->properties))
		goto nomem;
	if (in->n_fields && !(out->fields = calloc(in->n_fields, sizeof(*out->fields))))
		goto nomem;
	for (size_t i = 0; i < in->n_fields; i++) {
		if (field_from(in->fields[i], &out->fields[i]))
			goto nomem;
		out->nfields++;
	}
	if (in->n_functions && !(out->functions = calloc(in->n_functions, sizeof(*out->functions))))
		goto nomem;
	for (size_t i = 0; i < in->n_functions; i++) {
		if (function_from(in->functions[i], &out->functions[i]))
			goto nomem;
		out->nfunctions++;
	}
	if (in->n_struct_array_fields &&
	    !(out->struct_fields = calloc(in->n_struct_array_fields, sizeof(*out->struct_fields))))
		goto nomem;
	for (size_t i = 0; i < in->n_struct_array_fields; i++) {
		const Milvus__Proto__Schema__StructArrayFieldSchema *sa = in->struct_array_fields[i];
		struct meta_struct_field *sf = &out->struct_fields[i];

		out->nstruct_fields++;
		sf->field_id = sa->fieldid;
		if (!(sf->name = dup0(sa->name)) || !(sf->description = dup0(sa->description)))
			goto nomem;
		if (sa->n_fields && !(sf->fields = calloc(sa->n_fields, sizeof(*sf->fields))))
			goto nomem;
		for (size_t j = 0; j < sa->n_fields; j++) {
			if (field_from(sa->fields[j], &sf->fields[j]))
				goto nomem;
			sf->nfields++;
		}
	}
	return 0;
empty:
	if (!(out->name = strdup("")) || !(out->description = strdup("")))
		goto nomem;
	return 0;
nomem:
	meta_schema_release(out);
	return -ENOMEM;
}

/*
 * test_proto_fields.c - our minimal Milvus .proto subset against the real thing.
 *
 * The .proto files in milvus/rpc/proto/ re-declare part of Milvus's protos by hand (milvus-grpc.md "The protos");
 * a wrong field number or type would silently corrupt data on the wire.  This test walks every
 * message, field and enum value reachable from the method table (milvus_methods[]) in the
 * protobuf-c descriptors and compares them with the protobufjs JSON descriptor shipped in
 * @zilliz/milvus2-sdk-node (installed by scripts/setup.sh for the Milvus stand-in): same field
 * numbers, same types, same repeated-ness, same enum numbers, and each method's request and reply
 * types as in MilvusService.  Offline: it only reads the file (MVB_SDK_DESCRIPTOR overrides the
 * path).  A few fields exist only from Milvus 2.6 on; they may be missing from an older SDK but
 * must match when present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.pb-c.h"
#include "milvus.pb-c.h"
#include "msg.pb-c.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "schema.pb-c.h"

#define SDK_DESCRIPTOR MVB_FIXTURES "/../milvus-standin/node_modules/@zilliz/milvus2-sdk-node" \
	"/dist/milvus/proto-json/milvus.js"

/* Declared by us, added to Milvus in 2.6: absent from a 2.5 SDK descriptor is fine. */
static const char *const newer_than_sdk[] = {
	"milvus.proto.milvus.PersistentSegmentInfo.storage_version",
	"milvus.proto.schema.CollectionSchema.struct_array_fields",
	"milvus.proto.schema.StructArrayFieldSchema",
	"milvus.proto.schema.DataType.Text",
	"milvus.proto.schema.DataType.Timestamptz",
	"milvus.proto.schema.DataType.Int8Vector",
	"milvus.proto.schema.DataType.ArrayOfVector",
	"milvus.proto.schema.DataType.ArrayOfStruct",
	"milvus.proto.schema.DataType.Struct",
	"milvus.proto.schema.FunctionType.Rerank",
};

static json_t *sdk_root;
static int problems;
static int skipped_newer;

static void problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "proto drift: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	problems++;
}

static int is_newer(const char *full)
{
	size_t i;

	for (i = 0; i < sizeof(newer_than_sdk) / sizeof(newer_than_sdk[0]); i++)
		if (strcmp(newer_than_sdk[i], full) == 0)
			return 1;
	return 0;
}

/* Load the SDK descriptor: `exports.default = { ... };` around a JSON object. */
static json_t *load_sdk(void)
{
	const char *path = getenv("MVB_SDK_DESCRIPTOR");
	char *text = NULL, *start, *end;
	json_error_t jerr;
	json_t *root = NULL;
	FILE *f;
	long len;

	if (!path || !*path)
		path = SDK_DESCRIPTOR;
	f = fopen(path, "rb");
	if (!f) {
		fail_msg("cannot read the Milvus SDK descriptor '%s' - run scripts/setup.sh to "
			 "install tests/milvus-standin/node_modules (or set MVB_SDK_DESCRIPTOR)",
			 path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = malloc((size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	start = strstr(text, "exports.default =");
	if (start)
		start = strchr(start, '{');
	end = strrchr(text, '}');
	snprintf(jerr.text, sizeof(jerr.text), "no 'exports.default = {'");
	if (start && end && end > start)
		root = json_loadb(start, (size_t)(end - start + 1), 0, &jerr);
	free(text);
	if (!root)
		fail_msg("'%s' is not the protobufjs descriptor expected: %s", path, jerr.text);
	return root;
}

/* The node of a fully qualified name ("milvus.proto.common.Status"), or NULL. */
static json_t *sdk_lookup(const char *full)
{
	char buf[256], *tok, *save = NULL;
	json_t *n = sdk_root;

	snprintf(buf, sizeof(buf), "%s", full);
	for (tok = strtok_r(buf, ".", &save); tok && n; tok = strtok_r(NULL, ".", &save))
		n = json_object_get(json_object_get(n, "nested"), tok);
	return n;
}

/* Resolve a type name used inside `scope` as protobuf does: innermost scope first.  Writes the
 * full name to `full`. */
static json_t *sdk_resolve(const char *scope, const char *type, char *full, size_t fullsz)
{
	char s[256], *dot;
	json_t *n;

	snprintf(s, sizeof(s), "%s", scope);
	for (;;) {
		snprintf(full, fullsz, "%s%s%s", s, s[0] ? "." : "", type);
		n = sdk_lookup(full);
		if (n)
			return n;
		if (!s[0])
			return NULL;
		dot = strrchr(s, '.');
		if (dot)
			*dot = '\0';
		else
			s[0] = '\0';
	}
}

static const char *scalar_name(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32: return "int32";
	case PROTOBUF_C_TYPE_SINT32: return "sint32";
	case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
	case PROTOBUF_C_TYPE_INT64: return "int64";
	case PROTOBUF_C_TYPE_SINT64: return "sint64";
	case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
	case PROTOBUF_C_TYPE_UINT32: return "uint32";
	case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
	case PROTOBUF_C_TYPE_UINT64: return "uint64";
	case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
	case PROTOBUF_C_TYPE_FLOAT: return "float";
	case PROTOBUF_C_TYPE_DOUBLE: return "double";
	case PROTOBUF_C_TYPE_BOOL: return "bool";
	case PROTOBUF_C_TYPE_STRING: return "string";
	case PROTOBUF_C_TYPE_BYTES: return "bytes";
	default: return NULL;
	}
}

static void check_message(const ProtobufCMessageDescriptor *d);

static void check_enum(const ProtobufCEnumDescriptor *e, json_t *node)
{
	json_t *values = json_object_get(node, "values"), *v;
	char full[300];
	unsigned i;

	for (i = 0; i < e->n_values; i++) {
		v = json_object_get(values, e->values[i].name);
		snprintf(full, sizeof(full), "%s.%s", e->name, e->values[i].name);
		if (!v) {
			if (is_newer(full))
				skipped_newer++;
			else
				problem("enum value '%s' is not in the SDK", full);
		} else if (json_integer_value(v) != e->values[i].value) {
			problem("enum value '%s' is %d here, %lld in the SDK", full,
				e->values[i].value, (long long)json_integer_value(v));
		}
	}
}

/* Compare our field type `t` (+ message/enum descriptor) with the SDK type name `sdk_type`
 * resolved in `scope`. */
static void check_type(const char *what, ProtobufCType t, const void *desc, const char *scope,
		       const char *sdk_type)
{
	char full[300];
	const char *ours;
	json_t *n;

	ours = scalar_name(t);
	if (ours) {
		if (strcmp(ours, sdk_type) != 0)
			problem("'%s' is %s here, %s in the SDK", what, ours, sdk_type);
		return;
	}
	n = sdk_resolve(scope, sdk_type, full, sizeof(full));
	if (t == PROTOBUF_C_TYPE_ENUM) {
		const ProtobufCEnumDescriptor *e = desc;

		if (!n || !json_object_get(n, "values") || strcmp(full, e->name) != 0)
			problem("'%s' is enum %s here, %s in the SDK", what, e->name, sdk_type);
		else
			check_enum(e, n);
	} else {
		const ProtobufCMessageDescriptor *m = desc;

		if (!n || !json_object_get(n, "fields") || strcmp(full, m->name) != 0)
			problem("'%s' is message %s here, %s in the SDK", what, m->name, sdk_type);
		else
			check_message(m);
	}
}

/* A protobuf-c map field is a repeated nested "...Entry" message of key = 1, value = 2. */
static int is_map_entry(const ProtobufCMessageDescriptor *m)
{
	size_t len = strlen(m->name);

	return len > 5 && strcmp(m->name + len - 5, "Entry") == 0 && m->n_fields == 2 &&
	       strcmp(m->fields[0].name, "key") == 0 && strcmp(m->fields[1].name, "value") == 0;
}

#define MAX_SEEN 256
static const void *seen[MAX_SEEN];
static size_t n_seen;

static int visit(const void *d)
{
	size_t i;

	for (i = 0; i < n_seen; i++)
		if (seen[i] == d)
			return 0;
	assert_true(n_seen < MAX_SEEN);
	seen[n_seen++] = d;
	return 1;
}

static void check_message(const ProtobufCMessageDescriptor *d)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessageDescriptor *entry;
	json_t *node, *fields, *sf;
	const char *sdk_name, *sdk_type, *key_type;
	char what[300];
	unsigned i;

	if (!visit(d))
		return;
	node = sdk_lookup(d->name);
	if (!node || !json_object_get(node, "fields")) {
		if (is_newer(d->name))
			skipped_newer++;
		else
			problem("message '%s' is not in the SDK", d->name);
		return;
	}
	fields = json_object_get(node, "fields");
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		snprintf(what, sizeof(what), "%s.%s", d->name, f->name);
		/* protobuf-c's own member is called `base`: we renamed Milvus's `base` field */
		sdk_name = strcmp(f->name, "msg_base") == 0 ? "base" : f->name;
		sf = json_object_get(fields, sdk_name);
		if (!sf) {
			if (is_newer(what))
				skipped_newer++;
			else
				problem("field '%s' is not in the SDK", what);
			continue;
		}
		if (json_integer_value(json_object_get(sf, "id")) != (json_int_t)f->id)
			problem("field '%s' is number %u here, %lld in the SDK", what, f->id,
				(long long)json_integer_value(json_object_get(sf, "id")));
		sdk_type = json_string_value(json_object_get(sf, "type"));
		key_type = json_string_value(json_object_get(sf, "keyType"));
		if (!sdk_type) {
			problem("field '%s' has no type in the SDK", what);
			continue;
		}
		entry = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
		if (key_type || (entry && is_map_entry(entry))) {
			if (!key_type || !entry || !is_map_entry(entry) ||
			    f->label != PROTOBUF_C_LABEL_REPEATED) {
				problem("field '%s': map here or in the SDK, not in both", what);
				continue;
			}
			check_type(what, entry->fields[0].type, entry->fields[0].descriptor,
				   d->name, key_type);
			check_type(what, entry->fields[1].type, entry->fields[1].descriptor,
				   d->name, sdk_type);
			continue;
		}
		if ((f->label == PROTOBUF_C_LABEL_REPEATED) !=
		    (json_string_value(json_object_get(sf, "rule")) &&
		     strcmp(json_string_value(json_object_get(sf, "rule")), "repeated") == 0))
			problem("field '%s' differs in being repeated", what);
		check_type(what, f->type, f->descriptor, d->name, sdk_type);
	}
}

static int setup(void **state)
{
	problems = 0;
	skipped_newer = 0;
	n_seen = 0;
	return 0;
}

static int teardown(void **state)
{
	json_decref(sdk_root);
	sdk_root = NULL;
	return 0;
}

/* Every method we call exists in MilvusService with our request and reply types. */
static void test_methods_match_service(void **state)
{
	json_t *methods, *m;
	char full[300];
	size_t i;

	sdk_root = load_sdk();
	methods = json_object_get(sdk_lookup("milvus.proto.milvus.MilvusService"), "methods");
	assert_non_null(methods);
	assert_true(milvus_n_methods >= 24);
	for (i = 0; i < milvus_n_methods; i++) {
		const struct milvus_method *mm = &milvus_methods[i];

		m = json_object_get(methods, mm->name);
		if (!m) {
			problem("method '%s' is not in MilvusService", mm->name);
			continue;
		}
		if (!sdk_resolve("milvus.proto.milvus",
				 json_string_value(json_object_get(m, "requestType")), full,
				 sizeof(full)) || strcmp(full, mm->req->name) != 0)
			problem("%s takes %s, not %s", mm->name, full, mm->req->name);
		if (!sdk_resolve("milvus.proto.milvus",
				 json_string_value(json_object_get(m, "responseType")), full,
				 sizeof(full)) || strcmp(full, mm->resp->name) != 0)
			problem("%s returns %s, not %s", mm->name, full, mm->resp->name);
		assert_ptr_equal(milvus_method_find(mm->name), mm);
	}
	assert_null(milvus_method_find("NoSuchMethod"));
	assert_int_equal(problems, 0);
}

/* Every field reachable from the method table has Milvus's number and type. */
static void test_fields_match_sdk(void **state)
{
	size_t i;

	sdk_root = load_sdk();
	for (i = 0; i < milvus_n_methods; i++) {
		check_message(milvus_methods[i].req);
		check_message(milvus_methods[i].resp);
	}
	/* sent as bytes (CreateCollectionRequest.schema) and stored in backups, so not reachable
	 * through a field: check explicitly */
	check_message(&milvus__proto__schema__collection_schema__descriptor);
	check_message(&milvus__proto__msg__msg_position__descriptor);
	if (skipped_newer)
		fprintf(stderr, "note: %d Milvus 2.6 field(s)/value(s) not in this SDK's "
			"descriptor\n", skipped_newer);
	/* the walk reached the schema and the map values, not just the top level */
	assert_true(n_seen >= 40);
	assert_int_equal(problems, 0);
}

/* A schema field we do not declare (a newer server's) survives unpack + pack unchanged, so a
 * schema read by DescribeCollection can be re-sent by CreateCollection without loss. */
static void test_unknown_fields_survive_repack(void **state)
{
	Milvus__Proto__Schema__CollectionSchema s = MILVUS__PROTO__SCHEMA__COLLECTION_SCHEMA__INIT;
	Milvus__Proto__Schema__CollectionSchema *u;
	uint8_t in[256], out[256];
	size_t n, m;

	s.name = "books";
	s.enable_dynamic_field = 1;
	n = protobuf_c_message_pack(&s.base, in);
	/* field 10 (CollectionSchema.version in Milvus 2.6), varint 7; field 15, varint 1 */
	in[n++] = 10 << 3;
	in[n++] = 7;
	in[n++] = 15 << 3;
	in[n++] = 1;
	u = milvus__proto__schema__collection_schema__unpack(NULL, n, in);
	assert_non_null(u);
	assert_string_equal(u->name, "books");
	m = protobuf_c_message_get_packed_size(&u->base);
	assert_int_equal(m, n);
	protobuf_c_message_pack(&u->base, out);
	assert_memory_equal(in, out, n);
	milvus__proto__schema__collection_schema__free_unpacked(u, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_methods_match_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields_match_sdk, setup, teardown),
		cmocka_unit_test(test_unknown_fields_survive_repack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

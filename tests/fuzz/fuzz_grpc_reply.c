/*
 * fuzz_grpc_reply.c - a Milvus gRPC reply as the client takes it apart: the first input byte
 * picks a method of milvus_methods[] (milvus/rpc/milvus_client.c), the rest is the HTTP/2 body -
 * the 5-byte gRPC message prefix and the protobuf message - checked and unpacked as that
 * method's reply type (grpc_frame_unpack, milvus/rpc/grpc.c, with protobuf-c), then the status
 * check every call applies (milvus_reply_status) and, for DescribeCollection, the schema
 * conversion the snapshot job stores (schema_from_proto).
 */
#include <errno.h>

#include "fuzz.h"
#include "milvus.pb-c.h"
#include "grpc.h"
#include "mvbackupfs/format/meta.h"
#include "mvbackupfs/rpc/milvus_client.h"
#include "schema_convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct milvus_method *m;
	ProtobufCMessage *resp = NULL;
	struct errmsg err;
	char cause[256];
	int rc;

	if (size < 1)
		return 0;
	m = &milvus_methods[data[0] % milvus_n_methods];
	rc = grpc_frame_unpack(data + 1, size - 1, 1u << 20, m->resp, &resp, cause, sizeof(cause));
	FUZZ_CHECK(rc == 0 || rc == -EPROTO);
	FUZZ_CHECK((rc == 0) == (resp != NULL));
	if (!resp)
		return 0;
	rc = milvus_reply_status(m->name, resp, &err);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EAGAIN || rc == -EIO);
	if (m->resp == &milvus__proto__milvus__describe_collection_response__descriptor) {
		const Milvus__Proto__Milvus__DescribeCollectionResponse *dc = (const void *)resp;
		struct meta_schema s;

		if (schema_from_proto(dc->schema, &s) == 0)
			meta_schema_release(&s);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

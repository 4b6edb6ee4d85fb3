/*
 * milvus_client.h - a Milvus session over gRPC: connection pool, auth, database scope, and the
 * second error level (the common.Status inside a gRPC-OK reply).
 *
 * Messages are the protobuf-c types generated from the .proto files in milvus/rpc/proto/ (include
 * "milvus.pb-c.h"; C member names are lower-cased by protoc-c, e.g. `collectionid`).  Build a
 * request with its ..._INIT macro, call milvus_call() or a helper, read the reply, free it with
 * protobuf_c_message_free_unpacked(&resp->base, NULL).
 *
 * Errors: the transport's codes (grpc.h: -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EACCES,
 * -ENOSYS, -EPROTO, -EIO), plus, from the reply's common.Status (code != 0 or error_code != 0):
 *   -ENOENT   collection (100), partition (200), index (700) or database (800) not found, or the
 *             old error_code CollectionNotExists / IndexNotExist
 *   -EAGAIN   Milvus marked the error retriable (status.retriable), e.g. a rate limit
 *   -EIO      any other Milvus error
 * The sentence reads "milvus <Method> failed: <reason> (code N)".  On any error *resp is NULL.
 *
 * Threads: a client may be shared by any number of threads.  Each call borrows one connection
 * from a pool of at most `max_conns` (an idle one, or a new one while below the limit, otherwise
 * it waits for one to be returned), so at most max_conns calls run at once.
 */
#ifndef MVBACKUPFS_MILVUS_CLIENT_H
#define MVBACKUPFS_MILVUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "milvus.pb-c.h"
#include "mvbackupfs/base/err.h"

struct milvus_client;

struct milvus_client_opts {
	const char *host;		/* milvus.address */
	int port;			/* milvus.port, 19530 when 0 */
	const char *user;		/* NULL or "" = no authentication */
	const char *password;		/* secret; NULL = `user` is an API token */
	int tls_mode;			/* 0 off, 1 one-way, 2 mutual */
	const char *ca_file;		/* milvus.caCertPath; NULL/"" = system store */
	const char *server_name;	/* milvus.serverName: the name in the server certificate */
	const char *cert_file;		/* milvus.mtlsCertPath (tls_mode 2) */
	const char *key_file;		/* milvus.mtlsKeyPath (tls_mode 2) */
	long timeout_ms;		/* deadline of each call; 0 = 30000 */
	int max_conns;			/* pool size; 0 = 4 */
	size_t max_recv;		/* reply message cap; 0 = 64 MiB */
};

/* Flags of milvus_call(). */
#define MILVUS_IDEMPOTENT	0x1u	/* retry on UNAVAILABLE / broken connection (reads are by default) */
#define MILVUS_NO_STATUS	0x2u	/* do not check common.Status: the caller reads it */

/* One MilvusService method mvbackupfs calls, with its message types. */
struct milvus_method {
	const char *name;				/* "Flush" */
	const ProtobufCMessageDescriptor *req;
	const ProtobufCMessageDescriptor *resp;
	int idempotent;					/* safe to repeat (a read) */
};

/* All the methods above, in a table (tests/unit/test_proto_fields.c checks it against the
 * Milvus SDK's service definition). */
extern const struct milvus_method milvus_methods[];
extern const size_t milvus_n_methods;

/* The entry of `name`, or NULL. */
const struct milvus_method *milvus_method_find(const char *name);

/* Create a client; no network traffic until the first call.  Copies `o`'s strings.
 * -EINVAL for a bad option, -ENOMEM. */
int milvus_client_new(const struct milvus_client_opts *o, struct milvus_client **out,
		      struct errmsg *err);

/* Close every connection and free the client.  No call may be in progress.  NULL is a no-op. */
void milvus_client_free(struct milvus_client *mc);

/* Open the session: Connect (an older server's UNIMPLEMENTED is tolerated; the identifier it
 * returns is sent on later calls, as milvus-backup does), then GetVersion.  The version string
 * ("v2.5.14") is kept by the client: see milvus_client_version(). */
int milvus_connect(struct milvus_client *mc, struct errmsg *err);

/* The server version learnt by milvus_connect(), "" before.  Owned by the client. */
const char *milvus_client_version(const struct milvus_client *mc);

/* Is `version` ("v2.3.5-lite", "2.4.3", "v2.6.0-rc1") at least major.minor.patch?  1 or 0;
 * -1 when it does not start with [v]N.N (then the caller cannot tell and should try the call). */
int milvus_version_at_least(const char *version, int major, int minor, int patch);

/* The generic call: `method` is a MilvusService method name ("Flush"), `db` the database scope
 * ("dbname" header; NULL or "" = none, i.e. the server's default), `req` a request message,
 * `desc` the reply's descriptor.  Unless MILVUS_NO_STATUS, a reply whose `status` field (or the
 * reply itself, when it is a common.Status) reports an error is freed and turned into -errno.
 * Methods listed in milvus_methods[] as idempotent are retried as if MILVUS_IDEMPOTENT were set.
 * On success *resp is the reply (caller frees with protobuf_c_message_free_unpacked). */
int milvus_call(struct milvus_client *mc, const char *method, const char *db,
		const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
		ProtobufCMessage **resp, unsigned flags, struct errmsg *err);

/* The second error level: Milvus's own common.Status inside a gRPC-OK reply `m` (the reply
 * itself when it is a common.Status, else its `status` field; none = success).  Returns 0, or
 * -ENOENT (collection / partition / index / database not found), -EAGAIN (retriable) or -EIO
 * with "milvus <method> failed: <reason> (code N)" in err.  milvus_call() applies it; exposed
 * for the fuzzer (tests/fuzz/fuzz_grpc_reply.c). */
int milvus_reply_status(const char *method, const ProtobufCMessage *m, struct errmsg *err);

/*
 * Typed helpers: each sends one request with the fields named, checks both error levels, and
 * returns the reply (freed by the caller with protobuf_c_message_free_unpacked(&r->base, NULL))
 * or, for milvus_has_collection and milvus_has_partition, a yes/no, or, for calls answered by
 * a bare common.Status (create, drop, load: the restore's), nothing.  `db` is the database (NULL or ""
 * = default).  Other methods: fill the request yourself and use milvus_call().
 */
int milvus_list_databases(struct milvus_client *mc,
			  Milvus__Proto__Milvus__ListDatabasesResponse **resp, struct errmsg *err);
int milvus_describe_database(struct milvus_client *mc, const char *db,
			     Milvus__Proto__Milvus__DescribeDatabaseResponse **resp,
			     struct errmsg *err);
int milvus_create_database(struct milvus_client *mc, const char *db, struct errmsg *err);
int milvus_show_collections(struct milvus_client *mc, const char *db,
			    Milvus__Proto__Milvus__ShowCollectionsResponse **resp,
			    struct errmsg *err);
/* *exists = 1 or 0. */
int milvus_has_collection(struct milvus_client *mc, const char *db, const char *coll,
			  int *exists, struct errmsg *err);
int milvus_describe_collection(struct milvus_client *mc, const char *db, const char *coll,
			       Milvus__Proto__Milvus__DescribeCollectionResponse **resp,
			       struct errmsg *err);
int milvus_drop_collection(struct milvus_client *mc, const char *db, const char *coll,
			   struct errmsg *err);
int milvus_show_partitions(struct milvus_client *mc, const char *db, const char *coll,
			   Milvus__Proto__Milvus__ShowPartitionsResponse **resp,
			   struct errmsg *err);
int milvus_has_partition(struct milvus_client *mc, const char *db, const char *coll,
			 const char *part, int *exists, struct errmsg *err);
int milvus_create_partition(struct milvus_client *mc, const char *db, const char *coll,
			    const char *part, struct errmsg *err);
/* A collection without any index answers -ENOENT (Milvus code 700). */
int milvus_describe_index(struct milvus_client *mc, const char *db, const char *coll,
			  Milvus__Proto__Milvus__DescribeIndexResponse **resp, struct errmsg *err);
/* Loading progress 0..100 of a collection, or of one of its partitions (NULL: all); 0 for
 * one Milvus answers "not loaded" (code 101, a released collection). */
int milvus_get_loading_progress(struct milvus_client *mc, const char *db, const char *coll,
				const char *partition, int64_t *progress, struct errmsg *err);
int milvus_load_collection(struct milvus_client *mc, const char *db, const char *coll,
			   struct errmsg *err);
/* Flush one collection (milvus-backup-format.md §3.2 step 7, serial). */
int milvus_flush(struct milvus_client *mc, const char *db, const char *coll,
		 Milvus__Proto__Milvus__FlushResponse **resp, struct errmsg *err);
/* *flushed = 1 when every segment in ids[0..n) is flushed up to flush_ts. */
int milvus_get_flush_state(struct milvus_client *mc, const char *db, const char *coll,
			   const int64_t *ids, size_t n, uint64_t flush_ts, int *flushed,
			   struct errmsg *err);
int milvus_get_persistent_segment_info(struct milvus_client *mc, const char *db,
				       const char *coll,
				       Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse **resp,
				       struct errmsg *err);

/* GET `path` ("/management/...") on Milvus's management HTTP endpoint `addr`
 * ("http://host:9091", trailing slashes ignored); the body is discarded.  0 on HTTP 200;
 * -EHOSTUNREACH when it cannot be reached (err holds curl's sentence), -EIO for another status
 * (*http_code holds it), -ENOMEM.  Timeouts: 5 s to connect, 10 s in all. */
int milvus_management_get(const char *addr, const char *path, long *http_code,
			  struct errmsg *err);

#endif

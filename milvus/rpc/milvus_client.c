/*
 * milvus_client.c - a Milvus session on top of grpc.c (see milvus_client.h).
 *
 * The client owns a small pool of gRPC connections (one CURL handle each, never shared between
 * threads at once), the session identifier from Connect, and the server version.  milvus_call()
 * adds what is Milvus- rather than gRPC-specific: the method path, the dbname header, the
 * per-method idempotency, and the check of the common.Status every reply carries
 * (milvus-grpc.md "Two error levels").
 */
#include "mvbackupfs/rpc/milvus_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.pb-c.h"
#include "grpc.h"

#define MILVUS_SERVICE		"milvus.proto.milvus.MilvusService/"
#define MILVUS_DEFAULT_PORT	19530
#define MILVUS_DEFAULT_TIMEOUT	30000L
#define MILVUS_DEFAULT_CONNS	4
#define MILVUS_MAX_CONNS	64

/* Milvus error codes (pkg/util/merr) that mean "no such thing". */
#define MERR_COLLECTION_NOT_FOUND	100
#define MERR_COLLECTION_NOT_LOADED	101
#define MERR_PARTITION_NOT_FOUND	200
#define MERR_INDEX_NOT_FOUND		700
#define MERR_DATABASE_NOT_FOUND		800

struct milvus_client {
	struct grpc_conn_opts gopts;	/* strings below are our copies */
	char *host, *user, *password, *ca_file, *server_name, *cert_file, *key_file;
	long timeout_ms;
	int max_conns;

	pthread_mutex_t lock;	/* protects idle[], n_idle, n_conns, identifier, version */
	pthread_cond_t returned;	/* signalled when a connection goes back to idle[] */
	struct grpc_conn *idle[MILVUS_MAX_CONNS];
	int n_idle;		/* connections in idle[] */
	int n_conns;		/* connections in existence (idle or borrowed) */
	char identifier[32];	/* Connect's identifier, "" when none */
	char version[64];	/* GetVersion's answer */
};

#define M(name, type, idem)                                                              \
	{ #name, &milvus__proto__milvus__##type##_request__descriptor,                  \
	  &milvus__proto__milvus__##type##_response__descriptor, idem }
#define M_STATUS(name, type, idem)                                                       \
	{ #name, &milvus__proto__milvus__##type##_request__descriptor,                  \
	  &milvus__proto__common__status__descriptor, idem }
#define M_BOOL(name, type)                                                               \
	{ #name, &milvus__proto__milvus__##type##_request__descriptor,                  \
	  &milvus__proto__milvus__bool_response__descriptor, 1 }

const struct milvus_method milvus_methods[] = {
	M(Connect, connect, 1),
	M(GetVersion, get_version, 1),
	M(ListDatabases, list_databases, 1),
	M(DescribeDatabase, describe_database, 1),
	M_STATUS(CreateDatabase, create_database, 0),
	M(ShowCollections, show_collections, 1),
	M_BOOL(HasCollection, has_collection),
	M(DescribeCollection, describe_collection, 1),
	M_STATUS(DropCollection, drop_collection, 0),
	M_STATUS(CreateCollection, create_collection, 0),
	M(GetCollectionStatistics, get_collection_statistics, 1),
	M(ShowPartitions, show_partitions, 1),
	M_BOOL(HasPartition, has_partition),
	M_STATUS(CreatePartition, create_partition, 0),
	M(DescribeIndex, describe_index, 1),
	M_STATUS(CreateIndex, create_index, 0),
	M(GetLoadingProgress, get_loading_progress, 1),
	M(GetLoadState, get_load_state, 1),
	M_STATUS(LoadCollection, load_collection, 0),
	M_STATUS(CreateAlias, create_alias, 0),
	M(Flush, flush, 0),
	M(GetFlushState, get_flush_state, 1),
	M(GetPersistentSegmentInfo, get_persistent_segment_info, 1),
	M(Import, import, 0),
	M(GetImportState, get_import_state, 1),
	M_STATUS(AddCollectionField, add_collection_field, 0),
	M_STATUS(AlterCollection, alter_collection, 1),
	{ "BackupRBAC", &milvus__proto__milvus__backup_rbacmeta_request__descriptor,
	  &milvus__proto__milvus__backup_rbacmeta_response__descriptor, 1 },
	{ "RestoreRBAC", &milvus__proto__milvus__restore_rbacmeta_request__descriptor,
	  &milvus__proto__common__status__descriptor, 0 },
};
const size_t milvus_n_methods = sizeof(milvus_methods) / sizeof(milvus_methods[0]);

#undef M
#undef M_STATUS
#undef M_BOOL

const struct milvus_method *milvus_method_find(const char *name)
{
	size_t i;

	for (i = 0; i < milvus_n_methods; i++)
		if (strcmp(milvus_methods[i].name, name) == 0)
			return &milvus_methods[i];
	return NULL;
}

static int dup_opt(const char *in, char **out)
{
	*out = NULL;
	if (!in)
		return 0;
	*out = strdup(in);
	return *out ? 0 : -ENOMEM;
}

int milvus_client_new(const struct milvus_client_opts *o, struct milvus_client **out,
		      struct errmsg *err)
{
	struct milvus_client *mc;

	*out = NULL;
	if (!o->host || !*o->host)
		return errmsg_set(err, -EINVAL, "no milvus address configured");
	if (o->max_conns < 0 || o->max_conns > MILVUS_MAX_CONNS)
		return errmsg_set(err, -EINVAL, "milvus connection pool of %d is out of range 1..%d",
				  o->max_conns, MILVUS_MAX_CONNS);
	if (o->tls_mode < 0 || o->tls_mode > 2)
		return errmsg_set(err, -EINVAL, "invalid milvus tlsMode %d", o->tls_mode);
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return errmsg_set(err, -ENOMEM, "out of memory");
	if (dup_opt(o->host, &mc->host) || dup_opt(o->user, &mc->user) ||
	    dup_opt(o->password, &mc->password) || dup_opt(o->ca_file, &mc->ca_file) ||
	    dup_opt(o->server_name, &mc->server_name) || dup_opt(o->cert_file, &mc->cert_file) ||
	    dup_opt(o->key_file, &mc->key_file)) {
		milvus_client_free(mc);
		return errmsg_set(err, -ENOMEM, "out of memory");
	}
	mc->gopts.host = mc->host;
	mc->gopts.port = o->port ? o->port : MILVUS_DEFAULT_PORT;
	mc->gopts.tls_mode = o->tls_mode;
	mc->gopts.ca_file = mc->ca_file;
	mc->gopts.server_name = mc->server_name;
	mc->gopts.cert_file = mc->cert_file;
	mc->gopts.key_file = mc->key_file;
	mc->gopts.user = mc->user;
	mc->gopts.password = mc->password;
	mc->gopts.max_recv = o->max_recv;
	mc->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : MILVUS_DEFAULT_TIMEOUT;
	mc->max_conns = o->max_conns ? o->max_conns : MILVUS_DEFAULT_CONNS;
	pthread_mutex_init(&mc->lock, NULL);
	pthread_cond_init(&mc->returned, NULL);
	*out = mc;
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void milvus_client_free(struct milvus_client *mc)
{
	int i;

	if (!mc)
		return;
	for (i = 0; i < mc->n_idle; i++)
		grpc_conn_free(mc->idle[i]);
	if (mc->gopts.host) {	/* set once the mutex exists */
		pthread_mutex_destroy(&mc->lock);
		pthread_cond_destroy(&mc->returned);
	}
	free(mc->host);
	free(mc->user);
	free_secret(mc->password);
	free(mc->ca_file);
	free(mc->server_name);
	free(mc->cert_file);
	free(mc->key_file);
	free(mc);
}

/* Borrow a connection: an idle one, a new one below the limit, or wait for one. */
static int conn_get(struct milvus_client *mc, struct grpc_conn **out, struct errmsg *err)
{
	struct grpc_conn *c = NULL;
	char ident[sizeof(mc->identifier)];
	int ret;

	pthread_mutex_lock(&mc->lock);
	while (mc->n_idle == 0 && mc->n_conns >= mc->max_conns)
		pthread_cond_wait(&mc->returned, &mc->lock);
	if (mc->n_idle)
		c = mc->idle[--mc->n_idle];
	else
		mc->n_conns++;
	memcpy(ident, mc->identifier, sizeof(ident));
	pthread_mutex_unlock(&mc->lock);

	if (!c) {
		ret = grpc_conn_new(&mc->gopts, &c, err);
		if (ret) {
			pthread_mutex_lock(&mc->lock);
			mc->n_conns--;
			pthread_cond_signal(&mc->returned);
			pthread_mutex_unlock(&mc->lock);
			return ret;
		}
	}
	/* milvus-backup-format.md §3.1: every call after Connect carries the identifier */
	ret = grpc_conn_set_header(c, "identifier", ident[0] ? ident : NULL);
	if (ret) {
		grpc_conn_free(c);
		pthread_mutex_lock(&mc->lock);
		mc->n_conns--;
		pthread_cond_signal(&mc->returned);
		pthread_mutex_unlock(&mc->lock);
		return errmsg_set(err, ret, "out of memory");
	}
	*out = c;
	return 0;
}

static void conn_put(struct milvus_client *mc, struct grpc_conn *c)
{
	pthread_mutex_lock(&mc->lock);
	mc->idle[mc->n_idle++] = c;
	pthread_cond_signal(&mc->returned);
	pthread_mutex_unlock(&mc->lock);
}

/* The common.Status of a reply: the reply itself, or its `status` field; NULL if none. */
static const Milvus__Proto__Common__Status *status_of(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f;

	if (m->descriptor == &milvus__proto__common__status__descriptor)
		return (const Milvus__Proto__Common__Status *)m;
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "status");
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE ||
	    f->descriptor != &milvus__proto__common__status__descriptor)
		return NULL;
	return *(Milvus__Proto__Common__Status *const *)((const char *)m + f->offset);
}

int milvus_reply_status(const char *method, const ProtobufCMessage *m, struct errmsg *err)
{
	const Milvus__Proto__Common__Status *st = status_of(m);
	int ret;

	if (!st || (st->code == 0 && st->error_code == 0))
		return 0;
	if (st->code == MERR_COLLECTION_NOT_FOUND || st->code == MERR_PARTITION_NOT_FOUND ||
	    st->code == MERR_INDEX_NOT_FOUND || st->code == MERR_DATABASE_NOT_FOUND ||
	    (st->code == 0 &&
	     (st->error_code == MILVUS__PROTO__COMMON__ERROR_CODE__CollectionNotExists ||
	      st->error_code == MILVUS__PROTO__COMMON__ERROR_CODE__IndexNotExist)))
		ret = -ENOENT;
	else if (st->retriable)
		ret = -EAGAIN;
	else
		ret = -EIO;
	return errmsg_set(err, ret, "milvus %s failed: %s (code %d)", method,
			  st->reason && *st->reason ? st->reason : "no reason given",
			  st->code ? st->code : (int)st->error_code);
}

int milvus_call(struct milvus_client *mc, const char *method, const char *db,
		const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
		ProtobufCMessage **resp, unsigned flags, struct errmsg *err)
{
	const struct milvus_method *m = milvus_method_find(method);
	struct grpc_call_opts o = { mc->timeout_ms, db, 0 };
	struct grpc_conn *c = NULL;
	char path[160];
	int ret;

	*resp = NULL;
	if ((size_t)snprintf(path, sizeof(path), MILVUS_SERVICE "%s", method) >= sizeof(path))
		return errmsg_set(err, -EINVAL, "invalid milvus method '%s'", method);
	if ((flags & MILVUS_IDEMPOTENT) || (m && m->idempotent))
		o.flags |= GRPC_IDEMPOTENT;
	ret = conn_get(mc, &c, err);
	if (ret)
		return ret;
	ret = grpc_call_ex(c, path, req, desc, resp, &o, err);
	conn_put(mc, c);
	if (ret)
		return ret;
	if (!(flags & MILVUS_NO_STATUS)) {
		ret = milvus_reply_status(method, *resp, err);
		if (ret) {
			protobuf_c_message_free_unpacked(*resp, NULL);
			*resp = NULL;
		}
	}
	return ret;
}

int milvus_connect(struct milvus_client *mc, struct errmsg *err)
{
	Milvus__Proto__Milvus__ConnectRequest creq = MILVUS__PROTO__MILVUS__CONNECT_REQUEST__INIT;
	Milvus__Proto__Common__ClientInfo info = MILVUS__PROTO__COMMON__CLIENT_INFO__INIT;
	Milvus__Proto__Milvus__GetVersionRequest vreq =
		MILVUS__PROTO__MILVUS__GET_VERSION_REQUEST__INIT;
	Milvus__Proto__Milvus__ConnectResponse *cresp = NULL;
	Milvus__Proto__Milvus__GetVersionResponse *vresp = NULL;
	int ret;

	info.sdk_type = "BackupToolCustomSDK";	/* as milvus-backup introduces itself */
	info.sdk_version = "mvbackupfs-" MVB_VERSION;
	info.user = mc->user && mc->password ? mc->user : "";
	creq.client_info = &info;
	ret = milvus_call(mc, "Connect", NULL, &creq.base,
			  &milvus__proto__milvus__connect_response__descriptor,
			  (ProtobufCMessage **)&cresp, 0, err);
	if (ret == -ENOSYS) {
		ret = 0;	/* a server older than Connect: carry on without an identifier */
	} else if (ret) {
		goto out;
	} else if (cresp->identifier) {
		pthread_mutex_lock(&mc->lock);
		snprintf(mc->identifier, sizeof(mc->identifier), "%" PRId64, cresp->identifier);
		pthread_mutex_unlock(&mc->lock);
	}
	ret = milvus_call(mc, "GetVersion", NULL, &vreq.base,
			  &milvus__proto__milvus__get_version_response__descriptor,
			  (ProtobufCMessage **)&vresp, 0, err);
	if (ret)
		goto out;
	pthread_mutex_lock(&mc->lock);
	snprintf(mc->version, sizeof(mc->version), "%s", vresp->version ? vresp->version : "");
	pthread_mutex_unlock(&mc->lock);
out:
	if (vresp)
		protobuf_c_message_free_unpacked(&vresp->base, NULL);
	if (cresp)
		protobuf_c_message_free_unpacked(&cresp->base, NULL);
	return ret;
}

const char *milvus_client_version(const struct milvus_client *mc)
{
	/* set by milvus_connect() under mc->lock; every snapshot's connect (mkdir, serialised per
	 * name, not per client) rewrites it with the same server's version string */
	return mc->version;
}

int milvus_version_at_least(const char *version, int major, int minor, int patch)
{
	int v[3] = { 0, 0, 0 }, want[3] = { major, minor, patch }, i, n = 0;
	const char *p = version;
	char *end;
	long x;

	if (!p)
		return -1;
	if (*p == 'v' || *p == 'V')
		p++;
	for (i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			break;
		x = strtol(p, &end, 10);
		v[i] = x > 100000 ? 100000 : (int)x;
		n++;
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	if (n < 2)
		return -1;
	for (i = 0; i < 3; i++)
		if (v[i] != want[i])
			return v[i] > want[i];
	return 1;
}

/* ---- typed helpers */

#define CALL(mc, name, db, req, type, resp, err)                                         \
	milvus_call((mc), name, (db), &(req).base,                                       \
		    &milvus__proto__milvus__##type##__descriptor,                       \
		    (ProtobufCMessage **)(resp), 0, (err))

static char *str(const char *s)
{
	return (char *)(s ? s : "");
}

/* Call a method answered by a bare common.Status. */
static int call_status(struct milvus_client *mc, const char *name, const char *db,
		       const ProtobufCMessage *req, struct errmsg *err)
{
	ProtobufCMessage *resp = NULL;
	int ret = milvus_call(mc, name, db, req, &milvus__proto__common__status__descriptor,
			      &resp, 0, err);

	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return ret;
}

/* Call a method answered by a BoolResponse. */
static int call_bool(struct milvus_client *mc, const char *name, const char *db,
		     const ProtobufCMessage *req, int *value, struct errmsg *err)
{
	Milvus__Proto__Milvus__BoolResponse *resp = NULL;
	int ret = milvus_call(mc, name, db, req, &milvus__proto__milvus__bool_response__descriptor,
			      (ProtobufCMessage **)&resp, 0, err);

	*value = 0;
	if (ret)
		return ret;
	*value = resp->value ? 1 : 0;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

int milvus_list_databases(struct milvus_client *mc,
			  Milvus__Proto__Milvus__ListDatabasesResponse **resp, struct errmsg *err)
{
	Milvus__Proto__Milvus__ListDatabasesRequest req =
		MILVUS__PROTO__MILVUS__LIST_DATABASES_REQUEST__INIT;

	return CALL(mc, "ListDatabases", NULL, req, list_databases_response, resp, err);
}

int milvus_describe_database(struct milvus_client *mc, const char *db,
			     Milvus__Proto__Milvus__DescribeDatabaseResponse **resp,
			     struct errmsg *err)
{
	Milvus__Proto__Milvus__DescribeDatabaseRequest req =
		MILVUS__PROTO__MILVUS__DESCRIBE_DATABASE_REQUEST__INIT;

	req.db_name = str(db);
	return CALL(mc, "DescribeDatabase", NULL, req, describe_database_response, resp, err);
}

int milvus_create_database(struct milvus_client *mc, const char *db, struct errmsg *err)
{
	Milvus__Proto__Milvus__CreateDatabaseRequest req =
		MILVUS__PROTO__MILVUS__CREATE_DATABASE_REQUEST__INIT;

	req.db_name = str(db);
	return call_status(mc, "CreateDatabase", NULL, &req.base, err);
}

int milvus_show_collections(struct milvus_client *mc, const char *db,
			    Milvus__Proto__Milvus__ShowCollectionsResponse **resp,
			    struct errmsg *err)
{
	Milvus__Proto__Milvus__ShowCollectionsRequest req =
		MILVUS__PROTO__MILVUS__SHOW_COLLECTIONS_REQUEST__INIT;

	req.db_name = str(db);
	return CALL(mc, "ShowCollections", db, req, show_collections_response, resp, err);
}

int milvus_has_collection(struct milvus_client *mc, const char *db, const char *coll,
			  int *exists, struct errmsg *err)
{
	Milvus__Proto__Milvus__HasCollectionRequest req =
		MILVUS__PROTO__MILVUS__HAS_COLLECTION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return call_bool(mc, "HasCollection", db, &req.base, exists, err);
}

int milvus_describe_collection(struct milvus_client *mc, const char *db, const char *coll,
			       Milvus__Proto__Milvus__DescribeCollectionResponse **resp,
			       struct errmsg *err)
{
	Milvus__Proto__Milvus__DescribeCollectionRequest req =
		MILVUS__PROTO__MILVUS__DESCRIBE_COLLECTION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return CALL(mc, "DescribeCollection", db, req, describe_collection_response, resp, err);
}

int milvus_drop_collection(struct milvus_client *mc, const char *db, const char *coll,
			   struct errmsg *err)
{
	Milvus__Proto__Milvus__DropCollectionRequest req =
		MILVUS__PROTO__MILVUS__DROP_COLLECTION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return call_status(mc, "DropCollection", db, &req.base, err);
}

int milvus_show_partitions(struct milvus_client *mc, const char *db, const char *coll,
			   Milvus__Proto__Milvus__ShowPartitionsResponse **resp,
			   struct errmsg *err)
{
	Milvus__Proto__Milvus__ShowPartitionsRequest req =
		MILVUS__PROTO__MILVUS__SHOW_PARTITIONS_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return CALL(mc, "ShowPartitions", db, req, show_partitions_response, resp, err);
}

int milvus_has_partition(struct milvus_client *mc, const char *db, const char *coll,
			 const char *part, int *exists, struct errmsg *err)
{
	Milvus__Proto__Milvus__HasPartitionRequest req =
		MILVUS__PROTO__MILVUS__HAS_PARTITION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	req.partition_name = str(part);
	return call_bool(mc, "HasPartition", db, &req.base, exists, err);
}

int milvus_create_partition(struct milvus_client *mc, const char *db, const char *coll,
			    const char *part, struct errmsg *err)
{
	Milvus__Proto__Milvus__CreatePartitionRequest req =
		MILVUS__PROTO__MILVUS__CREATE_PARTITION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	req.partition_name = str(part);
	return call_status(mc, "CreatePartition", db, &req.base, err);
}

int milvus_describe_index(struct milvus_client *mc, const char *db, const char *coll,
			  Milvus__Proto__Milvus__DescribeIndexResponse **resp, struct errmsg *err)
{
	Milvus__Proto__Milvus__DescribeIndexRequest req =
		MILVUS__PROTO__MILVUS__DESCRIBE_INDEX_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return CALL(mc, "DescribeIndex", db, req, describe_index_response, resp, err);
}

int milvus_get_loading_progress(struct milvus_client *mc, const char *db, const char *coll,
				const char *partition, int64_t *progress, struct errmsg *err)
{
	Milvus__Proto__Milvus__GetLoadingProgressRequest req =
		MILVUS__PROTO__MILVUS__GET_LOADING_PROGRESS_REQUEST__INIT;
	Milvus__Proto__Milvus__GetLoadingProgressResponse *resp = NULL;
	char *parts[1] = { (char *)partition };
	int ret;

	req.db_name = str(db);
	req.collection_name = str(coll);
	if (partition) {
		req.n_partition_names = 1;
		req.partition_names = parts;
	}
	*progress = 0;
	ret = milvus_call(mc, "GetLoadingProgress", db, &req.base,
			  &milvus__proto__milvus__get_loading_progress_response__descriptor,
			  (ProtobufCMessage **)&resp, MILVUS_NO_STATUS, err);
	if (ret)
		return ret;
	/* a released collection is answered with "collection not loaded" (code 101): progress 0 */
	if (!resp->status || resp->status->code != MERR_COLLECTION_NOT_LOADED) {
		ret = milvus_reply_status("GetLoadingProgress", &resp->base, err);
		if (!ret)
			*progress = resp->progress;
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return ret;
}

int milvus_load_collection(struct milvus_client *mc, const char *db, const char *coll,
			   struct errmsg *err)
{
	Milvus__Proto__Milvus__LoadCollectionRequest req =
		MILVUS__PROTO__MILVUS__LOAD_COLLECTION_REQUEST__INIT;

	req.db_name = str(db);
	req.collection_name = str(coll);
	return call_status(mc, "LoadCollection", db, &req.base, err);
}

int milvus_flush(struct milvus_client *mc, const char *db, const char *coll,
		 Milvus__Proto__Milvus__FlushResponse **resp, struct errmsg *err)
{
	Milvus__Proto__Milvus__FlushRequest req = MILVUS__PROTO__MILVUS__FLUSH_REQUEST__INIT;
	char *names[1] = { str(coll) };

	req.db_name = str(db);
	req.n_collection_names = 1;
	req.collection_names = names;
	return CALL(mc, "Flush", db, req, flush_response, resp, err);
}

int milvus_get_flush_state(struct milvus_client *mc, const char *db, const char *coll,
			   const int64_t *ids, size_t n, uint64_t flush_ts, int *flushed,
			   struct errmsg *err)
{
	Milvus__Proto__Milvus__GetFlushStateRequest req =
		MILVUS__PROTO__MILVUS__GET_FLUSH_STATE_REQUEST__INIT;
	Milvus__Proto__Milvus__GetFlushStateResponse *resp = NULL;
	int ret;

	req.db_name = str(db);
	req.collection_name = str(coll);
	req.n_segmentids = n;
	req.segmentids = (int64_t *)ids;	/* only read by pack */
	req.flush_ts = flush_ts;
	*flushed = 0;
	ret = CALL(mc, "GetFlushState", db, req, get_flush_state_response, &resp, err);
	if (ret)
		return ret;
	*flushed = resp->flushed ? 1 : 0;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

int milvus_get_persistent_segment_info(struct milvus_client *mc, const char *db,
				       const char *coll,
				       Milvus__Proto__Milvus__GetPersistentSegmentInfoResponse **resp,
				       struct errmsg *err)
{
	Milvus__Proto__Milvus__GetPersistentSegmentInfoRequest req =
		MILVUS__PROTO__MILVUS__GET_PERSISTENT_SEGMENT_INFO_REQUEST__INIT;

	req.dbname = str(db);
	req.collectionname = str(coll);
	return CALL(mc, "GetPersistentSegmentInfo", db, req, get_persistent_segment_info_response,
		    resp, err);
}

/* --- the management endpoint (plain HTTP/1.1 beside the gRPC port) --- */

static size_t discard_body(char *p, size_t sz, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return sz * n;
}

int milvus_management_get(const char *addr, const char *path, long *http_code,
			  struct errmsg *err)
{
	char url[1024];
	CURL *h = curl_easy_init();
	CURLcode cc;
	size_t alen = strlen(addr);

	*http_code = 0;
	if (!h)
		return errmsg_set(err, -ENOMEM, "cannot start an http request");
	while (alen && addr[alen - 1] == '/')
		alen--;
	snprintf(url, sizeof(url), "%.*s%s", (int)alen, addr, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http_code);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return errmsg_set(err, -EHOSTUNREACH, "%s", curl_easy_strerror(cc));
	if (*http_code != 200)
		return errmsg_set(err, -EIO, "http %ld", *http_code);
	return 0;
}

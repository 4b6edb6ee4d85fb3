/*
 * grpc_live_test.c - the gRPC transport and Milvus client against a live Milvus stand-in.
 *
 * Not a ctest: it needs a server.  tests/grpc/run.sh starts a stand-in with the fault knobs a
 * case needs and runs `grpc_live_test CASE...` (cases that share a server run in turn); each
 * case prints a line per check and exits 0 (pass) or 1.
 * The server is named by MILVUS_ADDRESS / MILVUS_PORT; LIVE_USER / LIVE_PASSWORD are the right
 * credentials when the server requires them; STANDIN_PID is the server to kill in "killed";
 * LIVE_CERTS is the directory of tests/grpc/mkcerts.sh's certificates (cases tls, mtls,
 * tls_to_plain; the stand-in serves server.pem, and for mtls requires clients of ca.pem).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milvus.pb-c.h"
#include "grpc.h"
#include "mvbackupfs/rpc/milvus_client.h"

#define SVC "milvus.proto.milvus.MilvusService/"

static const char *host(void)
{
	const char *h = getenv("MILVUS_ADDRESS");

	return h && *h ? h : "127.0.0.1";
}

static int port(void)
{
	const char *p = getenv("MILVUS_PORT");

	return p && *p ? atoi(p) : 19530;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, int ret, const struct errmsg *err)
{
	printf("FAIL %s: ret %d (%s): %s\n", what, ret, strerror(ret < 0 ? -ret : ret),
	       errmsg_str(err, ret));
	return 1;
}

static struct grpc_conn *conn(const char *user, const char *password, size_t max_recv)
{
	struct grpc_conn_opts o = { 0 };
	const char *rotate = getenv("LIVE_ROTATE");

	struct grpc_conn *c;
	struct errmsg err = { "" };

	o.host = host();
	o.port = port();
	o.user = user;
	o.password = password;
	o.max_recv = max_recv;
	o.rotate_calls = rotate ? atoi(rotate) : 0;
	if (grpc_conn_new(&o, &c, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return c;
}

static int show_collections(struct grpc_conn *c, long timeout_ms, struct errmsg *err)
{
	Milvus__Proto__Milvus__ShowCollectionsRequest req =
		MILVUS__PROTO__MILVUS__SHOW_COLLECTIONS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int ret;

	ret = grpc_call(c, SVC "ShowCollections", &req.base,
			&milvus__proto__milvus__show_collections_response__descriptor, &resp,
			timeout_ms, err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return ret;
}

static int describe(struct grpc_conn *c, const char *coll, long timeout_ms,
		    Milvus__Proto__Milvus__DescribeCollectionResponse **out, struct errmsg *err)
{
	Milvus__Proto__Milvus__DescribeCollectionRequest req =
		MILVUS__PROTO__MILVUS__DESCRIBE_COLLECTION_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int ret;

	req.collection_name = (char *)coll;
	ret = grpc_call(c, SVC "DescribeCollection", &req.base,
			&milvus__proto__milvus__describe_collection_response__descriptor, &resp,
			timeout_ms, err);
	if (out)
		*out = (Milvus__Proto__Milvus__DescribeCollectionResponse *)resp;
	else if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return ret;
}

static struct milvus_client *client(const char *user, const char *password)
{
	struct milvus_client_opts o = { 0 };
	struct milvus_client *mc;
	struct errmsg err = { "" };

	o.host = host();
	o.port = port();
	o.user = user;
	o.password = password;
	o.timeout_ms = 10000;
	if (milvus_client_new(&o, &mc, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return mc;
}

/* Wrong credentials are -EACCES; the right ones work. */
static int case_auth(void)
{
	const char *user = getenv("LIVE_USER"), *pw = getenv("LIVE_PASSWORD");
	struct milvus_client *mc;
	Milvus__Proto__Milvus__ShowCollectionsResponse *r = NULL;
	struct errmsg err = { "" };
	int ret;

	mc = client(user, "wrong-password");
	ret = milvus_show_collections(mc, NULL, &r, &err);
	milvus_client_free(mc);
	if (ret != -EACCES)
		return fail("wrong password", ret, &err);
	printf("wrong password: %s\n", err.msg);
	mc = client(user, pw);
	ret = milvus_show_collections(mc, NULL, &r, &err);
	milvus_client_free(mc);
	if (ret)
		return fail("right password", ret, &err);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return 0;
}

/* A method the server does not have is -ENOSYS; the connection stays usable. */
static int case_unimplemented(void)
{
	Milvus__Proto__Milvus__GetVersionRequest req =
		MILVUS__PROTO__MILVUS__GET_VERSION_REQUEST__INIT;
	struct grpc_conn *c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 0);
	struct errmsg err = { "" };
	ProtobufCMessage *resp = NULL;
	int ret;

	ret = grpc_call(c, SVC "NoSuchMethod", &req.base,
			&milvus__proto__milvus__get_version_response__descriptor, &resp, 5000, &err);
	if (ret != -ENOSYS || resp || grpc_conn_last_status(c) != 12) {
		grpc_conn_free(c);
		return fail("unimplemented", ret, &err);
	}
	printf("unimplemented: %s\n", err.msg);
	ret = show_collections(c, 5000, &err);
	grpc_conn_free(c);
	return ret ? fail("call after unimplemented", ret, &err) : 0;
}

static void *killer(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;
	struct timespec ts = { 0, 300 * 1000000L };

	/* fault injection, not synchronisation: the call is stalled server-side far longer */
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	return NULL;
}

/* The server dies while a call is in progress: an error soon, no hang, no crash; and the next
 * call fails cleanly too. */
static int case_killed(void)
{
	const char *pid = getenv("STANDIN_PID");
	struct grpc_conn *c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 0);
	struct errmsg err = { "" };
	pthread_t t;
	double t0;
	int ret;

	if (!pid)
		return fail("killed: STANDIN_PID not set", -EINVAL, &err);
	ret = show_collections(c, 5000, &err);	/* a live connection first */
	if (ret)
		return fail("killed: warm-up", ret, &err);
	pthread_create(&t, NULL, killer, (void *)(intptr_t)atoi(pid));
	t0 = now_s();
	ret = describe(c, getenv("LIVE_STALL_COLL") ? getenv("LIVE_STALL_COLL") : "slow", 20000,
		       NULL, &err);
	pthread_join(t, NULL);
	if (ret == 0 || now_s() - t0 > 5)
		return fail("killed mid-call", ret, &err);
	printf("killed mid-call after %.2f s: %d %s\n", now_s() - t0, ret, err.msg);
	/* refused, or reset when it reaches the dying process's listen queue */
	ret = show_collections(c, 5000, &err);
	grpc_conn_free(c);
	if (ret != -ECONNREFUSED && ret != -EIO)
		return fail("call after the kill", ret, &err);
	printf("call after the kill: %s\n", err.msg);
	return 0;
}

/* A deadline ends a stalled call with -ETIMEDOUT; the next call on the connection works. */
static int case_deadline(void)
{
	struct grpc_conn *c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 0);
	struct errmsg err = { "" };
	struct grpc_stats st;
	double t0;
	int ret;

	ret = show_collections(c, 5000, &err);
	if (ret)
		return fail("deadline: warm-up", ret, &err);
	t0 = now_s();
	ret = describe(c, getenv("LIVE_STALL_COLL") ? getenv("LIVE_STALL_COLL") : "slow", 300,
		       NULL, &err);
	if (ret != -ETIMEDOUT || now_s() - t0 > 1.5)
		return fail("deadline", ret, &err);
	printf("deadline after %.2f s: %s\n", now_s() - t0, err.msg);
	ret = show_collections(c, 5000, &err);
	grpc_conn_stats(c, &st);
	grpc_conn_free(c);
	if (ret)
		return fail("call after the deadline", ret, &err);
	printf("deadline: %ld calls, %ld connections\n", st.calls, st.connects);
	return 0;
}

/* CreateCollection `name` (id Int64 primary key, vec FloatVector dim 8) unless it exists: the
 * schema travels as bytes, a packed CollectionSchema. */
static int ensure_collection(const char *name, struct errmsg *err)
{
	Milvus__Proto__Milvus__CreateCollectionRequest req =
		MILVUS__PROTO__MILVUS__CREATE_COLLECTION_REQUEST__INIT;
	Milvus__Proto__Schema__CollectionSchema schema =
		MILVUS__PROTO__SCHEMA__COLLECTION_SCHEMA__INIT;
	Milvus__Proto__Schema__FieldSchema id = MILVUS__PROTO__SCHEMA__FIELD_SCHEMA__INIT;
	Milvus__Proto__Schema__FieldSchema vec = MILVUS__PROTO__SCHEMA__FIELD_SCHEMA__INIT;
	Milvus__Proto__Schema__FieldSchema *fields[2] = { &id, &vec };
	Milvus__Proto__Common__KeyValuePair dim = MILVUS__PROTO__COMMON__KEY_VALUE_PAIR__INIT;
	Milvus__Proto__Common__KeyValuePair *dims[1] = { &dim };
	struct milvus_client *mc = client(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"));
	ProtobufCMessage *resp = NULL;
	uint8_t packed[512];
	int exists = 0, ret;

	ret = milvus_has_collection(mc, NULL, name, &exists, err);
	if (ret || exists)
		goto out;
	id.name = "id";
	id.is_primary_key = 1;
	id.data_type = MILVUS__PROTO__SCHEMA__DATA_TYPE__Int64;
	vec.name = "vec";
	vec.data_type = MILVUS__PROTO__SCHEMA__DATA_TYPE__FloatVector;
	dim.key = "dim";
	dim.value = "8";
	vec.n_type_params = 1;
	vec.type_params = dims;
	schema.name = (char *)name;
	schema.n_fields = 2;
	schema.fields = fields;
	req.collection_name = (char *)name;
	req.schema.len = protobuf_c_message_pack(&schema.base, packed);
	req.schema.data = packed;
	req.shards_num = 1;
	ret = milvus_call(mc, "CreateCollection", NULL, &req.base,
			  &milvus__proto__common__status__descriptor, &resp, 0, err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
out:
	milvus_client_free(mc);
	return ret;
}

/* A reply above 4 MiB (gRPC's usual default cap) arrives whole; a lower cap refuses it. */
static int case_big(void)
{
	const char *coll = getenv("LIVE_BIG_COLL") ? getenv("LIVE_BIG_COLL") : "big";
	Milvus__Proto__Milvus__DescribeCollectionResponse *r = NULL;
	struct grpc_conn *c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 0);
	struct errmsg err = { "" };
	size_t i, total = 0;
	double t0;
	const char *v;
	int ret;

	ret = ensure_collection(coll, &err);
	if (ret)
		return fail("create the big collection", ret, &err);
	t0 = now_s();
	ret = describe(c, coll, 30000, &r, &err);
	if (ret)
		return fail("big reply", ret, &err);
	for (i = 0; i < r->n_properties; i++) {
		total += strlen(r->properties[i]->value) + strlen(r->properties[i]->key);
		if (strcmp(r->properties[i]->key, "standin.padding") != 0)
			continue;
		for (v = r->properties[i]->value; *v == 'x'; v++)
			;
		if (*v)
			total = 0;	/* not the padding the stand-in sent */
	}
	printf("big reply: %zu properties, %zu bytes in %.3f s\n", r->n_properties, total,
	       now_s() - t0);
	ret = r->status && r->status->code == 0 && total > (4u << 20) ? 0 : -EIO;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	grpc_conn_free(c);
	if (ret)
		return fail("big reply content", ret, &err);

	c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 1u << 20);
	ret = describe(c, coll, 30000, NULL, &err);
	if (ret != -EPROTO)
		return fail("reply above the cap", ret, &err);
	printf("cap: %s\n", err.msg);
	ret = show_collections(c, 5000, &err);	/* the cap did not break the connection object */
	grpc_conn_free(c);
	return ret ? fail("call after the cap", ret, &err) : 0;
}

/* Many calls in a row on one connection (work-around B: GOAWAY after ~1000 from Node). */
static int case_many(void)
{
	int n = getenv("LIVE_CALLS") ? atoi(getenv("LIVE_CALLS")) : 3000, i, ret;
	struct grpc_conn *c = conn(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"), 0);
	struct errmsg err = { "" };
	struct grpc_stats st;
	double t0 = now_s(), dt;

	for (i = 0; i < n; i++) {
		ret = show_collections(c, 5000, &err);
		if (ret) {
			printf("call %d of %d: ", i + 1, n);
			grpc_conn_free(c);
			return fail("many calls", ret, &err);
		}
	}
	dt = now_s() - t0;
	grpc_conn_stats(c, &st);
	grpc_conn_free(c);
	printf("%d calls in %.2f s (%.3f ms/call), %ld connections, %ld fresh retries\n", n, dt,
	       dt * 1000 / n, st.connects, st.fresh_retries);
	/* without rotation Node sends GOAWAY after ~1000 calls: the retry must have hidden it */
	if (getenv("LIVE_EXPECT_RETRY") && st.fresh_retries == 0)
		return fail("many calls without rotation: no GOAWAY was retried", -EIO, &err);
	return 0;
}

/* Nothing listens: -ECONNREFUSED at once. */
static int case_refused(void)
{
	struct grpc_conn *c = conn(NULL, NULL, 0);
	struct errmsg err = { "" };
	double t0 = now_s();
	int ret = show_collections(c, 5000, &err);

	grpc_conn_free(c);
	if (ret != -ECONNREFUSED || now_s() - t0 > 1.0)
		return fail("server down", ret, &err);
	printf("server down after %.3f s: %s\n", now_s() - t0, err.msg);
	return 0;
}

/* The client layer: session, and Milvus errors inside gRPC-OK replies. */
static int case_client(void)
{
	struct milvus_client *mc = client(getenv("LIVE_USER"), getenv("LIVE_PASSWORD"));
	Milvus__Proto__Milvus__DescribeCollectionResponse *d = NULL;
	Milvus__Proto__Milvus__ShowCollectionsResponse *s = NULL;
	struct errmsg err = { "" };
	int ret;

	ret = milvus_connect(mc, &err);
	if (ret)
		goto out;
	printf("connected: version '%s'\n", milvus_client_version(mc));
	ret = milvus_describe_collection(mc, NULL, "no_such_collection", &d, &err);
	if (ret != -ENOENT || d) {
		ret = ret ? ret : -EIO;
		goto out;
	}
	printf("missing collection: %s\n", err.msg);
	ret = milvus_show_collections(mc, "no_such_db", &s, &err);
	if (ret != -ENOENT || s) {
		ret = ret ? ret : -EIO;
		goto out;
	}
	printf("missing database: %s\n", err.msg);
	ret = 0;
out:
	milvus_client_free(mc);
	return ret ? fail("client", ret, &err) : 0;
}

/* ---- TLS (tests/grpc/run.sh starts the stand-in with the certificates of mkcerts.sh) ---- */

/* $LIVE_CERTS/name, in a static buffer per call site slot */
static const char *cert_path(const char *name)
{
	static char b[8][512];
	static int i;
	const char *dir = getenv("LIVE_CERTS");
	char *p = b[i++ & 7];

	if (!name)
		return NULL;
	snprintf(p, 512, "%s/%s", dir && *dir ? dir : ".", name);
	return p;
}

/* One ShowCollections over a fresh connection with these TLS settings (file names relative to
 * LIVE_CERTS).  *secs is how long the call took. */
static int tls_call(int mode, const char *ca, const char *server_name, const char *cert,
		    const char *key, double *secs, struct errmsg *err)
{
	struct grpc_conn_opts o = { 0 };
	struct grpc_conn *c;
	double t0 = now_s();
	int ret;

	o.host = host();
	o.port = port();
	o.tls_mode = mode;
	o.ca_file = cert_path(ca);
	o.server_name = server_name;
	o.cert_file = cert_path(cert);
	o.key_file = cert_path(key);
	ret = grpc_conn_new(&o, &c, err);
	if (ret)
		return ret;
	ret = show_collections(c, 5000, err);
	if (!ret)	/* a second call on the same TLS connection */
		ret = show_collections(c, 5000, err);
	grpc_conn_free(c);
	*secs = now_s() - t0;
	return ret;
}

/* A TLS failure: -EPROTO soon, a sentence naming TLS and the certificate problem. */
static int expect_tls_failure(const char *what, int ret, double secs, const char *word,
			      const struct errmsg *err)
{
	if (ret != -EPROTO || secs > 3.0 || !strstr(err->msg, "tls") ||
	    (word && !strstr(err->msg, word))) {
		printf("(%.2f s, want -EPROTO naming tls%s%s) ", secs, word ? " and " : "",
		       word ? word : "");
		return fail(what, ret, err);
	}
	printf("%s -> -EPROTO in %.2f s: %s\n", what, secs, err->msg);
	return 0;
}

/* The milvus client layer over TLS: Connect (its session call) works. */
static int tls_client(int mode, const char *server_name, const char *cert, const char *key,
		      struct errmsg *err)
{
	struct milvus_client_opts o = { 0 };
	struct milvus_client *mc;
	int ret;

	o.host = host();
	o.port = port();
	o.tls_mode = mode;
	o.ca_file = cert_path("ca.pem");
	o.server_name = server_name;
	o.cert_file = cert_path(cert);
	o.key_file = cert_path(key);
	o.timeout_ms = 5000;
	ret = milvus_client_new(&o, &mc, err);
	if (ret)
		return ret;
	ret = milvus_connect(mc, err);
	if (!ret)
		printf("milvus client over tls mode %d: connected, version '%s'\n", mode,
		       milvus_client_version(mc));
	milvus_client_free(mc);
	return ret;
}

/* Server-verified TLS (tlsMode 1): the right CA works, by address and with a server name
 * override; a wrong CA or a name the certificate lacks is -EPROTO; cleartext fails soon. */
static int case_tls(void)
{
	struct errmsg err = { "" };
	double secs;
	int ret;

	ret = tls_call(1, "ca.pem", NULL, NULL, NULL, &secs, &err);
	if (ret)
		return fail("tls with the right CA", ret, &err);
	printf("tls with the right CA: 2 calls in %.2f s\n", secs);
	ret = tls_call(1, "ca.pem", "milvus.test", NULL, NULL, &secs, &err);
	if (ret)
		return fail("tls with serverName milvus.test (connecting to 127.0.0.1)", ret, &err);
	printf("tls with serverName milvus.test: 2 calls in %.2f s\n", secs);
	ret = tls_client(1, "milvus.test", NULL, NULL, &err);
	if (ret)
		return fail("milvus client over tls", ret, &err);

	ret = tls_call(1, "other-ca.pem", NULL, NULL, NULL, &secs, &err);
	if (expect_tls_failure("tls with a wrong CA", ret, secs, "certificate", &err))
		return 1;
	ret = tls_call(1, "ca.pem", "wrong.test", NULL, NULL, &secs, &err);
	if (expect_tls_failure("tls with serverName wrong.test", ret, secs, "wrong.test", &err))
		return 1;
	ret = tls_call(1, "no-such-ca.pem", NULL, NULL, NULL, &secs, &err);
	if (expect_tls_failure("tls with a missing CA file", ret, secs, "no-such-ca.pem", &err))
		return 1;

	/* a cleartext client against the TLS server: an error soon, not a hang */
	ret = tls_call(0, NULL, NULL, NULL, NULL, &secs, &err);
	if (ret == 0 || secs > 3.0 || !strstr(err.msg, "tls")) {
		printf("(%.2f s, want an error naming tls) ", secs);
		return fail("cleartext against a tls server", ret, &err);
	}
	printf("cleartext against a tls server -> %d in %.2f s: %s\n", ret, secs, err.msg);
	return 0;
}

/* Mutual TLS (tlsMode 2): with the client certificate it works; without one the server
 * refuses, soon and clearly. */
static int case_mtls(void)
{
	struct errmsg err = { "" };
	double secs;
	int ret;

	ret = tls_call(2, "ca.pem", "milvus.test", "client.pem", "client.key", &secs, &err);
	if (ret)
		return fail("mutual tls with a client certificate", ret, &err);
	printf("mutual tls with a client certificate: 2 calls in %.2f s\n", secs);
	ret = tls_client(2, NULL, "client.pem", "client.key", &err);
	if (ret)
		return fail("milvus client over mutual tls", ret, &err);
	ret = tls_call(1, "ca.pem", NULL, NULL, NULL, &secs, &err);
	if (expect_tls_failure("mutual tls without a client certificate", ret, secs,
			       "certificate", &err))
		return 1;
	ret = tls_call(2, "ca.pem", NULL, "client.pem", "no-such.key", &secs, &err);
	if (expect_tls_failure("mutual tls with a missing key file", ret, secs, "no-such.key",
			       &err))
		return 1;
	return 0;
}

/* A TLS client against a cleartext server: -EPROTO soon. */
static int case_tls_to_plain(void)
{
	struct errmsg err = { "" };
	double secs;
	int ret;

	ret = tls_call(1, "ca.pem", NULL, NULL, NULL, &secs, &err);
	return expect_tls_failure("tls against a cleartext server", ret, secs, NULL, &err);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
		{ "auth", case_auth }, { "unimplemented", case_unimplemented },
		{ "killed", case_killed }, { "deadline", case_deadline }, { "big", case_big },
		{ "many", case_many }, { "refused", case_refused }, { "client", case_client },
		{ "tls", case_tls }, { "mtls", case_mtls }, { "tls_to_plain", case_tls_to_plain },
	};
	size_t i, n = sizeof(cases) / sizeof(cases[0]);
	int a, rc;

	signal(SIGPIPE, SIG_IGN);
	for (a = 1; a < argc; a++) {
		for (i = 0; i < n && strcmp(argv[a], cases[i].name) != 0; i++)
			;
		if (i == n)
			argc = 0;	/* an unknown name: usage */
	}
	if (argc < 2) {
		fprintf(stderr, "usage: grpc_live_test CASE... (auth unimplemented killed deadline "
			"big many refused client tls mtls tls_to_plain)\n");
		return 2;
	}
	/* several cases may share one server: each in turn, the first failure ends the run */
	for (a = 1; a < argc; a++) {
		for (i = 0; strcmp(argv[a], cases[i].name) != 0; i++)
			;
		rc = cases[i].fn();
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * admin_live_test.c - backup_admin (reserve a name, delete a backup) against a live S3
 * server (Ceph RGW on loopback, see tests/s3/backup_admin_live.sh).  Not a ctest unit test:
 * it needs the server.
 *
 * Environment: S3_ENDPOINT (http://127.0.0.1:7480), AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, S3_BUCKETS ("bucket1 …"; the first one is used).  Everything is
 * written under "adminlive_<run>/" and removed at the end.  Prints one line per check and
 * ends with "N passed, N failed"; exit status 1 on failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mvbackupfs/format/backup_admin.h"
#include "mvbackupfs/base/job.h"
#include "mvbackupfs/storage/objstore.h"
#include "mvbackupfs/storage/s3.h"

#include "live.h"

#define RACE_ROUNDS	50
#define BIG_OBJECTS	2500
#define UPLOADERS	8

static char root[64], host[256], bucket[64];
static int port, use_ssl;



/* One store per "mount": its own connection pool. */
static struct objstore *store(void)
{
	struct s3_config c;
	struct objstore *s = NULL;
	struct errmsg err = { "" };

	memset(&c, 0, sizeof(c));
	c.host = host;
	c.port = port;
	c.use_ssl = use_ssl;
	c.access_key = getenv("AWS_ACCESS_KEY_ID");
	c.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	c.region = getenv("S3_REGION");
	c.bucket = bucket;
	if (s3_store_new(&c, &s, &err) || objstore_check(s, &err)) {
		fprintf(stderr, "cannot use bucket '%s': %s\n", bucket, err.msg);
		exit(2);
	}
	return s;
}

/* ---- the reserve race: two mounts, one name, RACE_ROUNDS fresh names ---- */

struct racer {
	struct objstore *s;
	pthread_barrier_t *go;
	int id;
	int rc[RACE_ROUNDS];
	char msg[RACE_ROUNDS][160];
};

static void *race_main(void *arg)
{
	struct racer *r = arg;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		struct sidecar sc = { .format = SIDECAR_FORMAT, .kind = SIDECAR_KIND_MANUAL,
				      .created = (int64_t)time(NULL) };
		struct errmsg err = { "" };
		char name[64];

		snprintf(name, sizeof(name), "race_%d", i);
		snprintf(sc.job, sizeof(sc.job), "racer-%d-round-%d", r->id, i);
		pthread_barrier_wait(r->go);
		r->rc[i] = backup_reserve(r->s, root, name, &sc, &err);
		snprintf(r->msg[i], sizeof(r->msg[i]), "%s", err.msg);
	}
	return NULL;
}

static void test_reserve_race(struct objstore *a, struct objstore *b)
{
	struct racer r[2] = { { .s = a, .id = 0 }, { .s = b, .id = 1 } };
	pthread_barrier_t go;
	pthread_t t[2];
	int i, exact = 0, lost_eexist = 0, sidecar_ok = 0, by_put = 0;

	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		r[i].go = &go;
		pthread_create(&t[i], NULL, race_main, &r[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < RACE_ROUNDS; i++) {
		int w = r[0].rc[i] == 0 ? 0 : 1, l = 1 - w;
		struct buf got = BUF_INIT(SIDECAR_MAX);
		struct sidecar sc;
		char key[160], want[64];

		if ((r[0].rc[i] == 0) + (r[1].rc[i] == 0) != 1) {
			printf("     round %d: %d (%s) / %d (%s)\n", i, r[0].rc[i], r[0].msg[i],
			       r[1].rc[i], r[1].msg[i]);
			continue;
		}
		exact++;
		lost_eexist += r[l].rc[i] == -EEXIST;
		by_put += !strstr(r[l].msg[i], "objects already exist");
		snprintf(key, sizeof(key), "%srace_%d/" SIDECAR_NAME, root, i);
		snprintf(want, sizeof(want), "racer-%d-round-%d", w, i);
		if (!objstore_get_all(a, key, &got, NULL) &&
		    !sidecar_parse(got.p, got.len, &sc, NULL) && !strcmp(sc.job, want))
			sidecar_ok++;
		buf_release(&got);
	}
	CHECK(exact == RACE_ROUNDS, "reserve race: exactly one of two mounts won in %d of %d "
	      "rounds", exact, RACE_ROUNDS);
	CHECK(lost_eexist == exact, "the loser got -EEXIST in %d of %d rounds (last: %s)",
	      lost_eexist, exact, r[0].rc[RACE_ROUNDS - 1] ? r[0].msg[RACE_ROUNDS - 1] :
	      r[1].msg[RACE_ROUNDS - 1]);
	CHECK(sidecar_ok == exact, "the stored sidecar is the winner's in %d of %d rounds",
	      sidecar_ok, exact);
	printf("     (%d rounds decided by the conditional PUT, %d by the listing)\n", by_put,
	       exact - by_put);
}

/* ---- reserve on existing objects; delete of a big backup ---- */

struct uploader {
	struct objstore *s;
	const char *prefix;
	int first, step, failed;
};

static void *upload_main(void *arg)
{
	struct uploader *u = arg;
	int i;

	for (i = u->first; i < BIG_OBJECTS; i += u->step) {
		char key[256], body[64];
		int n = snprintf(body, sizeof(body), "binlog %d", i);

		snprintf(key, sizeof(key), "%sbinlogs/insert_log/1/2/%d/100/%d", u->prefix,
			 i / 100, i);
		if (objstore_put(u->s, key, body, (size_t)n, 0, NULL))
			u->failed++;
	}
	return NULL;
}

static size_t count_under(struct objstore *s, const char *prefix)
{
	struct obj_listing l = { 0 };
	size_t n = (size_t)-1;

	if (!objstore_list(s, prefix, NULL, &l, NULL))
		n = l.nobjs;
	obj_listing_release(&l);
	return n;
}

static void test_big_delete(struct objstore *s)
{
	static const char *const meta[] = {
		"backup_meta.json", "collection_meta.json", "partition_meta.json",
		"segment_meta.json", "full_meta.json",
	};
	struct sidecar sc = { .format = SIDECAR_FORMAT, .kind = SIDECAR_KIND_IMPORT,
			      .job = "big-import" };
	struct uploader u[UPLOADERS];
	struct backup_delete_params *p;
	struct job_progress jp;
	struct errmsg err = { "" };
	struct obj_entry e = { 0 };
	pthread_t t[UPLOADERS];
	char prefix[128], key[256];
	struct job *j;
	size_t i, failed = 0, n;
	double t0;
	int rc;

	snprintf(prefix, sizeof(prefix), "%sbig/", root);
	errmsg_clear(&err);
	rc = backup_reserve(s, root, "big", &sc, &err);
	CHECK(rc == 0, "reserve 'big' (%s)", err.msg);
	t0 = now_s();
	for (i = 0; i < UPLOADERS; i++) {
		u[i] = (struct uploader){ s, prefix, (int)i, UPLOADERS, 0 };
		pthread_create(&t[i], NULL, upload_main, &u[i]);
	}
	for (i = 0; i < UPLOADERS; i++) {
		pthread_join(t[i], NULL);
		failed += (size_t)u[i].failed;
	}
	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		snprintf(key, sizeof(key), "%smeta/%s", prefix, meta[i]);
		failed += objstore_put(s, key, "{}", 2, 0, NULL) != 0;
	}
	n = count_under(s, prefix);
	CHECK(!failed && n == BIG_OBJECTS + 6, "wrote a backup of %zu objects in %.1f s",
	      n, now_s() - t0);

	errmsg_clear(&err);
	rc = backup_reserve(s, root, "big", &sc, &err);
	CHECK(rc == -EEXIST, "a second reserve of 'big' -> -EEXIST: %s", err.msg);

	t0 = now_s();
	errmsg_clear(&err);
	rc = backup_delete_meta(s, prefix, &err);
	snprintf(key, sizeof(key), "%smeta/full_meta.json", prefix);
	CHECK(rc == 0 && objstore_head(s, key, &e, NULL) == -ENOENT &&
	      count_under(s, prefix) == BIG_OBJECTS + 1,
	      "delete_meta removes the 5 meta files first, in %.2f s (%s)", now_s() - t0,
	      err.msg);
	obj_entry_release(&e);

	p = calloc(1, sizeof(*p));
	p->store = s;
	p->prefix = strdup(prefix);
	p->name = strdup("big");
	t0 = now_s();
	rc = job_start("delete", backup_delete_job, p, backup_delete_params_free, &j);
	CHECK(rc == 0, "delete job started");
	if (rc) {
		backup_delete_params_free(p);
		return;
	}
	rc = job_wait(j);
	job_progress(j, &jp);
	job_free(j);
	CHECK(rc == 0 && jp.state == JOB_DONE, "delete job of %llu objects done in %.1f s (%s)",
	      (unsigned long long)jp.items_total, now_s() - t0, jp.error);
	CHECK(jp.items_total == BIG_OBJECTS + 1 && jp.items_done == jp.items_total,
	      "progress: %llu of %llu objects", (unsigned long long)jp.items_done,
	      (unsigned long long)jp.items_total);
	CHECK(count_under(s, prefix) == 0, "nothing is left under '%s'", prefix);

	p = calloc(1, sizeof(*p));
	p->store = s;
	p->prefix = strdup(prefix);
	p->name = strdup("big");
	j = NULL;
	rc = job_start("delete", backup_delete_job, p, backup_delete_params_free, &j);
	rc = rc ? rc : job_wait(j);
	if (j)
		job_free(j);
	CHECK(rc == 0, "deleting it again succeeds");
	errmsg_clear(&err);
	rc = backup_reserve(s, root, "big", &sc, &err);
	CHECK(rc == 0, "the name 'big' is free again (%s)", err.msg);
}

/* Remove everything this run wrote. */
static void cleanup(struct objstore *s)
{
	struct obj_listing l = { 0 };
	const char **keys;
	size_t i;

	if (objstore_list(s, root, NULL, &l, NULL))
		return;
	keys = calloc(l.nobjs + 1, sizeof(*keys));
	for (i = 0; keys && i < l.nobjs; i++)
		keys[i] = l.objs[i].key;
	if (keys)
		objstore_delete(s, keys, l.nobjs, NULL);
	free(keys);
	obj_listing_release(&l);
	CHECK(count_under(s, root) == 0, "cleaned up '%s'", root);
}

int main(void)
{
	const char *ep = getenv("S3_ENDPOINT"), *bk = getenv("S3_BUCKETS");
	struct objstore *a, *b;
	struct errmsg err = { "" };
	char key[128];
	int rc;

	if (!ep || !bk || !getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY") ||
	    live_parse_endpoint(ep, host, sizeof(host), &port, &use_ssl) || sscanf(bk, "%63s", bucket) != 1) {
		fprintf(stderr, "usage: S3_ENDPOINT=http://host:port S3_BUCKETS='bucket …' "
			"AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. admin_live_test\n");
		return 2;
	}
	snprintf(root, sizeof(root), "adminlive_%ld_%d/", (long)time(NULL), (int)getpid());
	a = store();
	b = store();

	/* Whether the server honours If-None-Match decides which guard does the work. */
	snprintf(key, sizeof(key), "%sinm-probe", root);
	objstore_put(a, key, "1", 1, OBJSTORE_IF_NONE_MATCH, NULL);
	rc = objstore_put(a, key, "2", 1, OBJSTORE_IF_NONE_MATCH, &err);
	CHECK(rc == -EEXIST, "the server honours If-None-Match: * (%s)", err.msg);

	test_reserve_race(a, b);
	test_big_delete(a);
	cleanup(a);
	objstore_free(a);
	objstore_free(b);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}

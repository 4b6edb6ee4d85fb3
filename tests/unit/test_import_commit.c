/*
 * test_import_commit.c - the commit rule of a backup copied in (milvus/import_commit.c) on the
 * fixture backups' meta files (tests/fixtures/backups/NAME/meta), and the streaming writer
 * (storage/upload.c) on a local-directory store under a small memory budget.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/clock.h"
#include "mvbackupfs/jobs/import_commit.h"
#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/storage/upload.h"

struct held {
	struct import_meta m[8];
	char *bufs[8];
	size_t n;
};

static void hold(struct held *h, const char *backup, const char *name)
{
	char path[1024];
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/backups/%s/meta/%s", MVB_FIXTURES, backup, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	h->bufs[h->n] = malloc((size_t)len + 1);
	assert_non_null(h->bufs[h->n]);
	assert_int_equal(fread(h->bufs[h->n], 1, (size_t)len, f), (size_t)len);
	fclose(f);
	h->m[h->n].name = name;
	h->m[h->n].data = h->bufs[h->n];
	h->m[h->n].len = (size_t)len;
	h->n++;
}

static void held_free(struct held *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->bufs[i]);
	h->n = 0;
}

static void hold_levels(struct held *h, const char *backup)
{
	hold(h, backup, "backup_meta.json");
	hold(h, backup, "collection_meta.json");
	hold(h, backup, "partition_meta.json");
	hold(h, backup, "segment_meta.json");
}

/* A v0.3.1+ backup: full_meta.json decides; it waits for every level file it comes with. */
static void test_full_meta_needs_levels(void **state)
{
	struct held h = { 0 };
	struct import_need need;
	struct errmsg e = { { 0 } };

	(void)state;
	hold(&h, "v0_4_30", "full_meta.json");
	hold(&h, "v0_4_30", "backup_meta.json");
	hold(&h, "v0_4_30", "collection_meta.json");
	assert_int_equal(import_plan(h.m, h.n, "backup/x/", &need, &e), -EAGAIN);
	assert_non_null(strstr(e.msg, "meta/partition_meta.json"));
	hold(&h, "v0_4_30", "partition_meta.json");
	hold(&h, "v0_4_30", "segment_meta.json");
	assert_int_equal(import_plan(h.m, h.n, "backup/x/", &need, &e), 0);
	assert_int_equal(need.pre_v031, 0);
	assert_true(need.n > 0);
	assert_non_null(strstr(need.keys[0], "backup/x/binlogs/"));
	import_need_release(&need);
	held_free(&h);
}

/* The trap: a v0.3.1+ backup's four level files all parse, but it is not whole without its
 * full_meta.json (cp and tar may write the level files first). */
static void test_levels_of_new_backup_wait(void **state)
{
	const char *newer[] = { "v0_4_12", "v0_4_30", "v0_5_4", "v0_5_9", "no_dbname" };
	struct import_need need;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(newer) / sizeof(newer[0]); i++) {
		struct held h = { 0 };
		struct errmsg e = { { 0 } };

		hold_levels(&h, newer[i]);
		assert_int_equal(import_plan(h.m, h.n, "backup/x/", &need, &e), -EAGAIN);
		assert_non_null(strstr(e.msg, "full_meta.json"));
		held_free(&h);
	}
}

/* A pre-v0.3.1 backup commits from its level files, backup_meta.json written last. */
static void test_pre_v031_levels(void **state)
{
	struct held h = { 0 };
	struct import_need need;
	struct errmsg e = { { 0 } };
	size_t order[8];

	(void)state;
	hold_levels(&h, "v0_3_0_nofull");
	assert_int_equal(import_plan(h.m, h.n, "backup/old/", &need, &e), 0);
	assert_int_equal(need.pre_v031, 1);
	assert_true(need.n > 0);
	import_write_order(h.m, h.n, need.pre_v031, order);
	assert_string_equal(h.m[order[h.n - 1]].name, "backup_meta.json");
	import_need_release(&need);
	held_free(&h);
}

/* Write order of a v0.3.1+ backup: level files first in main's order, full_meta.json last,
 * whatever order they arrived in. */
static void test_write_order(void **state)
{
	struct import_meta m[] = {
		{ "full_meta.json", "", 0 }, { "segment_meta.json", "", 0 },
		{ "channel_cp_meta.json", "", 0 }, { "backup_meta.json", "", 0 },
		{ "partition_meta.json", "", 0 }, { "collection_meta.json", "", 0 },
	};
	const char *want[] = { "backup_meta.json", "collection_meta.json", "partition_meta.json",
			       "segment_meta.json", "channel_cp_meta.json", "full_meta.json" };
	size_t order[6], i;

	(void)state;
	import_write_order(m, 6, 0, order);
	for (i = 0; i < 6; i++)
		assert_string_equal(m[order[i]].name, want[i]);
}

/* Verification by listing: every key with its recorded size, nothing else counts. */
static void test_verify(void **state)
{
	struct held h = { 0 };
	struct import_need need;
	struct errmsg e = { { 0 } };
	struct obj_listing l = { 0 };
	size_t i, missing;

	(void)state;
	hold(&h, "v0_6_main", "full_meta.json");
	hold(&h, "v0_6_main", "backup_meta.json");
	hold(&h, "v0_6_main", "collection_meta.json");
	hold(&h, "v0_6_main", "partition_meta.json");
	hold(&h, "v0_6_main", "segment_meta.json");
	assert_int_equal(import_plan(h.m, h.n, "backup/m/", &need, &e), 0);
	l.objs = calloc(need.n, sizeof(*l.objs));
	assert_non_null(l.objs);
	for (i = 0; i < need.n; i++) {	/* listed in reverse order: verify sorts */
		l.objs[i].key = need.keys[need.n - 1 - i];
		l.objs[i].size = need.sizes[need.n - 1 - i];
	}
	l.nobjs = need.n;
	assert_int_equal(import_verify(&need, &l, &missing, &e), 0);
	assert_int_equal(missing, 0);
	l.objs[0].size++;			/* one of another size */
	assert_int_equal(import_verify(&need, &l, &missing, &e), -EAGAIN);
	assert_int_equal(missing, 1);
	assert_non_null(strstr(e.msg, "the meta says"));
	l.objs[0].size--;
	l.nobjs--;				/* one missing */
	assert_int_equal(import_verify(&need, &l, &missing, &e), -EAGAIN);
	assert_int_equal(missing, 1);
	assert_non_null(strstr(e.msg, "is missing"));
	free(l.objs);
	import_need_release(&need);
	held_free(&h);
}

/* A held file that does not parse is an error, never "complete". */
static void test_bad_full_meta(void **state)
{
	struct import_meta m[] = { { "full_meta.json", "{\"collection_backups\":7}", 24 } };
	struct import_need need;
	struct errmsg e = { { 0 } };

	(void)state;
	assert_int_equal(import_plan(m, 1, "backup/x/", &need, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "full_meta.json"));
}

/* The pool gives its spare part buffers back a while after its last upload ended
 * (upload.c SPARE_IDLE_MS): wait, with a deadline, until nothing is charged. */
static void assert_budget_freed(struct membudget *b)
{
	int64_t deadline = mono_ms() + 10000;

	while (membudget_used(b) && mono_ms() < deadline)
		usleep(10000);
	assert_int_equal(membudget_used(b), 0);
}

/* The writer: 23 MiB through 5 MiB parts under an 12 MiB budget (back-pressure, never past
 * it), a small file as one PUT, and the content read back byte for byte. */
static void test_upload_budget(void **state)
{
	char dir[] = "/tmp/mvb-test-upload.XXXXXX";
	struct objstore *s = NULL;
	struct membudget b;
	struct upload_pool *p = NULL;
	struct upload *u = NULL, *small = NULL;
	struct errmsg e = { { 0 } };
	const size_t chunk = 128 << 10, total = 23u << 20;
	char *data = malloc(chunk), *back = malloc(chunk);
	size_t off, got, i;
	char cmd[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(local_store_new(dir, &s, &e), 0);
	assert_int_equal(membudget_init(&b, 12u << 20), 0);
	assert_int_equal(upload_pool_new(s, &b, 5u << 20, 3, &p), 0);
	assert_int_equal(upload_open(p, "bk/x/big", &u), 0);
	for (off = 0; off < total; off += chunk) {
		for (i = 0; i < chunk; i++)
			data[i] = (char)((off + i) * 7 + 3);
		assert_int_equal(upload_write(u, data, chunk, &e), 0);
	}
	assert_int_equal(upload_size(u), total);
	assert_int_equal(upload_open(p, "bk/x/small", &small), 0);
	assert_int_equal(upload_write(small, "hello", 5, &e), 0);
	assert_int_equal(upload_close(u), 0);
	assert_int_equal(upload_close(small), 0);
	assert_int_equal(upload_wait(u, &e), 0);
	assert_int_equal(upload_wait(small, &e), 0);
	assert_true(membudget_peak(&b) <= (12u << 20));
	assert_budget_freed(&b);
	for (off = 0; off < total; off += chunk) {
		assert_int_equal(objstore_get(s, "bk/x/big", off, chunk, back, &got, &e), 0);
		assert_int_equal(got, chunk);
		for (i = 0; i < chunk; i++)
			assert_int_equal(back[i], (char)((off + i) * 7 + 3));
	}
	assert_int_equal(objstore_get(s, "bk/x/small", 0, 16, back, &got, &e), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(back, "hello", 5);
	upload_free(u);
	upload_free(small);
	/* an aborted upload leaves no object */
	assert_int_equal(upload_open(p, "bk/x/aborted", &u), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(upload_write(u, data, chunk, &e), 0);
	upload_abort(u);
	assert_int_equal(objstore_get(s, "bk/x/aborted", 0, 1, back, &got, &e), -ENOENT);
	assert_budget_freed(&b);
	upload_pool_free(p);
	membudget_destroy(&b);
	objstore_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(data);
	free(back);
}

/* Ten files written at once, each holding a nearly full part buffer: the cap on mapped part
 * buffers (upload.c LIVE_MAX = 8) must not hold the ninth writer back when no part is in
 * flight to come back as a spare (it waited out the budget timeout, then ENOBUFS). */
static void test_upload_many_writers(void **state)
{
	char dir[] = "/tmp/mvb-test-upload.XXXXXX";
	struct objstore *s = NULL;
	struct membudget b;
	struct upload_pool *p = NULL;
	struct upload *u[10] = { NULL };
	struct errmsg e = { { 0 } };
	const size_t part = 1u << 20, len = part - 1;
	char *data = calloc(1, part), *back = malloc(part), key[32], cmd[128];
	size_t got, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(local_store_new(dir, &s, &e), 0);
	assert_int_equal(membudget_init(&b, 16u << 20), 0);
	assert_int_equal(upload_pool_new(s, &b, part, 3, &p), 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "bk/x/f%zu", i);
		memset(data, 'a' + (int)i, len);
		assert_int_equal(upload_open(p, key, &u[i]), 0);
		assert_int_equal(upload_write(u[i], data, len, &e), 0);
	}
	for (i = 0; i < 10; i++) {
		assert_int_equal(upload_close(u[i]), 0);
		assert_int_equal(upload_wait(u[i], &e), 0);
		upload_free(u[i]);
		snprintf(key, sizeof(key), "bk/x/f%zu", i);
		assert_int_equal(objstore_get(s, key, 0, part, back, &got, &e), 0);
		assert_int_equal(got, len);
		assert_int_equal(back[0], 'a' + (int)i);
		assert_int_equal(back[len - 1], 'a' + (int)i);
	}
	assert_budget_freed(&b);
	upload_pool_free(p);
	membudget_destroy(&b);
	objstore_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(data);
	free(back);
}

/* The part size follows the budget: 16 MiB parts when six fit (the default 96 MiB budget),
 * 8 MiB below, so that a small budget keeps as many parts in flight (and a 16 MiB budget, the
 * smallest allowed, can hold the 1.5 parts a writer needs at once). */
static void test_upload_part_size(void **state)
{
	(void)state;
	assert_int_equal(upload_part_size(96ull << 20), 16u << 20);
	assert_int_equal(upload_part_size(256ull << 20), 16u << 20);
	assert_int_equal(upload_part_size(95ull << 20), 8u << 20);
	assert_int_equal(upload_part_size(32ull << 20), 8u << 20);
	assert_int_equal(upload_part_size(16ull << 20), 8u << 20);
}

/* Part buffers outlive an upload for the next file (cp -r writes one file after another: a
 * fresh set per file meant the kernel zeroed them again), but are given back at once to a
 * budget waiter, and within the idle delay otherwise. */
static void test_upload_spares_between_files(void **state)
{
	char dir[] = "/tmp/mvb-test-upload.XXXXXX";
	struct objstore *s = NULL;
	struct membudget b;
	struct upload_pool *p = NULL;
	struct upload *u = NULL;
	struct errmsg e = { { 0 } };
	const size_t part = 1u << 20;
	char *data = calloc(1, 3 * part), cmd[128];
	int64_t t0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(local_store_new(dir, &s, &e), 0);
	assert_int_equal(membudget_init(&b, 8u << 20), 0);
	assert_int_equal(upload_pool_new(s, &b, part, 3, &p), 0);
	assert_int_equal(upload_open(p, "bk/x/one", &u), 0);
	assert_int_equal(upload_write(u, data, 3 * part, &e), 0);
	t0 = mono_ms();
	assert_int_equal(upload_close(u), 0);
	assert_int_equal(upload_wait(u, &e), 0);
	upload_free(u);
	/* kept for the next file (unless this thread was held up past the idle delay) */
	if (mono_ms() - t0 < 500)
		assert_true(membudget_used(&b) >= part);
	/* someone else needs the whole budget: the idle spares make way well before the delay */
	t0 = mono_ms();
	assert_int_equal(membudget_acquire(&b, 8u << 20, 5000), 0);
	assert_true(mono_ms() - t0 < 900);
	membudget_release(&b, 8u << 20);
	/* a second file reuses what is left; then all is given back */
	assert_int_equal(upload_open(p, "bk/x/two", &u), 0);
	assert_int_equal(upload_write(u, data, 3 * part, &e), 0);
	assert_int_equal(upload_close(u), 0);
	assert_int_equal(upload_wait(u, &e), 0);
	upload_free(u);
	assert_budget_freed(&b);
	upload_pool_free(p);
	membudget_destroy(&b);
	objstore_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_meta_needs_levels),
		cmocka_unit_test(test_levels_of_new_backup_wait),
		cmocka_unit_test(test_pre_v031_levels),
		cmocka_unit_test(test_write_order),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_bad_full_meta),
		cmocka_unit_test(test_upload_budget),
		cmocka_unit_test(test_upload_many_writers),
		cmocka_unit_test(test_upload_spares_between_files),
		cmocka_unit_test(test_upload_part_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

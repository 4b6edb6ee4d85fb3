/*
 * test_copy.c - the storage copy engine (storage/copy.h) between two local-directory stores:
 * every object arrives byte for byte (empty ones, one-part ones, multipart streams, UploadPart
 * -Copy-sized ones), streamed and "server-side", with progress per object, the memory budget
 * given back, and a cancel stopping the run.
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
#include "mvbackupfs/base/membudget.h"
#include "mvbackupfs/storage/copy.h"
#include "mvbackupfs/storage/local.h"
#include "mvbackupfs/storage/objstore.h"

#define N 40

struct fx {
	char sdir[64], ddir[64];
	struct objstore *src, *dst;
	struct objcopy_item items[N];
	char keys[N][2][64];
	uint64_t done_bytes;
	int done_n, cancel_after;
};

static uint64_t size_of(int i)
{
	/* 0, small, exactly one part, a few parts, and a big one */
	static const uint64_t s[] = { 0, 1, 777, 64 << 10, (64 << 10) + 1, 300000, 900000 };

	return s[i % 7];
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct errmsg e = { "" };
	int i;

	assert_non_null(f);
	strcpy(f->sdir, "/tmp/mvb-copy-src-XXXXXX");
	strcpy(f->ddir, "/tmp/mvb-copy-dst-XXXXXX");
	assert_non_null(mkdtemp(f->sdir));
	assert_non_null(mkdtemp(f->ddir));
	assert_int_equal(local_store_new(f->sdir, &f->src, &e), 0);
	assert_int_equal(local_store_new(f->ddir, &f->dst, &e), 0);
	for (i = 0; i < N; i++) {
		uint64_t n = size_of(i);
		unsigned char *d = malloc(n ? n : 1);

		assert_non_null(d);
		for (uint64_t k = 0; k < n; k++)
			d[k] = (unsigned char)(k * 31 + (uint64_t)i);
		snprintf(f->keys[i][0], 64, "binlogs/%d/obj%d", i % 3, i);
		snprintf(f->keys[i][1], 64, "restore-temp-x/%d/obj%d", i % 3, i);
		assert_int_equal(objstore_put(f->src, f->keys[i][0], d, n, 0, &e), 0);
		free(d);
		f->items[i].src = f->keys[i][0];
		f->items[i].dst = f->keys[i][1];
		f->items[i].size = n;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	objstore_free(f->src);
	objstore_free(f->dst);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->sdir, f->ddir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int is_cancelled(void *arg)
{
	struct fx *f = arg;

	return f->cancel_after && f->done_n >= f->cancel_after;
}

static void on_done(void *arg, uint64_t bytes)
{
	struct fx *f = arg;

	__atomic_add_fetch(&f->done_bytes, bytes, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&f->done_n, 1, __ATOMIC_SEQ_CST);
}

static void check_copies(struct fx *f)
{
	struct errmsg e = { "" };
	int i;

	for (i = 0; i < N; i++) {
		struct buf a = BUF_INIT(1 << 21), b = BUF_INIT(1 << 21);

		assert_int_equal(objstore_get_all(f->src, f->items[i].src, &a, &e), 0);
		assert_int_equal(objstore_get_all(f->dst, f->items[i].dst, &b, &e), 0);
		assert_int_equal(a.len, f->items[i].size);
		assert_int_equal(b.len, a.len);
		if (a.len)
			assert_memory_equal(a.p, b.p, a.len);
		buf_release(&a);
		buf_release(&b);
	}
}

static void run(struct fx *f, int server_side, uint64_t threshold, struct membudget *mb)
{
	struct objcopy_opts o;
	struct errmsg e = { "" };
	size_t failed = (size_t)-1;
	uint64_t total = 0;
	int i, rc;

	for (i = 0; i < N; i++)
		total += f->items[i].size;
	memset(&o, 0, sizeof(o));
	o.src_store = f->src;
	o.dst_store = f->dst;
	o.server_side = server_side;
	o.part_copy_threshold = threshold;
	o.stream_part = 64 << 10;	/* 300000 and 900000-byte objects stream in parts */
	o.parallel = 6;
	o.stream_parallel = 3;
	o.budget = mb;
	o.shuffle = 1;
	o.cancelled = is_cancelled;
	o.done = on_done;
	o.arg = f;
	rc = objcopy_run(&o, f->items, N, &failed, &e);
	if (rc)
		print_error("objcopy_run: %s (item %zu)\n", errmsg_str(&e, rc), failed);
	assert_int_equal(rc, 0);
	assert_int_equal(failed, (size_t)-1);
	assert_int_equal(f->done_n, N);
	assert_int_equal(f->done_bytes, total);
	check_copies(f);
}

static void test_stream(void **state)
{
	struct membudget mb;

	assert_int_equal(membudget_init(&mb, 1 << 20), 0);
	run(*state, 0, 0, &mb);
	assert_int_equal(membudget_used(&mb), 0);
	assert_true(membudget_peak(&mb) > 0);
	assert_true(membudget_peak(&mb) <= 3 * (64 << 10));	/* stream_parallel buffers */
	membudget_destroy(&mb);
}

static void test_server_side(void **state)
{
	/* local stores copy "server-side" when they can (else -EXDEV -> streaming); above the
	 * threshold part by part */
	run(*state, 1, 5 << 20, NULL);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct objcopy_opts o;
	struct errmsg e = { "" };

	memset(&o, 0, sizeof(o));
	o.src_store = f->src;
	o.dst_store = f->dst;
	o.parallel = 1;
	o.cancelled = is_cancelled;
	o.done = on_done;
	o.arg = f;
	f->cancel_after = 5;
	assert_int_equal(objcopy_run(&o, f->items, N, NULL, &e), -ECANCELED);
	assert_true(f->done_n >= 5 && f->done_n < N);
}

static void test_missing_source(void **state)
{
	struct fx *f = *state;
	struct objcopy_opts o;
	struct errmsg e = { "" };
	size_t failed = (size_t)-1;

	memset(&o, 0, sizeof(o));
	o.src_store = f->src;
	o.dst_store = f->dst;
	o.parallel = 2;
	f->items[7].src = "binlogs/nosuch";
	f->items[7].size = 10;
	assert_int_equal(objcopy_run(&o, f->items, N, &failed, &e), -ENOENT);
	assert_int_equal(failed, 7);
	assert_true(e.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_source, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

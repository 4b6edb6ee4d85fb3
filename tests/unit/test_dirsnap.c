/*
 * test_dirsnap.c - an open directory's listing served by offset: every name exactly once,
 * whatever page size libfuse's buffer allows, and a resume from any offset it was given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dirsnap.h"

/* a libfuse buffer of `room` entries: records names and offsets, says "full" when out of room */
struct page {
	size_t room, n;
	char names[64][16];
	off_t offs[64];
	int plus[64];
};

static int fill(void *arg, const char *name, struct stat *st, int *pending, off_t off, int plus)
{
	(void)pending;
	struct page *p = arg;

	if (p->n == p->room)
		return 1;
	snprintf(p->names[p->n], sizeof(p->names[0]), "%s", name);
	p->offs[p->n] = off;
	p->plus[p->n] = st ? plus : 0;
	p->n++;
	return 0;
}

static struct dirsnap *make(size_t n)
{
	struct dirsnap *d = dirsnap_new();
	struct stat st = { .st_mode = S_IFDIR | 0755 };
	char name[16];

	assert_non_null(d);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "b%03zu", i);
		assert_int_equal(dirsnap_add(d, name, &st, 0), 0);
	}
	return d;
}

/* pages of every size from 1 to 7 entries: ".", "..", then b000..b019 once each, in order */
static void test_pages_cover_every_name_once(void **state)
{
	struct dirsnap *d = make(20);

	(void)state;
	for (size_t room = 1; room <= 7; room++) {
		char want[32];
		size_t seen = 0;
		off_t off = 0;

		for (;;) {
			struct page p = { .room = room };

			dirsnap_serve(d, off, 1, fill, &p);
			if (p.n == 0)
				break;
			for (size_t i = 0; i < p.n; i++, seen++) {
				if (seen == 0)
					snprintf(want, sizeof(want), ".");
				else if (seen == 1)
					snprintf(want, sizeof(want), "..");
				else
					snprintf(want, sizeof(want), "b%03zu", seen - 2);
				assert_string_equal(p.names[i], want);
				assert_int_equal(p.offs[i], (off_t)seen + 1);
				assert_int_equal(p.plus[i], seen >= 2);
			}
			off = p.offs[p.n - 1];
		}
		assert_int_equal(seen, 22);
	}
	dirsnap_free(d);
}

/* seekdir to an offset telldir gave: the listing resumes right after that entry */
static void test_resume_from_any_offset(void **state)
{
	struct dirsnap *d = make(5);

	(void)state;
	for (off_t off = 0; off <= 7; off++) {
		struct page p = { .room = 64 };

		dirsnap_serve(d, off, 0, fill, &p);
		assert_int_equal(p.n, (size_t)(7 - off));
		if (p.n)
			assert_int_equal(p.offs[0], off + 1);
	}
	dirsnap_free(d);
}

/* rewinddir: a new listing replaces the old one */
static void test_clear_takes_a_new_listing(void **state)
{
	struct dirsnap *d = make(3);
	struct stat st = { .st_mode = S_IFREG | 0444 };
	struct page p = { .room = 64 };

	(void)state;
	dirsnap_clear(d);
	assert_int_equal(dirsnap_count(d), 0);
	assert_int_equal(dirsnap_add(d, "only", &st, 0), 0);
	dirsnap_serve(d, 0, 1, fill, &p);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.names[2], "only");
	dirsnap_free(d);
}

/* the book: a listing served by a handle reading alone may be kept for DIRSNAP_KEEP_MS, with
 * its fingerprint; a second handle is told of the first; a page without attributes forgets */
static void test_book_keeps_recent_lone_listings(void **state)
{
	struct dirsnap_book *b = dirsnap_book_new();
	uint64_t fp, a = dirsnap_fp_add(DIRSNAP_FP_INIT, "x", 1);
	unsigned others;
	int recent;

	(void)state;
	assert_non_null(b);
	assert_int_not_equal(a, dirsnap_fp_add(DIRSNAP_FP_INIT, "x", 0));	/* kind counts */
	assert_int_not_equal(dirsnap_fp_add(a, "y", 0),
			     dirsnap_fp_add(dirsnap_fp_add(DIRSNAP_FP_INIT, "y", 0), "x", 1));
	assert_int_equal(dirsnap_book_open(b, "/", 1000, &others, &recent, &fp), 0);
	assert_int_equal(others, 0);
	assert_int_equal(recent, 0);	/* never served */
	dirsnap_book_served(b, "/", a, 1000);
	dirsnap_book_close(b, "/");
	assert_int_equal(dirsnap_book_open(b, "/", 1000 + DIRSNAP_KEEP_MS - 1, &others, &recent,
					   &fp), 0);
	assert_int_equal(recent, 1);
	assert_true(fp == a);
	/* a second handle beside it: told so; what either serves now is not kept */
	assert_int_equal(dirsnap_book_open(b, "/", 1001, &others, &recent, &fp), 0);
	assert_int_equal(others, 1);
	dirsnap_book_served(b, "/", a, 1001);
	dirsnap_book_close(b, "/");
	dirsnap_book_close(b, "/");
	assert_int_equal(dirsnap_book_open(b, "/", 1002, &others, &recent, &fp), 0);
	assert_int_equal(others, 0);
	assert_int_equal(recent, 0);
	/* served alone, then a page without attributes: forgotten */
	dirsnap_book_served(b, "/", a, 1002);
	dirsnap_book_unplussed(b, "/");
	dirsnap_book_close(b, "/");
	assert_int_equal(dirsnap_book_open(b, "/", 1003, &others, &recent, &fp), 0);
	assert_int_equal(recent, 0);
	dirsnap_book_close(b, "/");
	/* too old */
	dirsnap_book_served(b, "/", a, 2000);
	assert_int_equal(dirsnap_book_open(b, "/", 2000 + DIRSNAP_KEEP_MS, &others, &recent,
					   &fp), 0);
	assert_int_equal(recent, 0);
	dirsnap_book_close(b, "/");
	dirsnap_book_free(b);
}

/* the book stays bounded: past DIRSNAP_BOOK_MAX paths the closed ones are dropped, the open
 * ones kept */
static void test_book_is_bounded(void **state)
{
	struct dirsnap_book *b = dirsnap_book_new();
	char path[32];
	uint64_t fp;
	unsigned others;
	int recent;

	(void)state;
	assert_int_equal(dirsnap_book_open(b, "/open", 1, &others, &recent, &fp), 0);
	for (int i = 0; i < 3 * DIRSNAP_BOOK_MAX; i++) {
		snprintf(path, sizeof(path), "/d%d", i);
		assert_int_equal(dirsnap_book_open(b, path, 1, &others, &recent, &fp), 0);
		dirsnap_book_close(b, path);
	}
	assert_int_equal(dirsnap_book_open(b, "/open", 1, &others, &recent, &fp), 0);
	assert_int_equal(others, 1);	/* still counted */
	dirsnap_book_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_cover_every_name_once),
		cmocka_unit_test(test_resume_from_any_offset),
		cmocka_unit_test(test_clear_takes_a_new_listing),
		cmocka_unit_test(test_book_keeps_recent_lone_listings),
		cmocka_unit_test(test_book_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

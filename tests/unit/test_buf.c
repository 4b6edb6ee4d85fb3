/*
 * test_buf.c - the bounded buffer and the array helper: growing past the maximum is an error,
 * never an allocation without bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"

static void test_limit_is_an_error(void **state)
{
	struct buf b = BUF_INIT(10);

	assert_int_equal(buf_adds(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_adds(&b, "x"), -E2BIG);
	assert_int_equal(buf_addf(&b, "%d", 1), -E2BIG);
	assert_string_equal(b.p, "0123456789");	/* unchanged, still terminated */
	buf_release(&b);
}

static void test_addf_and_detach(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	char *s;
	size_t len, i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "%zu,", i), 0);
	assert_int_equal(strncmp(b.p, "0,1,2,", 6), 0);
	s = buf_detach(&b, &len);
	assert_int_equal(len, strlen(s));
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
	s = buf_detach(&b, &len);	/* an empty buffer detaches as "" */
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void test_array_grow(void **state)
{
	int64_t *v = NULL;
	size_t n, cap = 0;

	for (n = 0; n < 1000; n++) {
		assert_int_equal(ARRAY_GROW(v, n, cap, 4), 0);
		assert_true(cap > n);
		v[n] = (int64_t)n * 9007199254740993LL / 1024;
	}
	assert_true(cap >= 1000 && cap <= 2048);	/* doubling, not one by one */
	for (n = 0; n < 1000; n++)
		assert_true(v[n] == (int64_t)n * 9007199254740993LL / 1024);
	free(v);
	v = NULL;
	cap = 0;
	assert_int_equal(ARRAY_GROW(v, 0, cap, 16), 0);
	assert_int_equal(cap, 16);
	free(v);
}

static void test_errmsg(void **state)
{
	struct errmsg e = { { 0 } };

	assert_int_equal(errmsg_set(&e, -ENOENT, "no backup '%s'", "x"), -ENOENT);
	assert_int_equal(errmsg_prefix(&e, -ENOENT, "cannot stat"), -ENOENT);
	assert_string_equal(errmsg_str(&e, -ENOENT), "cannot stat: no backup 'x'");
	errmsg_clear(&e);
	assert_string_equal(errmsg_str(&e, -ENOENT), strerror(ENOENT));
	assert_int_equal(errmsg_set(NULL, -EIO, "ignored"), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_is_an_error),
		cmocka_unit_test(test_addf_and_detach),
		cmocka_unit_test(test_array_grow),
		cmocka_unit_test(test_errmsg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

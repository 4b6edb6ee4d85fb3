/*
 * test_membudget.c - the byte budget's edges (nothing taken on a refusal, every byte given back)
 * and its data buffers: writable, whole, and on small pages (membudget.h says why).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mvbackupfs/base/membudget.h"

static void test_refusals_take_nothing(void **state)
{
	struct membudget b;

	(void)state;
	assert_int_equal(membudget_init(&b, 100), 0);
	assert_int_equal(membudget_try_acquire(&b, 60), 0);
	assert_int_equal(membudget_try_acquire(&b, 60), -EAGAIN);
	assert_int_equal(membudget_acquire(&b, 60, 10), -ETIMEDOUT);
	assert_int_equal(membudget_try_acquire(&b, 101), -E2BIG);
	assert_int_equal(membudget_used(&b), 60);
	membudget_release(&b, 60);
	assert_int_equal(membudget_used(&b), 0);
	assert_int_equal(membudget_peak(&b), 60);
	membudget_destroy(&b);
}

/* The VmFlags of the mapping holding `addr` in /proc/self/smaps, into out; 0 or -1. */
static int vm_flags_of(const void *addr, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0, rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		/* a mapping's first line, "LO-HI perms ..."; no field line reads as two hex numbers */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void test_map_is_whole_writable_and_small_paged(void **state)
{
	size_t n = 8u << 20;
	char flags[512];
	unsigned char *p;
	size_t i;

	(void)state;
	p = membudget_map(n);
	assert_non_null(p);
	for (i = 0; i < n; i += 4096)
		assert_int_equal(p[i], 0);	/* fresh anonymous memory reads as zeroes */
	memset(p, 0xa5, n);
	assert_int_equal(p[n - 1], 0xa5);
#ifdef MADV_NOHUGEPAGE
	/* the advice is on the mapping ("nh", proc(5)), whatever the kernel's THP mode */
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0) {
		assert_int_equal(vm_flags_of(p + n / 2, flags, sizeof(flags)), 0);
		assert_non_null(strstr(flags, " nh"));
	}
#endif
	assert_int_equal(munmap(p, n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_take_nothing),
		cmocka_unit_test(test_map_is_whole_writable_and_small_paged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

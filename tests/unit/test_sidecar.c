/*
 * test_sidecar.c - mvbackupfs.json round trip, tolerant and bounded parsing, and the RFC 3339
 * helpers that .expires shows and accepts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/base/timefmt.h"

static void test_rfc3339(void **state)
{
	static const struct { int64_t t; const char *s; } v[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ 1787191200, "2026-08-20T02:00:00Z" },
		{ 4102444799, "2099-12-31T23:59:59Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ 253402300799, "9999-12-31T23:59:59Z" },
	};
	char out[32];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(rfc3339_format(v[i].t, out), 0);
		assert_string_equal(out, v[i].s);
		assert_int_equal(rfc3339_parse(v[i].s, &t), 0);
		assert_int_equal(t, v[i].t);
	}
	assert_int_equal(rfc3339_format(253402300800, out), -EINVAL);
	assert_int_equal(rfc3339_parse("2026-08-20T04:00:00+02:00", &t), 0);
	assert_int_equal(t, 1787191200);
	assert_int_equal(rfc3339_parse("2026-08-19t21:30:00.123456-04:30", &t), 0);
	assert_int_equal(t, 1787191200);
	assert_int_equal(rfc3339_parse("2026-08-20T02:00:00z", &t), 0);
	assert_int_equal(t, 1787191200);
	static const char *const bad[] = {
		"", "2026-08-20", "2026-08-20T02:00:00", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-08-20T24:00:00Z",
		"2026-08-20T02:00:00Zjunk", "2026-08-20T02:00:00.Z", "2026-08-20T02:00:00+2:00",
		"2026-08-20 02:00:00Z", "x026-08-20T02:00:00Z", "7d", "never",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rfc3339_parse(bad[i], &t), -EINVAL);
}

static void test_roundtrip(void **state)
{
	struct sidecar s = { .format = SIDECAR_FORMAT, .created = 1787191200,
			     .expires = 1787191200 + 3 * 86400, .kind = SIDECAR_KIND_SCHEDULED };
	struct sidecar r;
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct errmsg err;

	(void)state;
	strcpy(s.created_by, sidecar_creator());
	strcpy(s.job, "job-7");
	assert_int_equal(strncmp(s.created_by, "mvbackupfs ", 11), 0);
	assert_int_equal(sidecar_write(&s, &b), 0);
	assert_non_null(strstr(b.p, "\"created\":\"2026-08-20T02:00:00Z\","
				    "\"expires\":\"2026-08-23T02:00:00Z\",\"kind\":\"scheduled\","
				    "\"job\":\"job-7\"}"));
	assert_int_equal(strncmp(b.p, "{\"format\":1,\"created_by\":\"mvbackupfs ", 37), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &r, &err), 0);
	assert_memory_equal(&r, &s, sizeof(r));

	/* expires 0 = never: the key is left out, and absent reads back as 0 */
	buf_reset(&b);
	s.expires = 0;
	s.job[0] = '\0';
	s.kind = SIDECAR_KIND_MANUAL;
	assert_int_equal(sidecar_write(&s, &b), 0);
	assert_null(strstr(b.p, "expires"));
	assert_null(strstr(b.p, "job"));
	assert_int_equal(sidecar_parse(b.p, b.len, &r, &err), 0);
	assert_int_equal(r.expires, 0);
	assert_int_equal(r.kind, SIDECAR_KIND_MANUAL);
	buf_release(&b);
}

static void test_tolerant_and_bounded(void **state)
{
	static const char newer[] = "{\"format\":2,\"kind\":\"future\",\"checksums\":{\"a\":1},"
				    "\"created\":null,\"job\":\"j\"}";
	static const char *const bad[] = {
		"", "[]", "{", "{\"format\":\"1\"}", "{\"format\":-1}", "{\"created\":1787191200}",
		"{\"expires\":\"tomorrow\"}", "{\"kind\":3}", "{\"created_by\":{}}",
	};
	struct sidecar r;
	struct errmsg err;
	char *big;

	(void)state;
	assert_int_equal(sidecar_parse(newer, sizeof(newer) - 1, &r, &err), 0);
	assert_int_equal(r.format, 2);
	assert_int_equal(r.kind, SIDECAR_KIND_UNKNOWN);
	assert_int_equal(r.created, 0);
	assert_string_equal(r.job, "j");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sidecar_parse(bad[i], strlen(bad[i]), &r, &err), -EINVAL);

	big = malloc(SIDECAR_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', SIDECAR_MAX + 1);
	big[0] = '{';
	big[SIDECAR_MAX] = '}';
	assert_int_equal(sidecar_parse(big, SIDECAR_MAX + 1, &r, &err), -EFBIG);
	/* an over-long job id is truncated, not overflowed */
	memset(big, 'a', 300);
	memcpy(big, "{\"job\":\"", 8);
	memcpy(big + 300, "\"}", 3);
	assert_int_equal(sidecar_parse(big, strlen(big), &r, &err), 0);
	assert_int_equal(strlen(r.job), sizeof(r.job) - 1);
	free(big);
}

/* Found by tests/fuzz/fuzz_sidecar: what we read must survive being written back.  A time
 * before 0000-01-01T00:00:00Z (year 0000 with a positive offset) was accepted but could not be
 * written, so a rewritten sidecar silently lost its expiry (= never expires); it is refused. */
static void test_time_outside_writable_range(void **state)
{
	static const char early[] = "{\"expires\":\"0000-01-01T00:00:00+01:00\"}";
	static const char first[] = "{\"expires\":\"0000-01-01T01:00:00+01:00\"}";
	static const char last[] = "{\"expires\":\"9999-12-31T23:59:59Z\"}";
	struct sidecar r, back;
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct errmsg err;
	int64_t t;

	(void)state;
	assert_int_equal(rfc3339_parse("0000-01-01T00:00:00+00:01", &t), -EINVAL);
	assert_int_equal(sidecar_parse(early, sizeof(early) - 1, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expires"));
	/* the two ends of the range parse and round-trip */
	assert_int_equal(sidecar_parse(first, sizeof(first) - 1, &r, &err), 0);
	assert_int_equal(sidecar_write(&r, &b), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &back, &err), 0);
	assert_true(back.expires == r.expires && r.expires != 0);
	buf_reset(&b);
	assert_int_equal(sidecar_parse(last, sizeof(last) - 1, &r, &err), 0);
	assert_int_equal(sidecar_write(&r, &b), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &back, &err), 0);
	assert_true(back.expires == r.expires);
	buf_release(&b);
}

/* Found by tests/fuzz/fuzz_sidecar: an over-long created_by / job is truncated at a character
 * boundary, not in the middle of a UTF-8 sequence (which the writer would turn into U+FFFD). */
static void test_truncation_keeps_utf8(void **state)
{
	char json[160], want[64];
	struct sidecar r, back;
	struct buf b = BUF_INIT(SIDECAR_MAX);
	struct errmsg err;

	(void)state;
	/* 62 ASCII bytes then "é" (2 bytes): it does not fit in 63, so it goes whole */
	memset(want, 'a', 62);
	want[62] = '\0';
	snprintf(json, sizeof(json), "{\"created_by\":\"%s\xc3\xa9\",\"job\":\"%s\xe2\x82\xac\"}",
		 want, want);
	assert_int_equal(sidecar_parse(json, strlen(json), &r, &err), 0);
	assert_string_equal(r.created_by, want);
	assert_string_equal(r.job, want);
	assert_int_equal(sidecar_write(&r, &b), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &back, &err), 0);
	assert_string_equal(back.created_by, r.created_by);
	assert_string_equal(back.job, r.job);
	buf_release(&b);
}

/* The sidecar a copy commits with: expiry and origin from what arrived, the reservation's
 * job/created/created_by intact, kind import; a chain keeps the first maker. */
static void test_merge_copy(void **state)
{
	struct sidecar src = { .format = 1, .created = 1787191200, .expires = 1787450400,
			       .kind = SIDECAR_KIND_SCHEDULED };
	struct sidecar resv = { .format = 1, .created = 1787277600,
				.kind = SIDECAR_KIND_IMPORT };
	struct sidecar out, chain, resv2 = { .format = 1, .created = 1787364000 };
	struct buf b = BUF_INIT(SIDECAR_MAX), as = BUF_INIT(SIDECAR_MAX);
	const char *raw = "{\"format\":1,\"kind\":\"scheduled\",\"job\":\"j\\\"1\"}";
	struct errmsg err;

	(void)state;
	snprintf(src.job, sizeof(src.job), "snapshot-a");
	snprintf(src.created_by, sizeof(src.created_by), "mvbackupfs 0.0.9");
	snprintf(resv.job, sizeof(resv.job), "import-b");
	snprintf(resv.created_by, sizeof(resv.created_by), "mvbackupfs 0.1.0");
	sidecar_merge_copy(&src, &resv, &out);
	assert_int_equal(out.kind, SIDECAR_KIND_IMPORT);
	assert_int_equal(out.expires, src.expires);
	assert_int_equal(out.origin, SIDECAR_KIND_SCHEDULED);
	assert_int_equal(out.origin_created, src.created);
	assert_string_equal(out.job, "import-b");
	assert_string_equal(out.created_by, "mvbackupfs 0.1.0");
	assert_int_equal(out.created, resv.created);

	/* copied on from the copy: the first maker stays the origin */
	snprintf(resv2.job, sizeof(resv2.job), "import-c");
	sidecar_merge_copy(&out, &resv2, &chain);
	assert_int_equal(chain.origin, SIDECAR_KIND_SCHEDULED);
	assert_int_equal(chain.origin_created, src.created);
	assert_int_equal(chain.expires, src.expires);
	assert_string_equal(chain.job, "import-c");

	/* none arrived (a milvus-backup backup): copied, no origin, the reservation's expiry */
	resv.expires = 0;
	sidecar_merge_copy(NULL, &resv, &out);
	assert_int_equal(out.kind, SIDECAR_KIND_IMPORT);
	assert_int_equal(out.origin, SIDECAR_KIND_UNKNOWN);
	assert_int_equal(out.expires, 0);
	assert_string_equal(out.job, "import-b");

	/* written with the bytes that arrived: they read back verbatim, the fields parse */
	sidecar_merge_copy(&src, &resv, &out);
	assert_int_equal(sidecar_write_copied(&out, raw, strlen(raw), &b), 0);
	assert_int_equal(sidecar_parse(b.p, b.len, &chain, &err), 0);
	assert_int_equal(chain.kind, SIDECAR_KIND_IMPORT);
	assert_int_equal(chain.origin, SIDECAR_KIND_SCHEDULED);
	assert_int_equal(chain.origin_created, src.created);
	assert_int_equal(chain.expires, src.expires);
	assert_string_equal(chain.job, "import-b");
	assert_int_equal(sidecar_as_copied(b.p, b.len, &as), 1);
	assert_int_equal(as.len, strlen(raw));
	assert_memory_equal(as.p, raw, as.len);
	/* a rewrite through struct sidecar (an .expires change) drops them */
	buf_reset(&b);
	buf_reset(&as);
	assert_int_equal(sidecar_write(&chain, &b), 0);
	assert_int_equal(sidecar_as_copied(b.p, b.len, &as), 0);
	assert_int_equal(sidecar_as_copied("not json", 8, &as), 0);
	buf_release(&b);
	buf_release(&as);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tolerant_and_bounded),
		cmocka_unit_test(test_time_outside_writable_range),
		cmocka_unit_test(test_truncation_keeps_utf8),
		cmocka_unit_test(test_merge_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

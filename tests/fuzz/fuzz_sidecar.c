/*
 * fuzz_sidecar.c - mvbackupfs.json, our per-backup sidecar (milvus/format/sidecar.c, sidecar_parse),
 * on arbitrary bytes.  Property: a parsed sidecar written back parses to the same values.
 */
#include "fuzz.h"
#include "mvbackupfs/format/sidecar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sidecar s, t;
	struct buf out = BUF_INIT(SIDECAR_MAX);
	struct errmsg err;

	if (sidecar_parse((const char *)data, size, &s, &err))
		return 0;
	FUZZ_CHECK(memchr(s.created_by, 0, sizeof(s.created_by)) && memchr(s.job, 0, sizeof(s.job)));
	if (sidecar_write(&s, &out) == 0) {
		int rc = sidecar_parse(out.p, out.len, &t, &err);

		if (rc)
			fprintf(stderr, "re-parse of '%.*s' failed: %s\n", (int)out.len, out.p, err.msg);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(t.expires == s.expires && t.kind == s.kind);
		FUZZ_CHECK(strcmp(t.created_by, s.created_by) == 0 && strcmp(t.job, s.job) == 0);
	}
	buf_release(&out);
	return 0;
}

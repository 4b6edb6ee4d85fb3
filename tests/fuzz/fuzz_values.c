/*
 * fuzz_values.c - the small value parsers that read untrusted text: RFC 3339 times (sidecar
 * "created"/"expires"; rfc3339_parse), S3's LastModified (s3xml_parse_time), sizes and durations
 * of the config (config_parse_size, duration_parse), the snapshot filter spec
 * (backup_filter_parse) and binlog keys from a listing (backup_binlog_key_parse).  Properties:
 * a parsed time formats back to a time that parses to the same second;
 * sizes and durations are never negative.
 */
#include <errno.h>

#include "fuzz.h"
#include "mvbackupfs/jobs/backup_create.h"
#include "mvbackupfs/config/config.h"
#include "s3xml.h"
#include "mvbackupfs/format/sidecar.h"
#include "mvbackupfs/base/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size), t[32];
	struct backup_filter f;
	struct backup_binlog_key k;
	struct errmsg err;
	int64_t v, w;
	uint64_t u;

	if (!s)
		return 0;
	fuzz_quiet();
	if (rfc3339_parse(s, &v) == 0) {
		FUZZ_CHECK(rfc3339_format(v, t) == 0);
		FUZZ_CHECK(rfc3339_parse(t, &w) == 0);
		FUZZ_CHECK(w == v);
	}
	(void)s3xml_parse_time(s);
	(void)config_parse_size(s, &u);
	if (duration_parse(s, &v) == 0)
		FUZZ_CHECK(v >= 0);
	if (backup_filter_parse(s, &f, &err) == 0)
		backup_filter_release(&f);
	/* a key below a root: the part before the first NUL-free '\n' is the root */
	{
		char *nl = strchr(s, '\n');

		if (nl) {
			*nl = '\0';
			(void)backup_binlog_key_parse(s, nl + 1, &k);
		} else {
			(void)backup_binlog_key_parse("backup/b1", s, &k);
		}
	}
	free(s);
	return 0;
}

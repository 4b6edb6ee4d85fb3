/*
 * fuzz_meta_levels.c - the four level meta files (backup_meta, collection_meta, partition_meta,
 * segment_meta) that milvus-backup reads when there is no full_meta.json (milvus/format/meta.c,
 * meta_parse_levels).  The input is the four documents separated by NUL bytes (JSON text cannot
 * hold one); missing parts are empty documents.  Then the derived values, as the mount shows.
 */
#include "fuzz.h"
#include "mvbackupfs/format/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[4] = { "", "", "", "" };
	size_t len[4] = { 0, 0, 0, 0 };
	const char *p = (const char *)data, *end = p + size;
	struct meta_backup b;
	struct errmsg err;
	volatile int64_t sink = 0;

	fuzz_quiet();
	for (int i = 0; i < 4 && p <= end; i++) {
		const char *nul = memchr(p, 0, (size_t)(end - p));

		part[i] = p;
		len[i] = nul ? (size_t)(nul - p) : (size_t)(end - p);
		p += len[i] + 1;
	}
	if (meta_parse_levels(part[0], len[0], part[1], len[1], part[2], len[2], part[3], len[3],
			      &b, &err))
		return 0;
	for (size_t i = 0; i < b.ncollections; i++) {
		sink += meta_collection_entities(&b.collections[i]);
		sink += meta_collection_size(&b.collections[i]);
	}
	sink += meta_backup_size(&b);
	sink += meta_backup_time(&b);
	meta_backup_release(&b);
	(void)sink;
	return 0;
}

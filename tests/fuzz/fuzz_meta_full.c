/*
 * fuzz_meta_full.c - milvus-backup's full_meta.json parser (milvus/format/meta.c, meta_parse_full) on
 * arbitrary bytes, followed by what the mount does with a parsed backup: the derived values of
 * .info (entities, segments, sizes, creation time) and the writer of the five meta files.
 * Property: what the writer produces parses again (a backup we write is one we can read).
 */
#include "fuzz.h"
#include "mvbackupfs/format/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta_backup b, again;
	struct meta_files f;
	struct errmsg err;
	volatile int64_t sink = 0;

	fuzz_quiet();
	if (meta_parse_full((const char *)data, size, &b, &err))
		return 0;
	for (size_t i = 0; i < b.ncollections; i++) {
		sink += meta_collection_entities(&b.collections[i]);
		sink += (int64_t)meta_collection_segments(&b.collections[i]);
		sink += meta_collection_size(&b.collections[i]);
	}
	sink += meta_backup_size(&b);
	sink += meta_backup_time(&b);
	if (meta_write_files(&b, &f, &err) == 0) {
		int rc = meta_parse_full(f.full_meta, f.full_meta_len, &again, &err);

		if (rc)
			fprintf(stderr, "re-parse of the written full_meta failed: %s\n", err.msg);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(again.ncollections == b.ncollections);
		meta_backup_release(&again);
		meta_files_release(&f);
	}
	meta_backup_release(&b);
	(void)sink;
	return 0;
}

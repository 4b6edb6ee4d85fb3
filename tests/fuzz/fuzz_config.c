/*
 * fuzz_config.c - backup.yaml loading (milvus/config/config.c: libyaml events -> a bounded node tree ->
 * struct config, with the size / duration / bool / int value parsers) on arbitrary bytes.
 * config_load reads a path, so each input goes to a memfd read back through /proc/self/fd
 * (no disk traffic).  A loaded config is then dumped (--print-config).  The environment
 * variables config_load consults should be unset while fuzzing (scripts/fuzz.sh runs the
 * fuzzers under env -i).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct config c;
	struct errmsg err;
	struct buf out = BUF_INIT(1 << 20);

	fuzz_quiet();
	if (fd < 0) {
		fd = memfd_create("fuzz-backup.yaml", 0);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("memfd write");
		abort();
	}
	if (config_init(&c))
		return 0;
	if (config_load(&c, path, &err) == 0) {
		FUZZ_CHECK(c.backup_storage.root_path != NULL && c.milvus.address != NULL);
		FUZZ_CHECK(c.milvus.port >= 1 && c.milvus.port <= 65535);
		config_dump(&c, &out);
	}
	buf_release(&out);
	config_release(&c);
	return 0;
}

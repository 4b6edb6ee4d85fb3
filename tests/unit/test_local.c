/*
 * test_local.c - the local-directory object store (storage/local.c) in a mkdtemp directory:
 * S3-identical listing (pagination, delimiter roll-up, byte order), ranged reads, atomic and
 * conditional puts, multipart uploads, copies, delete cleanup and refused keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mvbackupfs/storage/local.h"

struct fixture {
	char dir[64];
	struct objstore *s;
};

static int rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errmsg err = { { 0 } };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_local.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (local_store_new(f->dir, &f->s, &err))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	objstore_free(f->s);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void put(struct objstore *s, const char *key, const char *data)
{
	struct errmsg err = { { 0 } };
	int rc = objstore_put(s, key, data, strlen(data), 0, &err);

	if (rc)
		fail_msg("put '%s': %s", key, errmsg_str(&err, rc));
}

static int exists(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	return stat(path, &st) == 0;
}

static void test_new_missing_dir(void **state)
{
	struct objstore *s = NULL;
	struct errmsg err = { { 0 } };

	(void)state;
	assert_int_equal(local_store_new("/nonexistent/mvbackupfs-test", &s, &err), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(err.msg, "/nonexistent/mvbackupfs-test"));
}

static void test_check(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	char moved[80];

	assert_int_equal(objstore_check(f->s, &err), 0);
	assert_string_equal(objstore_name(f->s), f->dir);
	/* The directory disappears under a running store: check names the path. */
	snprintf(moved, sizeof(moved), "%s.moved", f->dir);
	assert_int_equal(rename(f->dir, moved), 0);
	assert_int_equal(objstore_check(f->s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, f->dir));
	assert_int_equal(rename(moved, f->dir), 0);
}

static void test_put_get_head(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	struct obj_entry e;
	char buf[64];
	size_t got;

	put(f->s, "backup/b1/meta/backup_meta.json", "0123456789");
	assert_true(exists(f, "backup/b1/meta/backup_meta.json"));

	assert_int_equal(objstore_head(f->s, "backup/b1/meta/backup_meta.json", &e, &err), 0);
	assert_string_equal(e.key, "backup/b1/meta/backup_meta.json");
	assert_int_equal(e.size, 10);
	assert_true(e.mtime > 0);
	obj_entry_release(&e);

	/* Ranged reads: middle, short at the end, past the end. */
	assert_int_equal(objstore_get(f->s, "backup/b1/meta/backup_meta.json", 3, 4, buf, &got,
				      &err), 0);
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "3456", 4);
	assert_int_equal(objstore_get(f->s, "backup/b1/meta/backup_meta.json", 8, 10, buf, &got,
				      &err), 0);
	assert_int_equal(got, 2);
	assert_memory_equal(buf, "89", 2);
	assert_int_equal(objstore_get(f->s, "backup/b1/meta/backup_meta.json", 10, 10, buf, &got,
				      &err), 0);
	assert_int_equal(got, 0);

	/* Overwrite replaces the whole object. */
	put(f->s, "backup/b1/meta/backup_meta.json", "abc");
	assert_int_equal(objstore_get(f->s, "backup/b1/meta/backup_meta.json", 0, 64, buf, &got,
				      &err), 0);
	assert_int_equal(got, 3);
	assert_memory_equal(buf, "abc", 3);

	/* Missing keys, and "directories", are -ENOENT. */
	assert_int_equal(objstore_head(f->s, "backup/nope", &e, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "backup/nope"));
	assert_int_equal(objstore_head(f->s, "backup/b1", &e, &err), -ENOENT);
	assert_int_equal(objstore_get(f->s, "backup/b1/meta/backup_meta.json/x", 0, 4, buf, &got,
				      &err), -ENOENT);
	assert_int_equal(objstore_get(f->s, "backup/b1/meta", 0, 4, buf, &got, &err), -ENOENT);
}

static void test_get_all(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT(5);
	struct errmsg err = { { 0 } };

	put(f->s, "small", "hello");
	assert_int_equal(objstore_get_all(f->s, "small", &b, &err), 0);
	assert_string_equal(b.p, "hello");
	buf_release(&b);
	put(f->s, "big", "hello world");
	assert_int_equal(objstore_get_all(f->s, "big", &b, &err), -EFBIG);
	buf_release(&b);
}

static void test_conditional_put(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	char buf[16];
	size_t got;

	assert_int_equal(objstore_put(f->s, "b/x/mvbackupfs.json", "one", 3,
				      OBJSTORE_IF_NONE_MATCH, &err), 0);
	assert_int_equal(objstore_put(f->s, "b/x/mvbackupfs.json", "two", 3,
				      OBJSTORE_IF_NONE_MATCH, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "b/x/mvbackupfs.json"));
	/* The first writer's content survives, and no temporary file is left behind. */
	assert_int_equal(objstore_get(f->s, "b/x/mvbackupfs.json", 0, sizeof(buf), buf, &got,
				      &err), 0);
	assert_int_equal(got, 3);
	assert_memory_equal(buf, "one", 3);
	{
		struct obj_listing l = { 0 };

		assert_int_equal(objstore_list(f->s, "", NULL, &l, &err), 0);
		assert_int_equal(l.nobjs, 1);
		obj_listing_release(&l);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s/b/x' | wc -l) -eq 1", f->dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_bad_keys(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	static const char *bad[] = {
		"", "/etc/passwd", "../escape", "a/../../escape", "a/./b", "a//b", "a/b/",
		".", "..", ".mvbackupfs-mpu/x", "a/.mvbackupfs-tmp.123",
	};
	struct obj_entry e;
	struct mpu_part part;
	char buf[4], *id = NULL;
	size_t i, got;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i];

		assert_int_equal(objstore_put(f->s, k, "x", 1, 0, &err), -EINVAL);
		assert_int_equal(objstore_head(f->s, k, &e, &err), -EINVAL);
		assert_int_equal(objstore_get(f->s, k, 0, 4, buf, &got, &err), -EINVAL);
		assert_int_equal(objstore_delete(f->s, &k, 1, &err), -EINVAL);
		assert_int_equal(objstore_mpu_begin(f->s, k, &id, &err), -EINVAL);
		assert_null(id);
	}
	assert_false(exists(f, "../escape"));
	/* Upload ids are validated too: no path tricks through them. */
	assert_int_equal(objstore_mpu_part(f->s, "k", "../../etc", 1, "x", 1, &part, &err),
			 -ENOENT);
	/* A key below an object cannot exist on a filesystem. */
	put(f->s, "file", "x");
	assert_int_equal(objstore_put(f->s, "file/child", "x", 1, 0, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "file/child"));
}

/* Keys with an empty, '.' or '..' element are refused by the object-store layer itself
 * (storage/objstore.c), before the backend, with the same sentence for S3 and local: MinIO
 * refuses them where RGW stores them, so neither backend may see them. */
static void test_bad_keys_generic(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	static const char *bad[] = { "", "/abs", "dots/./and/../x", "a/./b", "a/../b", "a//b",
				     ".", "..", "a/..", "./a" };
	struct obj_entry e;
	struct mpu_part part;
	char buf[4], *id = NULL;
	size_t i, got;

	put(f->s, "good", "x");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i];

#define REFUSED(call) \
	do { \
		err.msg[0] = '\0'; \
		assert_int_equal((call), -EINVAL); \
		assert_non_null(strstr(err.msg, "not a valid object key")); \
	} while (0)
		REFUSED(objstore_put(f->s, k, "x", 1, 0, &err));
		REFUSED(objstore_head(f->s, k, &e, &err));
		REFUSED(objstore_get(f->s, k, 0, 4, buf, &got, &err));
		REFUSED(objstore_delete(f->s, &k, 1, &err));
		REFUSED(objstore_mpu_begin(f->s, k, &id, &err));
		assert_null(id);
		REFUSED(objstore_mpu_part(f->s, k, "id", 1, "x", 1, &part, &err));
		REFUSED(objstore_copy(f->s, k, f->s, "good", 1, &err));
		REFUSED(objstore_copy(f->s, "good2", f->s, k, 1, &err));
#undef REFUSED
	}
	/* a delete batch with one bad key deletes nothing */
	{
		const char *keys[] = { "good", "a/../good" };

		assert_int_equal(objstore_delete(f->s, keys, 2, &err), -EINVAL);
		assert_true(exists(f, "good"));
	}
}

/* Collect every page of a listing with `max` keys per page into one string like
 * "a,b,p/|c" (objects, then '|', prefixes, pages separated by ';'). */
static char *list_all(struct objstore *s, const char *prefix, const char *delim, size_t max,
		      size_t *pages)
{
	static char out[4096];
	char *token = NULL, *next = NULL;
	struct errmsg err = { { 0 } };

	out[0] = '\0';
	*pages = 0;
	do {
		struct obj_listing l = { 0 };
		size_t i;

		assert_int_equal(objstore_list_page(s, prefix, delim, token, max, &l, &next, &err),
				 0);
		assert_true(l.nobjs + l.nprefixes <= max);
		if (*pages)
			strcat(out, ";");
		for (i = 0; i < l.nobjs; i++) {
			strcat(out, l.objs[i].key);
			strcat(out, ",");
		}
		strcat(out, "|");
		for (i = 0; i < l.nprefixes; i++) {
			strcat(out, l.prefixes[i]);
			strcat(out, ",");
		}
		(*pages)++;
		obj_listing_release(&l);
		free(token);
		token = next;
	} while (token);
	return out;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct obj_listing l = { 0 };
	struct errmsg err = { { 0 } };
	char *id = NULL;
	size_t pages;
	char path[PATH_MAX];

	/* '/' (0x2f) sorts between '.' and '0': byte order, not directory order. */
	put(f->s, "backup/a.json", "1");
	put(f->s, "backup/a/x", "22");
	put(f->s, "backup/a/y/z", "333");
	put(f->s, "backup/a0", "4");
	put(f->s, "backup/b/m/n", "5");
	put(f->s, "backup/c", "6");
	put(f->s, "other", "7");
	/* Neither empty directories nor staging areas are listed. */
	snprintf(path, sizeof(path), "mkdir -p '%s/backup/empty/deeper'", f->dir);
	assert_int_equal(system(path), 0);
	assert_int_equal(objstore_mpu_begin(f->s, "backup/d/big", &id, &err), 0);

	assert_string_equal(list_all(f->s, "", NULL, 1000, &pages),
			    "backup/a.json,backup/a/x,backup/a/y/z,backup/a0,backup/b/m/n,"
			    "backup/c,other,|");
	assert_int_equal(pages, 1);

	assert_string_equal(list_all(f->s, "backup/", "/", 1000, &pages),
			    "backup/a.json,backup/a0,backup/c,|backup/a/,backup/b/,");

	/* Pagination counts objects and prefixes together; the token is the last entry. */
	assert_string_equal(list_all(f->s, "backup/", "/", 2, &pages),
			    "backup/a.json,|backup/a/,;backup/a0,|backup/b/,;backup/c,|");
	assert_int_equal(pages, 3);
	assert_string_equal(list_all(f->s, "", NULL, 3, &pages),
			    "backup/a.json,backup/a/x,backup/a/y/z,|;backup/a0,backup/b/m/n,"
			    "backup/c,|;other,|");

	/* A prefix that is not a directory boundary. */
	assert_string_equal(list_all(f->s, "backup/a", "/", 1000, &pages),
			    "backup/a.json,backup/a0,|backup/a/,");
	assert_string_equal(list_all(f->s, "backup/a/", "/", 1000, &pages),
			    "backup/a/x,|backup/a/y/,");
	assert_string_equal(list_all(f->s, "ba", "/", 1000, &pages), "|backup/,");
	assert_string_equal(list_all(f->s, "nothing/", "/", 1000, &pages), "|");
	/* Another delimiter than '/'. */
	assert_string_equal(list_all(f->s, "backup/", ".", 1000, &pages),
			    "backup/a/x,backup/a/y/z,backup/a0,backup/b/m/n,backup/c,|backup/a.,");

	/* A token in the middle resumes after it. */
	{
		char *next = NULL;

		assert_int_equal(objstore_list_page(f->s, "backup/", "/", "backup/a0", 0, &l,
						    &next, &err), 0);
		assert_null(next);
		assert_int_equal(l.nobjs, 1);
		assert_string_equal(l.objs[0].key, "backup/c");
		assert_int_equal(l.nprefixes, 1);
		assert_string_equal(l.prefixes[0], "backup/b/");
		obj_listing_release(&l);
	}

	/* Sizes and mtimes come from the files. */
	assert_int_equal(objstore_list(f->s, "backup/a/", NULL, &l, &err), 0);
	assert_int_equal(l.nobjs, 2);
	assert_int_equal(l.objs[0].size, 2);
	assert_int_equal(l.objs[1].size, 3);
	assert_true(l.objs[1].mtime > 0);
	obj_listing_release(&l);

	assert_int_equal(objstore_mpu_abort(f->s, "backup/d/big", id, &err), 0);
	free(id);
}

static void test_list_many_pages(void **state)
{
	struct fixture *f = *state;
	char *token = NULL, *next = NULL, last[64] = "";
	struct errmsg err = { { 0 } };
	size_t total = 0, pages = 0;
	int i;

	/* Files made behind the store's back (no fsync: fast) are objects like any other. */
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/k", f->dir);
		assert_int_equal(mkdir(path, 0777), 0);
	}
	for (i = 0; i < 2500; i++) {
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/k/%05d", f->dir, i);
		fd = open(path, O_WRONLY | O_CREAT, 0666);
		assert_true(fd >= 0);
		close(fd);
	}
	do {
		struct obj_listing l = { 0 };
		size_t j;

		assert_int_equal(objstore_list_page(f->s, "k/", "/", token, 0, &l, &next, &err),
				 0);
		for (j = 0; j < l.nobjs; j++) {
			assert_true(strcmp(last, l.objs[j].key) < 0);
			snprintf(last, sizeof(last), "%s", l.objs[j].key);
		}
		total += l.nobjs;
		pages++;
		assert_true(l.nobjs <= 1000);
		obj_listing_release(&l);
		free(token);
		token = next;
	} while (token);
	assert_int_equal(total, 2500);
	assert_int_equal(pages, 3);
}

static void test_multipart(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	struct mpu_part parts[3];
	char *id = NULL, buf[32];
	size_t got;

	assert_int_equal(objstore_mpu_begin(f->s, "up/obj", &id, &err), 0);
	assert_non_null(id);
	/* Parts may arrive out of order and be retried. */
	assert_int_equal(objstore_mpu_part(f->s, "up/obj", id, 2, "BBB", 3, &parts[1], &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "up/obj", id, 1, "aa", 2, &parts[0], &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "up/obj", id, 1, "AA", 2, &parts[0], &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "up/obj", id, 3, "C", 1, &parts[2], &err), 0);
	/* Nothing is visible before completion. */
	assert_int_equal(objstore_get(f->s, "up/obj", 0, 8, buf, &got, &err), -ENOENT);
	{
		struct obj_listing l = { 0 };

		assert_int_equal(objstore_list(f->s, "", NULL, &l, &err), 0);
		assert_int_equal(l.nobjs, 0);
		obj_listing_release(&l);
	}
	assert_int_equal(objstore_mpu_complete(f->s, "up/obj", id, parts, 3, &err), 0);
	assert_int_equal(objstore_get(f->s, "up/obj", 0, sizeof(buf), buf, &got, &err), 0);
	assert_int_equal(got, 6);
	assert_memory_equal(buf, "AABBBC", 6);
	/* The staging area is gone; abort after complete is harmless. */
	assert_false(exists(f, "up/.mvbackupfs-mpu"));
	assert_int_equal(objstore_mpu_abort(f->s, "up/obj", id, &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "up/obj", id, 1, "x", 1, &parts[0], &err),
			 -ENOENT);
	free(id);
	id = NULL;

	/* A missing part fails the completion and names it; abort cleans everything up. */
	assert_int_equal(objstore_mpu_begin(f->s, "up2/deep/obj", &id, &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "up2/deep/obj", id, 1, "x", 1, &parts[0], &err),
			 0);
	parts[1].number = 2;
	parts[1].etag[0] = '\0';
	assert_int_equal(objstore_mpu_complete(f->s, "up2/deep/obj", id, parts, 2, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "part 2"));
	assert_int_equal(objstore_head(f->s, "up2/deep/obj", &(struct obj_entry){ 0 }, &err),
			 -ENOENT);
	assert_int_equal(objstore_mpu_abort(f->s, "up2/deep/obj", id, &err), 0);
	assert_false(exists(f, "up2"));
	free(id);
}

static void test_copy(void **state)
{
	struct fixture *f = *state;
	struct fixture g;
	struct errmsg err = { { 0 } };
	struct mpu_part parts[2];
	char buf[32], *id = NULL;
	size_t got;

	snprintf(g.dir, sizeof(g.dir), "/tmp/test_local2.XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	assert_int_equal(local_store_new(g.dir, &g.s, &err), 0);
	assert_int_equal(objstore_same_backend(f->s, g.s), 1);

	put(f->s, "src/data", "0123456789");
	assert_int_equal(objstore_copy(g.s, "dst/copied", f->s, "src/data", 10, &err), 0);
	assert_int_equal(objstore_get(g.s, "dst/copied", 0, sizeof(buf), buf, &got, &err), 0);
	assert_int_equal(got, 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(objstore_copy(g.s, "dst/x", f->s, "src/missing", 1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "src/missing"));

	/* UploadPartCopy: ranges of the source become parts. */
	assert_int_equal(objstore_mpu_begin(g.s, "dst/parts", &id, &err), 0);
	assert_int_equal(objstore_mpu_part_copy(g.s, "dst/parts", id, 1, f->s, "src/data", 5, 5,
						&parts[0], &err), 0);
	assert_int_equal(objstore_mpu_part_copy(g.s, "dst/parts", id, 2, f->s, "src/data", 0, 5,
						&parts[1], &err), 0);
	assert_int_equal(objstore_mpu_part_copy(g.s, "dst/parts", id, 3, f->s, "src/data", 8, 5,
						&parts[1], &err), -EINVAL);
	assert_int_equal(objstore_mpu_complete(g.s, "dst/parts", id, parts, 2, &err), 0);
	assert_int_equal(objstore_get(g.s, "dst/parts", 0, sizeof(buf), buf, &got, &err), 0);
	assert_int_equal(got, 10);
	assert_memory_equal(buf, "5678901234", 10);
	free(id);

	objstore_free(g.s);
	rm_rf(g.dir);
}

static void test_delete_cleanup(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	const char *keys[] = { "backup/n1/meta/a", "backup/n1/binlogs/x/y/z", "backup/n1/gone" };

	put(f->s, "backup/n1/meta/a", "a");
	put(f->s, "backup/n1/binlogs/x/y/z", "z");
	put(f->s, "backup/n2/meta/a", "a");
	assert_int_equal(objstore_delete(f->s, keys, 3, &err), 0);
	/* Emptied directories go, up to (not including) the base; siblings stay. */
	assert_false(exists(f, "backup/n1"));
	assert_true(exists(f, "backup/n2/meta/a"));
	assert_true(exists(f, "."));
	keys[0] = "backup/n2/meta/a";
	assert_int_equal(objstore_delete(f->s, keys, 1, &err), 0);
	assert_false(exists(f, "backup"));
	assert_true(exists(f, "."));
}

/* objstore_abort_uploads: an open upload and a stray temporary file under the prefix go
 * (counted), emptied directories with them; objects and other prefixes stay. */
static void test_abort_uploads(void **state)
{
	struct fixture *f = *state;
	struct errmsg err = { { 0 } };
	struct mpu_part part;
	char path[PATH_MAX], *id = NULL, *other = NULL;
	size_t n = 0;
	FILE *fp;

	put(f->s, "backup/n1/meta/a", "a");
	assert_int_equal(objstore_mpu_begin(f->s, "backup/n1/binlogs/big", &id, &err), 0);
	assert_int_equal(objstore_mpu_part(f->s, "backup/n1/binlogs/big", id, 1, "x", 1, &part,
					   &err), 0);
	assert_int_equal(objstore_mpu_begin(f->s, "backup/n2/big", &other, &err), 0);
	snprintf(path, sizeof(path), "%s/backup/n1/meta/.mvbackupfs-tmp.0011223344556677",
		 f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_true(exists(f, "backup/n1/binlogs/.mvbackupfs-mpu"));

	assert_int_equal(objstore_abort_uploads(f->s, "backup/n1/", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_false(exists(f, "backup/n1/binlogs"));	/* staging and emptied dir gone */
	assert_false(exists(f, "backup/n1/meta/.mvbackupfs-tmp.0011223344556677"));
	assert_true(exists(f, "backup/n1/meta/a"));
	assert_true(exists(f, "backup/n2/.mvbackupfs-mpu"));	/* another prefix's upload */
	/* nothing left: 0; a missing prefix: 0; not a directory prefix: -EINVAL */
	assert_int_equal(objstore_abort_uploads(f->s, "backup/n1/", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(objstore_abort_uploads(f->s, "backup/none/", &n, &err), 0);
	assert_int_equal(objstore_abort_uploads(f->s, "backup/n1", &n, &err), -EINVAL);
	assert_int_equal(objstore_abort_uploads(f->s, "", &n, &err), -EINVAL);
	assert_int_equal(objstore_abort_uploads(f->s, "../", &n, &err), -EINVAL);
	free(id);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_missing_dir),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conditional_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys_generic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_many_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multipart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_uploads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

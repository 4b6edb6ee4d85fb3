/*
 * test_restore_rbac.c - the RBAC restore plan (restore_rbac.h): the backup's rbac_meta JSON
 * (format §2.3 RBACMeta keys) minus what the target Milvus has, as the RBACMeta RestoreRBAC
 * gets - checked after a pack / unpack round trip, so the message is also valid on the wire.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mvbackupfs/jobs/restore_rbac.h"

typedef Milvus__Proto__Milvus__RBACMeta RBACMeta;

static const char *BACKUP =
	"{\"users\":[{\"user\":\"alice\",\"password\":\"$2a$10$hashA\",\"roles\":[{\"name\":\"reader\"}]},"
	"{\"user\":\"bob\",\"password\":\"$2a$10$hashB\",\"roles\":[{\"name\":\"reader\"},{\"name\":\"writer\"}]}],"
	"\"roles\":[{\"name\":\"reader\"},{\"name\":\"writer\"}],"
	"\"grants\":[{\"role\":{\"name\":\"reader\"},\"object\":{\"name\":\"Collection\"},\"object_name\":\"coll\","
	"\"grantor\":{\"user\":{\"name\":\"root\"},\"privilege\":{\"name\":\"Query\"}},\"db_name\":\"default\"},"
	"{\"role\":{\"name\":\"writer\"},\"object\":{\"name\":\"Collection\"},\"object_name\":\"*\","
	"\"grantor\":{\"user\":{\"name\":\"root\"},\"privilege\":{\"name\":\"Insert\"}},\"db_name\":\"db2\"}],"
	"\"privilege_groups\":[{\"group_name\":\"rw\",\"privileges\":[{\"name\":\"Query\"},{\"name\":\"Insert\"}]}]}";

/* pack and unpack, as the wire does */
static RBACMeta *roundtrip(const RBACMeta *m)
{
	size_t len = milvus__proto__milvus__rbacmeta__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	RBACMeta *out;

	assert_non_null(buf);
	milvus__proto__milvus__rbacmeta__pack(m, buf);
	out = milvus__proto__milvus__rbacmeta__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static void test_plan_everything_new(void **state)
{
	struct restore_rbac p;
	struct errmsg e = { "" };
	RBACMeta *m;

	(void)state;
	assert_int_equal(restore_rbac_plan(BACKUP, NULL, &p, &e), 0);
	assert_int_equal(p.skipped, 0);
	m = roundtrip(&p.meta);
	assert_int_equal(m->n_users, 2);
	assert_string_equal(m->users[0]->user, "alice");
	assert_string_equal(m->users[0]->password, "$2a$10$hashA");
	assert_int_equal(m->users[1]->n_roles, 2);
	assert_string_equal(m->users[1]->roles[1]->name, "writer");
	assert_int_equal(m->n_roles, 2);
	assert_int_equal(m->n_grants, 2);
	assert_string_equal(m->grants[1]->role->name, "writer");
	assert_string_equal(m->grants[1]->object->name, "Collection");
	assert_string_equal(m->grants[1]->object_name, "*");
	assert_string_equal(m->grants[1]->grantor->user->name, "root");
	assert_string_equal(m->grants[1]->grantor->privilege->name, "Insert");
	assert_string_equal(m->grants[1]->db_name, "db2");
	assert_int_equal(m->n_privilege_groups, 1);
	assert_string_equal(m->privilege_groups[0]->group_name, "rw");
	assert_int_equal(m->privilege_groups[0]->n_privileges, 2);
	assert_string_equal(m->privilege_groups[0]->privileges[1]->name, "Insert");
	milvus__proto__milvus__rbacmeta__free_unpacked(m, NULL);
	restore_rbac_release(&p);
}

/* the target has role reader, user alice, the reader grant (db "" = default) and group rw */
static void test_plan_leaves_out_what_exists(void **state)
{
	const char *cur_json =
		"{\"users\":[{\"user\":\"alice\",\"password\":\"other\",\"roles\":[]}],"
		"\"roles\":[{\"name\":\"reader\"},{\"name\":\"admin\"}],"
		"\"grants\":[{\"role\":{\"name\":\"reader\"},\"object\":{\"name\":\"Collection\"},"
		"\"object_name\":\"coll\",\"grantor\":{\"user\":{\"name\":\"root\"},"
		"\"privilege\":{\"name\":\"Query\"}},\"db_name\":\"\"}],"
		"\"privilege_groups\":[{\"group_name\":\"rw\",\"privileges\":[]}]}";
	struct restore_rbac cur, p;
	struct errmsg e = { "" };
	RBACMeta *m;

	(void)state;
	assert_int_equal(restore_rbac_plan(cur_json, NULL, &cur, &e), 0);
	assert_int_equal(restore_rbac_plan(BACKUP, &cur.meta, &p, &e), 0);
	assert_int_equal(p.skipped, 4);
	m = roundtrip(&p.meta);
	assert_int_equal(m->n_users, 1);
	assert_string_equal(m->users[0]->user, "bob");
	assert_int_equal(m->n_roles, 1);
	assert_string_equal(m->roles[0]->name, "writer");
	assert_int_equal(m->n_grants, 1);
	assert_string_equal(m->grants[0]->role->name, "writer");
	assert_int_equal(m->n_privilege_groups, 0);
	milvus__proto__milvus__rbacmeta__free_unpacked(m, NULL);
	restore_rbac_release(&p);
	restore_rbac_release(&cur);
}

static void test_plan_empty_and_bad(void **state)
{
	struct restore_rbac p;
	struct errmsg e = { "" };

	(void)state;
	assert_int_equal(restore_rbac_plan("", NULL, &p, &e), 0);
	assert_int_equal(p.meta.n_users + p.meta.n_roles + p.meta.n_grants, 0);
	restore_rbac_release(&p);
	assert_int_equal(restore_rbac_plan("{}", NULL, &p, &e), 0);
	assert_int_equal(p.meta.n_users + p.meta.n_roles + p.meta.n_privilege_groups, 0);
	restore_rbac_release(&p);
	assert_int_equal(restore_rbac_plan("[1,2]", NULL, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "rbac_meta"));
	restore_rbac_release(&p);
	assert_int_equal(restore_rbac_plan("{\"users\":", NULL, &p, &e), -EINVAL);
	restore_rbac_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_everything_new),
		cmocka_unit_test(test_plan_leaves_out_what_exists),
		cmocka_unit_test(test_plan_empty_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

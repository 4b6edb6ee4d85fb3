/*
 * restore_rbac.c - the RBAC step of a restore (restore_rbac.h): the backup's rbac_meta JSON
 * turned into an RBACMeta for RestoreRBAC, minus what the target has (BackupRBAC).
 *
 * The message is built by hand in memory this module owns (protobuf-c has no JSON reader):
 * every array and entry is one calloc recorded in restore_rbac.mem, and the strings point into
 * the parsed JSON kept in restore_rbac.json.  Passwords are copied into the message only.
 */
#include "mvbackupfs/jobs/restore_rbac.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mvbackupfs/base/log.h"
#include "mvbackupfs/rpc/milvus_client.h"

typedef Milvus__Proto__Milvus__RBACMeta RBACMeta;
typedef Milvus__Proto__Milvus__UserInfo UserInfo;
typedef Milvus__Proto__Milvus__RoleEntity RoleEntity;
typedef Milvus__Proto__Milvus__GrantEntity GrantEntity;
typedef Milvus__Proto__Milvus__PrivilegeGroupInfo PrivilegeGroupInfo;
typedef Milvus__Proto__Milvus__PrivilegeEntity PrivilegeEntity;

/* calloc(n, size) recorded in r->mem (n == 0 gives a 1-byte block, never NULL on success) */
static void *take(struct restore_rbac *r, size_t n, size_t size)
{
	void **nm, *p;

	if (!(nm = realloc(r->mem, (r->nmem + 1) * sizeof(*nm))))
		return NULL;
	r->mem = nm;
	if (!(p = calloc(n ? n : 1, size)))
		return NULL;
	r->mem[r->nmem++] = p;
	return p;
}

static char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (char *)(s ? s : "");
}

/* o[k].name, "" if absent */
static char *jname(json_t *o, const char *k)
{
	return jstr(json_object_get(o, k), "name");
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static const char *dbname(const char *s)
{
	return s && *s ? s : "default";
}

static RoleEntity *role_new(struct restore_rbac *r, char *name)
{
	RoleEntity *e = take(r, 1, sizeof(*e));

	if (e) {
		milvus__proto__milvus__role_entity__init(e);
		e->name = name;
	}
	return e;
}

static int cur_has_user(const RBACMeta *cur, const char *name)
{
	size_t i;

	for (i = 0; cur && i < cur->n_users; i++)
		if (!strcmp(nz(cur->users[i]->user), name))
			return 1;
	return 0;
}

static int cur_has_role(const RBACMeta *cur, const char *name)
{
	size_t i;

	for (i = 0; cur && i < cur->n_roles; i++)
		if (!strcmp(nz(cur->roles[i]->name), name))
			return 1;
	return 0;
}

static int cur_has_group(const RBACMeta *cur, const char *name)
{
	size_t i;

	for (i = 0; cur && i < cur->n_privilege_groups; i++)
		if (!strcmp(nz(cur->privilege_groups[i]->group_name), name))
			return 1;
	return 0;
}

static const char *g_role(const GrantEntity *g)
{
	return g->role ? nz(g->role->name) : "";
}

static const char *g_object(const GrantEntity *g)
{
	return g->object ? nz(g->object->name) : "";
}

static const char *g_priv(const GrantEntity *g)
{
	return g->grantor && g->grantor->privilege ? nz(g->grantor->privilege->name) : "";
}

static int cur_has_grant(const RBACMeta *cur, json_t *g)
{
	size_t i;

	for (i = 0; cur && i < cur->n_grants; i++) {
		const GrantEntity *c = cur->grants[i];

		if (!strcmp(g_role(c), jname(g, "role")) && !strcmp(g_object(c), jname(g, "object")) &&
		    !strcmp(nz(c->object_name), jstr(g, "object_name")) &&
		    !strcmp(g_priv(c), jname(json_object_get(g, "grantor"), "privilege")) &&
		    !strcmp(dbname(c->db_name), dbname(jstr(g, "db_name"))))
			return 1;
	}
	return 0;
}

/* The roles of a user or the privileges of a group: [{name}] -> RoleEntity / PrivilegeEntity */
static int names(struct restore_rbac *r, json_t *arr, int privileges, void ***out, size_t *n)
{
	size_t i, k = 0, len = json_array_size(arr);
	void **v = take(r, len, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		char *name = jstr(json_array_get(arr, i), "name");

		if (privileges) {
			PrivilegeEntity *p = take(r, 1, sizeof(*p));

			if (!p)
				return -ENOMEM;
			milvus__proto__milvus__privilege_entity__init(p);
			p->name = name;
			v[k++] = p;
		} else if (!(v[k++] = role_new(r, name)))
			return -ENOMEM;
	}
	*out = v;
	*n = k;
	return 0;
}

static int plan_users(struct restore_rbac *r, json_t *arr, const RBACMeta *cur)
{
	size_t i, len = json_array_size(arr);

	if (!(r->meta.users = take(r, len, sizeof(*r->meta.users))))
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		json_t *u = json_array_get(arr, i);
		UserInfo *e;
		int rc;

		if (!*jstr(u, "user") || cur_has_user(cur, jstr(u, "user"))) {
			r->skipped++;
			continue;
		}
		if (!(e = take(r, 1, sizeof(*e))))
			return -ENOMEM;
		milvus__proto__milvus__user_info__init(e);
		e->user = jstr(u, "user");
		e->password = jstr(u, "password");
		if ((rc = names(r, json_object_get(u, "roles"), 0, (void ***)&e->roles, &e->n_roles)))
			return rc;
		r->meta.users[r->meta.n_users++] = e;
	}
	return 0;
}

static int plan_roles(struct restore_rbac *r, json_t *arr, const RBACMeta *cur)
{
	size_t i, len = json_array_size(arr);

	if (!(r->meta.roles = take(r, len, sizeof(*r->meta.roles))))
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		char *name = jstr(json_array_get(arr, i), "name");

		if (!*name || cur_has_role(cur, name)) {
			r->skipped++;
			continue;
		}
		if (!(r->meta.roles[r->meta.n_roles++] = role_new(r, name)))
			return -ENOMEM;
	}
	return 0;
}

static int plan_grants(struct restore_rbac *r, json_t *arr, const RBACMeta *cur)
{
	size_t i, len = json_array_size(arr);

	if (!(r->meta.grants = take(r, len, sizeof(*r->meta.grants))))
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		json_t *g = json_array_get(arr, i), *gr = json_object_get(g, "grantor");
		Milvus__Proto__Milvus__GrantorEntity *ge;
		Milvus__Proto__Milvus__ObjectEntity *oe;
		Milvus__Proto__Milvus__UserEntity *ue;
		PrivilegeEntity *pe;
		GrantEntity *e;

		if (cur_has_grant(cur, g)) {
			r->skipped++;
			continue;
		}
		e = take(r, 1, sizeof(*e));
		ge = take(r, 1, sizeof(*ge));
		oe = take(r, 1, sizeof(*oe));
		ue = take(r, 1, sizeof(*ue));
		pe = take(r, 1, sizeof(*pe));
		if (!e || !ge || !oe || !ue || !pe)
			return -ENOMEM;
		milvus__proto__milvus__grant_entity__init(e);
		milvus__proto__milvus__grantor_entity__init(ge);
		milvus__proto__milvus__object_entity__init(oe);
		milvus__proto__milvus__user_entity__init(ue);
		milvus__proto__milvus__privilege_entity__init(pe);
		if (!(e->role = role_new(r, jname(g, "role"))))
			return -ENOMEM;
		oe->name = jname(g, "object");
		ue->name = jname(gr, "user");
		pe->name = jname(gr, "privilege");
		ge->user = ue;
		ge->privilege = pe;
		e->object = oe;
		e->object_name = jstr(g, "object_name");
		e->grantor = ge;
		e->db_name = jstr(g, "db_name");
		r->meta.grants[r->meta.n_grants++] = e;
	}
	return 0;
}

static int plan_groups(struct restore_rbac *r, json_t *arr, const RBACMeta *cur)
{
	size_t i, len = json_array_size(arr);

	if (!(r->meta.privilege_groups = take(r, len, sizeof(*r->meta.privilege_groups))))
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		json_t *g = json_array_get(arr, i);
		PrivilegeGroupInfo *e;
		int rc;

		if (!*jstr(g, "group_name") || cur_has_group(cur, jstr(g, "group_name"))) {
			r->skipped++;
			continue;
		}
		if (!(e = take(r, 1, sizeof(*e))))
			return -ENOMEM;
		milvus__proto__milvus__privilege_group_info__init(e);
		e->group_name = jstr(g, "group_name");
		if ((rc = names(r, json_object_get(g, "privileges"), 1, (void ***)&e->privileges,
				&e->n_privileges)))
			return rc;
		r->meta.privilege_groups[r->meta.n_privilege_groups++] = e;
	}
	return 0;
}

int restore_rbac_plan(const char *backup_json, const RBACMeta *cur, struct restore_rbac *out,
		      struct errmsg *err)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	milvus__proto__milvus__rbacmeta__init(&out->meta);
	if (!backup_json || !*backup_json)
		return 0;
	root = json_loads(backup_json, 0, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return errmsg_set(err, -EINVAL, "the backup's rbac_meta is not a JSON object");
	}
	out->json = root;
	if ((rc = plan_users(out, json_object_get(root, "users"), cur)) ||
	    (rc = plan_roles(out, json_object_get(root, "roles"), cur)) ||
	    (rc = plan_grants(out, json_object_get(root, "grants"), cur)) ||
	    (rc = plan_groups(out, json_object_get(root, "privilege_groups"), cur)))
		return rc;
	return 0;
}

void restore_rbac_release(struct restore_rbac *r)
{
	size_t i;

	for (i = 0; i < r->nmem; i++)
		free(r->mem[i]);
	free(r->mem);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static int backup_rbac(struct milvus_client *mc,
		       Milvus__Proto__Milvus__BackupRBACMetaResponse **resp, struct errmsg *err)
{
	Milvus__Proto__Milvus__BackupRBACMetaRequest req =
		MILVUS__PROTO__MILVUS__BACKUP_RBACMETA_REQUEST__INIT;

	*resp = NULL;
	return milvus_call(mc, "BackupRBAC", NULL, &req.base,
			   &milvus__proto__milvus__backup_rbacmeta_response__descriptor,
			   (ProtobufCMessage **)resp, 0, err);
}

int restore_rbac_check(struct milvus_client *mc, struct errmsg *err)
{
	Milvus__Proto__Milvus__BackupRBACMetaResponse *resp;
	int rc = backup_rbac(mc, &resp, err);

	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	if (rc == -ENOSYS)
		return errmsg_set(err, -ENOTSUP, "milvus %s has no BackupRBAC/RestoreRBAC: rbac=1 "
				  "needs Milvus 2.5 or later",
				  milvus_client_version(mc)[0] ? milvus_client_version(mc) : "");
	return rc;
}

int restore_rbac_run(struct job *j, struct milvus_client *mc, const char *backup,
		     const char *rbac_json)
{
	Milvus__Proto__Milvus__BackupRBACMetaResponse *cur = NULL;
	Milvus__Proto__Milvus__RestoreRBACMetaRequest req =
		MILVUS__PROTO__MILVUS__RESTORE_RBACMETA_REQUEST__INIT;
	ProtobufCMessage *st = NULL;
	struct restore_rbac plan;
	struct errmsg err = { "" };
	int rc;

	memset(&plan, 0, sizeof(plan));
	job_set_phase(j, "rbac");
	if (!rbac_json || !*rbac_json) {
		log_info("restore '%s': rbac=1, but the backup holds no RBAC metadata", backup);
		return 0;
	}
	if ((rc = backup_rbac(mc, &cur, &err))) {
		rc = job_fail(j, rc, "cannot read milvus' RBAC (BackupRBAC): %s", err.msg);
		goto out;
	}
	if ((rc = restore_rbac_plan(rbac_json, cur->rbac_meta, &plan, &err))) {
		rc = job_fail(j, rc, "%s", rc == -ENOMEM ? "out of memory" : err.msg);
		goto out;
	}
	if (!plan.meta.n_users && !plan.meta.n_roles && !plan.meta.n_grants &&
	    !plan.meta.n_privilege_groups) {
		log_info("restore '%s': no RBAC to restore (%zu entries exist already)", backup,
			 plan.skipped);
		goto out;
	}
	req.rbac_meta = &plan.meta;
	/* not idempotent (a second call finds its own users): no retry */
	rc = milvus_call(mc, "RestoreRBAC", NULL, &req.base,
			 &milvus__proto__common__status__descriptor, &st, 0, &err);
	if (rc) {
		rc = job_fail(j, rc, "cannot restore RBAC (RestoreRBAC): %s", err.msg);
		goto out;
	}
	log_info("restore '%s': restored RBAC: %zu users, %zu roles, %zu grants, %zu privilege "
		 "groups (%zu that exist already left out)", backup, plan.meta.n_users,
		 plan.meta.n_roles, plan.meta.n_grants, plan.meta.n_privilege_groups, plan.skipped);
out:
	if (st)
		protobuf_c_message_free_unpacked(st, NULL);
	if (cur)
		protobuf_c_message_free_unpacked(&cur->base, NULL);
	restore_rbac_release(&plan);
	return rc;
}

// RBAC of the stand-in: users (with a password hash), roles, grants and privilege groups, as
// Milvus 2.5+ shows them through BackupRBAC and takes them through RestoreRBAC. Like Milvus,
// RestoreRBAC refuses (and changes nothing) when a user, role or privilege group of the meta
// already exists or a grant names an unknown role: a restore tool must leave out what exists.
// The built-in roles `admin` and `public` and the user `root` always exist.
'use strict';

const crypto = require('node:crypto');
// (not store.js's MilvusError: store.js requires this module; server.js maps any error with a
// milvusCode to a Milvus status)
class MilvusError extends Error {
  constructor(code, reason) {
    super(reason);
    this.milvusCode = code;
  }
}

const BUILTIN_ROLES = ['admin', 'public'];

const grantKey = (g) => [g.role && g.role.name, g.object && g.object.name, g.object_name,
  g.grantor && g.grantor.privilege && g.grantor.privilege.name, g.db_name || 'default'].join('\u0000');

class Rbac {
  constructor() {
    this.users = new Map([['root', { password: Rbac.hash('Milvus'), roles: ['admin'] }]]);
    this.roles = new Set(BUILTIN_ROLES);
    this.grants = [];
    this.groups = new Map();
  }

  // What Milvus stores: a bcrypt-like opaque hash (never the password).
  static hash(pw) {
    return `$2a$10$${crypto.createHash('sha256').update(String(pw)).digest('base64').slice(0, 53)}`;
  }

  backup() {
    return {
      users: [...this.users].filter(([name]) => name !== 'root').map(([user, u]) => ({
        user, password: u.password, roles: u.roles.map((name) => ({ name })),
      })),
      roles: [...this.roles].filter((r) => !BUILTIN_ROLES.includes(r)).map((name) => ({ name })),
      grants: this.grants.map((g) => JSON.parse(JSON.stringify(g))),
      privilege_groups: [...this.groups].map(([group_name, privs]) => ({
        group_name, privileges: privs.map((name) => ({ name })),
      })),
    };
  }

  restore(meta) {
    const m = meta || {};
    const users = m.users || [];
    const roles = (m.roles || []).map((r) => r.name);
    const grants = m.grants || [];
    const groups = m.privilege_groups || [];
    for (const r of roles) if (this.roles.has(r)) throw new MilvusError(65535, `role [${r}] already exists`);
    for (const u of users) if (this.users.has(u.user)) throw new MilvusError(65535, `user [${u.user}] already exists`);
    for (const g of groups) if (this.groups.has(g.group_name)) throw new MilvusError(65535, `privilege group [${g.group_name}] already exists`);
    const known = new Set([...this.roles, ...roles]);
    for (const u of users) {
      for (const r of u.roles || []) if (!known.has(r.name)) throw new MilvusError(65535, `role [${r.name}] of user [${u.user}] not found`);
    }
    const have = new Set(this.grants.map(grantKey));
    for (const g of grants) {
      if (!known.has(g.role && g.role.name)) throw new MilvusError(65535, `role [${g.role && g.role.name}] of a grant not found`);
      if (have.has(grantKey(g))) throw new MilvusError(65535, `grant of ${g.grantor.privilege.name} to [${g.role.name}] already exists`);
    }
    for (const r of roles) this.roles.add(r);
    for (const u of users) this.users.set(u.user, { password: u.password, roles: (u.roles || []).map((r) => r.name) });
    for (const g of grants) this.grants.push(JSON.parse(JSON.stringify(g)));
    for (const g of groups) this.groups.set(g.group_name, (g.privileges || []).map((p) => p.name));
  }

  toJSON() {
    return { users: [...this.users], roles: [...this.roles], grants: this.grants, groups: [...this.groups] };
  }

  static fromJSON(o) {
    const r = new Rbac();
    if (!o) return r;
    r.users = new Map(o.users);
    r.roles = new Set(o.roles);
    r.grants = o.grants;
    r.groups = new Map(o.groups);
    return r;
  }
}

module.exports = { Rbac };

/* Generates each resource's statements and routes at start-up. Parameter numbers depend on the
 * resource (scope, soft delete, search), so they are computed here and recorded for the actions. */
#define _GNU_SOURCE 1 /* asprintf */
#include "pipeline/resource_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/cursor.h"

struct resource_registry {
    res_rt_t **rts;
    size_t nrts;
    app_module_t **modules;
    size_t nmodules;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort(); /* start-up only: nothing sensible to do without memory */
    return p;
}

/* The text written to an open_memstream stream; its buffer is only final after fclose. */
static char *finish(FILE *f, char **buf)
{
    if (fclose(f) != 0)
        abort();
    return *buf;
}

/* The row as JSON text; `t` is the table's alias in every statement. */
static void put_json(FILE *f, const resource_t *res)
{
    fputs("json_build_object('id', t.id", f);
    for (size_t i = 0; i < res->nfields; i++) {
        const char *name = res->fields[i].check.name;
        if (strcmp(res->fields[i].sql_type, "timestamptz") == 0)
            fprintf(f, ", '%s', " SQL_RFC3339("t.%s"), name, name);
        else
            fprintf(f, ", '%s', t.%s", name, name);
    }
    fputs(", 'created_at', " SQL_RFC3339("t.created_at"), f);
    if (!(res->flags & RES_NO_UPDATE))
        fputs(", 'updated_at', " SQL_RFC3339("t.updated_at"), f);
    if (res->flags & RES_SOFT_DELETE)
        fputs(", 'archived_at', " SQL_RFC3339("t.archived_at"), f);
    fputs(")::text", f);
}

static void put_scope(FILE *f, const resource_t *res)
{
    fputs("t.organization_id = $1::uuid", f);
    if (res->scope == RES_SCOPE_OWNER)
        fputs(" AND t.user_id = $2::uuid", f);
}

/* The field's value from the request body b.j, cast to its column type. */
static void put_value(FILE *f, const res_field_t *fd)
{
    if (strcmp(fd->sql_type, "jsonb") == 0)
        fprintf(f, "NULLIF(b.j->'%s', 'null'::jsonb)", fd->check.name);
    else if (strcmp(fd->sql_type, "text") == 0)
        fprintf(f, "(b.j->>'%s')", fd->check.name);
    else
        fprintf(f, "(b.j->>'%s')::%s", fd->check.name, fd->sql_type);
}

/* The name of the first referenced row the caller cannot see, or NULL. */
static void put_bad_ref(FILE *f, const resource_t *res)
{
    int any = 0;
    for (size_t i = 0; i < res->nfields; i++) {
        const res_field_t *fd = &res->fields[i];
        if (fd->ref_table == NULL)
            continue;
        fputs(any++ ? " WHEN " : "CASE WHEN ", f);
        fprintf(f, "(b.j->>'%s') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.organization_id = $1::uuid"
                   "%s AND r.id = (b.j->>'%s')::uuid) THEN '%s'",
                fd->check.name, fd->ref_table,
                (fd->flags & RES_REF_OWNED) && res->scope == RES_SCOPE_OWNER ? " AND r.user_id = $2::uuid" : "",
                fd->check.name, fd->check.name);
    }
    fputs(any ? " END" : "NULL::text", f);
}

static void set_stmt(db_stmt_t *st, const char *prefix, const char *op, char *sql, int nparams, unsigned flags)
{
    char *name = NULL;
    if (asprintf(&name, "%s_%s", prefix, op) < 0)
        abort();
    *st = (db_stmt_t){name, sql, nparams, flags};
}

static void gen_list(res_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int n = res->scope == RES_SCOPE_OWNER ? 2 : 1;
    fputs("SELECT ", f);
    put_json(f, res);
    fprintf(f, ", " SQL_CURSOR_TS("t.created_at") ", t.id::text FROM %s t WHERE ", res->table);
    put_scope(f, res);
    if (res->flags & RES_SOFT_DELETE)
        fprintf(f, " AND ($%d::boolean OR t.archived_at IS NULL)", rt->p_archived = ++n);
    if (res->search != NULL) {
        rt->p_q = ++n;
        /* the search text is a literal, not a pattern: escape LIKE's metacharacters */
        fprintf(f, " AND ($%d::text IS NULL OR t.%s ILIKE '%%' || replace(replace(replace($%d::text, '\\', '\\\\'),"
                   " '%%', '\\%%'), '_', '\\_') || '%%')",
                n, res->search, n);
    }
    rt->p_ts = ++n;
    rt->p_id = ++n;
    rt->p_limit = ++n;
    fprintf(f, " AND ($%d::timestamptz IS NULL OR (t.created_at, t.id) < ($%d::timestamptz, $%d::uuid))"
               " ORDER BY t.created_at DESC, t.id DESC LIMIT $%d::int",
            rt->p_ts, rt->p_ts, rt->p_id, rt->p_limit);
    set_stmt(&rt->list, res->name, "list", finish(f, &buf), n, DB_STMT_READONLY);
}

static void gen_get(res_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int id = rt->nscope + 1;
    fputs("SELECT ", f);
    put_json(f, res);
    fprintf(f, " FROM %s t WHERE ", res->table);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid", id);
    set_stmt(&rt->get, res->name, "get", finish(f, &buf), id, DB_STMT_READONLY);
}

/* One row: (the created row's JSON or NULL, the first unreachable reference or NULL, its id). */
static void gen_create(res_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int body = rt->nscope + 1;
    fprintf(f, "WITH b AS (SELECT $%d::jsonb AS j), bad AS (SELECT ", body);
    put_bad_ref(f, res);
    fprintf(f, " AS field FROM b), ins AS (INSERT INTO %s AS t (organization_id", res->table);
    if (res->scope == RES_SCOPE_OWNER)
        fputs(", user_id", f);
    for (size_t i = 0; i < res->nfields; i++)
        if (res->fields[i].flags & (RES_CREATE | RES_DERIVED))
            fprintf(f, ", %s", res->fields[i].check.name);
    fputs(") SELECT $1::uuid", f);
    if (res->scope == RES_SCOPE_OWNER)
        fputs(", $2::uuid", f);
    for (size_t i = 0; i < res->nfields; i++) {
        const res_field_t *fd = &res->fields[i];
        if (!(fd->flags & (RES_CREATE | RES_DERIVED)))
            continue;
        fprintf(f, ", CASE WHEN b.j ? '%s' THEN ", fd->check.name);
        put_value(f, fd);
        fprintf(f, " ELSE %s END", fd->create_default ? fd->create_default : "NULL");
    }
    fputs(" FROM b, bad WHERE bad.field IS NULL RETURNING ", f);
    put_json(f, res);
    fputs(" AS json, t.id::text AS id) SELECT (SELECT json FROM ins), (SELECT field FROM bad), (SELECT id FROM ins)", f);
    set_stmt(&rt->create, res->name, "create", finish(f, &buf), body, 0);
}

/* One row: (the updated row's JSON or NULL, the first unreachable reference or NULL). Both NULL:
 * no such row in scope. */
static void gen_update(res_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int body = rt->nscope + 1, id = body + 1;
    fprintf(f, "WITH b AS (SELECT $%d::jsonb AS j), bad AS (SELECT ", body);
    put_bad_ref(f, res);
    fprintf(f, " AS field FROM b), upd AS (UPDATE %s AS t SET updated_at = now()", res->table);
    for (size_t i = 0; i < res->nfields; i++) {
        const res_field_t *fd = &res->fields[i];
        if (!(fd->flags & (RES_UPDATE | RES_DERIVED)))
            continue;
        fprintf(f, ", %s = CASE WHEN b.j ? '%s' THEN ", fd->check.name, fd->check.name);
        put_value(f, fd);
        fprintf(f, " ELSE t.%s END", fd->check.name);
    }
    fputs(" FROM b, bad WHERE bad.field IS NULL AND ", f);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid RETURNING ", id);
    put_json(f, res);
    fputs(" AS json) SELECT (SELECT json FROM upd), (SELECT field FROM bad)", f);
    set_stmt(&rt->update, res->name, "update", finish(f, &buf), id, 0);
}

static void gen_delete(res_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int id = rt->nscope + 1;
    if (res->flags & RES_SOFT_DELETE)
        fprintf(f, "UPDATE %s AS t SET archived_at = COALESCE(t.archived_at, now()) WHERE ", res->table);
    else
        fprintf(f, "DELETE FROM %s AS t WHERE ", res->table);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid RETURNING t.id", id);
    set_stmt(&rt->del, res->name, "delete", finish(f, &buf), id, 0);
}

/* The validator's view of the writable fields, for create (all RES_CREATE) or update. */
static vschema_t schema_of(const resource_t *res, unsigned flag)
{
    vfield_t *fields = xcalloc(res->nfields ? res->nfields : 1, sizeof(*fields));
    size_t n = 0;
    for (size_t i = 0; i < res->nfields; i++)
        if (res->fields[i].flags & flag)
            fields[n++] = res->fields[i].check;
    return (vschema_t){fields, n};
}

static res_rt_t *build(app_t *app, const resource_t *res)
{
    res_rt_t *rt = xcalloc(1, sizeof(*rt));
    rt->res = res;
    rt->nscope = res->scope == RES_SCOPE_OWNER ? 2 : 1;
    rt->create_schema = schema_of(res, RES_CREATE);
    rt->update_schema = schema_of(res, RES_UPDATE);
    if (asprintf(&rt->item_path, "%s/{id}", res->path) < 0)
        abort();
    gen_list(rt);
    gen_get(rt);
    app_add_stmt(app, &rt->list);
    app_add_stmt(app, &rt->get);
    if (!(res->flags & RES_NO_CREATE)) {
        gen_create(rt);
        app_add_stmt(app, &rt->create);
    }
    if (!(res->flags & RES_NO_UPDATE)) {
        gen_update(rt);
        app_add_stmt(app, &rt->update);
    }
    if (!(res->flags & RES_NO_DELETE)) {
        gen_delete(rt);
        app_add_stmt(app, &rt->del);
    }
    return rt;
}

/* The routes of one resource: at most five. */
static size_t routes_of(const res_rt_t *rt, app_route_t *out)
{
    const resource_t *res = rt->res;
    size_t n = 0;
    const char *item = rt->item_path;
    if (!(res->flags & RES_NO_LIST))
        out[n++] = (app_route_t){"GET", res->path, res_list, 0, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RES_NO_GET))
        out[n++] = (app_route_t){"GET", item, res_get, 0, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RES_NO_CREATE))
        out[n++] = (app_route_t){"POST", res->path, res_create, ROUTE_JSON_BODY, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RES_NO_UPDATE))
        out[n++] = (app_route_t){"PATCH", item, res_update, ROUTE_JSON_BODY, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RES_NO_DELETE))
        out[n++] = (app_route_t){"DELETE", item, res_delete, 0, APP_AUTH_REQUIRED, rt};
    return n;
}

void resource_module(app_t *app, const char *name, const resource_t *const *resources, size_t n,
                     const app_route_t *extra, size_t nextra)
{
    if (app->resources == NULL)
        app->resources = xcalloc(1, sizeof(*app->resources));
    resource_registry_t *reg = app->resources;
    app_route_t *routes = xcalloc(n * 5 + nextra + 1, sizeof(*routes));
    size_t nroutes = 0;
    for (size_t i = 0; i < n; i++) {
        res_rt_t *rt = build(app, resources[i]);
        reg->rts = realloc(reg->rts, sizeof(*reg->rts) * (reg->nrts + 1));
        reg->rts[reg->nrts++] = rt;
        nroutes += routes_of(rt, routes + nroutes);
    }
    if (nextra > 0)
        memcpy(routes + nroutes, extra, sizeof(*extra) * nextra);
    nroutes += nextra;
    app_module_t *m = xcalloc(1, sizeof(*m));
    *m = (app_module_t){name, routes, nroutes};
    reg->modules = realloc(reg->modules, sizeof(*reg->modules) * (reg->nmodules + 1));
    reg->modules[reg->nmodules++] = m;
    app_add_module(app, m);
}

void resource_registry_free(app_t *app)
{
    resource_registry_t *reg = app->resources;
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->nrts; i++) {
        res_rt_t *rt = reg->rts[i];
        db_stmt_t *stmts[] = {&rt->list, &rt->get, &rt->create, &rt->update, &rt->del};
        for (size_t k = 0; k < 5; k++) {
            free((char *)stmts[k]->name);
            free((char *)stmts[k]->sql);
        }
        free(rt->item_path);
        free((void *)rt->create_schema.fields);
        free((void *)rt->update_schema.fields);
        free(rt);
    }
    for (size_t i = 0; i < reg->nmodules; i++) {
        app_module_t *m = reg->modules[i];
        free((void *)m->routes);
        free(m);
    }
    free(reg->rts);
    free(reg->modules);
    free(reg);
    app->resources = NULL;
}

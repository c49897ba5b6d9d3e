/* Generates each resource's statements and routes at start-up. Parameter numbers depend on the
 * resource (scope, soft delete, search), so they are computed here and recorded for the actions. */
#define _GNU_SOURCE 1 /* asprintf */
#include "pipeline/resource/resource_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/cursor.h"

struct resource_registry {
    resource_rt_t **rts;
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

/* The row as JSON text; `t` is the table's alias in every statement. `item`: the GET of one
 * item, which also has the resource's item_members. */
static void put_json(FILE *f, const resource_t *res, int item)
{
    fputs("json_build_object('id', t.id", f);
    for (size_t i = 0; i < res->nfields; i++) {
        const char *name = res->fields[i].check.name;
        if (strcmp(res->fields[i].sql_type, "timestamptz") == 0)
            fprintf(f, ", '%s', " CURSOR_SQL_RFC3339("t.%s"), name, name);
        else
            fprintf(f, ", '%s', t.%s", name, name);
    }
    if (res->order == NULL)
        fputs(", 'created_at', " CURSOR_SQL_RFC3339("t.created_at"), f);
    if (!(res->flags & RESOURCE_NO_UPDATE))
        fputs(", 'updated_at', " CURSOR_SQL_RFC3339("t.updated_at"), f);
    if (res->flags & RESOURCE_SOFT_DELETE)
        fputs(", 'archived_at', " CURSOR_SQL_RFC3339("t.archived_at"), f);
    if (item && res->item_members != NULL)
        fprintf(f, ", %s", res->item_members);
    fputs(")::text", f);
}

static void put_scope(FILE *f, const resource_t *res)
{
    if (res->scope == RESOURCE_SCOPE_WORKSPACE) /* one workspace per user: an index lookup */
        fputs("t.workspace_id = (SELECT w.id FROM workspaces w WHERE w.user_id = $2::uuid"
              " AND w.organization_id = $1::uuid)", f);
    else if (res->scope == RESOURCE_SCOPE_OWNER)
        fputs("t.organization_id = $1::uuid AND t.user_id = $2::uuid", f);
    else
        fputs("t.organization_id = $1::uuid", f);
}

/* The reference check for the row named by the uuid text `value`: "EXISTS (...)". */
static void put_ref_exists(FILE *f, const resource_t *res, const resource_field_t *fd, const char *value)
{
    fprintf(f, "EXISTS (SELECT 1 FROM %s r WHERE r.organization_id = $1::uuid%s AND r.id = %s::uuid)", fd->ref_table,
            (fd->flags & RESOURCE_REF_OWNED) && res->scope != RESOURCE_SCOPE_ORG ? " AND r.user_id = $2::uuid" : "", value);
}

static const char *filter_sql_type(const resource_filter_t *flt)
{
    return flt->type == V_UUID ? "uuid" : flt->type == V_BOOL ? "boolean" : "text";
}

static const resource_field_t *field_named(const resource_t *res, const char *name)
{
    for (size_t i = 0; i < res->nfields; i++)
        if (strcmp(res->fields[i].check.name, name) == 0)
            return &res->fields[i];
    abort(); /* a resource description naming a field it does not have */
}

/* The field's value from the request body b.j, cast to its column type. */
static void put_value(FILE *f, const resource_field_t *fd)
{
    if (strcmp(fd->sql_type, "jsonb") == 0)
        fprintf(f, "NULLIF(b.j->'%s', 'null'::jsonb)", fd->check.name);
    else if (strcmp(fd->sql_type, "text[]") == 0) /* a V_STRINGS field */
        fprintf(f, "ARRAY(SELECT jsonb_array_elements_text(b.j->'%s'))", fd->check.name);
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
        const resource_field_t *fd = &res->fields[i];
        if (fd->ref_table == NULL)
            continue;
        char value[80];
        snprintf(value, sizeof(value), "(b.j->>'%s')", fd->check.name);
        fputs(any++ ? " WHEN " : "CASE WHEN ", f);
        fprintf(f, "%s IS NOT NULL AND NOT ", value);
        put_ref_exists(f, res, fd, value);
        fprintf(f, " THEN '%s'", fd->check.name);
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

static void gen_list(resource_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int n = rt->nscope;
    const char *order = res->order != NULL ? res->order : "created_at";
    fputs("SELECT ", f);
    put_json(f, res, 0);
    fprintf(f, ", " CURSOR_SQL_TS("t.%s") ", t.id::text FROM %s t WHERE ", order, res->table);
    put_scope(f, res);
    if (res->flags & RESOURCE_SOFT_DELETE)
        fprintf(f, " AND ($%d::boolean OR t.archived_at IS NULL)", rt->p_archived = ++n);
    if (res->search != NULL) {
        rt->p_q = ++n;
        /* the search text is a literal, not a pattern: escape LIKE's metacharacters */
        fprintf(f, " AND ($%d::text IS NULL OR t.%s ILIKE '%%' || replace(replace(replace($%d::text, '\\', '\\\\'),"
                   " '%%', '\\%%'), '_', '\\_') || '%%')",
                n, res->search, n);
    }
    for (size_t i = 0; i < res->nfilters; i++) {
        const resource_filter_t *flt = &res->filters[i];
        if (i == 0)
            rt->p_filter = n + 1;
        ++n;
        const char *column = flt->column != NULL ? flt->column : flt->name;
        if (flt->flags & RESOURCE_FILTER_ELEMENT)
            fprintf(f, " AND ($%d::text IS NULL OR t.%s @> ARRAY[$%d::text])", n, column, n);
        else if (flt->type == V_DATETIME)
            fprintf(f, " AND ($%d::timestamptz IS NULL OR t.%s >= $%d::timestamptz)", n, column, n);
        else
            fprintf(f, " AND ($%d::%s IS NULL OR t.%s = $%d::%s)", n, filter_sql_type(flt), column, n,
                    filter_sql_type(flt));
    }
    if (res->parent != NULL)
        fprintf(f, " AND t.%s = $%d::uuid", res->parent, rt->p_parent = ++n);
    rt->p_ts = ++n;
    rt->p_id = ++n;
    rt->p_limit = ++n;
    if (n > RESOURCE_LIST_MAX_PARAMS)
        abort(); /* a description with more filters than lists have room for */
    fprintf(f, " AND ($%d::timestamptz IS NULL OR (t.%s, t.id) < ($%d::timestamptz, $%d::uuid))"
               " ORDER BY t.%s DESC, t.id DESC LIMIT $%d::int",
            rt->p_ts, order, rt->p_ts, rt->p_id, order, rt->p_limit);
    set_stmt(&rt->list, res->name, "list", finish(f, &buf), n, DB_STMT_READONLY);
}

static void gen_get(resource_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int id = rt->nscope + 1;
    fputs("SELECT ", f);
    put_json(f, res, 1);
    fprintf(f, " FROM %s t WHERE ", res->table);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid", id);
    set_stmt(&rt->get, res->name, "get", finish(f, &buf), id, DB_STMT_READONLY);
}

/* One row: (the created row's JSON or NULL, the first unreachable reference or NULL, its id). */
static void gen_create(resource_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int body = rt->nscope + 1;
    fprintf(f, "WITH b AS (SELECT $%d::jsonb AS j), bad AS (SELECT ", body);
    put_bad_ref(f, res);
    /* a workspace-scoped row carries no organization or user: its workspace_id says whose it is */
    const char *sep = "";
    fprintf(f, " AS field FROM b), ins AS (INSERT INTO %s AS t (", res->table);
    if (res->scope != RESOURCE_SCOPE_WORKSPACE) {
        fputs(res->scope == RESOURCE_SCOPE_OWNER ? "organization_id, user_id" : "organization_id", f);
        sep = ", ";
    }
    for (size_t i = 0; i < res->nfields; i++)
        if (res->fields[i].flags & (RESOURCE_CREATE | RESOURCE_DERIVED)) {
            fprintf(f, "%s%s", sep, res->fields[i].check.name);
            sep = ", ";
        }
    fputs(") SELECT ", f);
    sep = "";
    if (res->scope != RESOURCE_SCOPE_WORKSPACE) {
        fputs(res->scope == RESOURCE_SCOPE_OWNER ? "$1::uuid, $2::uuid" : "$1::uuid", f);
        sep = ", ";
    }
    for (size_t i = 0; i < res->nfields; i++) {
        const resource_field_t *fd = &res->fields[i];
        if (!(fd->flags & (RESOURCE_CREATE | RESOURCE_DERIVED)))
            continue;
        fprintf(f, "%sCASE WHEN b.j ? '%s' THEN ", sep, fd->check.name);
        sep = ", ";
        put_value(f, fd);
        fprintf(f, " ELSE %s END", fd->create_default ? fd->create_default : "NULL");
    }
    fputs(" FROM b, bad WHERE bad.field IS NULL RETURNING ", f);
    put_json(f, res, 0);
    fputs(" AS json, t.id::text AS id) SELECT (SELECT json FROM ins), (SELECT field FROM bad), (SELECT id FROM ins)", f);
    set_stmt(&rt->create, res->name, "create", finish(f, &buf), body, 0);
}

/* One row: (the updated row's JSON or NULL, the first unreachable reference or NULL). Both NULL:
 * no such row in scope. */
static void gen_update(resource_rt_t *rt)
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
        const resource_field_t *fd = &res->fields[i];
        if (!(fd->flags & (RESOURCE_UPDATE | RESOURCE_DERIVED)))
            continue;
        fprintf(f, ", %s = CASE WHEN b.j ? '%s' THEN ", fd->check.name, fd->check.name);
        put_value(f, fd);
        fprintf(f, " ELSE t.%s END", fd->check.name);
    }
    fputs(" FROM b, bad WHERE bad.field IS NULL AND ", f);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid RETURNING ", id);
    put_json(f, res, 0);
    fputs(" AS json) SELECT (SELECT json FROM upd), (SELECT field FROM bad)", f);
    set_stmt(&rt->update, res->name, "update", finish(f, &buf), id, 0);
}

static void gen_delete(resource_rt_t *rt)
{
    const resource_t *res = rt->res;
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    int id = rt->nscope + 1;
    if (res->flags & RESOURCE_SOFT_DELETE)
        fprintf(f, "UPDATE %s AS t SET archived_at = COALESCE(t.archived_at, now()) WHERE ", res->table);
    else
        fprintf(f, "DELETE FROM %s AS t WHERE ", res->table);
    put_scope(f, res);
    fprintf(f, " AND t.id = $%d::uuid RETURNING t.id", id);
    set_stmt(&rt->del, res->name, "delete", finish(f, &buf), id, 0);
}

/* One row when the parent named by $nscope+1 is reachable by the caller. */
static void gen_parent_check(resource_rt_t *rt)
{
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    char value[16];
    snprintf(value, sizeof(value), "$%d", rt->nscope + 1);
    fputs("SELECT ", f);
    put_ref_exists(f, rt->res, field_named(rt->res, rt->res->parent), value);
    set_stmt(&rt->parent_check, rt->res->name, "parent", finish(f, &buf), rt->nscope + 1, DB_STMT_READONLY);
}

/* The validator's view of the writable fields, for create (all RESOURCE_CREATE) or update. */
static vschema_t schema_of(const resource_t *res, unsigned flag)
{
    vfield_t *fields = xcalloc(res->nfields ? res->nfields : 1, sizeof(*fields));
    size_t n = 0;
    for (size_t i = 0; i < res->nfields; i++)
        if (res->fields[i].flags & flag)
            fields[n++] = res->fields[i].check;
    return (vschema_t){fields, n};
}

static resource_rt_t *build(app_t *app, const resource_t *res)
{
    resource_rt_t *rt = xcalloc(1, sizeof(*rt));
    rt->res = res;
    rt->nscope = res->scope == RESOURCE_SCOPE_ORG ? 1 : 2;
    rt->create_schema = schema_of(res, RESOURCE_CREATE);
    rt->update_schema = schema_of(res, RESOURCE_UPDATE);
    if (res->item_path != NULL)
        rt->item_path = strdup(res->item_path);
    else if (asprintf(&rt->item_path, "%s/{id}", res->path) < 0)
        rt->item_path = NULL;
    if (rt->item_path == NULL)
        abort();
    rt->item_prefix_len = strlen(rt->item_path) - strlen("{id}");
    gen_list(rt);
    gen_get(rt);
    app_add_stmt(app, &rt->list);
    app_add_stmt(app, &rt->get);
    if (res->parent != NULL) {
        gen_parent_check(rt);
        app_add_stmt(app, &rt->parent_check);
    }
    if (!(res->flags & RESOURCE_NO_CREATE)) {
        gen_create(rt);
        app_add_stmt(app, &rt->create);
    }
    if (!(res->flags & RESOURCE_NO_UPDATE)) {
        gen_update(rt);
        app_add_stmt(app, &rt->update);
    }
    if (!(res->flags & RESOURCE_NO_DELETE)) {
        gen_delete(rt);
        app_add_stmt(app, &rt->del);
    }
    return rt;
}

/* The routes of one resource: at most five. */
static size_t routes_of(const resource_rt_t *rt, app_route_t *out)
{
    const resource_t *res = rt->res;
    size_t n = 0;
    const char *item = rt->item_path;
    if (!(res->flags & RESOURCE_NO_LIST))
        out[n++] = (app_route_t){"GET", res->path, resource_list, 0, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RESOURCE_NO_GET))
        out[n++] = (app_route_t){"GET", item, resource_get, 0, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RESOURCE_NO_CREATE))
        out[n++] = (app_route_t){"POST", res->path, resource_create, ROUTE_JSON_BODY, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RESOURCE_NO_UPDATE))
        out[n++] = (app_route_t){"PATCH", item, resource_update, ROUTE_JSON_BODY, APP_AUTH_REQUIRED, rt};
    if (!(res->flags & RESOURCE_NO_DELETE))
        out[n++] = (app_route_t){"DELETE", item, resource_delete, 0, APP_AUTH_REQUIRED, rt};
    return n;
}

void resource_module(app_t *app, const char *name, const resource_t *const *resources, size_t n,
                     const app_route_t *extra, size_t nextra)
{
    if (app->resources == NULL)
        app->resources = xcalloc(1, sizeof(*app->resources));
    resource_registry_t *reg = app->resources;
    app_route_t *routes = xcalloc(n * 5 + nextra + 1, sizeof(*routes));
    /* the hand-written routes first: the first match wins, so /things/me beats /things/{id} */
    if (nextra > 0)
        memcpy(routes, extra, sizeof(*extra) * nextra);
    size_t nroutes = nextra;
    for (size_t i = 0; i < n; i++) {
        resource_rt_t *rt = build(app, resources[i]);
        reg->rts = realloc(reg->rts, sizeof(*reg->rts) * (reg->nrts + 1));
        reg->rts[reg->nrts++] = rt;
        nroutes += routes_of(rt, routes + nroutes);
    }
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
        resource_rt_t *rt = reg->rts[i];
        db_stmt_t *stmts[] = {&rt->list, &rt->get, &rt->create, &rt->update, &rt->del, &rt->parent_check};
        for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]); k++) {
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

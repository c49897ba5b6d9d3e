/* The scheduling assistant's owner side: each user's workspace (created by the first GET
 * /workspaces/me), its services and its booking connectors. Everything is personal: another
 * user's workspace, service or connector is a 404, even in the same organization. */
#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/resource/resource.h"

#define HANDLE_MIN 3
#define HANDLE_MAX 63
#define HANDLE_BASE_MAX 54 /* room for "-" and an 8-character suffix */
#define ME_ATTEMPTS 3

static const char *const workspace_types[] = {"individual", "business", NULL};
static const char *const workspace_tones[] = {"professional", "friendly", "casual", "formal", NULL};

/* knowledge_base has no length of its own: the path's app.body-limit bounds it. */
static const resource_field_t workspace_fields[] = {
    {{"name", V_STRING, 0, 1, 200}, "text", RESOURCE_UPDATE},
    {{"handle", V_SLUG, 0, HANDLE_MIN, HANDLE_MAX}, "text", RESOURCE_UPDATE},
    {{"type", V_ENUM, 0, 0, 0, 0, 0, 0, workspace_types}, "text", RESOURCE_UPDATE},
    {{"tone", V_ENUM, 0, 0, 0, 0, 0, 0, workspace_tones}, "text", RESOURCE_UPDATE},
    {{"timezone", V_TIMEZONE, 0}, "text", RESOURCE_UPDATE},
    {{"knowledge_base", V_STRING, 0}, "text", RESOURCE_UPDATE},
};

static const resource_t workspaces = {
    "workspaces", "", "workspaces", RESOURCE_SCOPE_OWNER, APP_AUTH_REQUIRED,
    RESOURCE_NO_CREATE | RESOURCE_NO_DELETE | RESOURCE_NO_LIST, NULL, RESOURCE_FIELDS(workspace_fields)};

/* A workspace_id naming the caller's own workspace. */
#define OWN_WORKSPACE "workspaces"

static const resource_field_t service_fields[] = {
    {{"workspace_id", V_UUID, V_REQUIRED}, "uuid", RESOURCE_CREATE | RESOURCE_REF_OWNED, NULL, OWN_WORKSPACE},
    {{"name", V_STRING, V_REQUIRED, 1, 200}, "text", RESOURCE_WRITE},
    {{"description", V_STRING, 0, 0, 5000}, "text", RESOURCE_WRITE, "''"},
    {{"duration_minutes", V_INT, V_REQUIRED, 0, 0, 1, 1440}, "int", RESOURCE_WRITE},
    {{"price_cents", V_INT, V_NULLABLE, 0, 0, 0, 1000000000000LL}, "bigint", RESOURCE_WRITE},
    {{"active", V_BOOL, 0}, "boolean", RESOURCE_WRITE, "true"},
};

static const resource_filter_t service_filters[] = {{"workspace_id", V_UUID}};

static const resource_t services = {
    "workspace_services", "", "workspace_services", RESOURCE_SCOPE_WORKSPACE,
    APP_AUTH_REQUIRED, 0, NULL, RESOURCE_FIELDS(service_fields), NULL, RESOURCE_FILTERS(service_filters)};

static const char *const connector_types[] = {"calendly", "square", "agendapro", NULL};

/* Activating one deactivates the others: a trigger does it (schema/0010), whoever writes. */
static const resource_field_t connector_fields[] = {
    {{"workspace_id", V_UUID, 0}, "uuid", RESOURCE_DERIVED | RESOURCE_REF_OWNED, NULL, OWN_WORKSPACE},
    {{"type", V_ENUM, V_REQUIRED, 0, 0, 0, 0, 0, connector_types}, "text", RESOURCE_WRITE},
    {{"config", V_OBJECT, V_STRING_VALUES, 0, 20, 0, 0, 2000}, "jsonb", RESOURCE_WRITE, "'{}'::jsonb"},
    {{"active", V_BOOL, 0}, "boolean", RESOURCE_WRITE, "false"},
};

static const resource_t connectors = {
    "connectors", "/workspaces/{workspace_id}", "connectors", RESOURCE_SCOPE_WORKSPACE,
    APP_AUTH_REQUIRED, 0, NULL, RESOURCE_FIELDS(connector_fields), NULL, NULL, 0, "workspace_id",
    "/{id}"};

/* The workspace as GET /workspaces/{id} shows it (the resource layer's shape). */
#define WORKSPACE_JSON                                                                                                 \
    "json_build_object('id', t.id, 'name', t.name, 'handle', t.handle, 'type', t.type, 'tone', t.tone,"               \
    " 'timezone', t.timezone, 'knowledge_base', t.knowledge_base, 'created_at', " CURSOR_SQL_RFC3339("t.created_at")         \
    ", 'updated_at', " CURSOR_SQL_RFC3339("t.updated_at") ")::text"

/* $1 organization, $2 user, $3 the handle to start from, $4 the name. One row: the caller's
 * workspace (or NULL), whether it is in $1, and the workspace created now (or NULL). The handle is
 * $3, else $3-2 .. $3-20, else $3 with a random suffix: the first nobody has. A concurrent
 * creation (same user, or another user taking the handle) inserts nothing: the caller retries. */
static const db_stmt_t stmt_me = {
    "workspaces_me",
    "WITH mine AS (SELECT " WORKSPACE_JSON " AS j, t.organization_id = $1::uuid AS here"
    "   FROM workspaces t WHERE t.user_id = $2::uuid),"
    " cand AS (SELECT x.c FROM (SELECT $3::text AS c, 1 AS n"
    "     UNION ALL SELECT $3::text || '-' || g, g FROM generate_series(2, 20) g"
    "     UNION ALL SELECT $3::text || '-' || substr(md5(random()::text || clock_timestamp()::text), 1, 8), 21) x"
    "   WHERE NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.handle = x.c) ORDER BY x.n LIMIT 1),"
    " ins AS (INSERT INTO workspaces AS t (organization_id, user_id, name, handle)"
    "   SELECT $1::uuid, $2::uuid, $4::text, cand.c FROM cand WHERE NOT EXISTS (SELECT 1 FROM mine)"
    "   ON CONFLICT DO NOTHING RETURNING " WORKSPACE_JSON " AS j)"
    " SELECT (SELECT j FROM mine), (SELECT here FROM mine), (SELECT j FROM ins)",
    4, 0};

/* The handle a new workspace starts from: the email's local part in lower case, every run of
 * other characters a '-', trimmed, padded to the minimum; "workspace" without an email. */
static void handle_base(const char *email, char *out)
{
    size_t n = 0;
    int dash = 0;
    for (const char *p = email; *p != '\0' && *p != '@' && n < HANDLE_BASE_MAX; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < HANDLE_BASE_MAX - 1)
                out[n++] = '-';
            out[n++] = c;
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
    if (n == 0) {
        strcpy(out, "workspace");
        return;
    }
    while (n < HANDLE_MIN)
        out[n++] = '0';
    out[n] = '\0';
}

typedef struct me_state {
    char handle[HANDLE_BASE_MAX + 1];
    const char *name;
    int attempts;
} me_state_t;

static void me_query(req_t *r);

static void on_me(req_t *r, const db_result_t *res)
{
    me_state_t *st = r->state;
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (!PQgetisnull(res->pg, 0, 0)) {
        if (strcmp(PQgetvalue(res->pg, 0, 1), "t") == 0)
            req_respond_cell(r, 200, res->pg, 0);
        else /* one workspace per user, and it was made while acting in another organization */
            req_respond_error(r, 409, "conflict", "Your workspace belongs to another organization");
    } else if (!PQgetisnull(res->pg, 0, 2)) {
        req_respond_cell(r, 200, res->pg, 2);
    } else if (++st->attempts < ME_ATTEMPTS) {
        me_query(r);
    } else {
        req_respond_error(r, 503, "unavailable", "The workspace could not be created; try again");
    }
}

static void me_query(req_t *r)
{
    me_state_t *st = r->state;
    const char *values[] = {r->principal->org_id, r->principal->user_id, st->handle, st->name};
    req_query(r, &stmt_me, values, 4, on_me);
}

/* GET /api/v1/workspaces/me: 200 with the caller's workspace, created on the first call. */
static void workspace_me(req_t *r)
{
    me_state_t *st = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*st));
    handle_base(r->principal->email, st->handle);
    st->name = r->principal->name[0] != '\0' ? r->principal->name : st->handle;
    st->attempts = 0;
    r->state = st;
    me_query(r);
}

static const app_route_t workspace_routes[] = {
    {"GET", "/me", workspace_me, 0, APP_AUTH_REQUIRED},
};

static const resource_t *const workspace_resources[] = {&workspaces};
static const resource_t *const service_resources[] = {&services};
static const resource_t *const connector_resources[] = {&connectors};

/* Three modules, each mounted at its own path: workspaces, workspace_services, connectors. */
void workspaces_register(app_t *app)
{
    app_add_stmt(app, &stmt_me);
    resource_module(app, "workspaces", workspace_resources, 1, workspace_routes,
                    sizeof(workspace_routes) / sizeof(workspace_routes[0]));
    resource_module(app, "workspace_services", service_resources, 1, NULL, 0);
    resource_module(app, "connectors", connector_resources, 1, NULL, 0);
}

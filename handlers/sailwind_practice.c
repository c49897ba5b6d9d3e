/* Practice sessions: a rep starts a role-play of one of their assignments, or of any client and
 * product of the organization, and lists their own with status and score. A practice session is
 * a row of `sessions` (kind practice), read like any session at /api/v1/sessions/{id}; the
 * role-play itself runs in the AI pipeline. */
#include <stdio.h>
#include <string.h>

#include "handlers/sailwind.h"
#include "handlers/sessions.h"
#include "pipeline/cursor.h"
#include "pipeline/server.h"

/* A practice session as both routes answer it: the session object of GET /api/v1/sessions/{id}
 * plus the names of what it role-plays (s the session, c, p, st its client, product, strategy). */
#define PRACTICE_JSON                                                                                                  \
    "json_build_object(" SESSION_JSON_MEMBERS("s") ","                                                                 \
    " 'client_name', c.name, 'product_name', p.name, 'strategy_name', st.name)::text"

#define PRACTICE_JOINS                                                                                                 \
    " LEFT JOIN clients c ON c.organization_id = s.organization_id AND c.id = s.client_id"                            \
    " LEFT JOIN products p ON p.organization_id = s.organization_id AND p.id = s.product_id"                          \
    " LEFT JOIN strategies st ON st.organization_id = s.organization_id AND st.id = s.strategy_id"

/* $1 organization, $2 the caller, $3 assignment (or NULL), $4 client, $5 product, $6 strategy.
 * One row: (the new session or NULL, the first field naming a row the caller cannot see or NULL,
 * the session's id). An assignment must be the caller's own; it supplies client, product and
 * strategy. */
static const db_stmt_t stmt_start = {
    "practice_start",
    "WITH a AS (SELECT id, client_id, product_id, strategy_id FROM rep_assignments"
    "   WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid),"
    " bad AS (SELECT CASE"
    "   WHEN $3::uuid IS NOT NULL THEN CASE WHEN NOT EXISTS (SELECT 1 FROM a) THEN 'assignment_id' END"
    "   WHEN NOT EXISTS (SELECT 1 FROM clients WHERE organization_id = $1::uuid AND id = $4::uuid) THEN 'client_id'"
    "   WHEN NOT EXISTS (SELECT 1 FROM products WHERE organization_id = $1::uuid AND id = $5::uuid) THEN 'product_id'"
    "   WHEN $6::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM strategies"
    "     WHERE organization_id = $1::uuid AND id = $6::uuid) THEN 'strategy_id' END AS field),"
    " src AS (SELECT id AS assignment_id, client_id, product_id, strategy_id FROM a"
    "   UNION ALL SELECT NULL::uuid, $4::uuid, $5::uuid, $6::uuid WHERE $3::uuid IS NULL),"
    " s AS (INSERT INTO sessions (organization_id, user_id, kind, status, client_id, product_id, strategy_id,"
    "     assignment_id)"
    "   SELECT $1::uuid, $2::uuid, 'practice', 'active', src.client_id, src.product_id, src.strategy_id,"
    "     src.assignment_id FROM src, bad WHERE bad.field IS NULL RETURNING *)"
    " SELECT (SELECT " PRACTICE_JSON " FROM s" PRACTICE_JOINS "), (SELECT field FROM bad), (SELECT id::text FROM s)",
    6, 0};

/* $1 organization, $2 the caller, then the page ($3 after ts, $4 after id, $5 limit + 1). */
static const db_stmt_t stmt_mine = {
    "practice_mine",
    "SELECT " PRACTICE_JSON ", " CURSOR_SQL_TS("s.created_at") ", s.id::text"
    " FROM sessions s" PRACTICE_JOINS
    " WHERE s.user_id = $2::uuid AND s.organization_id = $1::uuid AND s.kind = 'practice'"
    "   AND ($3::timestamptz IS NULL OR (s.created_at, s.id) < ($3::timestamptz, $4::uuid))"
    " ORDER BY s.created_at DESC, s.id DESC LIMIT $5::int",
    5, DB_STMT_READONLY};

static const vfield_t start_fields[] = {
    {"assignment_id", V_UUID, 0},
    {"client_id", V_UUID, 0},
    {"product_id", V_UUID, 0},
    {"strategy_id", V_UUID, V_NULLABLE},
};

static const char *str_of(req_t *r, const char *name)
{
    json_t *v = json_get(r->body, name);
    if (v == NULL || v->type != JSON_STRING)
        return NULL;
    return h2o_strdup(&r->h2o->pool, v->str, v->len).base;
}

static void on_start(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (!PQgetisnull(res->pg, 0, 1)) {
        req_respond_validation(r, (const char *[]){"body", PQgetvalue(res->pg, 0, 1), NULL},
                               "The referenced record does not exist", "reference_not_found");
        return;
    }
    /* the session is the sessions module's: its Location is where h2o.conf mounts that module */
    const app_mount_t *sessions = app_mount_of(r->thread->app, "sessions");
    if (sessions != NULL) {
        char location[512];
        snprintf(location, sizeof(location), "%s/%s", sessions->base, PQgetvalue(res->pg, 0, 2));
        req_add_header(r, "location", h2o_strdup(&r->h2o->pool, location, SIZE_MAX).base);
    }
    req_respond_cell(r, 201, res->pg, 0);
}

/* Two forms: {assignment_id} or {client_id, product_id, strategy_id?}; mixing them, or giving
 * neither, is a 422 at ["body"] that says which forms exist. */
void sailwind_practice_start(req_t *r)
{
    if (validate_body(r, &VSCHEMA(start_fields), V_FULL) != 0)
        return;
    const char *assignment = str_of(r, "assignment_id"), *client = str_of(r, "client_id"),
               *product = str_of(r, "product_id"), *strategy = str_of(r, "strategy_id");
    int explicit_form = client != NULL || product != NULL || json_get(r->body, "strategy_id") != NULL;
    if (assignment != NULL && explicit_form) {
        req_respond_validation(r, (const char *[]){"body", NULL},
                               "Give either assignment_id, or client_id and product_id (and optionally "
                               "strategy_id), not both",
                               "value_error");
        return;
    }
    if (assignment == NULL && client == NULL && product == NULL) {
        req_respond_validation(r, (const char *[]){"body", NULL},
                               "Give assignment_id, or client_id and product_id (and optionally strategy_id)",
                               "value_error");
        return;
    }
    if (assignment == NULL && (client == NULL || product == NULL)) {
        req_respond_validation(r, (const char *[]){"body", client == NULL ? "client_id" : "product_id", NULL},
                               "Field required", "missing");
        return;
    }
    const char *values[] = {r->principal->org_id, r->principal->user_id, assignment, client, product, strategy};
    req_query(r, &stmt_start, values, 6, on_start);
}

void sailwind_my_practice_sessions(req_t *r)
{
    const char *values[] = {r->principal->org_id, r->principal->user_id};
    cursor_page_query(r, "my_practice_sessions", &stmt_mine, values, 2);
}

void sailwind_practice_add_stmts(app_t *app)
{
    app_add_stmt(app, &stmt_start);
    app_add_stmt(app, &stmt_mine);
}

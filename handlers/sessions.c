/* Coaching sessions (personal: another user's session is a 404, even in the same organization)
 * and their turns. POST creates chat sessions only: practice sessions are started by the Sailwind
 * practice endpoint and voice sessions by the voice control plane. Sessions are not edited or
 * deleted through this module; the turns are read with GET .../interactions, oldest first. */
#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/resource.h"
#include "pipeline/validate.h"

static const char *const session_create_kinds[] = {"chat", NULL};
static const char *const session_statuses[] = {"active", "completed", NULL};

/* kind is the only writable field; the rest are output (set by the practice flow). ended_at is
 * not shown: the resource layer writes only the columns of its field types. */
static const res_field_t session_fields[] = {
    {{"kind", V_ENUM, 0, 0, 0, 0, 0, 0, session_create_kinds}, "text", RES_CREATE, "'chat'"},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, session_statuses}, "text", 0},
    {{"client_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"product_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"strategy_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"assignment_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"score", V_INT, V_NULLABLE, 0, 0, 0, 100}, "int", 0},
};

static const resource_t sessions = {
    "sessions", "/api/v1/sessions", "sessions", RES_SCOPE_OWNER, APP_AUTH_REQUIRED, RES_NO_UPDATE | RES_NO_DELETE,
    NULL, RES_FIELDS(session_fields)};

/* $1 organization, $2 user (the caller), $3 the session; $4 a timestamp and $5 an interaction id
 * (at most one given) the turns must come strictly after; $6 the page size + 1. One row: whether
 * the session is the caller's, whether $5 (when given) is a turn of it, and the answer
 * {"items": [...], "has_more": bool}. */
static const db_stmt_t stmt_interactions = {
    "sessions_interactions",
    "WITH s AS (SELECT id FROM sessions WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid),"
    " a AS (SELECT i.created_at, i.id FROM interactions i JOIN s ON i.session_id = s.id WHERE i.id = $5::uuid),"
    " page AS (SELECT i.*, row_number() OVER (ORDER BY i.created_at, i.id) AS rn"
    "   FROM interactions i JOIN s ON i.session_id = s.id"
    "   WHERE ($4::timestamptz IS NULL OR i.created_at > $4::timestamptz)"
    "     AND ($5::uuid IS NULL OR (i.created_at, i.id) > (SELECT created_at, id FROM a))"
    "   ORDER BY i.created_at, i.id LIMIT $6::int)"
    " SELECT EXISTS (SELECT 1 FROM s), ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM a)),"
    "  (SELECT json_build_object('items', coalesce(json_agg(json_build_object("
    "     'id', p.id, 'session_id', p.session_id, 'role', p.role, 'content', p.content,"
    "     'created_at', " SQL_RFC3339("p.created_at") ", 'run_id', p.run_id) ORDER BY p.created_at, p.id)"
    "     FILTER (WHERE p.rn < $6::int), '[]'::json),"
    "   'has_more', count(*) >= $6::int)::text FROM page p)",
    6, DB_STMT_READONLY};

static void not_found(req_t *r)
{
    req_respond_error(r, 404, "not_found", "Not found");
}

static void bad_since(req_t *r)
{
    req_respond_validation(r, (const char *[]){"query", "since", NULL},
                           "Input should be an RFC 3339 timestamp or the id of an interaction of this session",
                           "value_error");
}

typedef struct interactions_state {
    int limit;
} interactions_state_t;

static void on_interactions(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        /* an impossible timestamp of the right shape (month 13, ...) */
        if (res->status == DB_ERR_QUERY && res->sqlstate != NULL && strncmp(res->sqlstate, "22", 2) == 0)
            bad_since(r);
        else
            req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        not_found(r);
        return;
    }
    if (strcmp(PQgetvalue(res->pg, 0, 1), "t") != 0) {
        bad_since(r);
        return;
    }
    req_respond_cell(r, 200, res->pg, 2);
}

/* GET /api/v1/sessions/{id}/interactions?since=&limit=: the caller's session's turns, oldest
 * first, strictly after `since` (an RFC 3339 timestamp, or an interaction id: exact, the way to
 * continue after the last turn seen). has_more says the page was cut at `limit` (default 50,
 * 1..200). */
static void list_interactions(req_t *r)
{
    h2o_iovec_t id = req_param(r, "id");
    char session[37];
    if (!validate_uuid(id.base, id.len, session)) {
        not_found(r);
        return;
    }
    char buf[64];
    int limit = CURSOR_LIMIT_DEFAULT;
    long n = req_query_param(r, "limit", buf, sizeof(buf));
    if (n != -1 && (n < 0 || cursor_parse_limit(buf, (size_t)n, &limit) != 0)) {
        req_respond_validation(r, (const char *[]){"query", "limit", NULL}, "Input should be an integer between 1 and 200",
                               "int_parsing");
        return;
    }
    char since_buf[64], since_id[37];
    const char *since_ts = NULL, *since_uuid = NULL;
    n = req_query_param(r, "since", since_buf, sizeof(since_buf));
    if (n == -2) {
        bad_since(r);
        return;
    }
    if (n > 0) {
        if (validate_uuid(since_buf, (size_t)n, since_id))
            since_uuid = since_id;
        else if (validate_rfc3339(since_buf, (size_t)n))
            since_ts = since_buf;
        else {
            bad_since(r);
            return;
        }
    }
    char fetch[12];
    snprintf(fetch, sizeof(fetch), "%d", limit + 1);
    const char *values[] = {r->principal->org_id, r->principal->user_id, session, since_ts, since_uuid, fetch};
    req_query(r, &stmt_interactions, values, 6, on_interactions);
}

static const app_route_t session_routes[] = {
    {"GET", "/api/v1/sessions/{id}/interactions", list_interactions, 0, APP_AUTH_REQUIRED},
};

static const resource_t *const session_resources[] = {&sessions};

void sessions_register(app_t *app)
{
    app_add_stmt(app, &stmt_interactions);
    resource_module(app, "sessions", session_resources, sizeof(session_resources) / sizeof(session_resources[0]),
                    session_routes, sizeof(session_routes) / sizeof(session_routes[0]));
}

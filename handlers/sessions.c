/* Coaching sessions (personal: another user's session is a 404, even in the same organization)
 * and their turns. POST creates chat sessions only: practice sessions are started by the Sailwind
 * practice endpoint and voice sessions by the voice control plane. Sessions are not edited or
 * deleted through this module; the turns are read with GET .../interactions, oldest first. */
#include "handlers/coach.h"
#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/resource/resource.h"
#include "pipeline/since.h"
#include "pipeline/validate.h"

static const char *const session_create_kinds[] = {"chat", NULL};
static const char *const session_statuses[] = {"active", "completed", NULL};
static const char *const session_kinds[] = {"chat", "practice", "voice", NULL};

/* kind is the only writable field; the rest are output (set by the practice flow and when a
 * session ends). */
static const resource_field_t session_fields[] = {
    {{"kind", V_ENUM, 0, 0, 0, 0, 0, 0, session_create_kinds}, "text", RESOURCE_CREATE, "'chat'"},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, session_statuses}, "text", 0},
    {{"client_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"product_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"strategy_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"assignment_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"score", V_INT, V_NULLABLE, 0, 0, 0, 100}, "int", 0},
    {{"ended_at", V_STRING, V_NULLABLE}, "timestamptz", 0},
};

static const resource_filter_t session_filters[] = {{"kind", V_ENUM, 0, session_kinds}};

static const resource_t sessions = {
    "sessions", "", "sessions", RESOURCE_SCOPE_OWNER, APP_AUTH_REQUIRED, RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE,
    NULL, RESOURCE_FIELDS(session_fields), NULL, RESOURCE_FILTERS(session_filters)};

/* $1 organization, $2 user (the caller), $3 the session, then the page (SINCE_PAGE_SQL). */
static const db_stmt_t stmt_interactions = {
    "sessions_interactions",
    "WITH parent AS (SELECT id FROM sessions WHERE organization_id = $1::uuid AND user_id = $2::uuid"
    "   AND id = $3::uuid),"
    SINCE_PAGE_SQL("interactions", "session_id",
                   "json_build_object('id', p.id, 'session_id', p.session_id, 'role', p.role, 'content', p.content,"
                   " 'created_at', " CURSOR_SQL_RFC3339("p.created_at") ", 'run_id', p.run_id)", ""),
    SINCE_PAGE_PARAMS, DB_STMT_READONLY};

/* GET /api/v1/sessions/{id}/interactions?since=&limit=&cursor=: the caller's session's turns,
 * oldest first, strictly after `since` (an RFC 3339 timestamp, or an interaction id: exact, the
 * way to continue after the last turn seen) and after the cursor. */
static void list_interactions(req_t *r)
{
    since_list(r, &stmt_interactions, r->principal->org_id, r->principal->user_id, "an interaction of this session",
               NULL);
}

static const app_route_t session_routes[] = {
    {"GET", "/{id}/interactions", list_interactions, ROUTE_SINCE, APP_AUTH_REQUIRED},
    {"POST", "/{id}/messages", coach_post_message, ROUTE_JSON_BODY | ROUTE_SSE, APP_AUTH_REQUIRED},
    {"POST", "/{id}/end", assessment_end_session, 0, APP_AUTH_REQUIRED},
};

static const resource_t *const session_resources[] = {&sessions};

void sessions_register(app_t *app)
{
    app_add_stmt(app, &stmt_interactions);
    coach_register(app);
    assessment_register(app);
    resource_module(app, "sessions", session_resources, sizeof(session_resources) / sizeof(session_resources[0]),
                    session_routes, sizeof(session_routes) / sizeof(session_routes[0]));
}

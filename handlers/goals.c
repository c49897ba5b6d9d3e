/* Personal goals: each user's own, invisible to everyone else (another user's goal is a 404).
 * GET /goals/{id}/tasks lists the steps a goal was planned into by POST /goals/{id}/plan
 * (goals_plan.c). */
#include "handlers/goals.h"
#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "pipeline/resource/resource.h"

static const char *const goal_statuses[] = {"active", "done", "dropped", NULL};

static const resource_field_t goal_fields[] = {
    {{"title", V_STRING, V_REQUIRED, 1, 200}, "text", RESOURCE_WRITE},
    {{"description", V_STRING, 0, 0, 5000}, "text", RESOURCE_WRITE, "''"},
    {{"target_date", V_DATE, V_NULLABLE}, "date", RESOURCE_WRITE},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, goal_statuses}, "text", RESOURCE_WRITE, "'active'"},
};

static const resource_t goals = {
    "goals", "", "goals", RESOURCE_SCOPE_OWNER, APP_AUTH_REQUIRED, 0, NULL, RESOURCE_FIELDS(goal_fields)};

/* $1 organization, $2 the caller, $3 the goal: a row when the goal is theirs. */
static const db_stmt_t stmt_goal_owned = {
    "goals_owned", "SELECT 1 FROM goals WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid", 3,
    DB_STMT_READONLY};

/* $1 organization, $2 the caller, $3 the goal, then the page ($4 after ts, $5 after id, $6 limit
 * + 1). In plan order (position, created_at, id); a cursor names the last task seen, whose
 * position is looked up, so a cursor whose task is gone (a new plan) ends the list. */
static const db_stmt_t stmt_goal_tasks = {
    "goals_tasks",
    "SELECT json_build_object('id', t.id, 'goal_id', t.goal_id, 'title', t.title,"
    "   'estimate_minutes', t.estimate_minutes, 'due_date', t.due_date, 'status', t.status, 'position', t.position,"
    "   'created_at', " CURSOR_SQL_RFC3339("t.created_at") ", 'updated_at', " CURSOR_SQL_RFC3339("t.updated_at") ")::text,"
    " " CURSOR_SQL_TS("t.created_at") ", t.id::text"
    " FROM goal_tasks t JOIN goals g ON g.user_id = t.user_id AND g.id = t.goal_id"
    " WHERE g.organization_id = $1::uuid AND g.user_id = $2::uuid AND g.id = $3::uuid"
    "   AND ($5::uuid IS NULL OR (t.position, t.created_at, t.id) >"
    "     ((SELECT position FROM goal_tasks WHERE goal_id = $3::uuid AND id = $5::uuid), $4::timestamptz, $5::uuid))"
    " ORDER BY t.position, t.created_at, t.id LIMIT $6::int",
    6, DB_STMT_READONLY};

static void on_goal_owned(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1) {
        req_respond_error(r, 404, "not_found", "Not found");
        return;
    }
    const char **values = r->state;
    cursor_page_query(r, "goal_tasks", &stmt_goal_tasks, values, 3);
}

/* GET /api/v1/goals/{id}/tasks: the goal is checked first so that another user's goal is a 404
 * rather than an empty list. */
static void list_goal_tasks(req_t *r)
{
    const char *goal = req_param_uuid(r, "id");
    if (goal == NULL)
        return;
    const char **values = h2o_mem_alloc_pool(&r->h2o->pool, 3 * sizeof(*values));
    values[0] = r->principal->org_id;
    values[1] = r->principal->user_id;
    values[2] = goal;
    r->state = values;
    req_query(r, &stmt_goal_owned, values, 3, on_goal_owned);
}

static const app_route_t goal_routes[] = {
    {"GET", "/{id}/tasks", list_goal_tasks, ROUTE_PAGE, APP_AUTH_REQUIRED},
    {"POST", "/{id}/plan", goals_plan, 0, APP_AUTH_REQUIRED},
};

static const resource_t *const goal_resources[] = {&goals};

void goals_register(app_t *app)
{
    app_add_stmt(app, &stmt_goal_owned);
    app_add_stmt(app, &stmt_goal_tasks);
    goals_plan_register(app);
    resource_module(app, "goals", goal_resources, sizeof(goal_resources) / sizeof(goal_resources[0]), goal_routes,
                    sizeof(goal_routes) / sizeof(goal_routes[0]));
}

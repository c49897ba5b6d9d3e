/* POST /api/v1/goals/{id}/plan: the planner agent breaks the caller's goal into tasks through its
 * create_task tool. Tasks are collected during the run and written when it succeeds, in one
 * statement that also replaces the goal's earlier pending plan, so a failed run writes nothing. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "handlers/goals.h"
#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "pipeline/run/run_route.h"
#include "pipeline/server.h"
#include "pipeline/validate.h"

#define PLAN_MAX_TASKS 20

/* $1 organization, $2 user, $3 goal, $4 quota. One row: whether the goal is the caller's, its
 * title, description and target date, whether over quota. */
static const db_stmt_t stmt_goal = {
    "goals_plan_goal",
    "WITH g AS (SELECT * FROM goals WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid)"
    " SELECT EXISTS (SELECT 1 FROM g), (SELECT title FROM g), (SELECT description FROM g),"
    "  (SELECT target_date::text FROM g), " RUN_SQL_OVER_QUOTA("$1", "$4") ", current_date::text",
    4, DB_STMT_READONLY};

/* $1 user, $2 goal, $3 the tasks ([{title, estimate_minutes, due_date}] in order). Replaces the
 * goal's pending tasks; tasks already started or done stay. One row: the answer. */
static const db_stmt_t stmt_save = {
    "goals_plan_save",
    "WITH g AS (SELECT id FROM goals WHERE user_id = $1::uuid AND id = $2::uuid),"
    " d AS (DELETE FROM goal_tasks t USING g WHERE t.goal_id = g.id AND t.status = 'pending'),"
    " ins AS (INSERT INTO goal_tasks (goal_id, user_id, title, estimate_minutes, due_date, position)"
    "   SELECT g.id, $1::uuid, x->>'title', (x->>'estimate_minutes')::int, (x->>'due_date')::date, (n - 1)::int"
    "   FROM g, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(x, n)"
    "   RETURNING id, title, estimate_minutes, due_date, status, position)"
    " SELECT json_build_object('goal_id', $2::uuid, 'tasks', coalesce(json_agg(json_build_object('id', ins.id,"
    "   'title', ins.title, 'estimate_minutes', ins.estimate_minutes, 'due_date', ins.due_date, 'status', ins.status)"
    "   ORDER BY ins.position), '[]'))::text FROM ins",
    3, 0};

static const vfield_t task_fields[] = {
    {"title", V_STRING, V_REQUIRED, 1, 200},
    {"estimate_minutes", V_INT, V_REQUIRED, 0, 0, 1, 1440},
    {"due_date", V_DATE, V_NULLABLE},
};

/* Outlives the request: the plan is saved even if the caller has gone. */
typedef struct plan {
    run_route_t rr;
    char user[37], goal[37];
    json_out_t tasks; /* a JSON array being written */
    char *mem;
    size_t ntasks;
} plan_t;

static void plan_dispose(run_route_t *rr)
{
    free(((plan_t *)rr)->mem);
}

/* create_task {title, estimate_minutes, due_date?}: checked like a request body, kept for the end. */
static void tool_create_task(run_t *run, const char *arguments)
{
    plan_t *p = run_tool_ctx(run);
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_t *args = json_parse(&pool, arguments, strlen(arguments), NULL, 0);
    verror_t err;
    if (p->ntasks == PLAN_MAX_TASKS) {
        run_tool_result(run, "{\"error\":\"a plan has at most 20 tasks\"}");
    } else if (validate_json(&VSCHEMA(task_fields), args, V_FULL, &err) != 0) {
        char msg[320];
        json_out_t o = json_out_fixed(msg, sizeof(msg));
        json_out_obj_begin(&o);
        json_out_key(&o, "error");
        json_out_str(&o, err.msg);
        json_out_obj_end(&o);
        run_tool_result(run, json_out_overflowed(&o) ? "{\"error\":\"invalid task\"}" : json_out_cstr(&o));
    } else {
        p->ntasks++;
        json_out_value(&p->tasks, args);
        char ok[64];
        snprintf(ok, sizeof(ok), "{\"ok\":true,\"position\":%zu}", p->ntasks);
        run_tool_result(run, json_out_overflowed(&p->tasks) ? "{\"error\":\"the plan is too large\"}" : ok);
    }
    h2o_mem_clear_pool(&pool);
}

static const run_tool_t planner_tools[] = {
    {"create_task", "Adds the next task of the plan, in order.",
     "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\",\"maxLength\":200},"
     "\"estimate_minutes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1440},"
     "\"due_date\":{\"type\":\"string\",\"format\":\"date\"}},\"required\":[\"title\",\"estimate_minutes\"]}",
     tool_create_task},
};

static void on_saved(run_route_t *rr, const db_result_t *res)
{
    if (PQntuples(res->pg) != 1)
        run_route_fail(rr, 404, "not_found", "Not found"); /* deleted meanwhile */
    else
        run_route_answer(rr, 201, res->pg, 0);
}

static void on_planned(run_route_t *rr, const run_result_t *res)
{
    plan_t *p = (plan_t *)rr;
    if (res->error_code != NULL || json_out_overflowed(&p->tasks)) {
        run_route_fail(rr, 503, "unavailable", "The planner could not make a plan; try again");
        return;
    }
    json_out_arr_end(&p->tasks);
    const char *values[] = {p->user, p->goal, json_out_cstr(&p->tasks)};
    run_route_store(rr, &stmt_save, values, 3, on_saved);
}

static void on_goal(req_t *r, const db_result_t *res)
{
    if (run_route_check(r, res, 4) != 0)
        return;
    const PGresult *pg = res->pg;
    plan_t *p = run_route_new(r, sizeof(*p), RUN_ROUTE_JSON);
    size_t cap = 64 * 1024;
    if ((p->mem = malloc(cap)) == NULL)
        abort();
    p->rr.dispose = plan_dispose;
    p->tasks = json_out_fixed(p->mem, cap);
    json_out_arr_begin(&p->tasks);
    snprintf(p->user, sizeof(p->user), "%s", r->principal->user_id);
    snprintf(p->goal, sizeof(p->goal), "%s", (const char *)r->state);
    char *prompt, *input;
    if (asprintf(&prompt,
                 "You are a planner. Break the user's goal into 3 to 8 concrete tasks, in the order to do them. "
                 "Call create_task once per task with a short title, an estimate in minutes (at most 1440) and, "
                 "when it helps, a due_date (YYYY-MM-DD) between today (%s) and the goal's target date. Then "
                 "reply with one sentence.",
                 PQgetvalue(pg, 0, 5)) < 0 ||
        asprintf(&input, "Goal: %s\nDetails: %s\nTarget date: %s", PQgetvalue(pg, 0, 1), PQgetvalue(pg, 0, 2),
                 PQgetisnull(pg, 0, 3) ? "none" : PQgetvalue(pg, 0, 3)) < 0)
        abort();
    run_spec_t spec = {
        .kind = "planner",
        .org_id = r->principal->org_id,
        .user_id = r->principal->user_id,
        .subject_id = p->goal,
        .system_prompt = prompt,
        .input = input,
        .tools = planner_tools,
        .ntools = 1,
        .tool_ctx = p,
    };
    run_route_start(&p->rr, &spec, on_planned);
    free(prompt);
    free(input);
}

void goals_plan(req_t *r)
{
    const char *goal = req_param_uuid(r, "id");
    if (goal == NULL)
        return;
    r->state = (void *)goal;
    const char *values[] = {r->principal->org_id, r->principal->user_id, goal, r->thread->app->run_settings->quota_text};
    req_query(r, &stmt_goal, values, 4, on_goal);
}

void goals_plan_register(app_t *app)
{
    app_add_stmt(app, &stmt_goal);
    app_add_stmt(app, &stmt_save);
}

/* Skills: the global definitions (the same for every organization) and the caller's own levels
 * with the latest assessment of each. Both lists are small (a handful of definitions), so each is
 * one statement that builds the whole answer, unpaged: {"items": [...], "next_cursor": null}. */
#include <string.h>

#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"

/* No parameters: every definition, by key. */
static const db_stmt_t stmt_skills = {
    "skills_list",
    "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
    "   'id', s.id, 'key', s.key, 'name', s.name, 'description', s.description,"
    "   'created_at', " CURSOR_SQL_RFC3339("s.created_at") ") ORDER BY s.key), '[]'::json),"
    " 'next_cursor', NULL)::text"
    " FROM skills s",
    0, DB_STMT_READONLY};

/* $1 the caller's user id: their levels with the definitions, and each skill's latest assessment
 * (or null). Levels are the user's, whatever organization they act in. */
static const db_stmt_t stmt_my_skills = {
    "skills_mine",
    "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
    "   'skill_id', s.id, 'key', s.key, 'name', s.name, 'description', s.description,"
    "   'level', us.level, 'updated_at', " CURSOR_SQL_RFC3339("us.updated_at") ","
    "   'latest_assessment', la.j) ORDER BY s.key), '[]'::json),"
    " 'next_cursor', NULL)::text"
    " FROM user_skills us JOIN skills s ON s.id = us.skill_id"
    " LEFT JOIN LATERAL (SELECT json_build_object('id', a.id, 'score', a.score, 'feedback', a.feedback,"
    "     'session_id', a.session_id, 'created_at', " CURSOR_SQL_RFC3339("a.created_at") ") AS j"
    "   FROM skill_assessments a WHERE a.user_id = us.user_id AND a.skill_id = us.skill_id"
    "   ORDER BY a.created_at DESC, a.id DESC LIMIT 1) la ON true"
    " WHERE us.user_id = $1::uuid",
    1, DB_STMT_READONLY};

static void on_json(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    req_respond_cell(r, 200, res->pg, 0);
}

static void list_skills(req_t *r)
{
    req_query(r, &stmt_skills, NULL, 0, on_json);
}

static void my_skills(req_t *r)
{
    const char *values[] = {r->principal->user_id};
    req_query(r, &stmt_my_skills, values, 1, on_json);
}

static const app_route_t skills_routes[] = {
    {"GET", "", list_skills, 0, APP_AUTH_REQUIRED},
};
static const app_route_t my_skills_routes[] = {
    {"GET", "", my_skills, 0, APP_AUTH_REQUIRED},
};

static const app_module_t skills_module = {"skills", skills_routes, 1};
static const app_module_t my_skills_module = {"my_skills", my_skills_routes, 1};

/* Two modules: the definitions, and the caller's levels. */
void skills_register(app_t *app)
{
    app_add_module(app, &skills_module);
    app_add_module(app, &my_skills_module);
    app_add_stmt(app, &stmt_skills);
    app_add_stmt(app, &stmt_my_skills);
}

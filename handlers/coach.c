/* Coaching conversations: POST /api/v1/sessions/{id}/messages stores the user's turn and streams
 * the assistant's reply with the public stream's events. A chat session talks to the sales coach
 * (with tools over the organization's playbook); a practice session makes the model play the
 * client the rep is selling to. Turns are stored as interactions, the reply with its run's id. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "handlers/coach.h"
#include "pipeline/config.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/run/run_route.h"
#include "pipeline/server.h"
#include "pipeline/validate.h"

/* The coach.* directives' values (one configuration per process), and as a statement parameter. */
typedef struct coach_settings {
    unsigned history_turns; /* coach.history-turns: earlier turns fetched for the model */
    char history_text[12];
} coach_settings_t;
static coach_settings_t settings;

/* $1 organization, $2 user, $3 session, $4 content, $5 quota, $6 earlier turns. Stores the user's turn unless the
 * session is over or the organization over quota. One row: whether the session is the caller's,
 * its status and kind, the stored turn's id, the earlier turns (JSON, oldest first), whether
 * over quota, the practice context (client, product, strategy as JSON or NULL), the caller's
 * profile name and their skill levels (text or NULL). */
static const db_stmt_t stmt_turn = {
    "coach_turn",
    "WITH s AS (SELECT * FROM sessions WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid),"
    " q AS (SELECT " RUN_SQL_OVER_QUOTA("$1", "$5") " AS over),"
    " hist AS (SELECT i.role, i.content, i.created_at, i.id FROM interactions i JOIN s ON i.session_id = s.id"
    "   WHERE i.role IN ('user', 'assistant') ORDER BY i.created_at DESC, i.id DESC LIMIT $6::int),"
    " ins AS (INSERT INTO interactions (session_id, role, content)"
    "   SELECT s.id, 'user', $4 FROM s, q WHERE s.status = 'active' AND NOT q.over RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM s), (SELECT status FROM s), (SELECT kind FROM s), (SELECT id FROM ins),"
    "  (SELECT coalesce(json_agg(json_build_object('role', h.role, 'content', h.content)"
    "     ORDER BY h.created_at, h.id), '[]')::text FROM hist h),"
    "  (SELECT over FROM q),"
    "  (SELECT json_build_object('name', c.name, 'industry', c.industry, 'size', c.size, 'notes', c.notes,"
    "     'archetype', a.name, 'archetype_description', a.description, 'traits', a.traits)::text"
    "   FROM s JOIN clients c ON c.id = s.client_id AND c.organization_id = s.organization_id"
    "   LEFT JOIN client_archetypes a ON a.id = c.archetype_id),"
    "  (SELECT json_build_object('name', p.name, 'description', p.description, 'price_cents', p.price_cents,"
    "     'currency', p.currency)::text"
    "   FROM s JOIN products p ON p.id = s.product_id AND p.organization_id = s.organization_id),"
    "  (SELECT json_build_object('name', g.name, 'playbook', g.playbook, 'objections', g.objections)::text"
    "   FROM s JOIN strategies g ON g.id = s.strategy_id AND g.organization_id = s.organization_id),"
    "  (SELECT concat_ws(' of ', p.display_name, p.business_name) FROM user_profiles p WHERE p.user_id = $2::uuid),"
    "  (SELECT string_agg(k.name || ' ' || u.level || '/100', ', ' ORDER BY k.key) FROM user_skills u"
    "   JOIN skills k ON k.id = u.skill_id WHERE u.user_id = $2::uuid)",
    6, 0};

/* $1 the reply's id (its run's), $2 session, $3 content. */
static const db_stmt_t stmt_store = {
    "coach_store",
    "INSERT INTO interactions (id, session_id, role, content, run_id) VALUES ($1::uuid, $2::uuid, 'assistant', $3,"
    " $1::uuid) RETURNING id",
    3, 0};

/* The coach's tools: the organization's playbook by (part of) a name, taken literally. $1
 * organization, $2 the name. */
#define LOOKUP(name, table, fields)                                                                                    \
    static const db_stmt_t stmt_##name = {                                                                             \
        "coach_tool_" #name,                                                                                           \
        "SELECT json_build_object('matches', coalesce(json_agg(x), '[]'))::text FROM (SELECT " fields " FROM " table   \
        " t WHERE t.organization_id = $1::uuid AND strpos(lower(t.name), lower($2::text)) > 0"                         \
        " ORDER BY t.name LIMIT 5) x",                                                                                 \
        2, DB_STMT_READONLY}
LOOKUP(client, "clients", "t.id, t.name, t.industry, t.size, t.notes");
LOOKUP(product, "products", "t.id, t.name, t.description, t.price_cents, t.currency");
LOOKUP(strategy, "strategies", "t.id, t.name, t.playbook, t.objections");

typedef struct coach {
    run_route_t rr;
    char session[37], org[37];
} coach_t;

static void on_run_done(run_route_t *rr, const run_result_t *res)
{
    coach_t *c = (coach_t *)rr;
    if (res->error_code != NULL) {
        run_route_fail(rr, 503, res->error_code, res->error_detail);
        return;
    }
    const char *values[] = {run_id(rr->run), c->session, res->text};
    run_route_store_reply(rr, res, &stmt_store, values, 3);
}

/* ---- tools -------------------------------------------------------------------------------- */

static void lookup_done(run_t *run, const db_result_t *res)
{
    run_tool_result(run, res->status == DB_OK ? PQgetvalue(res->pg, 0, 0) : "{\"error\":\"unavailable\"}");
}

/* The "name" argument, or "" (every row) when the model gave none. */
static void lookup(run_t *run, const char *arguments, const db_stmt_t *stmt)
{
    coach_t *c = run_tool_ctx(run);
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_t *args = json_parse(&pool, arguments, strlen(arguments), NULL, 0);
    json_t *name = args != NULL ? json_get(args, "name") : NULL;
    char *text = strndup(name != NULL && name->type == JSON_STRING ? name->str : "", 200);
    h2o_mem_clear_pool(&pool);
    if (text == NULL)
        abort();
    const char *values[] = {c->org, text};
    run_query(run, stmt, values, 2, lookup_done);
    free(text);
}

static void tool_client(run_t *run, const char *arguments)
{
    lookup(run, arguments, &stmt_client);
}

static void tool_product(run_t *run, const char *arguments)
{
    lookup(run, arguments, &stmt_product);
}

static void tool_strategy(run_t *run, const char *arguments)
{
    lookup(run, arguments, &stmt_strategy);
}

#define NAME_SCHEMA "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}"

static const run_tool_t coach_tools[] = {
    {"get_client", "Finds the organization's clients by (part of) their name.", NAME_SCHEMA, tool_client},
    {"get_product", "Finds the organization's products by (part of) their name.", NAME_SCHEMA, tool_product},
    {"get_strategy", "Finds the organization's sales strategies by (part of) their name.", NAME_SCHEMA, tool_strategy},
};

/* ---- the route ---------------------------------------------------------------------------- */

static const vfield_t message_fields[] = {
    {"content", V_STRING, V_REQUIRED, 1, 8000},
};

static char *coach_prompt(const principal_t *p, const PGresult *pg)
{
    char *out;
    int n;
    if (strcmp(PQgetvalue(pg, 0, 2), "practice") == 0)
        n = asprintf(&out,
                     "This is a sales role-play. You play the client described below; the user is a sales rep "
                     "pitching the product to you. Stay in character, answer as that client would, raise the "
                     "objections such a client has, and never mention that you are an AI or a coach.\n\n"
                     "Client: %s\n\nProduct being pitched: %s\n\nStrategy the rep was given: %s",
                     PQgetisnull(pg, 0, 6) ? "{}" : PQgetvalue(pg, 0, 6),
                     PQgetisnull(pg, 0, 7) ? "{}" : PQgetvalue(pg, 0, 7),
                     PQgetisnull(pg, 0, 8) ? "{}" : PQgetvalue(pg, 0, 8));
    else
        n = asprintf(&out,
                     "You are a sales coach helping %s improve: discovery, pitching, objection handling and "
                     "closing. Be concrete and brief. Use the tools to look up the organization's clients, "
                     "products and strategies when the conversation names them.%s%s",
                     !PQgetisnull(pg, 0, 9) && PQgetvalue(pg, 0, 9)[0] ? PQgetvalue(pg, 0, 9)
                     : p->name[0]                                     ? p->name
                                                                      : "a sales rep",
                     PQgetisnull(pg, 0, 10) ? "" : "\n\nTheir skill levels: ",
                     PQgetisnull(pg, 0, 10) ? "" : PQgetvalue(pg, 0, 10));
    if (n < 0)
        abort();
    return out;
}

static void on_turn(req_t *r, const db_result_t *res)
{
    if (run_route_check(r, res, 5) != 0)
        return;
    const PGresult *pg = res->pg;
    if (PQgetisnull(pg, 0, 3)) {
        req_respond_error(r, 409, "conflict", "This session has ended");
        return;
    }
    size_t nhist;
    llm_message_t *history = run_route_history(r, pg, 4, "user", &nhist);
    coach_t *c = run_route_new(r, sizeof(*c), RUN_ROUTE_SSE);
    snprintf(c->session, sizeof(c->session), "%s", (const char *)r->state);
    snprintf(c->org, sizeof(c->org), "%s", r->principal->org_id);
    int practice = strcmp(PQgetvalue(pg, 0, 2), "practice") == 0;
    char *prompt = coach_prompt(r->principal, pg);
    run_spec_t spec = {
        .kind = practice ? "practice" : "coach_chat",
        .org_id = r->principal->org_id,
        .user_id = r->principal->user_id,
        .subject_id = c->session,
        .system_prompt = prompt,
        .history = history,
        .nhistory = nhist,
        .input = json_get(r->body, "content")->str,
        .tools = practice ? NULL : coach_tools, /* in character, the client has no lookup tools */
        .ntools = practice ? 0 : sizeof(coach_tools) / sizeof(coach_tools[0]),
        .tool_ctx = c,
    };
    run_route_start(&c->rr, &spec, on_run_done);
    free(prompt);
}

void coach_post_message(req_t *r)
{
    const char *session = req_param_uuid(r, "id");
    if (session == NULL)
        return;
    if (validate_body(r, &VSCHEMA(message_fields), V_FULL) != 0)
        return;
    r->state = (void *)session;
    const char *values[] = {r->principal->org_id, r->principal->user_id, session, json_get(r->body, "content")->str,
                            r->thread->app->run_settings->quota_text, settings.history_text};
    req_query(r, &stmt_turn, values, 6, on_turn);
}

static void derive(void *arg)
{
    coach_settings_t *s = arg;
    snprintf(s->history_text, sizeof(s->history_text), "%u", s->history_turns);
}

static void define_directives(h2o_globalconf_t *g, app_t *app)
{
    static const config_number_t numbers[] = {
        {"coach.history-turns", offsetof(coach_settings_t, history_turns), 0, 30, 0, 200},
    };
    config_define_numbers(g, numbers, 1, &settings, derive);
    derive(&settings);
}

void coach_register(app_t *app)
{
    app_add_directives(app, define_directives);
    const db_stmt_t *stmts[] = {&stmt_turn, &stmt_store, &stmt_client, &stmt_product, &stmt_strategy};
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
        app_add_stmt(app, stmts[i]);
}

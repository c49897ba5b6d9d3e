/* Ending a session: POST /api/v1/sessions/{id}/end. A chat session is simply closed; a practice
 * session is first assessed by the model (a run of kind "assessment" over the transcript), and
 * its per-skill scores are stored as skill_assessments, move the rep's user_skills levels, and
 * give the session its score, all in one statement. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "handlers/coach.h"
#include "handlers/sessions.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/run/run_route.h"
#include "pipeline/server.h"
#include "pipeline/validate.h"

#define TRANSCRIPT_MAX 60000 /* characters of the role-play given to the assessor */

/* $1 organization, $2 user, $3 session, $4 quota. One row: whether the session is the caller's,
 * its kind, its status, the transcript (oldest first, cut to the newest TRANSCRIPT_MAX
 * characters), the skills as "key: name" lines, and whether over quota. */
static const db_stmt_t stmt_load = {
    "assessment_load",
    "WITH s AS (SELECT * FROM sessions WHERE organization_id = $1::uuid AND user_id = $2::uuid AND id = $3::uuid)"
    " SELECT EXISTS (SELECT 1 FROM s), (SELECT kind FROM s), (SELECT status FROM s),"
    "  (SELECT right(coalesce(string_agg(upper(i.role) || ': ' || i.content, E'\\n' ORDER BY i.created_at, i.id), ''),"
    "     60000) FROM interactions i JOIN s ON i.session_id = s.id WHERE i.role IN ('user', 'assistant')),"
    "  (SELECT coalesce(string_agg(k.key || ': ' || k.name, E'\\n' ORDER BY k.key), '') FROM skills k),"
    "  " RUN_SQL_OVER_QUOTA("$1", "$4"),
    4, DB_STMT_READONLY};

/* $1 organization, $2 user, $3 session, $4 the scores ({"key": {"score", "feedback"}}, NULL for
 * a chat). Ends an active session; for a practice one stores the assessments, moves the levels
 * (a new level is a third of the way from the old one to the score) and sets the session's score
 * to their mean. One row: the session's JSON with "assessments", or none when it had ended. */
static const db_stmt_t stmt_end = {
    "assessment_end",
    "WITH sc AS (SELECT k.id AS skill_id, k.key, (x.value->>'score')::int AS score,"
    "     left(coalesce(x.value->>'feedback', ''), 5000) AS feedback"
    "   FROM jsonb_each(coalesce($4::jsonb, '{}')) x JOIN skills k ON k.key = x.key"
    "   WHERE jsonb_typeof(x.value->'score') = 'number' AND (x.value->>'score')::numeric BETWEEN 0 AND 100"
    "     AND (x.value->>'score')::numeric = trunc((x.value->>'score')::numeric)),"
    " s AS (UPDATE sessions t SET status = 'completed', ended_at = now(),"
    "     score = CASE WHEN t.kind = 'practice' THEN (SELECT round(avg(score))::int FROM sc) ELSE t.score END"
    "   WHERE t.organization_id = $1::uuid AND t.user_id = $2::uuid AND t.id = $3::uuid AND t.status = 'active'"
    "   RETURNING t.*),"
    " a AS (INSERT INTO skill_assessments (user_id, session_id, skill_id, score, feedback)"
    "   SELECT $2::uuid, s.id, sc.skill_id, sc.score, sc.feedback FROM s, sc RETURNING skill_id, score),"
    " l AS (INSERT INTO user_skills AS u (user_id, skill_id, level) SELECT $2::uuid, a.skill_id, a.score FROM a"
    "   ON CONFLICT (user_id, skill_id) DO UPDATE SET level = round((u.level * 2 + EXCLUDED.level) / 3.0)::int"
    "   RETURNING 1)"
    " SELECT (json_build_object(" SESSION_JSON_MEMBERS("s") ")::jsonb || jsonb_build_object('assessments', (SELECT coalesce(jsonb_agg("
    "   jsonb_build_object('skill', sc.key, 'score', sc.score, 'feedback', sc.feedback) ORDER BY sc.key), '[]')"
    "   FROM sc WHERE EXISTS (SELECT 1 FROM s WHERE s.kind = 'practice'))) || jsonb_build_object('levels_moved',"
    "   (SELECT count(*) FROM l)))::text FROM s",
    4, 0};

/* Outlives the request: the model's assessment is stored even when the caller has gone. */
typedef struct assess {
    run_route_t rr;
    char org[37], user[37], session[37];
} assess_t;

static void on_ended(run_route_t *rr, const db_result_t *res)
{
    if (PQntuples(res->pg) != 1)
        run_route_fail(rr, 409, "conflict", "This session has already ended");
    else
        run_route_answer(rr, 200, res->pg, 0);
}

static void end_session(assess_t *a, const char *scores)
{
    const char *values[] = {a->org, a->user, a->session, scores};
    run_route_store(&a->rr, &stmt_end, values, 4, on_ended);
}

/* The scores object of the model's answer ({"scores": {...}}), possibly wrapped in prose or a
 * code fence: the outermost braces are taken. NULL when there is none. */
static char *scores_of(const char *text)
{
    const char *open = strchr(text, '{'), *close = strrchr(text, '}');
    if (open == NULL || close == NULL || close < open)
        return NULL;
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_t *doc = json_parse(&pool, open, (size_t)(close - open + 1), NULL, 0);
    json_t *scores = doc != NULL ? json_get(doc, "scores") : NULL;
    char *out = NULL;
    if (scores != NULL && scores->type == JSON_OBJECT) {
        json_out_t o = json_out_pool(&pool, 1024);
        json_out_value(&o, scores);
        out = strdup(json_out_cstr(&o));
    }
    h2o_mem_clear_pool(&pool);
    return out;
}

static void on_assessed(run_route_t *rr, const run_result_t *res)
{
    char *scores = res->error_code == NULL ? scores_of(res->text) : NULL;
    if (scores == NULL) { /* the session stays active: ending it again retries */
        run_route_fail(rr, 503, "unavailable", "The assessment could not be produced; try again");
        return;
    }
    end_session((assess_t *)rr, scores);
    free(scores);
}

static char *assessor_prompt(const char *skills)
{
    char *out;
    if (asprintf(&out,
                 "You assess a sales practice role-play between a REP (the user) and a CLIENT played by an AI. "
                 "Score the rep from 0 to 100 on each of these skills (key: name):\n%s\n\n"
                 "Answer with JSON only, no prose: {\"scores\": {\"<key>\": {\"score\": <0-100>, \"feedback\": "
                 "\"<one or two sentences>\"}}}",
                 skills) < 0)
        abort();
    return out;
}

static void on_loaded(req_t *r, const db_result_t *res)
{
    if (run_route_check(r, res, -1) != 0)
        return;
    const PGresult *pg = res->pg;
    if (strcmp(PQgetvalue(pg, 0, 2), "active") != 0) {
        req_respond_error(r, 409, "conflict", "This session has already ended");
        return;
    }
    /* only a practice with skills to score is assessed, and only then does the quota apply */
    int assessed = strcmp(PQgetvalue(pg, 0, 1), "practice") == 0 && PQgetvalue(pg, 0, 4)[0] != '\0';
    if (assessed && run_route_check(r, res, 5) != 0)
        return;
    assess_t *a = run_route_new(r, sizeof(*a), RUN_ROUTE_JSON);
    snprintf(a->org, sizeof(a->org), "%s", r->principal->org_id);
    snprintf(a->user, sizeof(a->user), "%s", r->principal->user_id);
    snprintf(a->session, sizeof(a->session), "%s", (const char *)r->state);
    if (!assessed) {
        end_session(a, NULL); /* nothing to assess */
        return;
    }
    char *prompt = assessor_prompt(PQgetvalue(pg, 0, 4));
    run_spec_t spec = {
        .kind = "assessment",
        .org_id = a->org,
        .user_id = a->user,
        .subject_id = a->session,
        .system_prompt = prompt,
        .input = PQgetvalue(pg, 0, 3)[0] ? PQgetvalue(pg, 0, 3) : "(the rep said nothing)",
    };
    run_route_start(&a->rr, &spec, on_assessed);
    free(prompt);
}

void assessment_end_session(req_t *r)
{
    const char *session = req_param_uuid(r, "id");
    if (session == NULL)
        return;
    r->state = (void *)session;
    const char *values[] = {r->principal->org_id, r->principal->user_id, session,
                            r->thread->app->run_settings->quota_text};
    req_query(r, &stmt_load, values, 4, on_loaded);
}

void assessment_register(app_t *app)
{
    app_add_stmt(app, &stmt_load);
    app_add_stmt(app, &stmt_end);
}

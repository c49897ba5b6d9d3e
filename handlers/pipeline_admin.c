/* The AI pipeline's record for the organization's admins: GET /api/v1/admin/pipeline-runs (newest
 * first by started_at, ?status=, ?kind=, ?since=) and one run with its events and provider calls.
 * Read-only: runs are written by pipeline/run.c when they close. h2o.conf maps the path with
 * app.auth: admin, which answers members with a 403. */
#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/resource/resource.h"

static const char *const run_kinds[] = {"public_chat", "coach_chat", "practice", "assessment",
                                        "planner",     "crm_chat",   "voice",    NULL};
static const char *const run_statuses[] = {"running", "succeeded", "failed", "cancelled", NULL};

static const resource_field_t run_fields[] = {
    {{"kind", V_ENUM, 0, 0, 0, 0, 0, 0, run_kinds}, "text", 0},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, run_statuses}, "text", 0},
    {{"provider", V_STRING, V_NULLABLE, 0, 64}, "text", 0},
    {{"model", V_STRING, V_NULLABLE, 0, 200}, "text", 0},
    {{"user_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"subject_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"started_at", V_DATETIME}, "timestamptz", 0},
    {{"ended_at", V_DATETIME, V_NULLABLE}, "timestamptz", 0},
    {{"latency_ms", V_INT, V_NULLABLE}, "int", 0},
    {{"ttft_ms", V_INT, V_NULLABLE}, "int", 0},
    {{"tokens_in", V_INT}, "int", 0},
    {{"tokens_out", V_INT}, "int", 0},
    {{"error", V_STRING, V_NULLABLE, 0, 500}, "text", 0},
};

static const resource_filter_t run_filters[] = {
    {"status", V_ENUM, 0, run_statuses},
    {"kind", V_ENUM, 0, run_kinds},
    {"since", V_DATETIME, 0, NULL, 0, "started_at"},
};

/* One run's detail: what happened inside it, in order (the unique (run_id, seq) indexes serve
 * both lookups). */
#define RUN_ITEM_MEMBERS                                                                                               \
    "'events', (SELECT coalesce(json_agg(json_build_object('seq', e.seq, 'type', e.type, 'data', e.data,"             \
    " 'at', " CURSOR_SQL_RFC3339("e.at") ") ORDER BY e.seq), '[]') FROM pipeline_events e WHERE e.run_id = t.id),"         \
    " 'provider_calls', (SELECT coalesce(json_agg(json_build_object('seq', c.seq, 'provider', c.provider,"            \
    " 'model', c.model, 'status', c.status, 'http_status', c.http_status, 'started_at', " CURSOR_SQL_RFC3339("c.started_at") \
    ", 'latency_ms', c.latency_ms, 'ttft_ms', c.ttft_ms, 'tokens_in', c.tokens_in, 'tokens_out', c.tokens_out,"      \
    " 'error', c.error) ORDER BY c.seq), '[]') FROM provider_calls c WHERE c.run_id = t.id)"

static const resource_t pipeline_runs = {
    .name = "pipeline_runs",
    .path = "",
    .table = "pipeline_runs",
    .scope = RESOURCE_SCOPE_ORG,
    .write_auth = APP_AUTH_ADMIN,
    .flags = RESOURCE_NO_CREATE | RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE,
    .fields = run_fields,
    .nfields = sizeof(run_fields) / sizeof(run_fields[0]),
    .filters = run_filters,
    .nfilters = sizeof(run_filters) / sizeof(run_filters[0]),
    .order = "started_at",
    .item_members = RUN_ITEM_MEMBERS,
};

static const resource_t *const pipeline_admin_resources[] = {&pipeline_runs};

void pipeline_admin_register(app_t *app)
{
    resource_module(app, "pipeline_admin", pipeline_admin_resources, 1, NULL, 0);
}

/* The CRM assistant's organization data served as resources: contacts and memory rules (admins
 * write, members read), integrations (admins only; h2o.conf maps the path with app.auth:
 * admin) and background tasks (any member enqueues, every member reads). Webhooks join this
 * module as they are built. */
#include <stdio.h>

#include "handlers/handlers.h"
#include "handlers/memrule.h"
#include "pipeline/req.h"
#include "pipeline/resource/resource.h"

static const char *const contact_sources[] = {"hubspot", "gmail", "manual", NULL};

static const resource_field_t contact_fields[] = {
    {{"email", V_STRING, V_NULLABLE, 1, 320}, "text", RESOURCE_WRITE},
    {{"name", V_STRING, V_NULLABLE, 1, 200}, "text", RESOURCE_WRITE},
    {{"company", V_STRING, V_NULLABLE, 1, 200}, "text", RESOURCE_WRITE},
    {{"phone", V_STRING, V_NULLABLE, 1, 50}, "text", RESOURCE_WRITE},
    {{"source", V_ENUM, 0, 0, 0, 0, 0, 0, contact_sources}, "text", RESOURCE_WRITE, "'manual'"},
    {{"external_id", V_STRING, V_NULLABLE, 1, 255}, "text", RESOURCE_WRITE},
};

static const resource_t contacts = {
    "contacts", "", "contacts", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, 0, "name", RESOURCE_FIELDS(contact_fields)};

/* A rule is stored with its parsed form, so that webhook events are matched without parsing. */
static int derive_rule(req_t *r, json_out_t *o)
{
    json_t *rule = json_get(r->body, "rule");
    if (rule == NULL) /* a PATCH of `active` only */
        return 0;
    memrule_t parsed;
    memrule_error_t err;
    if (memrule_parse(rule->str, rule->len, &parsed, &err) != 0) {
        char msg[MEMRULE_MSG_MAX + 32];
        memrule_error_format(&err, msg, sizeof(msg));
        req_respond_validation(r, (const char *[]){"body", "rule", NULL}, msg, "rule_syntax");
        return -1;
    }
    json_out_key(o, "parsed");
    memrule_to_json(&parsed, o);
    return 0;
}

static const resource_field_t memory_rule_fields[] = {
    {{"rule", V_STRING, V_REQUIRED, 1, MEMRULE_MAX_LEN}, "text", RESOURCE_WRITE},
    {{"active", V_BOOL, 0}, "boolean", RESOURCE_WRITE, "true"},
    {{"parsed", V_OBJECT, 0}, "jsonb", RESOURCE_DERIVED},
};

static const resource_t memory_rules = {
    "memory_rules", "", "memory_rules", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, 0, NULL,
    RESOURCE_FIELDS(memory_rule_fields), derive_rule};

static const char *const integration_providers[] = {"hubspot", "gmail", "calendar", NULL};

static const resource_field_t integration_fields[] = {
    {{"provider", V_ENUM, V_REQUIRED, 0, 0, 0, 0, 0, integration_providers}, "text", RESOURCE_CREATE},
    {{"account_id", V_STRING, V_REQUIRED, 1, 320}, "text", RESOURCE_CREATE},
    /* who receives the account's events: a member of the organization */
    {{"user_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_CREATE, NULL,
     "(SELECT user_id AS id, organization_id FROM organization_memberships)"},
};

static const resource_t integrations = {
    "integrations", "", "integrations", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, RESOURCE_NO_UPDATE, NULL,
    RESOURCE_FIELDS(integration_fields)};

/* The type is only checked for shape (a type no worker knows fails at run time); the task records
 * who enqueued it. */
static int derive_task(req_t *r, json_out_t *o)
{
    json_t *type = json_get(r->body, "type");
    if (!memrule_task_type_ok(type->str, type->len)) {
        req_respond_validation(r, (const char *[]){"body", "type", NULL},
                               "String should match pattern '^[a-z0-9_.]{1,64}$'", "string_pattern_mismatch");
        return -1;
    }
    json_out_key(o, "user_id");
    json_out_str(o, r->principal->user_id);
    return 0;
}

static const char *const task_statuses[] = {"pending", "in_progress", "done", "failed", NULL};

/* type, payload and run_after are the enqueuer's; the rest is the worker's, shown as it stands.
 * user_id: who enqueued it (null for tasks of memory rules). */
static const resource_field_t task_fields[] = {
    {{"type", V_STRING, V_REQUIRED, 1, MEMRULE_TYPE_MAX}, "text", RESOURCE_CREATE},
    {{"payload", V_OBJECT, 0}, "jsonb", RESOURCE_CREATE, "'{}'::jsonb"},
    {{"run_after", V_DATETIME, 0}, "timestamptz", RESOURCE_CREATE, "now()"},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, task_statuses}, "text", 0},
    {{"attempts", V_INT, 0}, "int", 0},
    {{"last_error", V_STRING, V_NULLABLE}, "text", 0},
    {{"result", V_OBJECT, V_NULLABLE}, "jsonb", 0},
    {{"user_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_DERIVED},
    {{"updated_at", V_DATETIME, 0}, "timestamptz", 0},
};

/* Enqueueing answers 202: the task runs later. Tasks are neither edited nor deleted here. */
static const resource_t tasks = {
    "tasks", "", "tasks", RESOURCE_SCOPE_ORG, APP_AUTH_REQUIRED,
    RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE | RESOURCE_ACCEPTED, NULL, RESOURCE_FIELDS(task_fields), derive_task};

/* One module per collection, each mounted at its own path (h2o.conf: contacts, memory_rules,
 * integrations, tasks). */
void crm_register(app_t *app)
{
    static const struct {
        const char *module;
        const resource_t *res;
    } modules[] = {{"contacts", &contacts}, {"memory_rules", &memory_rules}, {"integrations", &integrations},
                   {"tasks", &tasks}};
    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
        resource_module(app, modules[i].module, &modules[i].res, 1, NULL, 0);
}

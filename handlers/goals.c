/* Personal goals: each user's own, invisible to everyone else (another user's goal is a 404).
 * Planning a goal into tasks belongs to the AI pipeline and joins this module with it. */
#include "handlers/handlers.h"
#include "pipeline/resource.h"

static const char *const goal_statuses[] = {"active", "done", "dropped", NULL};

static const res_field_t goal_fields[] = {
    {{"title", V_STRING, V_REQUIRED, 1, 200}, "text", RES_WRITE},
    {{"description", V_STRING, 0, 0, 5000}, "text", RES_WRITE, "''"},
    {{"target_date", V_DATE, V_NULLABLE}, "date", RES_WRITE},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, goal_statuses}, "text", RES_WRITE, "'active'"},
};

static const resource_t goals = {
    "goals", "/api/v1/goals", "goals", RES_SCOPE_OWNER, APP_AUTH_REQUIRED, 0, NULL, RES_FIELDS(goal_fields)};

static const resource_t *const goal_resources[] = {&goals};

void goals_register(app_t *app)
{
    resource_module(app, "goals", goal_resources, sizeof(goal_resources) / sizeof(goal_resources[0]), NULL, 0);
}

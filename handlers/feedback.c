/* Feedback on the product and on the assistant's answers: members write their own (POST
 * /api/v1/feedback, never listed, read back or edited by them), admins read their organization's
 * (GET /api/v1/admin/feedback, which h2o.conf maps with app.auth: admin). Two descriptors on the
 * one table `feedback`, which has no updated_at: rows are written once. */
#include "handlers/handlers.h"
#include "pipeline/resource/resource.h"

/* The member's view: what a create takes and answers. session_id and interaction_id must name the
 * caller's own session or turn (sessions are personal): anything else is 422 reference_not_found.
 * Interactions carry their owner through their session, hence the subquery. */
static const resource_field_t feedback_fields[] = {
    {{"category", V_STRING, V_REQUIRED, 1, 50}, "text", RESOURCE_CREATE},
    {{"message", V_STRING, V_REQUIRED, 1, 5000}, "text", RESOURCE_CREATE},
    {{"rating", V_INT, V_REQUIRED, 0, 0, 1, 5}, "int", RESOURCE_CREATE},
    {{"session_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_CREATE | RESOURCE_REF_OWNED, NULL, "sessions"},
    {{"interaction_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_CREATE | RESOURCE_REF_OWNED, NULL,
     "(SELECT i.id, s.organization_id, s.user_id FROM interactions i JOIN sessions s ON s.id = i.session_id)"},
};

static const resource_t feedback = {
    "feedback", "", "feedback", RESOURCE_SCOPE_OWNER, APP_AUTH_REQUIRED,
    RESOURCE_NO_LIST | RESOURCE_NO_GET | RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE, NULL, RESOURCE_FIELDS(feedback_fields)};

/* The admins' view: read-only, with the author. message is NULL for a WebSocket rating sent
 * without a comment. */
static const resource_field_t admin_feedback_fields[] = {
    {{"user_id", V_UUID}, "uuid", 0},
    {{"category", V_STRING, 0, 1, 50}, "text", 0},
    {{"message", V_STRING, V_NULLABLE, 1, 5000}, "text", 0},
    {{"rating", V_INT, 0, 0, 0, 1, 5}, "int", 0},
    {{"session_id", V_UUID, V_NULLABLE}, "uuid", 0},
    {{"interaction_id", V_UUID, V_NULLABLE}, "uuid", 0},
};

static const resource_t admin_feedback = {
    "admin_feedback", "", "feedback", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN,
    RESOURCE_NO_CREATE | RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE, NULL, RESOURCE_FIELDS(admin_feedback_fields)};

static const resource_t *const feedback_resources[] = {&feedback};
static const resource_t *const admin_feedback_resources[] = {&admin_feedback};

/* Two modules: the caller's feedback, and the organization's for its admins (h2o.conf mounts
 * admin_feedback with app.auth: admin). */
void feedback_register(app_t *app)
{
    resource_module(app, "feedback", feedback_resources, 1, NULL, 0);
    resource_module(app, "admin_feedback", admin_feedback_resources, 1, NULL, 0);
}

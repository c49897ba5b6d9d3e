/* The owner's view of their workspace's conversations with visitors: list (by channel, tag,
 * status), read, tag and close them, and read their messages. Visitors reach a conversation
 * through the public chat module with its token instead. */
#include "handlers/conversations.h"
#include "handlers/handlers.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/resource/resource.h"
#include "pipeline/since.h"
#include "pipeline/validate.h"

static const char *const channels[] = {"web", "instagram", "whatsapp", "sms", "messenger", "chatgpt", "phone", NULL};
static const char *const statuses[] = {"open", "closed", NULL};

static const resource_field_t conversation_fields[] = {
    {{"workspace_id", V_UUID, 0}, "uuid", 0},
    {{"channel", V_ENUM, 0, 0, 0, 0, 0, 0, channels}, "text", 0},
    {{"visitor_name", V_STRING, V_NULLABLE, 1, 100}, "text", 0},
    {{"tags", V_STRINGS, 0, 0, 50, 0, 0, 50}, "text[]", RESOURCE_UPDATE},
    {{"status", V_ENUM, 0, 0, 0, 0, 0, 0, statuses}, "text", RESOURCE_UPDATE},
    {{"time_saved_seconds", V_INT, 0, 0, 0, 0, 1000000000}, "int", RESOURCE_UPDATE},
};

static const resource_filter_t conversation_filters[] = {
    {"channel", V_ENUM, 0, channels},
    {"tag", V_STRING, 50, NULL, RESOURCE_FILTER_ELEMENT, "tags"},
    {"status", V_ENUM, 0, statuses},
};

static const resource_t conversations = {
    "conversations", "", "conversations", RESOURCE_SCOPE_WORKSPACE, APP_AUTH_REQUIRED,
    RESOURCE_NO_CREATE | RESOURCE_NO_DELETE, NULL, RESOURCE_FIELDS(conversation_fields), NULL, RESOURCE_FILTERS(conversation_filters)};

/* $1 organization, $2 user, $3 the conversation (in the caller's workspace), then the page. */
static const db_stmt_t stmt_messages = {
    "conversations_messages",
    "WITH parent AS (SELECT c.id FROM conversations c JOIN workspaces w ON w.id = c.workspace_id"
    "   WHERE w.user_id = $2::uuid AND w.organization_id = $1::uuid AND c.id = $3::uuid),"
    CONVERSATION_MESSAGES_PAGE_SQL(""),
    SINCE_PAGE_PARAMS, DB_STMT_READONLY};

void conversations_list_messages(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2,
                                 void (*on_hidden)(req_t *r, const PGresult *pg))
{
    since_list(r, stmt, p1, p2, "a message of this conversation", on_hidden);
}

/* GET /api/v1/conversations/{id}/messages?since=&limit=&cursor= */
static void list_messages(req_t *r)
{
    conversations_list_messages(r, &stmt_messages, r->principal->org_id, r->principal->user_id, NULL);
}

static const app_route_t conversation_routes[] = {
    {"GET", "/{id}/messages", list_messages, ROUTE_SINCE, APP_AUTH_REQUIRED},
};

static const resource_t *const conversation_resources[] = {&conversations};

void conversations_register(app_t *app)
{
    app_add_stmt(app, &stmt_messages);
    resource_module(app, "conversations", conversation_resources,
                    sizeof(conversation_resources) / sizeof(conversation_resources[0]), conversation_routes,
                    sizeof(conversation_routes) / sizeof(conversation_routes[0]));
}

/* The list of handler modules compiled into the server. */
#include "handlers/handlers.h"

void handlers_register(app_t *app)
{
    health_register(app);
    fallback_register(app);
    echo_register(app);
    sailwind_register(app);
    crm_register(app);
    goals_register(app);
    identity_register(app);
    profile_register(app);
    orgs_register(app);
    feedback_register(app);
    skills_register(app);
    sessions_register(app);
    workspaces_register(app);
    conversations_register(app);
    public_chat_register(app);
    pipeline_admin_register(app);
    prometheus_register(app);
    docs_register(app);
}

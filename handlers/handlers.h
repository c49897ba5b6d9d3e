/* Every handler module's register function, and the one call that registers them all. */
#ifndef handlers_handlers_h
#define handlers_handlers_h

#include "pipeline/app.h"

void health_register(app_t *app);
void fallback_register(app_t *app);
void echo_register(app_t *app);
void sailwind_register(app_t *app);
void crm_register(app_t *app);
void goals_register(app_t *app);
void docs_register(app_t *app);
void identity_register(app_t *app);
void profile_register(app_t *app);
void orgs_register(app_t *app);
void feedback_register(app_t *app);
void skills_register(app_t *app);
void sessions_register(app_t *app);
void workspaces_register(app_t *app);
void conversations_register(app_t *app);
void public_chat_register(app_t *app);
void pipeline_admin_register(app_t *app);
void prometheus_register(app_t *app);

/* Registers every module; h2o.conf then names them with app.handler. */
void handlers_register(app_t *app);

#endif

/* The CRM assistant's organization data served as resources: contacts (admins write, members
 * read). Tasks, memory rules, integrations and webhooks join this module as they are built. */
#include "handlers/handlers.h"
#include "pipeline/resource.h"

static const char *const contact_sources[] = {"hubspot", "gmail", "manual", NULL};

static const res_field_t contact_fields[] = {
    {{"email", V_STRING, V_NULLABLE, 1, 320}, "text", RES_WRITE},
    {{"name", V_STRING, V_NULLABLE, 1, 200}, "text", RES_WRITE},
    {{"company", V_STRING, V_NULLABLE, 1, 200}, "text", RES_WRITE},
    {{"phone", V_STRING, V_NULLABLE, 1, 50}, "text", RES_WRITE},
    {{"source", V_ENUM, 0, 0, 0, 0, 0, 0, contact_sources}, "text", RES_WRITE, "'manual'"},
    {{"external_id", V_STRING, V_NULLABLE, 1, 255}, "text", RES_WRITE},
};

static const resource_t contacts = {
    "contacts", "/api/v1/contacts", "contacts", RES_SCOPE_ORG, APP_AUTH_ADMIN, 0, "name", RES_FIELDS(contact_fields)};

static const resource_t *const crm_resources[] = {&contacts};

void crm_register(app_t *app)
{
    resource_module(app, "crm", crm_resources, sizeof(crm_resources) / sizeof(crm_resources[0]), NULL, 0);
}

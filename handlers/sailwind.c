/* The sales playbook (Sailwind): archetypes, clients, products and strategies of an organization,
 * described as resources. Admins write them; every member of the organization reads them. Rep
 * assignments and practice sessions (sailwind_assignments.c, sailwind_practice.c) join the module. */
#include "handlers/handlers.h"
#include "handlers/sailwind.h"

#define NAME_FIELD {"name", V_STRING, V_REQUIRED, 1, 200}

static const resource_field_t archetype_fields[] = {
    {NAME_FIELD, "text", RESOURCE_WRITE},
    {{"description", V_STRING, 0, 0, 5000}, "text", RESOURCE_WRITE, "''"},
    {{"traits", V_OBJECT, 0, 0, 50}, "jsonb", RESOURCE_WRITE, "'{}'::jsonb"},
};

static const resource_t client_archetypes = {
    "client_archetypes", "/client-archetypes", "client_archetypes", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, 0,
    NULL, RESOURCE_FIELDS(archetype_fields)};

static const resource_t product_archetypes = {
    "product_archetypes", "/product-archetypes", "product_archetypes", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, 0,
    NULL, RESOURCE_FIELDS(archetype_fields)};

static const resource_field_t client_fields[] = {
    {NAME_FIELD, "text", RESOURCE_WRITE},
    {{"industry", V_STRING, V_NULLABLE, 0, 200}, "text", RESOURCE_WRITE},
    {{"size", V_STRING, V_NULLABLE, 0, 50}, "text", RESOURCE_WRITE},
    {{"notes", V_STRING, V_NULLABLE, 0, 10000}, "text", RESOURCE_WRITE},
    {{"archetype_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_WRITE, NULL, "client_archetypes"},
};

static const resource_t clients = {
    "clients", "/clients", "clients", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, RESOURCE_SOFT_DELETE,
    "name", RESOURCE_FIELDS(client_fields)};

static const resource_field_t product_fields[] = {
    {NAME_FIELD, "text", RESOURCE_WRITE},
    {{"description", V_STRING, 0, 0, 5000}, "text", RESOURCE_WRITE, "''"},
    {{"price_cents", V_INT, V_NULLABLE, 0, 0, 0, 1000000000000LL}, "bigint", RESOURCE_WRITE},
    {{"currency", V_CODE, 0, 3, 3}, "text", RESOURCE_WRITE, "'USD'"},
    {{"archetype_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_WRITE, NULL, "product_archetypes"},
};

static const resource_t products = {
    "products", "/products", "products", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, RESOURCE_SOFT_DELETE,
    "name", RESOURCE_FIELDS(product_fields)};

static const resource_field_t strategy_fields[] = {
    {NAME_FIELD, "text", RESOURCE_WRITE},
    {{"client_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_WRITE, NULL, "clients"},
    {{"product_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_WRITE, NULL, "products"},
    {{"playbook", V_STRING, 0, 0, 20000}, "text", RESOURCE_WRITE, "''"},
    {{"objections", V_STRINGS, 0, 0, 50, 0, 0, 500}, "jsonb", RESOURCE_WRITE, "'[]'::jsonb"},
};

static const resource_t strategies = {
    "strategies", "/strategies", "strategies", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN, RESOURCE_NO_DELETE,
    NULL, RESOURCE_FIELDS(strategy_fields)};

static const resource_t *const sailwind_resources[] = {&client_archetypes, &product_archetypes, &clients, &products,
                                                       &strategies, &sailwind_rep_assignments};

static const app_route_t sailwind_routes[] = {
    {"GET", "/my/rep-assignments", sailwind_my_rep_assignments, ROUTE_PAGE, APP_AUTH_REQUIRED},
    {"POST", "/practice-sessions", sailwind_practice_start, ROUTE_JSON_BODY, APP_AUTH_REQUIRED},
    {"GET", "/my/practice-sessions", sailwind_my_practice_sessions, ROUTE_PAGE,
     APP_AUTH_REQUIRED},
};

void sailwind_register(app_t *app)
{
    sailwind_assignments_add_stmts(app);
    sailwind_practice_add_stmts(app);
    resource_module(app, "sailwind", sailwind_resources, sizeof(sailwind_resources) / sizeof(sailwind_resources[0]),
                    sailwind_routes, sizeof(sailwind_routes) / sizeof(sailwind_routes[0]));
}

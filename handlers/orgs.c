/* The caller's organizations, and (admins only) the members of the organization they are acting
 * in. Every statement is bound to the caller: an organization they are not in is a 404. */
#include <string.h>

#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

#define ORG_JSON                                                                                                       \
    "json_build_object('id', o.id, 'external_id', o.external_id, 'name', o.name, 'role', m.role,"                     \
    " 'created_at', " CURSOR_SQL_RFC3339("o.created_at") ")::text"

/* $1 the caller's user id; page: $2 after ts, $3 after id (both NULL on the first page), $4 rows. */
static const db_stmt_t stmt_list = {
    "orgs_list",
    "SELECT " ORG_JSON ", " CURSOR_SQL_TS("o.created_at") ", o.id::text"
    " FROM organization_memberships m JOIN organizations o ON o.id = m.organization_id"
    " WHERE m.user_id = $1::uuid"
    "   AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2::timestamptz, $3::uuid))"
    " ORDER BY o.created_at DESC, o.id DESC LIMIT $4::int",
    4, DB_STMT_READONLY};

/* $1 the caller's user id, $2 the organization asked for. */
static const db_stmt_t stmt_get = {
    "orgs_get",
    "SELECT " ORG_JSON
    " FROM organization_memberships m JOIN organizations o ON o.id = m.organization_id"
    " WHERE m.user_id = $1::uuid AND m.organization_id = $2::uuid",
    2, DB_STMT_READONLY};

/* $1 the caller's organization (the handler has checked it is the one asked for); page as above. */
static const db_stmt_t stmt_members = {
    "orgs_members",
    "SELECT json_build_object('user_id', u.id, 'external_id', u.external_id, 'email', u.email, 'name', u.name,"
    "   'role', m.role, 'joined_at', " CURSOR_SQL_RFC3339("m.created_at") ")::text,"
    " " CURSOR_SQL_TS("m.created_at") ", u.id::text"
    " FROM organization_memberships m JOIN users u ON u.id = m.user_id"
    " WHERE m.organization_id = $1::uuid"
    "   AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) < ($2::timestamptz, $3::uuid))"
    " ORDER BY m.created_at DESC, m.user_id DESC LIMIT $4::int",
    4, DB_STMT_READONLY};

static void list_orgs(req_t *r)
{
    cursor_page_query(r, "orgs", &stmt_list, (const char *const[]){r->principal->user_id}, 1);
}

static void on_org(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1) {
        req_respond_not_found(r);
        return;
    }
    req_respond_cell(r, 200, res->pg, 0);
}

static void get_org(req_t *r)
{
    h2o_iovec_t id = req_param(r, "id");
    char uuid[37];
    if (!validate_uuid(id.base, id.len, uuid)) {
        req_respond_not_found(r);
        return;
    }
    const char *values[] = {r->principal->user_id, uuid};
    req_query(r, &stmt_get, values, 2, on_org);
}

/* Members of the organization the caller acts in, never of another one: anyone asking for
 * another org's members gets the 404 an unknown id gets (API.md: 404 for everyone), so the
 * admin check comes after the org check rather than in the route's auth level. */
static void list_members(req_t *r)
{
    h2o_iovec_t id = req_param(r, "id");
    char uuid[37];
    if (!validate_uuid(id.base, id.len, uuid) || strcmp(uuid, r->principal->org_id) != 0) {
        req_respond_not_found(r);
        return;
    }
    if (r->principal->role != PRINCIPAL_ADMIN) {
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
        return;
    }
    cursor_page_query(r, "org_members", &stmt_members, (const char *const[]){r->principal->org_id}, 1);
}

static const app_route_t orgs_routes[] = {
    {"GET", "", list_orgs, ROUTE_PAGE, APP_AUTH_REQUIRED},
    {"GET", "/{id}", get_org, 0, APP_AUTH_REQUIRED},
    {"GET", "/{id}/members", list_members, ROUTE_PAGE, APP_AUTH_REQUIRED},
};

static const app_module_t orgs_module = {"orgs", orgs_routes, sizeof(orgs_routes) / sizeof(orgs_routes[0])};

void orgs_register(app_t *app)
{
    app_add_module(app, &orgs_module);
    app_add_stmt(app, &stmt_list);
    app_add_stmt(app, &stmt_get);
    app_add_stmt(app, &stmt_members);
}

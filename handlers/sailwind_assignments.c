/* Rep assignments: an admin asks a member of the organization to practise selling a product to a
 * client (with a strategy, optionally). Created by admins as a resource; each rep lists their own,
 * with the names of what they practise. */
#include "handlers/sailwind.h"
#include "pipeline/cursor.h"

/* created_by is the admin who made it, never a value of the body. */
static int derive_created_by(req_t *r, json_out_t *o)
{
    json_out_key(o, "created_by");
    json_out_str(o, r->principal->user_id);
    return 0;
}

static const resource_field_t assignment_fields[] = {
    /* the rep: a member of the caller's organization */
    {{"user_id", V_UUID, V_REQUIRED}, "uuid", RESOURCE_CREATE, NULL,
     "(SELECT user_id AS id, organization_id FROM organization_memberships)"},
    {{"client_id", V_UUID, V_REQUIRED}, "uuid", RESOURCE_CREATE, NULL, "clients"},
    {{"product_id", V_UUID, V_REQUIRED}, "uuid", RESOURCE_CREATE, NULL, "products"},
    {{"strategy_id", V_UUID, V_NULLABLE}, "uuid", RESOURCE_CREATE, NULL, "strategies"},
    {{"created_by", V_UUID, V_NULLABLE}, "uuid", RESOURCE_DERIVED},
};

/* Admins create and read them (one by id, for Location); the list is per rep (below). Not edited:
 * an assignment is replaced by another. A duplicate (rep, client, product) is a 409. */
const resource_t sailwind_rep_assignments = {
    "rep_assignments", "/rep-assignments", "rep_assignments", RESOURCE_SCOPE_ORG, APP_AUTH_ADMIN,
    RESOURCE_NO_LIST | RESOURCE_NO_UPDATE | RESOURCE_NO_DELETE, NULL, RESOURCE_FIELDS(assignment_fields), derive_created_by};

/* $1 organization, $2 the caller, then the page: $3 after ts, $4 after id, $5 limit + 1. Rows:
 * (item, cursor ts, id), newest first. Clients and products are joined in the organization, as
 * the foreign keys guarantee; archived ones are still named. */
static const db_stmt_t stmt_mine = {
    "rep_assignments_mine",
    "SELECT json_build_object('id', a.id, 'user_id', a.user_id,"
    "   'client_id', a.client_id, 'client_name', c.name, 'product_id', a.product_id, 'product_name', p.name,"
    "   'strategy_id', a.strategy_id, 'strategy_name', s.name, 'created_by', a.created_by,"
    "   'created_at', " CURSOR_SQL_RFC3339("a.created_at") ")::text,"
    " " CURSOR_SQL_TS("a.created_at") ", a.id::text"
    " FROM rep_assignments a"
    " JOIN clients c ON c.organization_id = a.organization_id AND c.id = a.client_id"
    " JOIN products p ON p.organization_id = a.organization_id AND p.id = a.product_id"
    " LEFT JOIN strategies s ON s.organization_id = a.organization_id AND s.id = a.strategy_id"
    " WHERE a.organization_id = $1::uuid AND a.user_id = $2::uuid"
    "   AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3::timestamptz, $4::uuid))"
    " ORDER BY a.created_at DESC, a.id DESC LIMIT $5::int",
    5, DB_STMT_READONLY};

void sailwind_my_rep_assignments(req_t *r)
{
    const char *values[] = {r->principal->org_id, r->principal->user_id};
    cursor_page_query(r, "my_rep_assignments", &stmt_mine, values, 2);
}

void sailwind_assignments_add_stmts(app_t *app)
{
    app_add_stmt(app, &stmt_mine);
}

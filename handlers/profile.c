/* The caller's own profile: GET answers defaults until the first PATCH stores a row; PATCH
 * validates the fields it is given and upserts them in one statement. */
#include "handlers/handlers.h"
#include "pipeline/cursor.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

/* The limits the schema's CHECKs mirror (schema/0002_profiles.up.sql). */
static const vfield_t profile_fields[] = {
    {"display_name", V_STRING, V_NULLABLE, .max_len = 100},
    {"business_name", V_STRING, V_NULLABLE, .max_len = 100},
    {"tagline", V_STRING, V_NULLABLE, .max_len = 200},
    {"bio", V_STRING, V_NULLABLE, .max_len = 2000},
    {"phone", V_PHONE, V_NULLABLE},
    {"website", V_URL, V_NULLABLE, .max_len = 2048},
    {"social_links", V_OBJECT, V_STRING_VALUES, .max_len = 20, .item_max_len = 2048},
    {"timezone", V_TIMEZONE, 0},
    {"setup_completed", V_BOOL, 0},
};

/* p may be a missing row (LEFT JOIN): the defaults a new profile gets. */
#define PROFILE_JSON                                                                                                   \
    "json_build_object('user_id', u.id, 'display_name', p.display_name, 'business_name', p.business_name,"             \
    " 'tagline', p.tagline, 'bio', p.bio, 'phone', p.phone, 'website', p.website,"                                     \
    " 'social_links', coalesce(p.social_links, '{}'::jsonb), 'timezone', coalesce(p.timezone, 'UTC'),"                 \
    " 'setup_completed', coalesce(p.setup_completed, false),"                                                          \
    " 'created_at', " CURSOR_SQL_RFC3339("p.created_at") ", 'updated_at', " CURSOR_SQL_RFC3339("p.updated_at") ")::text"

/* $1 the caller's user id. */
static const db_stmt_t stmt_get = {
    "profile_get",
    "SELECT " PROFILE_JSON " FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = $1::uuid",
    1, DB_STMT_READONLY};

/* One field of the upsert: the patch's value when the patch names the field, else the row's. */
#define SET_IF_GIVEN(col) col " = CASE WHEN $2::jsonb ? '" col "' THEN EXCLUDED." col " ELSE p." col " END, "

/* $1 the caller's user id, $2 the validated patch (a JSON object of known fields; null clears).
 * A first PATCH inserts the row with defaults for what it does not name; an empty patch, or one
 * that changes nothing, writes nothing (updated_at stays). The answer is the profile as it now
 * is, read in the same statement. */
static const db_stmt_t stmt_patch = {
    "profile_patch",
    "WITH up AS ("
    " INSERT INTO user_profiles AS p (user_id, display_name, business_name, tagline, bio, phone, website,"
    "   social_links, timezone, setup_completed)"
    " SELECT $1::uuid, j->>'display_name', j->>'business_name', j->>'tagline', j->>'bio', j->>'phone',"
    "   j->>'website', coalesce(j->'social_links', '{}'), coalesce(j->>'timezone', 'UTC'),"
    "   coalesce((j->>'setup_completed')::boolean, false)"
    " FROM (SELECT $2::jsonb AS j) patch WHERE j <> '{}'::jsonb"
    " ON CONFLICT (user_id) DO UPDATE SET "
    SET_IF_GIVEN("display_name") SET_IF_GIVEN("business_name") SET_IF_GIVEN("tagline") SET_IF_GIVEN("bio")
    SET_IF_GIVEN("phone") SET_IF_GIVEN("website") SET_IF_GIVEN("social_links") SET_IF_GIVEN("timezone")
    SET_IF_GIVEN("setup_completed")
    " updated_at = now()"
    " WHERE EXISTS (SELECT 1 FROM jsonb_each($2::jsonb) e WHERE to_jsonb(p) -> e.key IS DISTINCT FROM e.value)"
    " RETURNING p.*)"
    " SELECT " PROFILE_JSON " FROM users u LEFT JOIN LATERAL ("
    "   SELECT * FROM up UNION ALL"
    "   SELECT * FROM user_profiles q WHERE q.user_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM up)) p ON true"
    " WHERE u.id = $1::uuid",
    2, 0};

static void on_profile(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1) { /* the user row is gone (deleted since the token was resolved) */
        req_respond_error(r, 404, "not_found", "Not found");
        return;
    }
    req_respond_cell(r, 200, res->pg, 0);
}

static void get_profile(req_t *r)
{
    const char *values[] = {r->principal->user_id};
    req_query(r, &stmt_get, values, 1, on_profile);
}

static void patch_profile(req_t *r)
{
    static const vschema_t schema = {profile_fields, sizeof(profile_fields) / sizeof(profile_fields[0])};
    if (validate_body(r, &schema, V_PARTIAL) != 0)
        return;
    /* Only known, valid members are left: the body itself is the patch. */
    json_out_t patch = json_out_pool(&r->h2o->pool, r->h2o->entity.len + 16);
    json_out_value(&patch, r->body);
    const char *values[] = {r->principal->user_id, h2o_strdup(&r->h2o->pool, patch.buf, patch.len).base};
    req_query(r, &stmt_patch, values, 2, on_profile);
}

static const app_route_t profile_routes[] = {
    {"GET", "", get_profile, 0, APP_AUTH_REQUIRED},
    {"PATCH", "", patch_profile, ROUTE_JSON_BODY, APP_AUTH_REQUIRED},
};

static const app_module_t profile_module = {"profile", profile_routes, sizeof(profile_routes) / sizeof(profile_routes[0])};

void profile_register(app_t *app)
{
    app_add_module(app, &profile_module);
    app_add_stmt(app, &stmt_get);
    app_add_stmt(app, &stmt_patch);
}

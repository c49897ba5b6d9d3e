/* Who am I: POST /api/v1/auth/verify checks a token handed in the body (for clients that want to
 * know before they call), GET /api/v1/auth/me reads the caller's user, organization and role. */
#include <stdio.h>
#include <time.h>

#include "handlers/handlers.h"
#include "pipeline/principal.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

/* $1 user id, $2 org id: both the principal's, so the row is the caller's own membership. */
static const db_stmt_t stmt_me = {
    "identity_me",
    "SELECT json_build_object("
    "  'user', json_build_object('id', u.id, 'external_id', u.external_id, 'email', u.email, 'name', u.name),"
    "  'organization', json_build_object('id', o.id, 'external_id', o.external_id, 'name', o.name),"
    "  'role', m.role)::text"
    " FROM organization_memberships m"
    " JOIN users u ON u.id = m.user_id"
    " JOIN organizations o ON o.id = m.organization_id"
    " WHERE m.user_id = $1::uuid AND m.organization_id = $2::uuid",
    2, DB_STMT_READONLY};

/* The token is verified whatever its length (an overlong one is a 401 like any bad token). */
static const vfield_t verify_fields[] = {
    {"token", V_STRING, V_REQUIRED},
};

/* The 401's detail says why without repeating anything from the token. */
static const char *why(auth_status_t st)
{
    switch (st) {
    case AUTH_ERR_EXPIRED: return "Token expired";
    case AUTH_ERR_NOT_YET_VALID: return "Token not yet valid";
    case AUTH_ERR_ISSUER: return "Token issuer not accepted";
    case AUTH_ERR_AUDIENCE: return "Token audience not accepted";
    case AUTH_ERR_ALGORITHM: return "Token algorithm not accepted";
    case AUTH_ERR_SIGNATURE: return "Token signature invalid";
    case AUTH_ERR_UNKNOWN_KID: return "Token signed by an unknown key";
    case AUTH_ERR_CLAIMS: return "Token claims missing or invalid";
    case AUTH_ERR_MALFORMED: return "Token malformed";
    default: return "Invalid token";
    }
}

static void on_verified(req_t *r, const principal_t *p, auth_status_t st, int db_status)
{
    if (p == NULL) {
        if (st == AUTH_OK) { /* verified, but provisioning could not reach the database */
            db_result_t res = {.status = (db_status_t)db_status};
            req_respond_db_error(r, &res);
            return;
        }
        req_respond_error(r, 401, "unauthorized", why(st));
        return;
    }
    json_out_t o = json_out_pool(&r->h2o->pool, 256);
    json_out_obj_begin(&o);
    json_out_key(&o, "valid");
    json_out_bool(&o, 1);
    json_out_key(&o, "user_id");
    json_out_str(&o, p->user_id);
    json_out_key(&o, "org_id");
    json_out_str(&o, p->org_id);
    json_out_key(&o, "role");
    json_out_str(&o, p->role == PRINCIPAL_ADMIN ? "admin" : "member");
    json_out_key(&o, "expires_at");
    struct tm tm;
    time_t exp = (time_t)p->expires_at;
    char ts[32];
    if (p->expires_at > 0 && gmtime_r(&exp, &tm) != NULL && strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
        json_out_str(&o, ts);
    else
        json_out_null(&o);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static void verify(req_t *r)
{
    static const vschema_t schema = {verify_fields, sizeof(verify_fields) / sizeof(verify_fields[0])};
    if (validate_body(r, &schema, V_FULL) != 0)
        return;
    const json_t *token = json_get(r->body, "token");
    principal_resolve(r, token->str, token->len, on_verified);
}

static void on_me(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1) { /* the membership went away after the token was resolved */
        req_respond_error(r, 401, "unauthorized", "Not a member of this organization");
        return;
    }
    /* the result is freed after this callback, the response is sent later: copy it */
    req_respond_cell(r, 200, res->pg, 0);
}

static void me(req_t *r)
{
    const char *values[] = {r->principal->user_id, r->principal->org_id};
    req_query(r, &stmt_me, values, 2, on_me);
}

static const app_route_t identity_routes[] = {
    {"POST", "/verify", verify, ROUTE_JSON_BODY, APP_AUTH_NONE}, /* the token is in the body */
    {"GET", "/me", me, 0, APP_AUTH_REQUIRED},
};

static const app_module_t identity_module = {"identity", identity_routes,
                                             sizeof(identity_routes) / sizeof(identity_routes[0])};

void identity_register(app_t *app)
{
    app_add_module(app, &identity_module);
    app_add_stmt(app, &stmt_me);
}

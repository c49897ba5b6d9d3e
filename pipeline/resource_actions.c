/* The generic actions behind every resource route: list, get, create, update, delete. Each reads
 * its resource from the route, checks input against the resource's fields, and runs one of the
 * statements resource.c generated with the caller's organization (and user) as parameters. */
#include <stdio.h>
#include <string.h>

#include "pipeline/cursor.h"
#include "pipeline/log.h"
#include "pipeline/resource_internal.h"

#define RES_Q_MAX 200

static const res_rt_t *rt_of(req_t *r)
{
    return r->route->data;
}

/* The values every statement starts with: the scope. */
static int scope_values(req_t *r, const res_rt_t *rt, const char **values)
{
    values[0] = r->principal->org_id;
    if (rt->nscope == 2)
        values[1] = r->principal->user_id;
    return rt->nscope;
}

static void not_found(req_t *r)
{
    req_respond_error(r, 404, "not_found", "Not found");
}

/* The {id} of the route, lower-cased in the request pool; an id that is not a UUID is answered
 * with the 404 an unknown one gets (NULL). */
static const char *item_id(req_t *r)
{
    h2o_iovec_t id = req_param(r, "id");
    char *out = h2o_mem_alloc_pool(&r->h2o->pool, 37);
    if (validate_uuid(id.base, id.len, out))
        return out;
    not_found(r);
    return NULL;
}

/* The body as the statement's jsonb parameter: the validated JSON, plus the members the
 * resource derives from it (NULL when the derive hook refused the body and answered). */
static const char *body_text(req_t *r)
{
    const resource_t *res = rt_of(r)->res;
    if (res->derive == NULL)
        return h2o_strdup(&r->h2o->pool, r->h2o->entity.base, r->h2o->entity.len).base;
    json_out_t o = json_out_pool(&r->h2o->pool, r->h2o->entity.len + 256);
    json_out_obj_begin(&o);
    for (size_t i = 0; i < r->body->len; i++) {
        json_out_keyn(&o, r->body->members[i].key, r->body->members[i].key_len);
        json_out_value(&o, r->body->members[i].value);
    }
    if (res->derive(r, &o) != 0)
        return NULL;
    json_out_obj_end(&o);
    return json_out_cstr(&o);
}

/* Constraint failures the validator could not foresee: a duplicate is a conflict, anything else
 * the row's own rules refused is the caller's input. */
static void respond_write_error(req_t *r, const db_result_t *res)
{
    if (res->status == DB_ERR_QUERY && res->sqlstate != NULL) {
        if (strcmp(res->sqlstate, "23505") == 0) {
            req_respond_error(r, 409, "conflict", "A record with these values already exists");
            return;
        }
        if (strcmp(res->sqlstate, "23503") == 0) {
            req_respond_validation(r, (const char *[]){"body", NULL}, "A referenced record does not exist",
                                   "reference_not_found");
            return;
        }
        if (strncmp(res->sqlstate, "23", 2) == 0 || strncmp(res->sqlstate, "22", 2) == 0) {
            req_respond_validation(r, (const char *[]){"body", NULL}, "The values break a rule of this record",
                                   "value_error");
            return;
        }
    }
    req_respond_db_error(r, res);
}

/* ---- list and get ------------------------------------------------------------------------ */

static void on_list(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    page_respond(r, r->state, res);
}

void res_list(req_t *r)
{
    const res_rt_t *rt = rt_of(r);
    page_t *page = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*page));
    if (page_from_query(r, rt->res->name, page) != 0)
        return;
    r->state = page;
    const char *values[8] = {NULL};
    scope_values(r, rt, values);
    if (rt->p_archived) {
        char v[8];
        long n = req_query_param(r, "include_archived", v, sizeof(v));
        if (n >= 0 && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            req_respond_validation(r, (const char *[]){"query", "include_archived", NULL},
                                   "Input should be a valid boolean", "bool_parsing");
            return;
        }
        values[rt->p_archived - 1] = n >= 0 && strcmp(v, "true") == 0 ? "true" : "false";
    }
    if (rt->p_q) {
        char *q = h2o_mem_alloc_pool(&r->h2o->pool, RES_Q_MAX + 1);
        long n = req_query_param(r, "q", q, RES_Q_MAX + 1);
        if (n == -2) {
            req_respond_validation(r, (const char *[]){"query", "q", NULL}, "String should have at most 200 characters",
                                   "string_too_long");
            return;
        }
        values[rt->p_q - 1] = n > 0 ? q : NULL;
    }
    values[rt->p_ts - 1] = page_after_ts(page);
    values[rt->p_id - 1] = page_after_id(page);
    values[rt->p_limit - 1] = page->fetch;
    req_query(r, &rt->list, values, rt->p_limit, on_list);
}

static void on_get(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        req_respond_db_error(r, res);
    else if (PQntuples(res->pg) != 1)
        not_found(r);
    else
        req_respond_cell(r, 200, res->pg, 0);
}

void res_get(req_t *r)
{
    const res_rt_t *rt = rt_of(r);
    const char *id = item_id(r);
    if (id == NULL)
        return;
    const char *values[3];
    int n = scope_values(r, rt, values);
    values[n++] = id;
    req_query(r, &rt->get, values, n, on_get);
}

/* ---- writes ------------------------------------------------------------------------------ */

/* A member writing to an admin resource: 403 for a row of their own organization, the 404 an
 * unknown id gets for anything else (API.md: another org's ids are 404 for everyone). */
static int member_of_admin_resource(req_t *r)
{
    return rt_of(r)->res->write_auth == APP_AUTH_ADMIN && r->principal->role != PRINCIPAL_ADMIN;
}

static void on_exists_for_member(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        req_respond_db_error(r, res);
    else if (PQntuples(res->pg) != 1)
        not_found(r);
    else
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
}

static void refuse_member(req_t *r, const char *id)
{
    const res_rt_t *rt = rt_of(r);
    const char *values[3];
    int n = scope_values(r, rt, values);
    values[n++] = id;
    req_query(r, &rt->get, values, n, on_exists_for_member);
}

static void respond_bad_ref(req_t *r, const db_result_t *res)
{
    const char *field = PQgetvalue(res->pg, 0, 1);
    req_respond_validation(r, (const char *[]){"body", field, NULL}, "The referenced record does not exist",
                           "reference_not_found");
}

static void on_create(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        respond_write_error(r, res);
        return;
    }
    if (!PQgetisnull(res->pg, 0, 1)) {
        respond_bad_ref(r, res);
        return;
    }
    char location[512];
    snprintf(location, sizeof(location), "%s/%s", rt_of(r)->res->path, PQgetvalue(res->pg, 0, 2));
    req_add_header(r, "location", h2o_strdup(&r->h2o->pool, location, SIZE_MAX).base);
    req_respond_cell(r, rt_of(r)->res->flags & RES_ACCEPTED ? 202 : 201, res->pg, 0);
}

void res_create(req_t *r)
{
    const res_rt_t *rt = rt_of(r);
    if (member_of_admin_resource(r)) {
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
        return;
    }
    if (validate_body(r, &rt->create_schema, V_FULL) != 0)
        return;
    const char *values[3];
    int n = scope_values(r, rt, values);
    if ((values[n++] = body_text(r)) == NULL)
        return;
    req_query(r, &rt->create, values, n, on_create);
}

static void on_update(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        respond_write_error(r, res);
    else if (!PQgetisnull(res->pg, 0, 1))
        respond_bad_ref(r, res);
    else if (PQgetisnull(res->pg, 0, 0))
        not_found(r);
    else
        req_respond_cell(r, 200, res->pg, 0);
}

void res_update(req_t *r)
{
    const res_rt_t *rt = rt_of(r);
    const char *idv = item_id(r);
    if (idv == NULL)
        return;
    if (member_of_admin_resource(r)) {
        refuse_member(r, idv);
        return;
    }
    if (validate_body(r, &rt->update_schema, V_PARTIAL) != 0)
        return;
    const char *values[4];
    int n = scope_values(r, rt, values);
    if ((values[n++] = body_text(r)) == NULL)
        return;
    values[n++] = idv;
    req_query(r, &rt->update, values, n, on_update);
}

static void on_delete(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        respond_write_error(r, res);
    else if (PQntuples(res->pg) != 1)
        not_found(r);
    else
        req_respond_json(r, 204, h2o_iovec_init(NULL, 0));
}

void res_delete(req_t *r)
{
    const res_rt_t *rt = rt_of(r);
    const char *idv = item_id(r);
    if (idv == NULL)
        return;
    if (member_of_admin_resource(r)) {
        refuse_member(r, idv);
        return;
    }
    const char *values[3];
    int n = scope_values(r, rt, values);
    values[n++] = idv;
    req_query(r, &rt->del, values, n, on_delete);
}

/* The generic actions behind every resource route: list, get, create, update, delete. Each reads
 * its resource from the route, checks input against the resource's fields, and runs one of the
 * statements resource.c generated with the caller's organization (and user) as parameters. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/cursor.h"
#include "pipeline/resource/resource_internal.h"

#define RESOURCE_Q_MAX 200
#define RESOURCE_DATETIME_MSG "Input should be an RFC 3339 date-time such as 2026-11-22T10:00:00Z"

static const resource_rt_t *rt_of(req_t *r)
{
    return r->route->data;
}

/* The values every statement starts with: the scope. */
static int scope_values(req_t *r, const resource_rt_t *rt, const char **values)
{
    values[0] = r->principal->org_id;
    if (rt->nscope == 2)
        values[1] = r->principal->user_id;
    return rt->nscope;
}

/* The body as the statement's jsonb parameter: the validated JSON, plus the members the
 * resource derives from it and, on create, the parent of the path (NULL when the derive hook
 * refused the body and answered). */
static const char *body_text(req_t *r, const char *parent)
{
    const resource_t *res = rt_of(r)->res;
    if (res->derive == NULL && parent == NULL)
        return h2o_strdup(&r->h2o->pool, r->h2o->entity.base, r->h2o->entity.len).base;
    json_out_t o = json_out_pool(&r->h2o->pool, r->h2o->entity.len + 256);
    json_out_obj_begin(&o);
    for (size_t i = 0; i < r->body->len; i++) {
        json_out_keyn(&o, r->body->members[i].key, r->body->members[i].key_len);
        json_out_value(&o, r->body->members[i].value);
    }
    if (res->derive != NULL && res->derive(r, &o) != 0)
        return NULL;
    if (parent != NULL) {
        json_out_key(&o, res->parent);
        json_out_str(&o, parent);
    }
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

/* A list's statement parameters, read from the query before anything runs. */
typedef struct list_state {
    cursor_page_t page;
    const char *values[RESOURCE_LIST_MAX_PARAMS];
    const char *datetime; /* the name of a V_DATETIME filter given, if any */
} list_state_t;

static void on_list(req_t *r, const db_result_t *res)
{
    const char *datetime = ((list_state_t *)r->state)->datetime;
    if (res->status == DB_ERR_QUERY && res->sqlstate != NULL && strncmp(res->sqlstate, "22", 2) == 0 &&
        datetime != NULL) { /* well-shaped, but beyond what PostgreSQL takes (an offset over 15:59) */
        req_respond_validation(r, (const char *[]){"query", datetime, NULL}, RESOURCE_DATETIME_MSG, "datetime_parsing");
        return;
    }
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    cursor_page_respond(r, &((list_state_t *)r->state)->page, res);
}

static void run_list(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    req_query(r, &rt->list, ((list_state_t *)r->state)->values, rt->p_limit, on_list);
}

static void on_parent_check(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        req_respond_db_error(r, res);
    else if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0)
        req_respond_not_found(r);
    else
        run_list(r);
}

/* ?name=value of a filter into *out (NULL when absent); answers the 422 and returns -1 when the
 * value is not one the filter takes. */
static int filter_value(req_t *r, const resource_filter_t *flt, const char **out)
{
    char *v = h2o_mem_alloc_pool(&r->h2o->pool, RESOURCE_Q_MAX + 1);
    long n = req_query_param(r, flt->name, v, RESOURCE_Q_MAX + 1);
    *out = NULL;
    if (n == -1)
        return 0;
    const char *msg = NULL, *type = NULL;
    if (flt->type == V_ENUM) {
        const char *const *e = flt->values;
        while (*e != NULL && strcmp(*e, v) != 0)
            e++;
        if (*e == NULL)
            msg = "Input should be one of the documented values", type = "enum";
    } else if (flt->type == V_UUID) {
        if (n < 0 || !validate_uuid(v, (size_t)n, v))
            msg = "Input should be a valid UUID", type = "uuid_parsing";
    } else if (flt->type == V_BOOL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            msg = "Input should be a valid boolean", type = "bool_parsing";
    } else if (flt->type == V_DATETIME) {
        if (n < 0 || !validate_rfc3339(v, (size_t)n))
            msg = RESOURCE_DATETIME_MSG, type = "datetime_parsing";
    } else if (n < 1 || (size_t)n > flt->max_len) {
        msg = n < 1 ? "String should have at least 1 character" : "String is too long";
        type = n < 1 ? "string_too_short" : "string_too_long";
    }
    if (msg != NULL) {
        req_respond_validation(r, (const char *[]){"query", flt->name, NULL}, msg, type);
        return -1;
    }
    *out = v;
    return 0;
}

void resource_list(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    list_state_t *st = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*st));
    memset(st->values, 0, sizeof(st->values));
    cursor_page_t *page = &st->page;
    if (cursor_page_from_query(r, rt->res->name, page) != 0)
        return;
    r->state = st;
    const char **values = st->values;
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
        char *q = h2o_mem_alloc_pool(&r->h2o->pool, RESOURCE_Q_MAX + 1);
        long n = req_query_param(r, "q", q, RESOURCE_Q_MAX + 1);
        if (n == -2) {
            req_respond_validation(r, (const char *[]){"query", "q", NULL}, "String should have at most 200 characters",
                                   "string_too_long");
            return;
        }
        values[rt->p_q - 1] = n > 0 ? q : NULL;
    }
    st->datetime = NULL;
    for (size_t i = 0; i < rt->res->nfilters; i++) {
        const char **v = &values[rt->p_filter - 1 + (int)i];
        if (filter_value(r, &rt->res->filters[i], v) != 0)
            return;
        if (*v != NULL && rt->res->filters[i].type == V_DATETIME && st->datetime == NULL)
            st->datetime = rt->res->filters[i].name;
    }
    values[rt->p_ts - 1] = cursor_page_after_ts(page);
    values[rt->p_id - 1] = cursor_page_after_id(page);
    values[rt->p_limit - 1] = page->fetch;
    if (rt->p_parent == 0) {
        run_list(r);
        return;
    }
    if ((values[rt->p_parent - 1] = req_param_uuid(r, rt_of(r)->res->parent)) == NULL)
        return;
    const char *check[3];
    int n = scope_values(r, rt, check);
    check[n++] = values[rt->p_parent - 1];
    req_query(r, &rt->parent_check, check, n, on_parent_check);
}

static void on_get(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        req_respond_db_error(r, res);
    else if (PQntuples(res->pg) != 1)
        req_respond_not_found(r);
    else
        req_respond_cell(r, 200, res->pg, 0);
}

void resource_get(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    const char *id = req_param_uuid(r, "id");
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
        req_respond_not_found(r);
    else
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
}

static void refuse_member(req_t *r, const char *id)
{
    const resource_rt_t *rt = rt_of(r);
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
    const resource_rt_t *rt = rt_of(r);
    if (!PQgetisnull(res->pg, 0, 1)) {
        if (rt->res->parent != NULL && strcmp(PQgetvalue(res->pg, 0, 1), rt->res->parent) == 0)
            req_respond_not_found(r); /* the parent in the path, not a field of the body */
        else
            respond_bad_ref(r, res);
        return;
    }
    char location[512];
    snprintf(location, sizeof(location), "%s%.*s%s", r->conf->mount->base, (int)rt->item_prefix_len, rt->item_path,
             PQgetvalue(res->pg, 0, 2));
    req_add_header(r, "location", h2o_strdup(&r->h2o->pool, location, SIZE_MAX).base);
    req_respond_cell(r, rt_of(r)->res->flags & RESOURCE_ACCEPTED ? 202 : 201, res->pg, 0);
}

void resource_create(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    if (member_of_admin_resource(r)) {
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
        return;
    }
    const char *parent = NULL;
    if (rt->res->parent != NULL && (parent = req_param_uuid(r, rt_of(r)->res->parent)) == NULL)
        return;
    if (validate_body(r, &rt->create_schema, V_FULL) != 0)
        return;
    const char *values[3];
    int n = scope_values(r, rt, values);
    if ((values[n++] = body_text(r, parent)) == NULL)
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
        req_respond_not_found(r);
    else
        req_respond_cell(r, 200, res->pg, 0);
}

void resource_update(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    const char *idv = req_param_uuid(r, "id");
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
    if ((values[n++] = body_text(r, NULL)) == NULL)
        return;
    values[n++] = idv;
    req_query(r, &rt->update, values, n, on_update);
}

static void on_delete(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        respond_write_error(r, res);
    else if (PQntuples(res->pg) != 1)
        req_respond_not_found(r);
    else
        req_respond_json(r, 204, h2o_iovec_init(NULL, 0));
}

void resource_delete(req_t *r)
{
    const resource_rt_t *rt = rt_of(r);
    const char *idv = req_param_uuid(r, "id");
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

/* The OpenAPI 3 document, generated once at start-up from the mounted routes: resource routes
 * get request and response schemas from their field descriptions, hand-written routes a generic
 * JSON object; the paths h2o.conf serves with H2O's own handlers (files) a GET of their content
 * type. Served by handlers/docs.c. */
#include "pipeline/resource/openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/resource/resource_internal.h"

static void raw(json_out_t *o, const char *json)
{
    json_out_raw(o, json, strlen(json));
}

static void schema_of_field(json_out_t *o, const vfield_t *f)
{
    json_out_obj_begin(o);
    switch (f->type) {
    case V_INT:
        json_out_key(o, "type");
        json_out_str(o, "integer");
        if (f->min != 0 || f->max != 0) {
            json_out_key(o, "minimum");
            json_out_int(o, f->min);
            json_out_key(o, "maximum");
            json_out_int(o, f->max);
        }
        break;
    case V_BOOL:
        json_out_key(o, "type");
        json_out_str(o, "boolean");
        break;
    case V_OBJECT:
        json_out_key(o, "type");
        json_out_str(o, "object");
        break;
    case V_STRINGS:
        json_out_key(o, "type");
        json_out_str(o, "array");
        json_out_key(o, "items");
        json_out_obj_begin(o);
        json_out_key(o, "type");
        json_out_str(o, "string");
        json_out_obj_end(o);
        if (f->max_len) {
            json_out_key(o, "maxItems");
            json_out_int(o, (long long)f->max_len);
        }
        break;
    case V_ENUM:
        json_out_key(o, "type");
        json_out_str(o, "string");
        json_out_key(o, "enum");
        json_out_arr_begin(o);
        for (const char *const *v = f->values; v != NULL && *v != NULL; v++)
            json_out_str(o, *v);
        json_out_arr_end(o);
        break;
    default: {
        static const char *const formats[] = {[V_URL] = "uri", [V_DATE] = "date", [V_UUID] = "uuid",
                                              [V_DATETIME] = "date-time"};
        json_out_key(o, "type");
        json_out_str(o, "string");
        if ((size_t)f->type < sizeof(formats) / sizeof(formats[0]) && formats[f->type] != NULL) {
            json_out_key(o, "format");
            json_out_str(o, formats[f->type]);
        }
        if (f->type == V_SLUG || f->type == V_CODE) {
            json_out_key(o, "pattern");
            json_out_str(o, f->type == V_SLUG ? "^[a-z0-9]+(-[a-z0-9]+)*$" : "^[A-Z]+$");
        }
        if ((f->type == V_STRING || f->type == V_SLUG || f->type == V_CODE) && f->max_len) {
            json_out_key(o, "minLength");
            json_out_int(o, (long long)f->min_len);
            json_out_key(o, "maxLength");
            json_out_int(o, (long long)f->max_len);
        }
        break;
    }
    }
    if (f->flags & V_NULLABLE) {
        json_out_key(o, "nullable");
        json_out_bool(o, 1);
    }
    json_out_obj_end(o);
}

/* {"type": "object", "properties": ..., "required": ...} for the fields carrying `flag` (0: all,
 * plus the server's own id and timestamps, as responses have them). */
static void schema_of_resource(json_out_t *o, const resource_t *res, unsigned flag)
{
    json_out_obj_begin(o);
    json_out_key(o, "type");
    json_out_str(o, "object");
    json_out_key(o, "properties");
    json_out_obj_begin(o);
    if (flag == 0) {
        static const vfield_t id = {"id", V_UUID}, ts = {"created_at", V_STRING};
        json_out_key(o, "id");
        schema_of_field(o, &id);
        if (res->order == NULL) { /* else the order column is one of the fields */
            json_out_key(o, "created_at");
            schema_of_field(o, &ts);
        }
    }
    for (size_t i = 0; i < res->nfields; i++) {
        if (flag != 0 && !(res->fields[i].flags & flag))
            continue;
        json_out_key(o, res->fields[i].check.name);
        schema_of_field(o, &res->fields[i].check);
    }
    json_out_obj_end(o);
    size_t nrequired = 0;
    for (size_t i = 0; flag == RESOURCE_CREATE && i < res->nfields; i++)
        nrequired += (res->fields[i].flags & RESOURCE_CREATE) && (res->fields[i].check.flags & V_REQUIRED);
    if (nrequired > 0) { /* OpenAPI 3.0 forbids an empty `required` */
        json_out_key(o, "required");
        json_out_arr_begin(o);
        for (size_t i = 0; i < res->nfields; i++)
            if ((res->fields[i].flags & RESOURCE_CREATE) && (res->fields[i].check.flags & V_REQUIRED))
                json_out_str(o, res->fields[i].check.name);
        json_out_arr_end(o);
    }
    if (flag != 0) {
        json_out_key(o, "additionalProperties");
        json_out_bool(o, 0);
    }
    json_out_obj_end(o);
}

static void ref(json_out_t *o, const char *name, const char *suffix)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "#/components/schemas/%s%s", name, suffix);
    json_out_obj_begin(o);
    json_out_key(o, "$ref");
    json_out_str(o, buf);
    json_out_obj_end(o);
}

enum { LIST_NONE, LIST_PAGE, LIST_SINCE };

/* A response's JSON content: the named schema (a generic object when NULL), or a page of them,
 * {"items", "next_cursor"} (plus "has_more" for turn lists). */
static void json_content(json_out_t *o, const char *schema_name, const char *suffix, int list)
{
    json_out_key(o, "content");
    json_out_obj_begin(o);
    json_out_key(o, "application/json");
    json_out_obj_begin(o);
    json_out_key(o, "schema");
    if (list != LIST_NONE) {
        json_out_obj_begin(o);
        json_out_key(o, "type");
        json_out_str(o, "object");
        json_out_key(o, "required");
        raw(o, "[\"items\",\"next_cursor\"]");
        json_out_key(o, "properties");
        json_out_obj_begin(o);
        json_out_key(o, "items");
        json_out_obj_begin(o);
        json_out_key(o, "type");
        json_out_str(o, "array");
        json_out_key(o, "items");
        if (schema_name != NULL)
            ref(o, schema_name, suffix);
        else
            raw(o, "{\"type\":\"object\"}");
        json_out_obj_end(o);
        json_out_key(o, "next_cursor");
        raw(o, "{\"type\":\"string\",\"nullable\":true}");
        if (list == LIST_SINCE) {
            json_out_key(o, "has_more");
            raw(o, "{\"type\":\"boolean\"}");
        }
        json_out_obj_end(o);
        json_out_obj_end(o);
    } else if (schema_name == NULL) {
        json_out_obj_begin(o);
        json_out_key(o, "type");
        json_out_str(o, "object");
        json_out_obj_end(o);
    } else {
        ref(o, schema_name, suffix);
    }
    json_out_obj_end(o);
    json_out_obj_end(o);
}

/* The resource a route serves, when it is one of the generic resource actions. */
static const resource_rt_t *resource_of(const app_route_t *route)
{
    if (route->action == resource_list || route->action == resource_get || route->action == resource_create ||
        route->action == resource_update || route->action == resource_delete)
        return route->data;
    return NULL;
}

static void query_parameter(json_out_t *o, const char *name, const char *schema)
{
    json_out_obj_begin(o);
    json_out_key(o, "name");
    json_out_str(o, name);
    json_out_key(o, "in");
    json_out_str(o, "query");
    json_out_key(o, "schema");
    raw(o, schema);
    json_out_obj_end(o);
}

static void page_parameters(json_out_t *o)
{
    query_parameter(o, "limit", "{\"type\":\"integer\",\"minimum\":1,\"maximum\":200,\"default\":50}");
    query_parameter(o, "cursor", "{\"type\":\"string\"}");
}

/* A collection's query: the page, the search and the filters its description declares. */
static void list_parameters(json_out_t *o, const resource_t *res)
{
    page_parameters(o);
    if (res->search != NULL)
        query_parameter(o, "q", "{\"type\":\"string\",\"maxLength\":200}");
    if (res->flags & RESOURCE_SOFT_DELETE)
        query_parameter(o, "include_archived", "{\"type\":\"boolean\"}");
    for (size_t i = 0; i < res->nfilters; i++) {
        const resource_filter_t *flt = &res->filters[i];
        json_out_obj_begin(o);
        json_out_key(o, "name");
        json_out_str(o, flt->name);
        json_out_key(o, "in");
        json_out_str(o, "query");
        json_out_key(o, "schema");
        schema_of_field(o, &(vfield_t){.name = flt->name, .type = flt->type, .max_len = flt->max_len,
                                       .values = flt->values});
        json_out_obj_end(o);
    }
}

/* A {name} segment of pattern as a required path parameter, each. */
static void path_parameters(json_out_t *o, const char *pattern)
{
    for (const char *p = strchr(pattern, '{'); p != NULL; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        json_out_obj_begin(o);
        json_out_key(o, "name");
        json_out_strn(o, p + 1, (size_t)(end - p - 1));
        json_out_key(o, "in");
        json_out_str(o, "path");
        json_out_key(o, "required");
        json_out_bool(o, 1);
        json_out_key(o, "schema");
        raw(o, "{\"type\":\"string\"}");
        json_out_obj_end(o);
    }
}

/* A browser's preflight, which req.c answers on a path with a CORS policy. */
static void preflight_operation(json_out_t *o, const char *path)
{
    json_out_key(o, "options");
    json_out_obj_begin(o);
    json_out_key(o, "summary");
    json_out_str(o, "CORS preflight");
    json_out_key(o, "description");
    json_out_str(o, "Answered before authentication: for an allowed Origin, Access-Control-Allow-Methods (the methods "
                    "of this path), -Allow-Headers, -Max-Age and -Allow-Origin; for another, no CORS header.");
    if (strchr(path, '{') != NULL) {
        json_out_key(o, "parameters");
        json_out_arr_begin(o);
        path_parameters(o, path);
        json_out_arr_end(o);
    }
    json_out_key(o, "security");
    raw(o, "[]");
    json_out_key(o, "responses");
    raw(o, "{\"204\":{\"description\":\"No Content\"}}");
    json_out_obj_end(o);
}

static void operation(json_out_t *o, const app_route_t *route)
{
    const resource_rt_t *rt = resource_of(route);
    const char *name = rt ? rt->res->name : NULL;
    char method[8]; /* OpenAPI spells methods in lower case */
    size_t n = strlen(route->method);
    if (n >= sizeof(method))
        n = sizeof(method) - 1;
    for (size_t i = 0; i < n; i++)
        method[i] = (char)tolower((unsigned char)route->method[i]);
    method[n] = '\0';

    json_out_key(o, method);
    json_out_obj_begin(o);
    int list = route->flags & ROUTE_SINCE ? LIST_SINCE
               : route->flags & ROUTE_PAGE || route->action == resource_list ? LIST_PAGE
                                                                         : LIST_NONE;
    if (strchr(route->pattern, '{') != NULL || list != LIST_NONE) {
        json_out_key(o, "parameters");
        json_out_arr_begin(o);
        path_parameters(o, route->pattern);
        if (route->action == resource_list)
            list_parameters(o, rt->res);
        else if (list != LIST_NONE)
            page_parameters(o);
        if (list == LIST_SINCE)
            query_parameter(o, "since", "{\"type\":\"string\",\"description\":\"an RFC 3339 time, or the id of an item"
                                        " of this list: the items strictly after it\"}");
        json_out_arr_end(o);
    }
    if (route->flags & ROUTE_JSON_BODY) {
        json_out_key(o, "requestBody");
        json_out_obj_begin(o);
        json_out_key(o, "required");
        json_out_bool(o, 1);
        json_content(o, name, route->action == resource_update ? "Update" : "Create", LIST_NONE);
        json_out_obj_end(o);
    }
    json_out_key(o, "responses");
    json_out_obj_begin(o);
    int status = route->action == resource_delete ? 204 : 200;
    if (route->action == resource_create)
        status = rt->res->flags & RESOURCE_ACCEPTED ? 202 : 201;
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    json_out_key(o, code);
    json_out_obj_begin(o);
    json_out_key(o, "description");
    json_out_str(o, status == 204 ? "No Content" : status == 202 ? "Accepted" : status == 201 ? "Created" : "OK");
    if (route->flags & (ROUTE_SSE | ROUTE_TEXT)) {
        json_out_key(o, "content");
        json_out_obj_begin(o);
        json_out_key(o, route->flags & ROUTE_SSE ? "text/event-stream" : "text/plain");
        raw(o, "{\"schema\":{\"type\":\"string\"}}");
        json_out_obj_end(o);
    } else if (status != 204) {
        json_content(o, name, "", list);
    }
    json_out_obj_end(o);
    json_out_key(o, "default");
    json_out_obj_begin(o);
    json_out_key(o, "description");
    json_out_str(o, "An error in the API's error shape");
    json_content(o, "Error", "", LIST_NONE);
    json_out_obj_end(o);
    json_out_obj_end(o);
    if (route->auth != APP_AUTH_NONE || rt != NULL) {
        json_out_key(o, "security");
        raw(o, "[{\"bearer\":[]}]");
    }
    json_out_obj_end(o);
}

/* A path of H2O's own handlers: a GET of what it serves (a directory's files by name). */
static void plain_path(json_out_t *o, const config_plain_path_t *p)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", p->path, p->dir ? "/{file}" : "");
    json_out_key(o, path);
    json_out_obj_begin(o);
    json_out_key(o, "get");
    json_out_obj_begin(o);
    if (p->dir) {
        json_out_key(o, "parameters");
        raw(o, "[{\"name\":\"file\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}]");
    }
    json_out_key(o, "responses");
    json_out_obj_begin(o);
    json_out_key(o, "200");
    json_out_obj_begin(o);
    json_out_key(o, "description");
    json_out_str(o, "OK");
    json_out_key(o, "content");
    json_out_obj_begin(o);
    json_out_key(o, p->content_type != NULL ? p->content_type : "*/*");
    raw(o, "{\"schema\":{\"type\":\"string\"}}");
    json_out_obj_end(o);
    json_out_obj_end(o);
    json_out_key(o, "404");
    json_out_obj_begin(o);
    json_out_key(o, "description");
    json_out_str(o, "Not Found");
    json_out_obj_end(o);
    json_out_obj_end(o);
    json_out_obj_end(o);
    json_out_obj_end(o);
}

/* Every path h2o.conf serves: each mounted module's routes where they are mounted (a module
 * mounted twice is documented twice), with all the operations of a path under it, then the paths
 * of H2O's own handlers. */
static void paths(json_out_t *o, const app_t *app)
{
    size_t max = 0, nseen = 0;
    for (size_t m = 0; m < app->nmounts; m++)
        max += app->mounts[m]->module->nroutes;
    const char **seen = calloc(max ? max : 1, sizeof(*seen));
    json_out_key(o, "paths");
    json_out_obj_begin(o);
    for (size_t m = 0; seen != NULL && m < app->nmounts; m++) {
        const app_mount_t *mount = app->mounts[m];
        if (strcmp(mount->module->name, "echo") == 0) /* a test aid, not the API */
            continue;
        for (size_t i = 0; i < mount->module->nroutes; i++) {
            const char *label = mount->labels[i];
            int done = 0;
            for (size_t k = 0; k < nseen && !done; k++)
                done = strcmp(seen[k], label) == 0;
            if (done)
                continue;
            seen[nseen++] = label;
            json_out_key(o, label);
            json_out_obj_begin(o);
            int cors = 0;
            for (size_t mm = m; mm < app->nmounts; mm++)
                for (size_t j = 0; j < app->mounts[mm]->module->nroutes; j++)
                    if (strcmp(app->mounts[mm]->labels[j], label) == 0) {
                        operation(o, &app->mounts[mm]->module->routes[j]);
                        cors |= app->mounts[mm]->cors != NULL;
                    }
            if (cors)
                preflight_operation(o, label);
            json_out_obj_end(o);
        }
    }
    for (size_t i = 0; app->config != NULL && i < app->config->nplain_paths; i++)
        plain_path(o, &app->config->plain_paths[i]);
    json_out_obj_end(o);
    free(seen);
}

static void components(json_out_t *o, const app_t *app)
{
    json_out_key(o, "components");
    json_out_obj_begin(o);
    json_out_key(o, "securitySchemes");
    raw(o, "{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\",\"bearerFormat\":\"JWT\"}}");
    json_out_key(o, "schemas");
    json_out_obj_begin(o);
    json_out_key(o, "Error");
    raw(o, "{\"type\":\"object\",\"required\":[\"detail\",\"code\",\"request_id\"],\"properties\":{"
           "\"detail\":{},\"code\":{\"type\":\"string\"},\"request_id\":{\"type\":\"string\"}}}");
    const resource_rt_t *seen[256];
    size_t nseen = 0;
    for (size_t m = 0; m < app->nmodules; m++) {
        const app_module_t *mod = app->modules[m];
        for (size_t i = 0; i < mod->nroutes; i++) {
            const resource_rt_t *rt = resource_of(&mod->routes[i]);
            int known = rt == NULL || nseen == 256;
            for (size_t k = 0; k < nseen && !known; k++)
                known = seen[k] == rt;
            if (known)
                continue;
            seen[nseen++] = rt;
            const resource_t *res = rt->res;
            char name[96];
            json_out_key(o, res->name);
            schema_of_resource(o, res, 0);
            snprintf(name, sizeof(name), "%sCreate", res->name);
            json_out_key(o, name);
            schema_of_resource(o, res, RESOURCE_CREATE);
            snprintf(name, sizeof(name), "%sUpdate", res->name);
            json_out_key(o, name);
            schema_of_resource(o, res, RESOURCE_UPDATE);
        }
    }
    json_out_obj_end(o);
    json_out_obj_end(o);
}

char *openapi_generate(const app_t *app, size_t *len)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_out_t o = json_out_pool(&pool, 64 << 10);
    json_out_obj_begin(&o);
    json_out_key(&o, "openapi");
    json_out_str(&o, "3.0.3");
    json_out_key(&o, "info");
    json_out_obj_begin(&o);
    json_out_key(&o, "title");
    json_out_str(&o, "HelloSales API");
    json_out_key(&o, "version");
    json_out_str(&o, app->version);
    json_out_obj_end(&o);
    paths(&o, app);
    components(&o, app);
    json_out_obj_end(&o);
    char *doc = malloc(o.len + 1);
    if (doc != NULL) {
        memcpy(doc, o.buf, o.len);
        doc[o.len] = '\0';
        *len = o.len;
    }
    h2o_mem_clear_pool(&pool);
    return doc;
}

/* Declarative resources: a table described once as data is served as a REST collection (list,
 * get, create, update, delete) by generic actions. The statements are generated at start-up,
 * prepared on every pool connection, parameterised, and build their JSON in PostgreSQL. */
#ifndef pipeline_resource_resource_h
#define pipeline_resource_resource_h

#include "pipeline/app.h"
#include "pipeline/validate.h"

typedef enum resource_scope {
    RESOURCE_SCOPE_ORG,   /* rows of the caller's organization (organization_id) */
    RESOURCE_SCOPE_OWNER, /* rows of the caller in their organization (organization_id and user_id) */
    /* rows of the caller's workspace (workspace_id of the workspaces row the caller owns): the
     * table has neither organization_id nor user_id; its workspace_id field says where a row goes */
    RESOURCE_SCOPE_WORKSPACE,
} resource_scope_t;

enum { /* resource_field_t.flags */
    RESOURCE_CREATE = 1, /* may be given on create */
    RESOURCE_UPDATE = 2, /* may be changed by PATCH */
    RESOURCE_WRITE = RESOURCE_CREATE | RESOURCE_UPDATE,
    RESOURCE_REF_OWNED = 4, /* the referenced row must also be the caller's own (its user_id); not for org scope */
    RESOURCE_DERIVED = 8,   /* written by the server from the resource's derive hook, never by the client */
};

typedef struct resource_field {
    vfield_t check;          /* the JSON name (= column name), type and limits: the 422 rules */
    const char *sql_type;    /* the column's type: text, int, bigint, boolean, jsonb, uuid, date, text[]
                              * (V_STRINGS), timestamptz (written out in the API's RFC 3339 "Z" spelling) */
    unsigned flags;          /* RESOURCE_CREATE, RESOURCE_UPDATE; output always */
    const char *create_default; /* SQL used when a create omits the field (NULL: SQL NULL) */
    const char *ref_table;   /* a uuid naming a row of this table in the same organization: a
                              * create or update naming any other row is 422 reference_not_found.
                              * A parenthesised subquery with id and organization_id (and user_id)
                              * columns works too, for rows that carry them through a parent. */
} resource_field_t;

enum { /* resource_t.flags */
    RESOURCE_SOFT_DELETE = 1, /* DELETE sets archived_at; lists hide archived rows unless ?include_archived=true */
    RESOURCE_NO_CREATE = 2,
    RESOURCE_NO_UPDATE = 4,
    RESOURCE_NO_DELETE = 8,
    RESOURCE_NO_LIST = 16, /* no GET on the collection (e.g. feedback: written by members, read by admins elsewhere) */
    RESOURCE_NO_GET = 32,  /* no GET of one item */
    RESOURCE_ACCEPTED = 64, /* create answers 202: the row is work queued for later (e.g. tasks), not yet done */
};

/* A list filter: ?name=value keeps the rows whose column equals the value (V_ENUM,
 * V_UUID, V_BOOL or V_STRING up to max_len), or, with RESOURCE_FILTER_ELEMENT, whose array column
 * holds it; a V_DATETIME filter keeps the rows whose timestamptz column is at or after the RFC
 * 3339 time given. An absent parameter does not filter. */
typedef struct resource_filter {
    const char *name;
    vtype_t type;
    size_t max_len;
    const char *const *values; /* V_ENUM */
    unsigned flags;
    const char *column; /* NULL: the column is called `name` */
} resource_filter_t;

enum { RESOURCE_FILTER_ELEMENT = 1 };

typedef struct req req_t;
typedef struct json_out json_out_t;

typedef struct resource {
    const char *name;  /* [a-z_]+: statement prefix and cursor scope */
    const char *path;  /* the collection; items are path/{id} */
    const char *table;
    resource_scope_t scope;
    app_auth_t write_auth; /* APP_AUTH_ADMIN: only admins write (403 for members); else anyone in scope */
    unsigned flags;
    const char *search;    /* the column ?q= matches (case-insensitive substring), or NULL */
    const resource_field_t *fields;
    size_t nfields;
    /* Optional: after a create or update body is validated, writes the RESOURCE_DERIVED members (keys
     * and values) into o, an open object; returns -1 after answering when the body is refused. */
    int (*derive)(req_t *r, json_out_t *o);
    const resource_filter_t *filters;
    size_t nfilters;
    /* Optional, for a collection under its parent (/things/parents/{parent_id}): the path
     * parameter, also the name of a RESOURCE_DERIVED field with a ref_table. Lists show the parent's
     * rows, creates write the parent, and a parent the caller cannot reach is a 404. */
    const char *parent;
    const char *item_path; /* NULL: path/{id} */
    /* The timestamptz column lists are ordered by (newest first) and cursors carry. NULL:
     * created_at, which every response then shows; a table with a time of its own (a run's
     * started_at) names it here and lists it among its fields. */
    const char *order;
    /* More members of one item's object (GET of the item only), as SQL "'name', expr, ..." over
     * the row `t`: what is too large for a list, e.g. a run's events. NULL: none. */
    const char *item_members;
} resource_t;

#define RESOURCE_FIELDS(table) (table), (sizeof(table) / sizeof((table)[0]))
#define RESOURCE_FILTERS(table) (table), (sizeof(table) / sizeof((table)[0]))

/* Registers a handler module named `name` serving `extra` hand-written routes (matched first)
 * and then the resources' routes. Statements are generated and registered now; everything lives until
 * resource_registry_free. */
void resource_module(app_t *app, const char *name, const resource_t *const *resources, size_t n,
                     const app_route_t *extra, size_t nextra);

/* Frees what resource_module generated (modules, routes, statements). */
void resource_registry_free(app_t *app);

#endif

/* Declarative checks of JSON request bodies: a table of field descriptors, one function that
 * checks a parsed body against it, and FastAPI-shaped 422 answers (the first error found). */
#ifndef pipeline_validate_h
#define pipeline_validate_h

#include <stddef.h>

#include "base/json.h"

typedef struct req req_t;

typedef enum vtype {
    V_STRING,   /* min_len..max_len characters (code points), no NUL */
    V_INT,      /* a JSON integer in min..max */
    V_BOOL,
    V_OBJECT,   /* at most max_len members; with V_STRING_VALUES each value a string <= item_max_len;
                 * no NUL in any key or string inside (jsonb cannot store one) */
    V_STRINGS,  /* an array of min_len..max_len strings, each <= item_max_len characters, no NUL */
    V_ENUM,     /* one of `values` */
    V_TIMEZONE, /* an IANA zone name present in the system's zoneinfo */
    V_URL,      /* an absolute http(s) URL, <= max_len characters */
    V_PHONE,    /* ^\+?[0-9 ()-]{7,20}$ */
    V_DATE,     /* YYYY-MM-DD, a real calendar date */
    V_UUID,     /* a UUID string (an id referring to another row) */
    V_CODE,     /* min_len..max_len upper-case ASCII letters (currency and country codes) */
    V_SLUG,     /* min_len..max_len characters of ^[a-z0-9]+(-[a-z0-9]+)*$ (public handles) */
    V_DATETIME, /* an RFC 3339 date-time with an offset (validate_rfc3339) */
} vtype_t;

enum {
    V_REQUIRED = 1,      /* must be present (ignored by V_PARTIAL checks, i.e. PATCH) */
    V_NULLABLE = 2,      /* null is accepted (and means "clear" in a PATCH) */
    V_STRING_VALUES = 4, /* V_OBJECT: every member's value is a string */
};

typedef struct vfield {
    const char *name;
    vtype_t type;
    unsigned flags;             /* V_REQUIRED | V_NULLABLE | V_STRING_VALUES */
    size_t min_len, max_len;    /* characters of string-like values, elements/members of arrays and
                                 * objects; max_len 0: no maximum */
    long long min, max;         /* V_INT range; both 0: any 64-bit integer */
    size_t item_max_len;        /* V_STRINGS elements, V_OBJECT string values (0: no maximum) */
    const char *const *values;  /* V_ENUM: NULL-terminated */
} vfield_t;

typedef struct vschema {
    const vfield_t *fields;
    size_t nfields;
} vschema_t;

#define VSCHEMA(table) ((vschema_t){(table), sizeof(table) / sizeof((table)[0])})

typedef enum vmode {
    V_FULL,    /* create: required fields must be present */
    V_PARTIAL, /* update: every field optional, only the given ones are checked */
} vmode_t;

/* One validation error in FastAPI's terms; loc is NULL-terminated ("body", field[, key]). */
typedef struct verror {
    const char *loc[4];
    const char *type; /* missing, extra_forbidden, string_type, string_too_long, ... */
    char msg[192];
    char index[24]; /* an array element's index, when loc names one */
} verror_t;

/* Checks body (an object, unknown members refused) against the schema. Returns 0, or -1 with
 * the first error in *err: unknown members first (in document order), then fields in table
 * order. A member given twice is judged by its last value, as json_get and jsonb read it. */
int validate_json(const vschema_t *schema, const json_t *body, vmode_t mode, verror_t *err);

/* validate_json on r->body; on an error answers the 422 and returns -1. */
int validate_body(req_t *r, const vschema_t *schema, vmode_t mode);

/* Answers the 422 for err. */
void validate_respond(req_t *r, const verror_t *err);

/* 1 when name (n bytes) is a safe IANA zone name with a compiled zone file under zoneinfo_dir
 * (NULL: /usr/share/zoneinfo). */
int validate_timezone(const char *name, size_t n, const char *zoneinfo_dir);

/* 1 when s (n bytes) matches ^[a-z0-9]+(-[a-z0-9]+)*$. */
int validate_slug(const char *s, size_t n);
/* 1 when s (n bytes) is an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM),
 * 't' and 'z' accepted, a real calendar date and clock time (second 60 allowed: a leap second). */
int validate_rfc3339(const char *s, size_t n);

/* 1 when s is a 36-character UUID in any case; out (37 bytes, may be NULL) gets it lower-cased. */
int validate_uuid(const char *s, size_t n, char *out);

#endif

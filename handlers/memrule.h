/* CRM memory rules: parses "when <event_type> then <action> [k=v ...]" into a self-contained
 * struct, reports syntax errors by 1-based character column, renders rules as JSON, matches events. */
#ifndef handlers_memrule_h
#define handlers_memrule_h

#include <stddef.h>

#include "base/json.h"

#define MEMRULE_MAX_LEN 1000   /* bytes of the whole rule, surrounding whitespace included */
#define MEMRULE_EVENT_MAX 128  /* characters of <event_type> */
#define MEMRULE_KEY_MAX 64     /* characters of a parameter key */
#define MEMRULE_VALUE_MAX 1000 /* bytes of a decoded value (implied by MEMRULE_MAX_LEN) */
#define MEMRULE_TYPE_MAX 64    /* characters of create_task's type=, as POST /api/v1/tasks allows */
#define MEMRULE_MAX_PARAMS 16
#define MEMRULE_MSG_MAX 160

typedef enum memrule_action { MEMRULE_CREATE_TASK, MEMRULE_LOG } memrule_action_t;

typedef struct memrule_param {
    char key[MEMRULE_KEY_MAX + 1];
    char *value;      /* NUL-terminated, points into the owning memrule_t's storage */
    size_t value_len; /* bytes; values never hold \0 (control characters are refused) */
} memrule_param_t;

/* A parsed rule owns all its bytes. Its values point into its own storage, so a struct copy
 * (assignment, memcpy) still points into the original: parse into the place it will be used. */
typedef struct memrule {
    char event[MEMRULE_EVENT_MAX + 1];
    memrule_action_t action;
    memrule_param_t params[MEMRULE_MAX_PARAMS]; /* in the order the rule gives them */
    size_t nparams;
    char storage[MEMRULE_MAX_LEN + 1]; /* decoded values, each NUL-terminated */
} memrule_t;

/* column: 1-based, counted in Unicode code points (not bytes) from the first byte of the text,
 * leading whitespace included. msg: what was expected, without the "column N: " prefix. */
typedef struct memrule_error {
    size_t column;
    char msg[MEMRULE_MSG_MAX];
} memrule_error_t;

/* Parses len bytes of text (need not be NUL-terminated; may be NULL when len is 0).
 * Grammar: tokens separated by spaces/tabs, optional leading/trailing spaces/tabs;
 *   rule   = "when" event "then" action *param
 *   event  = [a-z0-9_.]{1,128}, not starting or ending with '.', no ".."
 *   action = "create_task" | "log"
 *   param  = key "=" value, key = [a-z_][a-z0-9_]{0,63}, at most 16, no key twice
 *   value  = bare | quoted; bare = 1+ chars other than space, tab, '"' (may hold '=' and UTF-8);
 *            quoted = '"' ... '"' with escapes \" and \\ only, may be empty (k="") and hold
 *            spaces, tabs and UTF-8; a quoted value must be followed by whitespace or the end.
 * create_task requires type=[a-z0-9_.]{1,64}; log takes any parameters, or none.
 * Newlines, other control characters and ill-formed UTF-8 are refused anywhere, as is a rule of
 * more than MEMRULE_MAX_LEN bytes. The first problem from the left is reported.
 * Returns 0 and fills *out, or -1 and fills *err (err may be NULL); *out is then unspecified. */
int memrule_parse(const char *text, size_t len, memrule_t *out, memrule_error_t *err);

/* 1 when s (n bytes) is a task type: [a-z0-9_.]{1,MEMRULE_TYPE_MAX}, as create_task's type= and
 * POST /api/v1/tasks take it. */
int memrule_task_type_ok(const char *s, size_t n);

/* "column N: msg" into buf (always NUL-terminated when n > 0), the form the 422's msg carries.
 * Returns what snprintf returns. */
int memrule_error_format(const memrule_error_t *err, char *buf, size_t n);

/* The value of parameter key, or NULL when the rule does not give it. */
const char *memrule_param(const memrule_t *r, const char *key);

/* "create_task" or "log". */
const char *memrule_action_name(memrule_action_t a);

/* Writes {"event": "...", "action": "create_task", "params": {"type": "...", ...}} as one value,
 * params in rule order ({} when there are none). */
void memrule_to_json(const memrule_t *r, json_out_t *o);

/* 1 when a webhook event of type event_type (e.g. "hubspot.contact.creation") triggers the rule,
 * else 0. Exact match, except that event_type is compared ASCII case-insensitively: rules are
 * lower-case by grammar while HubSpot subscription types are camelCase (contact.propertyChange is
 * matched by "when hubspot.contact.propertychange"). No wildcards: "hubspot.*" is a syntax error,
 * since widening the grammar later is compatible with stored rules and narrowing it is not.
 * NULL event_type is 0. */
int memrule_matches(const memrule_t *r, const char *event_type);

#endif

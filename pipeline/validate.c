/* Field validation for JSON bodies, driven by vfield_t tables. Messages and types follow pydantic
 * v2 so that clients of the former FastAPI backends keep reading them the same way. */
#include "pipeline/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pipeline/req.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 64

static int fail(verror_t *err, const char *field, const char *key, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(verror_t *err, const char *field, const char *key, const char *type, const char *fmt, ...)
{
    size_t n = 0;
    err->loc[n++] = "body";
    if (field != NULL)
        err->loc[n++] = field;
    if (key != NULL)
        err->loc[n++] = key;
    err->loc[n] = NULL;
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Code points of a string json_parse has already checked to be UTF-8. */
static size_t char_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* A string of min..max characters without NUL bytes (PostgreSQL text cannot hold them). */
static int check_string(const json_t *v, size_t min, size_t max, const char *field, const char *key, verror_t *err)
{
    if (v->type != JSON_STRING)
        return fail(err, field, key, "string_type", "Input should be a valid string");
    if (memchr(v->str, '\0', v->len) != NULL)
        return fail(err, field, key, "string_type", "Input should be a valid string without NUL characters");
    size_t chars = char_count(v->str, v->len);
    if (chars < min)
        return fail(err, field, key, "string_too_short", "String should have at least %zu character%s", min, plural(min));
    if (max != 0 && chars > max)
        return fail(err, field, key, "string_too_long", "String should have at most %zu character%s", max, plural(max));
    return 0;
}

static int check_int(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type != JSON_NUMBER)
        return fail(err, f->name, NULL, "int_type", "Input should be a valid integer");
    if (strpbrk(v->str, ".eE") != NULL)
        return fail(err, f->name, NULL, "int_from_float",
                    "Input should be a valid integer, got a number with a fractional part");
    errno = 0;
    long long x = strtoll(v->str, NULL, 10);
    long long min = f->min, max = f->max;
    if (min == 0 && max == 0)
        min = LLONG_MIN, max = LLONG_MAX;
    if (errno == ERANGE && x == LLONG_MIN)
        return fail(err, f->name, NULL, "greater_than_equal", "Input should be greater than or equal to %lld", min);
    if (errno == ERANGE && x == LLONG_MAX)
        return fail(err, f->name, NULL, "less_than_equal", "Input should be less than or equal to %lld", max);
    if (x < min)
        return fail(err, f->name, NULL, "greater_than_equal", "Input should be greater than or equal to %lld", min);
    if (x > max)
        return fail(err, f->name, NULL, "less_than_equal", "Input should be less than or equal to %lld", max);
    return 0;
}

/* Whether a NUL byte hides in any key or string of v: PostgreSQL's jsonb refuses \u0000. */
static int has_nul(const json_t *v)
{
    switch (v->type) {
    case JSON_STRING:
        return memchr(v->str, '\0', v->len) != NULL;
    case JSON_ARRAY:
        for (size_t i = 0; i < v->len; i++)
            if (has_nul(v->items[i]))
                return 1;
        return 0;
    case JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++)
            if (memchr(v->members[i].key, '\0', v->members[i].key_len) != NULL || has_nul(v->members[i].value))
                return 1;
        return 0;
    default:
        return 0;
    }
}

static int check_object(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type != JSON_OBJECT)
        return fail(err, f->name, NULL, "dict_type", "Input should be a valid dictionary");
    if (has_nul(v))
        return fail(err, f->name, NULL, "value_error", "Value error, keys and strings must not contain NUL characters");
    if (f->max_len != 0 && v->len > f->max_len)
        return fail(err, f->name, NULL, "too_long", "Dictionary should have at most %zu item%s", f->max_len,
                    plural(f->max_len));
    if (f->flags & V_STRING_VALUES) {
        for (size_t i = 0; i < v->len; i++) {
            const json_member_t *m = &v->members[i];
            if (check_string(m->value, 0, f->item_max_len, f->name, m->key, err) != 0)
                return -1;
        }
    }
    return 0;
}

static int check_strings(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type != JSON_ARRAY)
        return fail(err, f->name, NULL, "list_type", "Input should be a valid list");
    if (v->len < f->min_len)
        return fail(err, f->name, NULL, "too_short", "List should have at least %zu item%s", f->min_len, plural(f->min_len));
    if (f->max_len != 0 && v->len > f->max_len)
        return fail(err, f->name, NULL, "too_long", "List should have at most %zu item%s", f->max_len, plural(f->max_len));
    for (size_t i = 0; i < v->len; i++) {
        snprintf(err->index, sizeof(err->index), "%zu", i);
        if (check_string(v->items[i], 0, f->item_max_len, f->name, err->index, err) != 0)
            return -1;
    }
    return 0;
}

static int check_enum(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type == JSON_STRING)
        for (const char *const *e = f->values; *e != NULL; e++)
            if (strlen(*e) == v->len && memcmp(*e, v->str, v->len) == 0)
                return 0;
    /* "Input should be 'a', 'b' or 'c'", as pydantic words it */
    char list[160] = "";
    size_t used = 0;
    for (const char *const *e = f->values; *e != NULL && used < sizeof(list); e++) {
        const char *sep = e == f->values ? "" : e[1] == NULL ? " or " : ", ";
        int w = snprintf(list + used, sizeof(list) - used, "%s'%s'", sep, *e);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return fail(err, f->name, NULL, "enum", "Input should be %s", list);
}

static int is_ctl_or_space(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

/* An absolute http(s) URL with a host: scheme "://" authority [path/query/fragment], no spaces
 * or control characters anywhere. Deliberately not a full RFC 3986 parser. */
static int check_url(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (check_string(v, 0, f->max_len, f->name, NULL, err) != 0) {
        if (strcmp(err->type, "string_too_long") == 0) {
            err->type = "url_too_long";
            snprintf(err->msg, sizeof(err->msg), "URL should have at most %zu characters", f->max_len);
        }
        return -1;
    }
    const char *s = v->str, *end = v->str + v->len;
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" */
    const char *sep = s;
    while (sep < end && ((*sep >= 'a' && *sep <= 'z') || (*sep >= 'A' && *sep <= 'Z') ||
                         (sep > s && ((*sep >= '0' && *sep <= '9') || *sep == '+' || *sep == '-' || *sep == '.'))))
        sep++;
    if (sep == s || end - sep < 3 || memcmp(sep, "://", 3) != 0)
        return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, relative URL without a base");
    size_t scheme_len = (size_t)(sep - s);
    if (!((scheme_len == 4 && strncasecmp(s, "http", 4) == 0) || (scheme_len == 5 && strncasecmp(s, "https", 5) == 0)))
        return fail(err, f->name, NULL, "url_scheme", "URL scheme should be 'http' or 'https'");
    for (const char *p = s; p < end; p++)
        if (is_ctl_or_space((unsigned char)*p) || *p == '\\')
            return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, invalid character");
    const char *auth = sep + 3, *auth_end = auth;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    const char *host = auth;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            host = p + 1;
    const char *host_end = auth_end;
    if (host < auth_end && *host == '[') {
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (host_end == NULL)
            return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, invalid IPv6 address");
        host_end++;
    } else {
        const char *colon = memchr(host, ':', (size_t)(auth_end - host));
        if (colon != NULL)
            host_end = colon;
    }
    if (host_end == host)
        return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, empty host");
    if (host_end < auth_end) { /* ":port" */
        const char *p = host_end;
        if (*p != ':' || p + 1 == auth_end || auth_end - p > 6)
            return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, invalid port number");
        long port = 0;
        for (p++; p < auth_end; p++) {
            if (*p < '0' || *p > '9')
                return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, invalid port number");
            port = port * 10 + (*p - '0');
        }
        if (port > 65535)
            return fail(err, f->name, NULL, "url_parsing", "Input should be a valid URL, invalid port number");
    }
    return 0;
}

/* ^\+?[0-9 ()-]{7,20}$ */
static int check_phone(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (check_string(v, 0, 0, f->name, NULL, err) != 0)
        return -1;
    const char *s = v->str;
    size_t n = v->len;
    if (n > 0 && s[0] == '+')
        s++, n--;
    int ok = n >= 7 && n <= 20;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || s[i] == ' ' || s[i] == '(' || s[i] == ')' || s[i] == '-';
    if (!ok)
        return fail(err, f->name, NULL, "string_pattern_mismatch", "String should match pattern '^\\+?[0-9 ()-]{7,20}$'");
    return 0;
}

/* YYYY-MM-DD, a real calendar date, in the first 10 bytes of s (n of them available). */
static int is_calendar_date(const char *s, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int ok = n >= 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        ok = i == 4 || i == 7 || (s[i] >= '0' && s[i] <= '9');
    if (ok) {
        int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        ok = y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] && !(m == 2 && d == 29 && !leap);
    }
    return ok;
}

static int check_date(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type != JSON_STRING)
        return fail(err, f->name, NULL, "date_type", "Input should be a valid date");
    if (v->len != 10 || !is_calendar_date(v->str, v->len))
        return fail(err, f->name, NULL, "date_parsing", "Input should be a valid date in the format YYYY-MM-DD");
    return 0;
}

/* n digits at s, as a number no greater than max; -1 otherwise. */
static int bounded_digits(const char *s, int n, int max)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

int validate_rfc3339(const char *s, size_t n)
{
    if (n < 20 || !is_calendar_date(s, n) || (s[10] != 'T' && s[10] != 't') || bounded_digits(s + 11, 2, 23) < 0 ||
        s[13] != ':' || bounded_digits(s + 14, 2, 59) < 0 || s[16] != ':' || bounded_digits(s + 17, 2, 60) < 0)
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 9)
            return 0;
    }
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    return i + 6 == n && (s[i] == '+' || s[i] == '-') && bounded_digits(s + i + 1, 2, 23) >= 0 && s[i + 3] == ':' &&
           bounded_digits(s + i + 4, 2, 59) >= 0;
}

int validate_timezone(const char *name, size_t n, const char *zoneinfo_dir)
{
    /* Segments of [A-Za-z0-9_+-] starting with a letter, separated by single slashes: no "..",
     * no leading "/", nothing the path could be steered with. */
    if (n == 0 || n > ZONE_NAME_MAX)
        return 0;
    int seg_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (seg_start) {
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
                return 0;
            seg_start = 0;
        } else if (c == '/') {
            seg_start = 1;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
                     c == '-')) {
            return 0;
        }
    }
    if (seg_start)
        return 0; /* trailing slash */
    /* zoneinfo also holds files that are not zones, and duplicate trees of every zone */
    static const char *const not_zones[] = {"posixrules", "localtime", "Factory"};
    for (size_t i = 0; i < sizeof(not_zones) / sizeof(not_zones[0]); i++)
        if (strlen(not_zones[i]) == n && memcmp(name, not_zones[i], n) == 0)
            return 0;
    if ((n > 6 && memcmp(name, "posix/", 6) == 0) || (n > 6 && memcmp(name, "right/", 6) == 0))
        return 0;

    char path[256];
    snprintf(path, sizeof(path), "%s/%.*s", zoneinfo_dir != NULL ? zoneinfo_dir : ZONEINFO_DIR, (int)n, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return 0;
    char magic[4];
    ssize_t got = read(fd, magic, sizeof(magic)); /* a directory fails here with EISDIR */
    close(fd);
    return got == 4 && memcmp(magic, "TZif", 4) == 0;
}

int validate_uuid(const char *s, size_t n, char *out)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        int hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
        if (out != NULL)
            out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    if (out != NULL)
        out[36] = '\0';
    return 1;
}

static int check_field(const vfield_t *f, const json_t *v, verror_t *err)
{
    if (v->type == JSON_NULL && (f->flags & V_NULLABLE))
        return 0;
    switch (f->type) {
    case V_STRING:
        return check_string(v, f->min_len, f->max_len, f->name, NULL, err);
    case V_INT:
        return check_int(f, v, err);
    case V_BOOL:
        if (v->type != JSON_TRUE && v->type != JSON_FALSE)
            return fail(err, f->name, NULL, "bool_type", "Input should be a valid boolean");
        return 0;
    case V_OBJECT:
        return check_object(f, v, err);
    case V_STRINGS:
        return check_strings(f, v, err);
    case V_ENUM:
        return check_enum(f, v, err);
    case V_TIMEZONE:
        if (check_string(v, 0, 0, f->name, NULL, err) != 0)
            return -1;
        if (!validate_timezone(v->str, v->len, NULL))
            return fail(err, f->name, NULL, "value_error",
                        "Value error, unknown time zone: expected an IANA name such as 'Europe/Paris'");
        return 0;
    case V_URL:
        return check_url(f, v, err);
    case V_PHONE:
        return check_phone(f, v, err);
    case V_DATE:
        return check_date(f, v, err);
    case V_CODE:
        if (check_string(v, f->min_len, f->max_len, f->name, NULL, err) != 0)
            return -1;
        for (size_t i = 0; i < v->len; i++)
            if (v->str[i] < 'A' || v->str[i] > 'Z')
                return fail(err, f->name, NULL, "string_pattern_mismatch",
                            "String should match pattern '^[A-Z]+$' (upper-case letters)");
        return 0;
    case V_SLUG:
        if (check_string(v, f->min_len, f->max_len, f->name, NULL, err) != 0)
            return -1;
        if (!validate_slug(v->str, v->len))
            return fail(err, f->name, NULL, "string_pattern_mismatch",
                        "String should match pattern '^[a-z0-9]+(-[a-z0-9]+)*$'");
        return 0;
    case V_DATETIME:
        if (v->type != JSON_STRING)
            return fail(err, f->name, NULL, "datetime_type", "Input should be a valid datetime");
        if (!validate_rfc3339(v->str, v->len))
            return fail(err, f->name, NULL, "datetime_parsing",
                        "Input should be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
        return 0;
    case V_UUID:
        if (check_string(v, 0, 0, f->name, NULL, err) != 0)
            return -1;
        if (!validate_uuid(v->str, v->len, NULL))
            return fail(err, f->name, NULL, "uuid_parsing", "Input should be a valid UUID");
        return 0;
    }
    return fail(err, f->name, NULL, "value_error", "Value error, unsupported field type");
}

int validate_json(const vschema_t *schema, const json_t *body, vmode_t mode, verror_t *err)
{
    if (body == NULL || body->type != JSON_OBJECT)
        return fail(err, NULL, NULL, "model_attributes_type",
                    "Input should be a valid dictionary or object to extract fields from");
    for (size_t i = 0; i < body->len; i++) {
        const json_member_t *m = &body->members[i];
        size_t k;
        for (k = 0; k < schema->nfields; k++)
            if (strlen(schema->fields[k].name) == m->key_len && memcmp(schema->fields[k].name, m->key, m->key_len) == 0)
                break;
        if (k == schema->nfields)
            return fail(err, m->key, NULL, "extra_forbidden", "Extra inputs are not permitted");
    }
    for (size_t k = 0; k < schema->nfields; k++) {
        const vfield_t *f = &schema->fields[k];
        const json_t *v = json_get(body, f->name);
        if (v == NULL) {
            if (mode == V_FULL && (f->flags & V_REQUIRED))
                return fail(err, f->name, NULL, "missing", "Field required");
            continue;
        }
        if (check_field(f, v, err) != 0)
            return -1;
    }
    return 0;
}

void validate_respond(req_t *r, const verror_t *err)
{
    req_respond_validation(r, err->loc, err->msg, err->type);
}

int validate_body(req_t *r, const vschema_t *schema, vmode_t mode)
{
    verror_t err;
    if (validate_json(schema, r->body, mode, &err) == 0)
        return 0;
    validate_respond(r, &err);
    return -1;
}

int validate_slug(const char *s, size_t n)
{
    int prev_dash = 1; /* no leading dash */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (prev_dash)
                return 0;
            prev_dash = 1;
        } else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')) {
            prev_dash = 0;
        } else {
            return 0;
        }
    }
    return n > 0 && !prev_dash;
}

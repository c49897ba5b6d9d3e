/* CORS. A disallowed origin gets no CORS header at all (the browser then refuses the response
 * itself); nothing else about the response changes, so CORS never turns a request into an error. */
#include "pipeline/cors.h"

#include <stdlib.h>
#include <string.h>

#define CORS_ORIGIN_MAX 255

static const char allow_headers[] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
static const char expose_headers[] = "X-Request-Id, Location, Retry-After, Idempotent-Replayed, ETag";

cors_t *cors_new(cors_t **all)
{
    cors_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->max_age = CORS_MAX_AGE_DEFAULT;
    c->next = *all;
    *all = c;
    return c;
}

void cors_free_all(cors_t *all)
{
    while (all != NULL) {
        cors_t *next = all->next;
        for (size_t i = 0; i < all->norigins; i++)
            free(all->origins[i]);
        free(all);
        all = next;
    }
}

/* scheme://host[:port] as a browser serialises it: lower case, no path, no trailing slash (a
 * host name or an IPv4 address). */
static int origin_shape_ok(const char *s, size_t len)
{
    size_t skip = len >= 8 && memcmp(s, "https://", 8) == 0 ? 8 : len >= 7 && memcmp(s, "http://", 7) == 0 ? 7 : 0;
    if (skip == 0 || skip == len)
        return 0;
    int port = 0;
    for (size_t i = skip; i < len; i++) {
        char ch = s[i];
        if (ch == ':' && !port && i > skip && i + 1 < len)
            port = 1;
        else if (port ? !(ch >= '0' && ch <= '9')
                      : !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

const char *cors_add_origin(cors_t *c, const char *origin, size_t len)
{
    if (len == 1 && origin[0] == '*') {
        c->any = 1;
        return NULL;
    }
    if (len > CORS_ORIGIN_MAX || !origin_shape_ok(origin, len))
        return "an origin is `*` or scheme://host[:port] (http or https, lower case, no path)";
    if (c->norigins == CORS_MAX_ORIGINS)
        return "too many origins (at most 32)";
    c->origins[c->norigins++] = strndup(origin, len);
    return NULL;
}

const char *cors_add_origins_text(cors_t *c, const char *text)
{
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && *p == ' ')
            p++, n--;
        while (n > 0 && p[n - 1] == ' ')
            n--;
        const char *err = cors_add_origin(c, p, n);
        if (err != NULL)
            return err;
        if (end == NULL)
            return NULL;
        p = end + 1;
    }
}

const char *cors_check(const cors_t *c)
{
    if (!c->any && c->norigins == 0)
        return "no origin is allowed: list at least one, or turn CORS off";
    if (c->any && c->credentials)
        return "`*` cannot be combined with credentials: list the origins instead";
    if (c->any && c->norigins != 0)
        return "`*` already allows every origin: list no other";
    return NULL;
}

static h2o_iovec_t request_origin(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

int cors_is_preflight(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) && request_origin(req).base != NULL &&
           h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1) >= 0;
}

/* The Origin header when the policy allows it, else {NULL, 0}. */
static h2o_iovec_t allowed_origin(const cors_t *c, h2o_req_t *req)
{
    h2o_iovec_t o = request_origin(req);
    if (o.base == NULL || c->any)
        return o;
    for (size_t i = 0; i < c->norigins; i++)
        if (h2o_memis(o.base, o.len, c->origins[i], strlen(c->origins[i])))
            return o;
    return h2o_iovec_init(NULL, 0);
}

static void add(h2o_req_t *req, const char *name, size_t nlen, const char *value, size_t vlen)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, nlen, 1, NULL, value, vlen);
}

void cors_add_response_headers(const cors_t *c, h2o_req_t *req)
{
    add(req, H2O_STRLIT("vary"), H2O_STRLIT("Origin"));
    h2o_iovec_t o = allowed_origin(c, req);
    if (o.base == NULL)
        return;
    if (c->any)
        add(req, H2O_STRLIT("access-control-allow-origin"), H2O_STRLIT("*"));
    else
        add(req, H2O_STRLIT("access-control-allow-origin"), o.base, o.len);
    if (c->credentials)
        add(req, H2O_STRLIT("access-control-allow-credentials"), H2O_STRLIT("true"));
    add(req, H2O_STRLIT("access-control-expose-headers"), expose_headers, sizeof(expose_headers) - 1);
}

void cors_add_preflight_headers(const cors_t *c, h2o_req_t *req, const char *allow)
{
    if (allowed_origin(c, req).base == NULL)
        return;
    add(req, H2O_STRLIT("access-control-allow-methods"), allow, strlen(allow));
    add(req, H2O_STRLIT("access-control-allow-headers"), allow_headers, sizeof(allow_headers) - 1);
    char age[16];
    int n = snprintf(age, sizeof(age), "%u", c->max_age);
    h2o_iovec_t v = h2o_strdup(&req->pool, age, (size_t)n);
    add(req, H2O_STRLIT("access-control-max-age"), v.base, v.len);
}

/* Route matching: a module has a handful of routes, so a linear scan over segment patterns is
 * both the simplest and, at this size, the fastest choice. */
#include <stdio.h>
#include <string.h>

#include "pipeline/req.h"

/* Matches one pattern against a path, segment by segment; fills params on success. */
static int match_pattern(const char *pattern, h2o_iovec_t path, req_param_t *params, size_t max, size_t *nparams)
{
    const char *p = pattern, *s = path.base, *end = path.base + path.len;
    size_t n = 0;
    while (*p != '\0') {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg = s;
            while (s < end && *s != '/')
                s++;
            if (s == seg || n == max)
                return 0;
            params[n++] = (req_param_t){p + 1, (size_t)(close - p - 1), h2o_iovec_init(seg, (size_t)(s - seg))};
            p = close + 1;
        } else {
            if (s == end || *s != *p)
                return 0;
            p++, s++;
        }
    }
    if (s != end)
        return 0;
    *nparams = n;
    return 1;
}

app_match_t app_route_match(const app_module_t *m, h2o_iovec_t method, h2o_iovec_t path, const app_route_t **route,
                            req_param_t *params, size_t max, size_t *nparams, char *allow, size_t allowlen)
{
    size_t allow_used = 0;
    req_param_t scratch[REQ_MAX_PARAMS];
    size_t nscratch;
    allow[0] = '\0';
    for (size_t i = 0; i < m->nroutes; i++) {
        const app_route_t *r = &m->routes[i];
        int same_method = h2o_memis(method.base, method.len, r->method, strlen(r->method));
        if (same_method && match_pattern(r->pattern, path, params, max, nparams)) {
            *route = r;
            return APP_MATCH_FOUND;
        }
        if (!same_method && match_pattern(r->pattern, path, scratch, REQ_MAX_PARAMS, &nscratch) &&
            strstr(allow, r->method) == NULL) {
            int w = snprintf(allow + allow_used, allowlen - allow_used, "%s%s", allow_used ? ", " : "", r->method);
            if (w > 0 && (size_t)w < allowlen - allow_used)
                allow_used += (size_t)w;
        }
    }
    return allow_used > 0 ? APP_MATCH_NO_METHOD : APP_MATCH_NO_PATH;
}

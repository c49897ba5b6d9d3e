/* Parsers for the value syntaxes of h2o.conf's app directives: sizes, durations and rates. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/config.h"

/* Reads a leading unsigned decimal; returns the rest of the string or NULL. */
static const char *parse_number(const char *s, unsigned long long *out)
{
    if (!isdigit((unsigned char)*s))
        return NULL;
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 ? end : NULL;
}

int config_parse_size(const char *s, size_t *out)
{
    unsigned long long n, mult = 1;
    const char *rest = parse_number(s, &n);
    if (rest == NULL)
        return -1;
    if (strcasecmp(rest, "K") == 0)
        mult = 1ull << 10;
    else if (strcasecmp(rest, "M") == 0)
        mult = 1ull << 20;
    else if (strcasecmp(rest, "G") == 0)
        mult = 1ull << 30;
    else if (*rest != '\0')
        return -1;
    if (n > SIZE_MAX / mult)
        return -1;
    *out = (size_t)(n * mult);
    return 0;
}

int config_parse_duration(const char *s, uint64_t *ms)
{
    unsigned long long n, mult;
    const char *rest = parse_number(s, &n);
    if (rest == NULL)
        return -1;
    if (strcmp(rest, "ms") == 0)
        mult = 1;
    else if (strcmp(rest, "s") == 0 || *rest == '\0')
        mult = 1000;
    else if (strcmp(rest, "m") == 0 || strcmp(rest, "min") == 0)
        mult = 60000;
    else
        return -1;
    if (n > UINT64_MAX / mult)
        return -1;
    *ms = n * mult;
    return 0;
}

int config_parse_rate(const char *s, app_rate_t *out)
{
    if (strcasecmp(s, "off") == 0) {
        *out = (app_rate_t){0, 0};
        return 0;
    }
    unsigned long long n;
    const char *rest = parse_number(s, &n);
    if (rest == NULL || *rest != '/' || n == 0 || n > UINT32_MAX)
        return -1;
    rest++;
    uint32_t per;
    if (strcmp(rest, "s") == 0 || strcmp(rest, "sec") == 0)
        per = 1000;
    else if (strcmp(rest, "m") == 0 || strcmp(rest, "min") == 0)
        per = 60000;
    else if (strcmp(rest, "h") == 0 || strcmp(rest, "hour") == 0)
        per = 3600000;
    else
        return -1;
    *out = (app_rate_t){(uint32_t)n, per};
    return 0;
}

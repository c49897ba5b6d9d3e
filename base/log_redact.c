/* Masks secrets and personal data in log text. A hand-written scanner rather than regexes: it
 * runs on every logged value, and each rule needs word-boundary checks regexes make awkward. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

struct redact_out {
    char *buf;
    size_t len, cap;
};

static void put(struct redact_out *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap)
        n = o->cap - 1 - o->len;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static int is_word(unsigned char c)
{
    return isalnum(c) || c == '_';
}

static int is_b64url(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_';
}

static int is_email_local(unsigned char c)
{
    return isalnum(c) || strchr("._%+-", c) != NULL;
}

/* "eyJ" starts every base64url-encoded JSON object, so it marks JWT headers reliably. */
static size_t match_jwt(const char *s, size_t len)
{
    if (len < 3 || memcmp(s, "eyJ", 3) != 0)
        return 0;
    size_t i = 3, dots = 0;
    while (i < len && (is_b64url((unsigned char)s[i]) || (s[i] == '.' && dots < 2))) {
        if (s[i] == '.')
            dots++;
        i++;
    }
    return dots >= 1 ? i : 0;
}

/* Returns the length of an email address starting at s, or 0. The domain needs a dot and a
 * top-level part of two or more letters. */
static size_t match_email(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_email_local((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= len || s[i] != '@')
        return 0;
    size_t domain = ++i;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.'))
        i++;
    while (i > domain && s[i - 1] == '.') /* a sentence's final dot is not the domain's */
        i--;
    size_t tld = i;
    while (tld > domain && s[tld - 1] != '.')
        tld--;
    if (tld <= domain + 1 || i - tld < 2)
        return 0;
    for (size_t j = tld; j < i; j++)
        if (!isalpha((unsigned char)s[j]))
            return 0;
    return i;
}

/* A '-' or '.' followed by a letter or digit continues a token (a UUID, a version, a host). */
static int joins_token(const char *s, size_t len)
{
    return len >= 2 && (s[0] == '-' || s[0] == '.') && isalnum((unsigned char)s[1]);
}

/* A phone number: 10-15 digits, or 7-15 after a leading '+', in groups separated by single
 * spaces, dashes, dots or parentheses, not glued to letters (which would make it an id). */
static size_t match_phone(const char *s, size_t len)
{
    size_t i = 0, digits = 0, end = 0;
    int plus = s[0] == '+';
    if (plus)
        i++;
    if (i < len && s[i] == '(')
        i++;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (isdigit(c)) {
            digits++;
            end = ++i;
        } else if ((c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') && i + 1 < len &&
                   (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '(' || (c == ')' && s[i + 1] == ' '))) {
            i++;
        } else {
            break;
        }
    }
    if (end < len && (is_word((unsigned char)s[end]) || joins_token(s + end, len - end)))
        return 0;
    if (digits > 15 || digits < (plus ? 7u : 10u))
        return 0;
    return end;
}

static const char *const secret_params[] = {"token", "access_token", "refresh_token", "api_key", "key",
                                            "secret", "password", "code", "visitor_token"};

/* Matches "<name>=" where name is a secret-looking query or form parameter; returns its length. */
static size_t match_secret_param(const char *s, size_t len)
{
    for (size_t k = 0; k < sizeof(secret_params) / sizeof(secret_params[0]); k++) {
        size_t n = strlen(secret_params[k]);
        if (len > n && s[n] == '=' && strncasecmp(s, secret_params[k], n) == 0)
            return n + 1;
    }
    return 0;
}

size_t log_redact(const char *in, size_t len, char *out, size_t outcap)
{
    struct redact_out o = {out, 0, outcap};
    if (outcap == 0)
        return 0;

    size_t i = 0;
    while (i < len && o.len + 1 < o.cap) {
        const char *s = in + i;
        size_t rest = len - i, m;
        int boundary = i == 0 || !is_word((unsigned char)in[i - 1]);

        if (boundary && rest > 7 && strncasecmp(s, "bearer ", 7) == 0) {
            put(&o, s, 7);
            put(&o, "[token]", 7);
            for (i += 7; i < len && !isspace((unsigned char)in[i]) && in[i] != '"'; i++)
                ;
        } else if (boundary && (m = match_jwt(s, rest)) != 0) {
            put(&o, "[token]", 7);
            i += m;
        } else if (boundary && (m = match_secret_param(s, rest)) != 0) {
            put(&o, s, m);
            put(&o, "[redacted]", 10);
            for (i += m; i < len && in[i] != '&' && in[i] != '"' && !isspace((unsigned char)in[i]); i++)
                ;
        } else if ((i == 0 || !is_email_local((unsigned char)in[i - 1])) && (m = match_email(s, rest)) != 0) {
            put(&o, "[email]", 7);
            i += m;
        } else if (boundary && (isdigit((unsigned char)*s) || *s == '+' || *s == '(') &&
                   !(i >= 2 && joins_token(in + i - 1, rest + 1) && isalnum((unsigned char)in[i - 2])) &&
                   (m = match_phone(s, rest)) != 0) {
            put(&o, "[phone]", 7);
            i += m;
        } else {
            /* Copy the rest of this word whole, so a rule never starts in the middle of one. */
            size_t j = i + 1;
            if (is_word((unsigned char)in[i]))
                while (j < len && is_word((unsigned char)in[j]) && in[j] != '@')
                    j++;
            put(&o, s, j - i);
            i = j;
        }
    }
    out[o.len] = '\0';
    return o.len;
}

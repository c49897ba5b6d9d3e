/* Memory rule parser: one left-to-right pass over at most MEMRULE_MAX_LEN bytes, no allocation, so
 * a rule from a request body costs a bounded amount whatever it holds. */
#include "handlers/memrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ECHO_MAX 32 /* bytes of user text quoted back in a message, so messages stay short */

typedef struct parser {
    const char *s;
    size_t len;            /* parse up to here: the first refused byte, or the end of the text */
    size_t pos;
    size_t bad_off;        /* the first refused byte (newline, control, bad UTF-8), when truncated */
    const char *bad_msg;
    int truncated;
    memrule_error_t *err;
} parser_t;

/* Column of byte offset off. Only called for offsets whose prefix is well-formed UTF-8 (errors
 * are reported at or before the first ill-formed byte), so counting the bytes that start a code
 * point counts characters. */
static size_t column_of(const char *s, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            col++;
    return col;
}

static int vfail(parser_t *ps, size_t off, const char *fmt, va_list ap)
{
    if (ps->err != NULL) {
        ps->err->column = column_of(ps->s, off);
        vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    }
    return -1;
}

__attribute__((format(printf, 3, 4))) static int fail(parser_t *ps, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ps, off, fmt, ap);
    va_end(ap);
    return -1;
}

/* For errors caused by running out of text: when the text was cut at a refused byte, that byte
 * is the real problem ("unterminated string" for k="a<newline>b" would mislead). */
__attribute__((format(printf, 3, 4))) static int fail_eof(parser_t *ps, size_t off, const char *fmt, ...)
{
    if (ps->truncated)
        return fail(ps, ps->bad_off, "%s", ps->bad_msg);
    va_list ap;
    va_start(ap, fmt);
    vfail(ps, off, fmt, ap);
    va_end(ap);
    return -1;
}

/* Offset of the first byte no rule may contain, with why; n when there is none. */
static size_t first_refused(const char *s, size_t n, const char **why)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '\n' || c == '\r') {
            *why = "newline not allowed (a rule is one line)";
            return i;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *why = "control character not allowed";
            return i;
        }
        size_t u = json_utf8_len(p + i, n - i);
        if (u == 0) {
            *why = "invalid UTF-8";
            return i;
        }
        i += u;
    }
    return n;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int is_event_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static int is_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

static void skip_ws(parser_t *ps)
{
    while (ps->pos < ps->len && is_ws(ps->s[ps->pos]))
        ps->pos++;
}

/* The maximal run of non-whitespace at pos; its length (0 at the end). */
static size_t token_len(const parser_t *ps)
{
    size_t n = 0;
    while (ps->pos + n < ps->len && !is_ws(ps->s[ps->pos + n]))
        n++;
    return n;
}

static int token_is(const parser_t *ps, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(ps->s + ps->pos, word, n) == 0;
}

/* Skips whitespace and requires the keyword word as the next whole token. */
static int expect_keyword(parser_t *ps, const char *word)
{
    skip_ws(ps);
    size_t n = token_len(ps);
    if (n == 0)
        return fail_eof(ps, ps->pos, "expected \"%s\"", word);
    if (!token_is(ps, n, word))
        return fail(ps, ps->pos, "expected \"%s\"", word);
    ps->pos += n;
    return 0;
}

static int parse_event(parser_t *ps, memrule_t *out)
{
    skip_ws(ps);
    size_t start = ps->pos, n = token_len(ps);
    const char *t = ps->s + start;
    if (n == 0)
        return fail_eof(ps, start, "expected an event type ([a-z0-9_.]+)");
    if (!is_event_char(t[0]))
        return fail(ps, start, "expected an event type ([a-z0-9_.]+)");
    for (size_t i = 0; i < n; i++) {
        if (i == MEMRULE_EVENT_MAX)
            return fail(ps, start + i, "event type longer than %d characters", MEMRULE_EVENT_MAX);
        if (!is_event_char(t[i]))
            return fail(ps, start + i, "invalid character in event type ([a-z0-9_.]+)");
        if (t[i] == '.' && i == 0)
            return fail(ps, start, "event type must not start with '.'");
        if (t[i] == '.' && i + 1 < n && t[i + 1] == '.')
            return fail(ps, start + i, "event type must not contain \"..\"");
    }
    if (t[n - 1] == '.')
        return fail(ps, start + n - 1, "event type must not end with '.'");
    memcpy(out->event, t, n);
    out->event[n] = '\0';
    ps->pos += n;
    return 0;
}

/* Bytes of at most max from s[0..n) that end on a code point boundary. */
static size_t echo_len(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

static int parse_action(parser_t *ps, memrule_t *out, size_t *action_off)
{
    skip_ws(ps);
    size_t n = token_len(ps);
    *action_off = ps->pos;
    if (n == 0)
        return fail_eof(ps, ps->pos, "expected an action (create_task, log)");
    if (token_is(ps, n, "create_task"))
        out->action = MEMRULE_CREATE_TASK;
    else if (token_is(ps, n, "log"))
        out->action = MEMRULE_LOG;
    else
        return fail(ps, ps->pos, "unknown action \"%.*s%s\" (create_task, log)",
                    (int)echo_len(ps->s + ps->pos, n, ECHO_MAX), ps->s + ps->pos, n > ECHO_MAX ? "..." : "");
    ps->pos += n;
    return 0;
}

/* Decodes the value at pos into storage at *used. */
static int parse_value(parser_t *ps, memrule_t *out, memrule_param_t *p, size_t *used)
{
    size_t start = ps->pos;
    /* storage cannot run out (each value is shorter than its "k=v" text, and the rule is at most
     * as long as storage), but the bound is kept here rather than in that argument */
    if (*used >= sizeof(out->storage))
        return fail(ps, start, "value too long");
    char *dst = out->storage + *used;
    size_t room = sizeof(out->storage) - *used, n = 0;
    if (ps->pos >= ps->len)
        return fail_eof(ps, start, "expected a value after '='");
    if (is_ws(ps->s[ps->pos]))
        return fail(ps, start, "expected a value after '=' (quote an empty one: \"\")");
    if (ps->s[ps->pos] == '"') {
        ps->pos++;
        for (;;) {
            if (ps->pos >= ps->len)
                return fail_eof(ps, start, "unterminated string");
            char c = ps->s[ps->pos];
            if (c == '"')
                break;
            if (c == '\\') {
                if (ps->pos + 1 >= ps->len)
                    return fail_eof(ps, start, "unterminated string");
                char e = ps->s[ps->pos + 1];
                if (e != '"' && e != '\\')
                    return fail(ps, ps->pos, "invalid escape (only \\\" and \\\\)");
                c = e;
                ps->pos++;
            }
            if (n + 1 >= room) /* room for this byte and the NUL */
                return fail(ps, start, "value too long");
            dst[n++] = c;
            ps->pos++;
        }
        ps->pos++; /* the closing quote */
        if (ps->pos < ps->len && !is_ws(ps->s[ps->pos]))
            return fail(ps, ps->pos, "expected a space after the closing quote");
    } else {
        while (ps->pos < ps->len && !is_ws(ps->s[ps->pos])) {
            if (ps->s[ps->pos] == '"')
                return fail(ps, ps->pos, "unexpected '\"' in a bare value (quote the whole value)");
            if (n + 1 >= room)
                return fail(ps, start, "value too long");
            dst[n++] = ps->s[ps->pos++];
        }
    }
    dst[n] = '\0';
    p->value = dst;
    p->value_len = n;
    *used += n + 1;
    return 0;
}

static int parse_param(parser_t *ps, memrule_t *out, size_t *used)
{
    size_t start = ps->pos, n = 0;
    const char *t = ps->s + start;
    if (out->nparams == MEMRULE_MAX_PARAMS)
        return fail(ps, start, "too many parameters (at most %d)", MEMRULE_MAX_PARAMS);
    if (!is_key_start(t[0]))
        return fail(ps, start, "expected a parameter key ([a-z_][a-z0-9_]*)");
    while (start + n < ps->len && is_key_char(t[n])) {
        if (n == MEMRULE_KEY_MAX)
            return fail(ps, start + n, "parameter key longer than %d characters", MEMRULE_KEY_MAX);
        n++;
    }
    if (start + n >= ps->len)
        return fail_eof(ps, start + n, "expected '=' after parameter \"%.*s\"", (int)n, t);
    if (is_ws(t[n]))
        return fail(ps, start + n, "expected '=' after parameter \"%.*s\"", (int)n, t);
    if (t[n] != '=')
        return fail(ps, start + n, "invalid character in parameter key ([a-z_][a-z0-9_]*)");
    for (size_t i = 0; i < out->nparams; i++)
        if (strlen(out->params[i].key) == n && memcmp(out->params[i].key, t, n) == 0)
            return fail(ps, start, "duplicate parameter \"%.*s\"", (int)n, t);
    memrule_param_t *p = &out->params[out->nparams];
    memcpy(p->key, t, n);
    p->key[n] = '\0';
    ps->pos = start + n + 1;
    size_t value_off = ps->pos;
    if (parse_value(ps, out, p, used) != 0)
        return -1;
    out->nparams++;
    /* checked here, where the value's column is known */
    if (out->action == MEMRULE_CREATE_TASK && strcmp(p->key, "type") == 0) {
        if (!memrule_task_type_ok(p->value, p->value_len))
            return fail(ps, value_off, "task type must match [a-z0-9_.]{1,%d}", MEMRULE_TYPE_MAX);
    }
    return 0;
}

int memrule_task_type_ok(const char *s, size_t n)
{
    int ok = n >= 1 && n <= MEMRULE_TYPE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_event_char(s[i]);
    return ok;
}

int memrule_parse(const char *text, size_t len, memrule_t *out, memrule_error_t *err)
{
    parser_t ps = {.s = text != NULL ? text : "", .len = len, .err = err};
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        ps.len = len = 0;
    if (len > MEMRULE_MAX_LEN) {
        /* the column of the first character past the limit (or of the one it continues) */
        size_t off = MEMRULE_MAX_LEN;
        while (off > 0 && ((unsigned char)text[off] & 0xc0) == 0x80)
            off--;
        return fail(&ps, off, "rule longer than %d bytes", MEMRULE_MAX_LEN);
    }
    ps.bad_off = first_refused(text, len, &ps.bad_msg);
    if (ps.bad_off < len) {
        ps.truncated = 1;
        ps.len = ps.bad_off;
    }

    size_t action_off, used = 0;
    if (expect_keyword(&ps, "when") != 0 || parse_event(&ps, out) != 0 || expect_keyword(&ps, "then") != 0 ||
        parse_action(&ps, out, &action_off) != 0)
        return -1;
    /* every token ends at whitespace or the end (a quoted value checks its closing quote), so
     * skipping whitespace is all that separates one parameter from the next */
    for (;;) {
        skip_ws(&ps);
        if (ps.pos >= ps.len)
            break;
        if (parse_param(&ps, out, &used) != 0)
            return -1;
    }
    if (out->action == MEMRULE_CREATE_TASK && memrule_param(out, "type") == NULL)
        return fail_eof(&ps, action_off, "create_task needs type=<task type>");
    if (ps.truncated)
        return fail(&ps, ps.bad_off, "%s", ps.bad_msg);
    return 0;
}

int memrule_error_format(const memrule_error_t *err, char *buf, size_t n)
{
    return snprintf(buf, n, "column %zu: %s", err->column, err->msg);
}

const char *memrule_param(const memrule_t *r, const char *key)
{
    for (size_t i = 0; i < r->nparams && i < MEMRULE_MAX_PARAMS; i++)
        if (strcmp(r->params[i].key, key) == 0)
            return r->params[i].value;
    return NULL;
}

const char *memrule_action_name(memrule_action_t a)
{
    return a == MEMRULE_CREATE_TASK ? "create_task" : "log";
}

void memrule_to_json(const memrule_t *r, json_out_t *o)
{
    json_out_obj_begin(o);
    json_out_key(o, "event");
    json_out_str(o, r->event);
    json_out_key(o, "action");
    json_out_str(o, memrule_action_name(r->action));
    json_out_key(o, "params");
    json_out_obj_begin(o);
    for (size_t i = 0; i < r->nparams && i < MEMRULE_MAX_PARAMS; i++) {
        json_out_key(o, r->params[i].key);
        json_out_strn(o, r->params[i].value, r->params[i].value_len);
    }
    json_out_obj_end(o);
    json_out_obj_end(o);
}

int memrule_matches(const memrule_t *r, const char *event_type)
{
    if (event_type == NULL || r->event[0] == '\0')
        return 0;
    size_t i;
    /* reads event_type no further than one byte past the rule's event (<= 129 bytes) */
    for (i = 0; r->event[i] != '\0'; i++) {
        char c = event_type[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != r->event[i]) /* also stops at event_type's NUL: rule events hold none */
            return 0;
    }
    return event_type[i] == '\0';
}

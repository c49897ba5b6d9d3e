/* Server-sent events, incrementally: a read may end anywhere (inside a line, a CRLF, a UTF-8
 * sequence), so a line is only looked at once its terminator has arrived. */
#include <string.h>

#include "providers/llm_internal.h"

static void sse_line(llm_sse_t *s, int *ready)
{
    const char *l = s->line.data;
    size_t n = s->line.len;
    if (n == 0) {
        if (s->has_data) {
            *ready = 1;
            s->dispatched = 1;
        }
        return;
    }
    if (l[0] == ':') /* a comment: keep-alives such as ": ping" */
        return;
    const char *colon = memchr(l, ':', n);
    size_t name_len = colon != NULL ? (size_t)(colon - l) : n;
    if (name_len != 4 || memcmp(l, "data", 4) != 0)
        return; /* event, id, retry: nothing the providers' streams need */
    const char *v = colon != NULL ? colon + 1 : l + n;
    if (v < l + n && *v == ' ')
        v++;
    size_t vlen = (size_t)(l + n - v);
    if (s->data.len + vlen + 2 > LLM_SSE_MAX_LINE) {
        s->overflow = 1;
        return;
    }
    if ((s->has_data && buf_add(&s->data, "\n", 1) != 0) || buf_add(&s->data, v, vlen) != 0) {
        s->overflow = 1;
        return;
    }
    s->has_data = 1;
}

size_t llm_sse_feed(llm_sse_t *s, const char *p, size_t n, int *ready)
{
    size_t i = 0;
    *ready = 0;
    if (s->dispatched) {
        s->dispatched = 0;
        s->has_data = 0;
        s->data.len = 0;
    }
    while (i < n && !*ready && !s->overflow) {
        if (s->after_cr) {
            s->after_cr = 0;
            if (p[i] == '\n') { /* the LF of a CRLF split across reads, or not */
                i++;
                continue;
            }
        }
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            j++;
        if (s->line.len + (j - i) > LLM_SSE_MAX_LINE || buf_add(&s->line, p + i, j - i) != 0) {
            s->overflow = 1;
            break;
        }
        i = j;
        if (j == n)
            break; /* the line goes on in the next read */
        s->after_cr = p[j] == '\r';
        i++;
        sse_line(s, ready);
        s->line.len = 0;
    }
    if (*ready && buf_add(&s->data, "", 0) != 0) /* "data:" alone still needs a text */
        s->overflow = 1;
    return i;
}

void llm_sse_free(llm_sse_t *s)
{
    buf_free(&s->line);
    buf_free(&s->data);
}

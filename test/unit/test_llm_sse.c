/* The SSE splitter on its own: one stream cut at every byte offset (and byte by byte) gives the
 * same events; CR, LF and CRLF; comments; multi-line data; the 1 MiB line bound. */
#include <stdlib.h>
#include <string.h>

#include "providers/llm_internal.h"
#include "test/support/check.h"

/* "é" and "€" are multi-byte: a cut can land inside them. */
static const char stream[] = ": ping\r\n\r\n"
                             "data: {\"a\":\"h\xc3\xa9llo\"}\r\n\r\n"
                             "event: message\nid: 7\ndata:one\ndata:  two\n\n"
                             "data: \xe2\x82\xac\r\r"
                             ": keep-alive\n"
                             "retry: 10\n"
                             "\n"
                             "data: [DONE]\n\n";
static const char *const expected[] = {"{\"a\":\"h\xc3\xa9llo\"}", "one\n two", "\xe2\x82\xac", "[DONE]"};
#define NEXPECTED 4

typedef struct events {
    char *ev[16];
    int n;
} events_t;

/* Feeds p in pieces of the given lengths, collecting every event. */
static void feed(llm_sse_t *s, events_t *e, const char *p, size_t n)
{
    while (n > 0) {
        int ready;
        size_t k = llm_sse_feed(s, p, n, &ready);
        if (ready && e->n < 16)
            e->ev[e->n++] = strdup(s->data.data);
        REQUIRE(k <= n);
        if (k == 0 && !ready)
            break;
        p += k;
        n -= k;
    }
}

static int check_events(events_t *e)
{
    int ok = e->n == NEXPECTED;
    for (int i = 0; i < e->n; i++) {
        ok = ok && i < NEXPECTED && strcmp(e->ev[i], expected[i]) == 0;
        free(e->ev[i]);
    }
    e->n = 0;
    return ok;
}

static void test_every_split(void)
{
    size_t n = sizeof(stream) - 1;
    int good = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        llm_sse_t s = {0};
        events_t e = {0};
        feed(&s, &e, stream, cut);
        feed(&s, &e, stream + cut, n - cut);
        good += check_events(&e);
        llm_sse_free(&s);
    }
    CHECK_INT(good, (int)n + 1);

    for (size_t a = 1; a < n; a += 7) /* two cuts */
        for (size_t b = a; b < n; b += 5) {
            llm_sse_t s = {0};
            events_t e = {0};
            feed(&s, &e, stream, a);
            feed(&s, &e, stream + a, b - a);
            feed(&s, &e, stream + b, n - b);
            CHECK(check_events(&e));
            llm_sse_free(&s);
        }

    llm_sse_t s = {0};
    events_t e = {0};
    for (size_t i = 0; i < n; i++)
        feed(&s, &e, stream + i, 1);
    CHECK(check_events(&e));
    llm_sse_free(&s);
}

/* One feed returns at the end of each event, so a caller can stop between events (a pause). */
static void test_one_event_per_call(void)
{
    llm_sse_t s = {0};
    const char two[] = "data: a\n\ndata: b\n\n";
    int ready;
    size_t k = llm_sse_feed(&s, two, sizeof(two) - 1, &ready);
    CHECK_INT(ready, 1);
    CHECK_INT(k, 9);
    CHECK_STR(s.data.data, "a");
    k = llm_sse_feed(&s, two + 9, sizeof(two) - 1 - 9, &ready);
    CHECK_INT(ready, 1);
    CHECK_STR(s.data.data, "b");
    k = llm_sse_feed(&s, "", 0, &ready);
    CHECK_INT(ready, 0);
    llm_sse_free(&s);
}

static void test_line_bound(void)
{
    size_t big = LLM_SSE_MAX_LINE + 10;
    char *line = malloc(big);
    memset(line, 'x', big);
    memcpy(line, "data: ", 6);
    llm_sse_t s = {0};
    int ready;
    size_t off = 0;
    while (off < big && !s.overflow)
        off += llm_sse_feed(&s, line + off, big - off < 4096 ? big - off : 4096, &ready);
    CHECK(s.overflow);
    CHECK(off <= LLM_SSE_MAX_LINE);
    llm_sse_free(&s);

    /* just under the bound is fine */
    llm_sse_t t = {0};
    size_t ok_len = LLM_SSE_MAX_LINE - 16;
    memcpy(line + ok_len, "\n\n", 2);
    off = 0;
    ready = 0;
    while (off < ok_len + 2 && !ready && !t.overflow)
        off += llm_sse_feed(&t, line + off, ok_len + 2 - off, &ready);
    CHECK(!t.overflow);
    CHECK_INT(ready, 1);
    CHECK_INT(t.data.len, ok_len - 6);
    llm_sse_free(&t);
    free(line);
}

int main(void)
{
    test_every_split();
    test_one_event_per_call();
    test_line_bound();
    return check_done("llm_sse");
}

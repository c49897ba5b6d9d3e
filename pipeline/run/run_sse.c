/* The glue between a run's sink and an sse_t: events pass through while the client is there, a
 * slow client pauses the provider, and a client that leaves detaches the sink so that the run
 * finishes on its own. */
#include "pipeline/run/run_sse.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "pipeline/sse.h"

struct run_sse {
    sse_t *sse; /* NULL once the client is gone */
    run_t *run;
};

static void forward(run_sse_t *s, const char *type, const char *json, size_t len)
{
    if (s->sse != NULL && sse_event(s->sse, type, json, len) != 0)
        s->sse = NULL; /* dropped: on_gone already ran */
}

static void on_event(void *arg, const char *type, const char *json, size_t len)
{
    forward(arg, type, json, len);
}

static int on_backlogged(void *arg)
{
    run_sse_t *s = arg;
    return s->sse != NULL && sse_backlogged(s->sse);
}

static void on_writable(void *arg)
{
    run_sse_t *s = arg;
    if (s->run != NULL)
        run_sink_writable(s->run);
}

static void on_gone(void *arg)
{
    run_sse_t *s = arg;
    s->sse = NULL;
    if (s->run != NULL)
        run_sink_detach(s->run);
}

run_sse_t *run_sse_open(req_t *r)
{
    static const sse_callbacks_t cbs = {on_writable, on_gone};
    run_sse_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->sse = sse_start(r, &cbs, s);
    return s;
}

run_sink_t run_sse_sink(run_sse_t *s)
{
    return (run_sink_t){on_event, on_backlogged, s};
}

void run_sse_attach(run_sse_t *s, run_t *run)
{
    s->run = run;
}

void run_sse_start(run_sse_t *s, const char *message_id)
{
    char json[96];
    json_out_t o = json_out_fixed(json, sizeof(json));
    json_out_obj_begin(&o);
    json_out_key(&o, "message_id");
    json_out_str(&o, message_id);
    json_out_obj_end(&o);
    forward(s, "message_start", json, json_out_len(&o));
}

void run_sse_reply(run_sse_t *s, const char *message_id, const char *content, unsigned tokens_in,
                   unsigned tokens_out, int whole)
{
    size_t len = strlen(content), cap = len * 6 + 256;
    char *mem = malloc(cap);
    if (mem == NULL)
        abort();
    json_out_t o = json_out_fixed(mem, cap);
    if (whole) {
        json_out_obj_begin(&o);
        json_out_key(&o, "text");
        json_out_str(&o, content);
        json_out_obj_end(&o);
        forward(s, "delta", mem, json_out_len(&o));
        o = json_out_fixed(mem, cap);
    }
    json_out_obj_begin(&o);
    json_out_key(&o, "message_id");
    json_out_str(&o, message_id);
    json_out_key(&o, "content");
    json_out_str(&o, content);
    json_out_key(&o, "usage");
    json_out_obj_begin(&o);
    json_out_key(&o, "tokens_in");
    json_out_int(&o, tokens_in);
    json_out_key(&o, "tokens_out");
    json_out_int(&o, tokens_out);
    json_out_obj_end(&o);
    json_out_obj_end(&o);
    forward(s, "message_end", mem, json_out_len(&o));
    free(mem);
}

void run_sse_error(run_sse_t *s, const char *code, const char *detail)
{
    char json[RUN_ERROR_JSON_MAX];
    forward(s, "error", json, run_error_json(json, code, detail));
}

void run_sse_close(run_sse_t *s)
{
    if (s->sse != NULL)
        sse_end(s->sse);
    if (s->run != NULL)
        run_close(s->run);
    free(s);
}

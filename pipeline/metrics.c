/* The metrics' label tables, the per-thread counters and the text exposition. A thread's counters
 * are one flat array of atomics laid out by metrics_t; only the owning thread writes them, so an
 * increment is a relaxed load and store (no locked instruction), and a scrape on another thread
 * reads each with a relaxed load: never a torn value, at worst one request behind. */
#define _GNU_SOURCE 1 /* open_memstream */
#include "pipeline/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef _Atomic uint64_t counter_t;

/* Status codes the server answers with; anything else is counted by its class ("4xx"). */
static const int statuses[] = {200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404,
                               405, 409, 413, 415, 422, 429, 500, 502, 503, 504};
#define NCODES (sizeof(statuses) / sizeof(statuses[0]))
#define NSTATUS (NCODES + 5) /* + 1xx .. 5xx */

/* Histogram upper bounds in nanoseconds and as the `le` label; the last bucket is +Inf. */
static const uint64_t bounds_ns[] = {1000000,   5000000,   10000000,   25000000,   50000000,   100000000,
                                     250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000};
static const char *const bounds_le[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
                                        "0.25",  "0.5",   "1",    "2.5",   "5",    "10"};
#define NBUCKETS (sizeof(bounds_ns) / sizeof(bounds_ns[0]) + 1)

/* pipeline_runs.kind (schema/0011_pipeline.up.sql), then "other"; the statuses a run or a
 * provider call ends with, then "other". */
static const char *const kinds[] = {"public_chat", "coach_chat", "practice", "assessment",
                                    "planner",     "crm_chat",   "voice",    "other"};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
static const char *const outcomes[] = {"succeeded", "failed", "cancelled", "other"};
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

typedef struct route_slot {
    const char *label; /* a mount's label of a route (app_route_label); NULL: empty */
    size_t pattern;
} route_slot_t;

struct metrics {
    const char **patterns; /* distinct mounted route patterns; index npatterns is "unmatched" */
    size_t npatterns;
    route_slot_t *slots; /* label → pattern, open addressing, a power of two in size */
    size_t nslots;
    const char **providers; /* distinct provider names; index nproviders is "other" */
    size_t nproviders;
    /* offsets of each family in a thread's counters */
    size_t http, hist, hist_sum, runs, calls, tokens, sse, total;
};

struct metrics_thread {
    const metrics_t *m;
    counter_t c[];
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort(); /* start-up only */
    return p;
}

static size_t slot_of(const metrics_t *m, const char *label)
{
    return (size_t)(((uintptr_t)label >> 3) * 0x9E3779B97F4A7C15ull) & (m->nslots - 1);
}

static size_t index_of(const char *const *names, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && strcmp(names[i], name) != 0)
        i++;
    return i;
}

metrics_t *metrics_new(const app_t *app, const char *const *provider_names, size_t nproviders)
{
    metrics_t *m = xcalloc(1, sizeof(*m));
    size_t nroutes = 0;
    for (size_t i = 0; i < app->nmounts; i++)
        nroutes += app->mounts[i]->module->nroutes;
    m->patterns = xcalloc(nroutes, sizeof(*m->patterns));
    for (m->nslots = 16; m->nslots < nroutes * 2; m->nslots *= 2)
        ;
    m->slots = xcalloc(m->nslots, sizeof(*m->slots));
    for (size_t i = 0; i < app->nmounts; i++) {
        const app_mount_t *mount = app->mounts[i];
        for (size_t k = 0; k < mount->module->nroutes; k++) {
            const char *label = mount->labels[k];
            size_t p = index_of(m->patterns, m->npatterns, label);
            if (p == m->npatterns)
                m->patterns[m->npatterns++] = label;
            size_t s = slot_of(m, label);
            while (m->slots[s].label != NULL)
                s = (s + 1) & (m->nslots - 1);
            m->slots[s] = (route_slot_t){label, p};
        }
    }
    m->providers = xcalloc(nproviders, sizeof(*m->providers));
    for (size_t i = 0; i < nproviders; i++)
        if (index_of(m->providers, m->nproviders, provider_names[i]) == m->nproviders)
            m->providers[m->nproviders++] = provider_names[i];
    size_t routes = m->npatterns + 1, providers = m->nproviders + 1;
    m->http = 0;
    m->hist = m->http + routes * NSTATUS;
    m->hist_sum = m->hist + routes * NBUCKETS;
    m->runs = m->hist_sum + routes;
    m->calls = m->runs + NKINDS * NOUTCOMES;
    m->tokens = m->calls + providers * NOUTCOMES;
    m->sse = m->tokens + providers * 2;
    m->total = m->sse + 1;
    return m;
}

void metrics_free(metrics_t *m)
{
    if (m == NULL)
        return;
    free(m->patterns);
    free(m->slots);
    free(m->providers);
    free(m);
}

metrics_thread_t *metrics_thread_new(const metrics_t *m)
{
    if (m == NULL)
        return NULL;
    /* whole cache lines: another thread's block never shares a line with this one */
    size_t size = (sizeof(metrics_thread_t) + m->total * sizeof(counter_t) + 63) / 64 * 64;
    metrics_thread_t *t = aligned_alloc(64, size);
    if (t == NULL)
        abort();
    t->m = m;
    for (size_t i = 0; i < m->total; i++)
        atomic_init(&t->c[i], 0);
    return t;
}

void metrics_thread_free(metrics_thread_t *t)
{
    free(t);
}

/* Only the owning thread writes a counter: no read-modify-write instruction is needed. */
static void add(counter_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by, memory_order_relaxed);
}

static uint64_t sum(const metrics_thread_t *const *threads, size_t n, size_t i)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        if (threads[k] != NULL)
            v += atomic_load_explicit(&threads[k]->c[i], memory_order_relaxed);
    return v;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < NCODES; i++)
        if (statuses[i] == status)
            return i;
    int class = status / 100;
    return NCODES + (size_t)(class >= 1 && class <= 5 ? class - 1 : 4);
}

static size_t pattern_index(const metrics_t *m, const char *label)
{
    if (label == NULL)
        return m->npatterns;
    for (size_t s = slot_of(m, label); m->slots[s].label != NULL; s = (s + 1) & (m->nslots - 1))
        if (m->slots[s].label == label)
            return m->slots[s].pattern;
    return m->npatterns; /* a mount made after start-up: none are */
}

void metrics_http(metrics_thread_t *t, const char *label, int status, uint64_t ns)
{
    if (t == NULL)
        return;
    const metrics_t *m = t->m;
    size_t p = pattern_index(m, label), b = 0;
    while (b < NBUCKETS - 1 && ns > bounds_ns[b])
        b++;
    add(&t->c[m->http + p * NSTATUS + status_index(status)], 1);
    add(&t->c[m->hist + p * NBUCKETS + b], 1);
    add(&t->c[m->hist_sum + p], ns);
}

static size_t outcome_index(const char *status)
{
    return index_of(outcomes, NOUTCOMES - 1, status);
}

void metrics_run(metrics_thread_t *t, const char *kind, const char *status)
{
    if (t == NULL)
        return;
    size_t k = index_of(kinds, NKINDS - 1, kind);
    add(&t->c[t->m->runs + k * NOUTCOMES + outcome_index(status)], 1);
}

void metrics_provider_call(metrics_thread_t *t, const char *provider, const char *status, unsigned tokens_in,
                           unsigned tokens_out)
{
    if (t == NULL)
        return;
    const metrics_t *m = t->m;
    size_t p = index_of(m->providers, m->nproviders, provider);
    add(&t->c[m->calls + p * NOUTCOMES + outcome_index(status)], 1);
    add(&t->c[m->tokens + p * 2], tokens_in);
    add(&t->c[m->tokens + p * 2 + 1], tokens_out);
}

void metrics_sse(metrics_thread_t *t, int delta)
{
    if (t != NULL) /* per thread it never goes below zero; the wrap of -1 cancels out in the sum */
        add(&t->c[t->m->sse], (uint64_t)(int64_t)delta);
}

/* ---- exposition ------------------------------------------------------------------------------ */

/* A label value with \, " and newline escaped, as the format requires. */
static void put_label(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s=\"", name);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', f), fputc(*p, f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP hellosales_%s %s\n# TYPE hellosales_%s %s\n", name, help, name, type);
}

static const char *route_name(const metrics_t *m, size_t p)
{
    return p < m->npatterns ? m->patterns[p] : "unmatched";
}

static void status_label(FILE *f, size_t s)
{
    if (s < NCODES)
        fprintf(f, "status=\"%d\"", statuses[s]);
    else
        fprintf(f, "status=\"%zuxx\"", s - NCODES + 1);
}

static void put_http(FILE *f, const metrics_t *m, const metrics_thread_t *const *th, size_t n)
{
    family(f, "http_requests_total", "counter", "Responses by route pattern and status code.");
    for (size_t p = 0; p <= m->npatterns; p++) {
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t v = sum(th, n, m->http + p * NSTATUS + s);
            if (v == 0)
                continue;
            fputs("hellosales_http_requests_total{", f);
            put_label(f, "route", route_name(m, p));
            fputc(',', f);
            status_label(f, s);
            fprintf(f, "} %llu\n", (unsigned long long)v);
        }
    }
    family(f, "http_request_duration_seconds", "histogram",
           "Time from a request's arrival to the start of its response, by route pattern.");
    for (size_t p = 0; p <= m->npatterns; p++) {
        uint64_t counts[NBUCKETS], total = 0;
        for (size_t b = 0; b < NBUCKETS; b++)
            total += counts[b] = sum(th, n, m->hist + p * NBUCKETS + b);
        if (total == 0)
            continue;
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += counts[b];
            fputs("hellosales_http_request_duration_seconds_bucket{", f);
            put_label(f, "route", route_name(m, p));
            fprintf(f, ",le=\"%s\"} %llu\n", b < NBUCKETS - 1 ? bounds_le[b] : "+Inf", (unsigned long long)cumulative);
        }
        uint64_t ns = sum(th, n, m->hist_sum + p);
        fputs("hellosales_http_request_duration_seconds_sum{", f);
        put_label(f, "route", route_name(m, p));
        fprintf(f, "} %llu.%09llu\n", (unsigned long long)(ns / 1000000000u), (unsigned long long)(ns % 1000000000u));
        fputs("hellosales_http_request_duration_seconds_count{", f);
        put_label(f, "route", route_name(m, p));
        fprintf(f, "} %llu\n", (unsigned long long)total);
    }
}

/* Every known combination is shown, zeros included, so that rates start at the first scrape;
 * the "other" rows only when something was counted there. */
static void put_pipeline(FILE *f, const metrics_t *m, const metrics_thread_t *const *th, size_t n)
{
    family(f, "pipeline_runs_total", "counter", "AI pipeline runs ended, by kind and status.");
    for (size_t k = 0; k < NKINDS; k++)
        for (size_t o = 0; o < NOUTCOMES; o++) {
            uint64_t v = sum(th, n, m->runs + k * NOUTCOMES + o);
            if (v != 0 || (k < NKINDS - 1 && o < NOUTCOMES - 1))
                fprintf(f, "hellosales_pipeline_runs_total{kind=\"%s\",status=\"%s\"} %llu\n", kinds[k], outcomes[o],
                        (unsigned long long)v);
        }
    family(f, "provider_calls_total", "counter", "Calls to AI providers, by provider and status.");
    for (size_t p = 0; p <= m->nproviders; p++)
        for (size_t o = 0; o < NOUTCOMES; o++) {
            uint64_t v = sum(th, n, m->calls + p * NOUTCOMES + o);
            if (v == 0 && (p == m->nproviders || o == NOUTCOMES - 1))
                continue;
            fputs("hellosales_provider_calls_total{", f);
            put_label(f, "provider", p < m->nproviders ? m->providers[p] : "other");
            fprintf(f, ",status=\"%s\"} %llu\n", outcomes[o], (unsigned long long)v);
        }
    family(f, "provider_tokens_total", "counter", "Tokens sent to (in) and received from (out) AI providers.");
    for (size_t p = 0; p <= m->nproviders; p++)
        for (int d = 0; d < 2; d++) {
            uint64_t v = sum(th, n, m->tokens + p * 2 + (size_t)d);
            if (v == 0 && p == m->nproviders)
                continue;
            fputs("hellosales_provider_tokens_total{", f);
            put_label(f, "provider", p < m->nproviders ? m->providers[p] : "other");
            fprintf(f, ",direction=\"%s\"} %llu\n", d == 0 ? "in" : "out", (unsigned long long)v);
        }
}

char *metrics_render(const metrics_t *m, const metrics_thread_t *const *threads, size_t n, const db_pool_stats_t *db,
                     size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        return NULL;
    put_http(f, m, threads, n);
    put_pipeline(f, m, threads, n);
    family(f, "sse_streams_open", "gauge", "Server-sent event streams open now.");
    fprintf(f, "hellosales_sse_streams_open %lld\n", (long long)(int64_t)sum(threads, n, m->sse));
    family(f, "db_pool_connections", "gauge", "Database connections, idle or with queries in flight.");
    fprintf(f, "hellosales_db_pool_connections{state=\"idle\"} %u\n", db->idle);
    fprintf(f, "hellosales_db_pool_connections{state=\"busy\"} %u\n", db->busy);
    family(f, "db_pool_waiting", "gauge", "Queries waiting for a database connection.");
    fprintf(f, "hellosales_db_pool_waiting %u\n", db->waiting);
    family(f, "db_pool_errors_total", "counter", "Database connection failures and query timeouts.");
    fprintf(f, "hellosales_db_pool_errors_total %llu\n", (unsigned long long)db->errors);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

/* Prometheus metrics (text exposition 0.0.4, names prefixed hellosales_). Each thread counts into
 * its own block, so nothing is shared on the hot path; a scrape sums the blocks. Every label set is
 * fixed at start-up and bounded: the registered route patterns (plus "unmatched"), a small table of
 * status codes (others by class, "4xx"), the run kinds and statuses, the configured providers. */
#ifndef pipeline_metrics_h
#define pipeline_metrics_h

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "pipeline/app.h"

typedef struct metrics metrics_t;               /* the label sets: read-only once built */
typedef struct metrics_thread metrics_thread_t; /* one thread's counters: only that thread writes */

/* The label sets of the routes of app's mounts and of the chat providers named (nproviders names,
 * duplicates ignored). Call once the configuration has mounted the modules. */
metrics_t *metrics_new(const app_t *app, const char *const *providers, size_t nproviders);
void metrics_free(metrics_t *m);

/* A zeroed block of counters for one thread (NULL when m is NULL: every call below then does
 * nothing). */
metrics_thread_t *metrics_thread_new(const metrics_t *m);
void metrics_thread_free(metrics_thread_t *t);

/* A response started with status after ns since the request arrived; label is the route's
 * (app_route_label), NULL when none matched. */
void metrics_http(metrics_thread_t *t, const char *label, int status, uint64_t ns);
/* A pipeline run ended with status (succeeded, failed, cancelled). */
void metrics_run(metrics_thread_t *t, const char *kind, const char *status);
/* A provider call ended with status, having used these tokens. */
void metrics_provider_call(metrics_thread_t *t, const char *provider, const char *status, unsigned tokens_in,
                           unsigned tokens_out);
/* An SSE stream opened (+1) or ended (-1). */
void metrics_sse(metrics_thread_t *t, int delta);

/* The exposition of the counters of threads[0..n) (NULL entries skipped) and the pools' gauges,
 * malloc'd and NUL-terminated; *len its length. NULL when out of memory. */
char *metrics_render(const metrics_t *m, const metrics_thread_t *const *threads, size_t n, const db_pool_stats_t *db,
                     size_t *len);

#endif

/* The per-thread asynchronous PostgreSQL pool: prepared statements, pipelining, a bounded FIFO
 * wait queue, per-query timeouts, reconnect with backoff. One pool per event-loop thread; nothing
 * in it is shared between threads except the read-only statement registry. */
#ifndef db_db_h
#define db_db_h

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <uv.h>

/* ---- statements -------------------------------------------------------------------------- */

enum {
    DB_STMT_READONLY = 1, /* may share a pipeline sync segment with other readers */
};

/* A statement is described once, registered before the threads start, and prepared on every
 * connection when it connects. The struct must outlive the pools (static storage in practice). */
typedef struct db_stmt {
    const char *name; /* unique, [a-z0-9_]+ */
    const char *sql;  /* $1..$n placeholders; never spliced with user input */
    int nparams;
    unsigned flags;   /* DB_STMT_* */
} db_stmt_t;

typedef struct db_stmts db_stmts_t;

db_stmts_t *db_stmts_new(void);
void db_stmts_free(db_stmts_t *stmts);
/* Registers a statement; returns -1 if the name is taken (a programming error at start-up). */
int db_stmts_add(db_stmts_t *stmts, const db_stmt_t *stmt);

/* ---- pool -------------------------------------------------------------------------------- */

typedef struct db_pool db_pool_t;
typedef struct db_query db_query_t;

typedef enum db_status {
    DB_OK = 0,          /* res holds the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) */
    DB_ERR_QUERY,       /* the server rejected the statement: res holds the error (sqlstate) */
    DB_ERR_BUSY,        /* the wait queue is full: answer 503 */
    DB_ERR_UNAVAILABLE, /* no connection to the database (outage, reconnecting): answer 503 */
    DB_ERR_TIMEOUT,     /* the per-query deadline passed: answer 504 */
} db_status_t;

typedef struct db_result {
    db_status_t status;
    PGresult *pg;        /* NULL unless DB_OK or DB_ERR_QUERY; owned by the pool, valid only
                          * during the callback */
    const char *sqlstate; /* five characters for DB_ERR_QUERY, else NULL */
} db_result_t;

/* Called exactly once per query that was not cancelled, on the pool's loop thread. */
typedef void (*db_result_cb)(void *arg, const db_result_t *res);

typedef struct db_pool_config {
    const char *conninfo;        /* DATABASE_URL */
    unsigned connections;        /* connections this pool keeps open */
    unsigned max_inflight;       /* queries pipelined on one connection at most */
    unsigned max_queue;          /* waiting queries beyond that; more is DB_ERR_BUSY */
    uint64_t query_timeout_ms;   /* default per-query deadline */
    uint64_t connect_timeout_ms;
    const char *application_name;
} db_pool_config_t;

typedef struct db_pool_stats {
    unsigned size;    /* connections configured */
    unsigned idle;    /* connected, nothing in flight */
    unsigned busy;    /* connected, queries in flight */
    unsigned waiting; /* queries in the wait queue */
    uint64_t errors;  /* connection failures + timeouts since start */
} db_pool_stats_t;

/* Creates the pool and starts connecting; the statements are prepared on every connection. */
db_pool_t *db_pool_new(uv_loop_t *loop, const db_pool_config_t *conf, const db_stmts_t *stmts);

/* Closes every connection and fails queued queries with DB_ERR_UNAVAILABLE; `done` is called once
 * every handle is closed, after which the pool memory is gone. */
void db_pool_close(db_pool_t *pool, void (*done)(void *arg), void *arg);

/* Runs a prepared statement. `values[i]` are text parameters (NULL = SQL NULL), copied before
 * return. timeout_ms = 0 takes the pool's default. Returns a handle for db_query_cancel; the
 * callback may run before this returns when the queue is full or the database is down. */
db_query_t *db_pool_query(db_pool_t *pool, const db_stmt_t *stmt, const char *const *values, int nvalues,
                          uint64_t timeout_ms, db_result_cb cb, void *arg);

/* The caller lost interest (its request is gone): the callback will never be called. A result
 * that arrives later is dropped. Safe to call once, any time before the callback ran. */
void db_query_cancel(db_query_t *q);

void db_pool_stats(const db_pool_t *pool, db_pool_stats_t *out);

/* ---- migrations (synchronous: used by the CLI and at start-up, never on a request path) ---- */

/* Applies ("up", n = 0 means all pending) or reverts ("down", n = 0 means one) the numbered
 * migrations in dir, one transaction each, tracked in schema_migrations. Prints progress to out.
 * Returns 0 on success. */
int db_migrate(const char *conninfo, const char *dir, const char *direction, unsigned n, FILE *out);
int db_migrate_status(const char *conninfo, const char *dir, FILE *out);
/* Runs one SQL file in a transaction (the demo seed). */
int db_run_file(const char *conninfo, const char *path, FILE *out);

#endif

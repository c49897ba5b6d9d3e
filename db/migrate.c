/* The migration runner (synchronous libpq: the CLI and start-up, never a request path). Numbered
 * files NNNN_name.up.sql / NNNN_name.down.sql are applied or reverted one transaction each,
 * together with their row in schema_migrations, under an advisory lock so that two servers
 * migrating at once take turns. A migration must not contain its own BEGIN/COMMIT (nor anything
 * that cannot run in a transaction, like CREATE INDEX CONCURRENTLY). */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/db.h"

/* pg_advisory_lock key of the runner: "hellos" in ASCII */
#define MIGRATE_LOCK_KEY "114784820031347"

typedef struct migration {
    int version;
    char name[64];
    char *up, *down; /* file paths; NULL when that file is missing */
} migration_t;

typedef struct plan {
    migration_t *items;
    size_t count;
} plan_t;

static void plan_free(plan_t *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->items[i].up);
        free(plan->items[i].down);
    }
    free(plan->items);
}

static migration_t *plan_find(const plan_t *plan, int version)
{
    for (size_t i = 0; i < plan->count; i++)
        if (plan->items[i].version == version)
            return &plan->items[i];
    return NULL;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Splits "0001_core.up.sql" into 1, "core", up. -1 for any other file name (ignored). */
static int parse_file_name(const char *file, int *version, char *name, size_t size, int *up)
{
    const char *p = file;
    size_t len;
    int v = 0, digits = 0;

    for (; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0 || *p++ != '_')
        return -1;
    len = strlen(p);
    if (ends_with(p, len, ".up.sql")) {
        *up = 1;
        len -= strlen(".up.sql");
    } else if (ends_with(p, len, ".down.sql")) {
        *up = 0;
        len -= strlen(".down.sql");
    } else {
        return -1;
    }
    if (len == 0 || len >= size || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_") < len)
        return -1;
    memcpy(name, p, len);
    name[len] = '\0';
    *version = v;
    return 0;
}

static int by_version(const void *a, const void *b)
{
    const migration_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int plan_load(plan_t *plan, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;

    memset(plan, 0, sizeof(*plan));
    if (d == NULL) {
        fprintf(stderr, "migrate: cannot open %s\n", dir);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char name[64], *path;
        int version, up;
        migration_t *m;

        if (parse_file_name(e->d_name, &version, name, sizeof(name), &up) < 0)
            continue;
        if ((m = plan_find(plan, version)) == NULL) {
            if (plan->count == cap) {
                cap = cap ? cap * 2 : 16;
                migration_t *items = realloc(plan->items, cap * sizeof(*items));
                if (items == NULL) {
                    rc = -1;
                    break;
                }
                plan->items = items;
            }
            m = &plan->items[plan->count++];
            memset(m, 0, sizeof(*m));
            m->version = version;
            strcpy(m->name, name);
        } else if (strcmp(m->name, name) != 0 || (up ? m->up : m->down) != NULL) {
            fprintf(stderr, "migrate: two migrations numbered %d in %s\n", version, dir);
            rc = -1;
            break;
        }
        if ((path = malloc(strlen(dir) + strlen(e->d_name) + 2)) == NULL) {
            rc = -1;
            break;
        }
        sprintf(path, "%s/%s", dir, e->d_name);
        *(up ? &m->up : &m->down) = path;
    }
    closedir(d);
    for (size_t i = 0; rc == 0 && i < plan->count; i++) {
        if (plan->items[i].up == NULL) {
            fprintf(stderr, "migrate: %04d_%s has no .up.sql\n", plan->items[i].version, plan->items[i].name);
            rc = -1;
        }
    }
    if (rc != 0) {
        plan_free(plan);
        return -1;
    }
    qsort(plan->items, plan->count, sizeof(*plan->items), by_version);
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (text = malloc((size_t)size + 1)) == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "migrate: cannot read %s\n", path);
        free(text);
        text = NULL;
    } else {
        text[size] = '\0';
    }
    if (f != NULL)
        fclose(f);
    return text;
}

/* Runs sql (one or more statements); prints the server's error on failure. */
static int exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = nparams ? PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "migrate: %s", PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static PGconn *connect_db(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "migrate: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    /* keep "does not exist, skipping" and similar notices off the output */
    if (exec(conn, "SET client_min_messages = warning", 0, NULL) < 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* The file and its bookkeeping statement in one transaction: both happen or neither. */
static int run_in_transaction(PGconn *conn, const char *path, const char *sql, int nparams, const char *const *params)
{
    char *text = read_text(path);
    int rc = -1;

    if (text == NULL)
        return -1;
    if (exec(conn, "BEGIN", 0, NULL) == 0) {
        if (exec(conn, text, 0, NULL) == 0 && (sql == NULL || exec(conn, sql, nparams, params) == 0) &&
            exec(conn, "COMMIT", 0, NULL) == 0)
            rc = 0;
        else
            exec(conn, "ROLLBACK", 0, NULL);
    }
    if (rc != 0)
        fprintf(stderr, "migrate: %s failed, nothing of it was applied\n", path);
    free(text);
    return rc;
}

/* Versions in schema_migrations, ascending; NULL on error. */
static PGresult *applied_versions(PGconn *conn)
{
    PGresult *r = PQexec(conn, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version");

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "migrate: %s", PQerrorMessage(conn));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* The applied_at of version, or NULL when it is not applied. */
static const char *applied_at(const PGresult *applied, int version)
{
    for (int i = 0; applied != NULL && i < PQntuples(applied); i++)
        if (atoi(PQgetvalue(applied, i, 0)) == version)
            return PQgetvalue(applied, i, 2);
    return NULL;
}

static int migrate_up(PGconn *conn, const plan_t *plan, const PGresult *applied, unsigned n, FILE *out)
{
    unsigned done = 0;

    for (size_t i = 0; i < plan->count && (n == 0 || done < n); i++) {
        const migration_t *m = &plan->items[i];
        char version[16];
        const char *params[2] = {version, m->name};

        if (applied_at(applied, m->version) != NULL)
            continue;
        snprintf(version, sizeof(version), "%d", m->version);
        if (run_in_transaction(conn, m->up, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                               params) < 0)
            return -1;
        fprintf(out, "applied %04d_%s\n", m->version, m->name);
        done++;
    }
    if (done == 0)
        fprintf(out, "nothing to apply\n");
    return 0;
}

static int migrate_down(PGconn *conn, const plan_t *plan, const PGresult *applied, unsigned n, FILE *out)
{
    unsigned done = 0;

    for (int i = PQntuples(applied) - 1; i >= 0 && done < (n ? n : 1); i--) {
        const char *version = PQgetvalue(applied, i, 0);
        const migration_t *m = plan_find(plan, atoi(version));

        if (m == NULL || m->down == NULL) {
            fprintf(stderr, "migrate: no .down.sql for applied version %s\n", version);
            return -1;
        }
        if (run_in_transaction(conn, m->down, "DELETE FROM schema_migrations WHERE version = $1", 1, &version) < 0)
            return -1;
        fprintf(out, "reverted %04d_%s\n", m->version, m->name);
        done++;
    }
    if (done == 0)
        fprintf(out, "nothing to revert\n");
    return 0;
}

int db_migrate(const char *conninfo, const char *dir, const char *direction, unsigned n, FILE *out)
{
    int up = strcmp(direction, "up") == 0, rc = -1;
    PGresult *applied = NULL;
    PGconn *conn;
    plan_t plan;

    if (!up && strcmp(direction, "down") != 0) {
        fprintf(stderr, "migrate: direction must be up or down, not %s\n", direction);
        return -1;
    }
    if (plan_load(&plan, dir) < 0)
        return -1;
    /* Under the lock, the table check and the list of applied versions cannot go stale. */
    conn = connect_db(conninfo);
    if (conn != NULL && exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL) == 0 &&
        exec(conn,
             "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())",
             0, NULL) == 0 &&
        (applied = applied_versions(conn)) != NULL)
        rc = up ? migrate_up(conn, &plan, applied, n, out) : migrate_down(conn, &plan, applied, n, out);
    PQclear(applied);
    PQfinish(conn); /* ends the session, and with it the lock */
    plan_free(&plan);
    return rc;
}

int db_migrate_status(const char *conninfo, const char *dir, FILE *out)
{
    PGresult *applied = NULL, *exists = NULL;
    PGconn *conn;
    plan_t plan;
    int rc = -1;

    if (plan_load(&plan, dir) < 0)
        return -1;
    if ((conn = connect_db(conninfo)) == NULL)
        goto done;
    /* Read-only: a database never migrated has no table yet, and everything is pending. */
    exists = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (PQresultStatus(exists) != PGRES_TUPLES_OK) {
        fprintf(stderr, "migrate: %s", PQerrorMessage(conn));
        goto done;
    }
    if (strcmp(PQgetvalue(exists, 0, 0), "t") == 0 && (applied = applied_versions(conn)) == NULL)
        goto done;
    for (size_t i = 0; i < plan.count; i++) {
        const migration_t *m = &plan.items[i];
        const char *at = applied_at(applied, m->version);
        fprintf(out, "%04d_%-32s %s%s\n", m->version, m->name, at ? "applied " : "pending", at ? at : "");
    }
    /* Applied here but gone from the directory: worth knowing before reverting anything. */
    for (int i = 0; applied != NULL && i < PQntuples(applied); i++) {
        int version = atoi(PQgetvalue(applied, i, 0));
        if (plan_find(&plan, version) == NULL)
            fprintf(out, "%04d_%-32s applied %s (no file)\n", version, PQgetvalue(applied, i, 1),
                    PQgetvalue(applied, i, 2));
    }
    rc = 0;
done:
    PQclear(exists);
    PQclear(applied);
    PQfinish(conn);
    plan_free(&plan);
    return rc;
}

int db_run_file(const char *conninfo, const char *path, FILE *out)
{
    PGconn *conn = connect_db(conninfo);
    int rc;

    if (conn == NULL)
        return -1;
    rc = run_in_transaction(conn, path, NULL, 0, NULL);
    if (rc == 0)
        fprintf(out, "ran %s\n", path);
    PQfinish(conn);
    return rc;
}

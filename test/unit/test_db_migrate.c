/* The migration runner against a real server (DATABASE_URL), in throwaway databases: up, status,
 * down, re-runs, a failing migration, two runners at once, and the project's own schema + seed. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "db/db.h"
#include "test/support/check.h"
#include "test/support/pg.h"

typedef struct env {
    const char *url;
    PGconn *admin; /* maintenance connection: creates and drops the databases */
    char dir[512]; /* scratch migrations */
} env_t;

typedef struct capture {
    FILE *f;
    char *text;
    size_t len;
} capture_t;

static void capture_open(capture_t *c)
{
    c->text = NULL;
    c->f = open_memstream(&c->text, &c->len);
    REQUIRE(c->f != NULL);
}

/* Returns the text written so far; valid until capture_close. */
static const char *capture_text(capture_t *c)
{
    fflush(c->f);
    return c->text;
}

static void capture_close(capture_t *c)
{
    fclose(c->f);
    free(c->text);
}


static long long scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int table_exists(PGconn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT (to_regclass('%s') IS NOT NULL)::int", table);
    return (int)scalar(c, sql);
}

static char *create_database(env_t *env, const char *suffix)
{
    char name[64], sql[128];
    snprintf(name, sizeof(name), "hs_test_migrate_%d_%s", (int)getpid(), suffix);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    ts_pg_exec_ok(env->admin, sql);
    return ts_pg_conninfo_for(env->url, name);
}

/* One connection per database for the checks: a SCRAM login costs ~200 ms under ASan. */
static PGconn *connect_to(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    return c;
}

static void drop_database(env_t *env, const char *suffix)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS hs_test_migrate_%d_%s WITH (FORCE)", (int)getpid(), suffix);
    ts_pg_exec_ok(env->admin, sql);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[640];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[640];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void test_up_status_down(env_t *env)
{
    char *db = create_database(env, "basic");
    PGconn *pg = connect_to(db);
    capture_t out;

    capture_open(&out);
    /* nothing applied yet: status lists both as pending and creates nothing */
    CHECK_INT(db_migrate_status(db, env->dir, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "0001_one");
    CHECK_CONTAINS(capture_text(&out), "pending");
    CHECK_INT(table_exists(pg, "schema_migrations"), 0);

    CHECK_INT(db_migrate(db, env->dir, "up", 0, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "applied 0001_one");
    CHECK_CONTAINS(capture_text(&out), "applied 0002_two");
    CHECK_INT(table_exists(pg, "one"), 1);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM two"), 1);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations"), 2);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations WHERE version = 2 AND name = 'two'"), 1);
    capture_close(&out);

    capture_open(&out);
    CHECK_INT(db_migrate_status(db, env->dir, out.f), 0);
    CHECK(strstr(capture_text(&out), "pending") == NULL);
    CHECK_CONTAINS(capture_text(&out), "0002_two");
    CHECK_CONTAINS(capture_text(&out), "applied 20");
    capture_close(&out);

    /* down without a count reverts the newest one */
    capture_open(&out);
    CHECK_INT(db_migrate(db, env->dir, "down", 0, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "reverted 0002_two");
    CHECK_INT(table_exists(pg, "two"), 0);
    CHECK_INT(table_exists(pg, "one"), 1);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations"), 1);
    capture_close(&out);

    capture_open(&out);
    CHECK_INT(db_migrate_status(db, env->dir, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "pending");
    capture_close(&out);

    /* up again, then once more: the re-run applies nothing */
    capture_open(&out);
    CHECK_INT(db_migrate(db, env->dir, "up", 0, out.f), 0);
    CHECK_INT(table_exists(pg, "two"), 1);
    CHECK_INT(db_migrate(db, env->dir, "up", 0, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "nothing to apply");
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations"), 2);
    capture_close(&out);

    /* counts: down 2 reverts both, up 1 applies only the first */
    capture_open(&out);
    CHECK_INT(db_migrate(db, env->dir, "down", 2, out.f), 0);
    CHECK_INT(table_exists(pg, "one"), 0);
    CHECK_INT(db_migrate(db, env->dir, "down", 0, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "nothing to revert");
    CHECK_INT(db_migrate(db, env->dir, "up", 1, out.f), 0);
    CHECK_INT(table_exists(pg, "one"), 1);
    CHECK_INT(table_exists(pg, "two"), 0);
    CHECK_INT(db_migrate(db, env->dir, "sideways", 0, out.f), -1);
    capture_close(&out);

    PQfinish(pg);
    drop_database(env, "basic");
    free(db);
}

/* A migration that fails half-way leaves nothing behind, not even its first statement. */
static void test_failing_migration(env_t *env)
{
    char *db = create_database(env, "bad");
    PGconn *pg = connect_to(db);
    capture_t out;

    write_file(env->dir, "0003_bad.up.sql", "CREATE TABLE three (id int);\nSELECT * FROM no_such_table;\n");
    capture_open(&out);
    CHECK(db_migrate(db, env->dir, "up", 0, out.f) != 0);
    CHECK_INT(table_exists(pg, "two"), 1); /* the good ones before it stay applied */
    CHECK_INT(table_exists(pg, "three"), 0);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations WHERE version = 3"), 0);
    capture_close(&out);
    remove_file(env->dir, "0003_bad.up.sql");

    /* two files with one number are refused before anything runs */
    write_file(env->dir, "0002_other.up.sql", "SELECT 1;\n");
    capture_open(&out);
    CHECK(db_migrate(db, env->dir, "up", 0, out.f) != 0);
    CHECK(db_migrate_status(db, env->dir, out.f) != 0);
    capture_close(&out);
    remove_file(env->dir, "0002_other.up.sql");

    /* an applied migration without a down file cannot be reverted... */
    write_file(env->dir, "0004_one_way.up.sql", "CREATE TABLE four (id int);\n");
    capture_open(&out);
    CHECK_INT(db_migrate(db, env->dir, "up", 0, out.f), 0);
    CHECK(db_migrate(db, env->dir, "down", 0, out.f) != 0);
    CHECK_INT(table_exists(pg, "four"), 1);
    /* ...and once its file is gone, status still shows it */
    remove_file(env->dir, "0004_one_way.up.sql");
    CHECK_INT(db_migrate_status(db, env->dir, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "0004_one_way");
    CHECK_CONTAINS(capture_text(&out), "(no file)");
    capture_close(&out);

    /* a down file without its up file is refused */
    write_file(env->dir, "0005_half.down.sql", "SELECT 1;\n");
    capture_open(&out);
    CHECK(db_migrate(db, env->dir, "up", 0, out.f) != 0);
    capture_close(&out);
    remove_file(env->dir, "0005_half.down.sql");
    CHECK(db_migrate(db, "/nonexistent/dir", "up", 0, stdout) != 0);

    PQfinish(pg);
    drop_database(env, "bad");
    free(db);
}

/* Two runners at once (two servers starting together): the advisory lock serialises them, each
 * migration is applied exactly once and neither fails. */
static void test_concurrent(env_t *env)
{
    char *db = create_database(env, "race");
    PGconn *pg;
    pid_t kids[2];

    /* a slow first migration widens the window the runners would race in */
    write_file(env->dir, "0000_slow.up.sql", "SELECT pg_sleep(0.3);\n");
    write_file(env->dir, "0000_slow.down.sql", "SELECT 1;\n");
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        REQUIRE(kids[i] >= 0);
        if (kids[i] == 0) {
            FILE *devnull = fopen("/dev/null", "w");
            _exit(db_migrate(db, env->dir, "up", 0, devnull) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        REQUIRE(waitpid(kids[i], &status, 0) == kids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    pg = connect_to(db);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations"), 3);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM two"), 1); /* its insert ran once */
    remove_file(env->dir, "0000_slow.up.sql");
    remove_file(env->dir, "0000_slow.down.sql");
    PQfinish(pg);
    drop_database(env, "race");
    free(db);
}

/* The project's schema/ and seed, both ways. */
static void test_project_schema(env_t *env)
{
    char *db = create_database(env, "schema");
    PGconn *pg = connect_to(db);
    char schema[1024], seed[1100];
    const char *dir = getenv("HS_SCHEMA_DIR"), *src = getenv("HS_SOURCE_DIR");
    capture_t out;

    if (dir != NULL)
        snprintf(schema, sizeof(schema), "%s", dir);
    else if (src != NULL)
        snprintf(schema, sizeof(schema), "%s/schema", src);
    else /* the repository root, from this file's path */
        snprintf(schema, sizeof(schema), "%.*s/schema",
                 (int)(strlen(__FILE__) - strlen("/test/unit/test_db_migrate.c")), __FILE__);
    snprintf(seed, sizeof(seed), "%s/seed.sql", schema);

    capture_open(&out);
    CHECK_INT(db_migrate(db, schema, "up", 0, out.f), 0);
    CHECK_CONTAINS(capture_text(&out), "applied 0001_core");
    CHECK_INT(table_exists(pg, "organizations"), 1);
    CHECK_INT(table_exists(pg, "users"), 1);
    CHECK_INT(table_exists(pg, "organization_memberships"), 1);
    CHECK_INT(table_exists(pg, "organization_memberships_user_id_idx"), 1);

    CHECK_INT(db_run_file(db, seed, out.f), 0);
    long long stamp = scalar(pg, "SELECT extract(epoch FROM updated_at) * 1000000 FROM users");
    CHECK_INT(db_run_file(db, seed, out.f), 0); /* idempotent: a second run changes nothing */
    CHECK_INT(scalar(pg, "SELECT count(*) FROM organizations WHERE external_id = 'org_demo' AND name = "
                         "'Demo Sales Co' AND id = '00000000-0000-4000-8000-000000000001'"),
              1);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM users WHERE external_id = 'user_demo' AND email = "
                         "'demo@hellosales.dev' AND id = '00000000-0000-4000-8000-000000000002'"),
              1);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM organization_memberships WHERE role = 'admin'"), 1);
    CHECK_INT(scalar(pg, "SELECT extract(epoch FROM updated_at) * 1000000 FROM users"), stamp);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM organizations"), 1);

    /* the constraints hold: a bad role is refused, and deleting a user drops its membership */
    PGresult *r = PQexec(pg, "UPDATE organization_memberships SET role = 'owner'");
    CHECK_STR(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514");
    PQclear(r);
    ts_pg_exec_ok(pg, "DELETE FROM users");
    CHECK_INT(scalar(pg, "SELECT count(*) FROM organization_memberships"), 0);

    /* every real migration reverts: down as many as are applied */
    unsigned applied = (unsigned)scalar(pg, "SELECT count(*) FROM schema_migrations");
    CHECK(applied >= 1);
    CHECK_INT(db_migrate(db, schema, "down", applied, out.f), 0);
    CHECK_INT(table_exists(pg, "organizations"), 0);
    CHECK_INT(table_exists(pg, "users"), 0);
    CHECK_INT(table_exists(pg, "organization_memberships"), 0);
    CHECK_INT(scalar(pg, "SELECT count(*) FROM schema_migrations"), 0);
    capture_close(&out);

    PQfinish(pg);
    drop_database(env, "schema");
    free(db);
}

int main(void)
{
    env_t env = {0};

    env.url = getenv("DATABASE_URL");
    REQUIRE(env.url != NULL && *env.url);
    env.admin = PQconnectdb(env.url);
    REQUIRE(PQstatus(env.admin) == CONNECTION_OK);
    ts_pg_exec_ok(env.admin, "SET client_min_messages = warning");
    /* under the harness's HS_TMP when there is one: it is removed even if this test dies */
    const char *tmp = getenv("HS_TMP");
    snprintf(env.dir, sizeof(env.dir), "%s/hs_test_migrate_XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    REQUIRE(mkdtemp(env.dir) != NULL);
    write_file(env.dir, "0001_one.up.sql", "CREATE TABLE one (id int);\n");
    write_file(env.dir, "0001_one.down.sql", "DROP TABLE one;\n");
    write_file(env.dir, "0002_two.up.sql", "CREATE TABLE two (id int);\nINSERT INTO two VALUES (1);\n");
    write_file(env.dir, "0002_two.down.sql", "DROP TABLE two;\n");
    write_file(env.dir, "README.md", "not a migration\n");

    test_up_status_down(&env);
    test_failing_migration(&env);
    test_concurrent(&env);
    test_project_schema(&env);

    const char *files[] = {"0001_one.up.sql", "0001_one.down.sql", "0002_two.up.sql", "0002_two.down.sql",
                           "README.md"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        remove_file(env.dir, files[i]);
    rmdir(env.dir);
    PQfinish(env.admin);
    return check_done("test_db_migrate");
}

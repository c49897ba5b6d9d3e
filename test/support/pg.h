/* Synchronous libpq helpers for tests that set up or inspect the database directly. */
#ifndef test_support_pg_h
#define test_support_pg_h

#include <libpq-fe.h>

/* Runs sql and stops the test if it fails. */
void ts_pg_exec_ok(PGconn *c, const char *sql);

/* The conninfo of url with another database name, as key='value' pairs; malloc'd. */
char *ts_pg_conninfo_for(const char *url, const char *dbname);

#endif

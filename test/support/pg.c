/* libpq helpers for tests. */
#include "test/support/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"

void ts_pg_exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    REQUIRE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
}

char *ts_pg_conninfo_for(const char *url, const char *dbname)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);

    REQUIRE(opts != NULL && s != NULL);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (v == NULL)
            continue;
        len += (size_t)snprintf(s + len, cap - len, "%s='", o->keyword);
        for (; *v && len + 4 < cap; v++) {
            if (*v == '\'' || *v == '\\')
                s[len++] = '\\';
            s[len++] = *v;
        }
        len += (size_t)snprintf(s + len, cap - len, "' ");
        REQUIRE(len + 8 < cap);
    }
    PQconninfoFree(opts);
    return s;
}

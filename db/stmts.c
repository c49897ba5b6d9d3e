/* The statement registry: every prepared statement the server runs, registered at start-up and
 * then only read, without locks, by every thread's pool (each prepares them all on connect). */
#include <stdlib.h>
#include <string.h>
#include "db/pool_internal.h"

struct db_stmts {
    const db_stmt_t **items;
    size_t count, cap;
};

db_stmts_t *db_stmts_new(void)
{
    return calloc(1, sizeof(db_stmts_t));
}

void db_stmts_free(db_stmts_t *stmts)
{
    if (stmts == NULL)
        return;
    free(stmts->items);
    free(stmts);
}

/* The name becomes a server-side identifier: keep it to [a-z0-9_], at most 63 bytes (NAMEDATALEN). */
static int valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 63)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int db_stmts_add(db_stmts_t *stmts, const db_stmt_t *stmt)
{
    if (!valid_name(stmt->name) || stmt->sql == NULL || stmt->nparams < 0)
        return -1;
    for (size_t i = 0; i < stmts->count; i++)
        if (strcmp(stmts->items[i]->name, stmt->name) == 0)
            return -1;
    if (stmts->count == stmts->cap) {
        size_t cap = stmts->cap ? stmts->cap * 2 : 16;
        const db_stmt_t **items = realloc(stmts->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        stmts->items = items;
        stmts->cap = cap;
    }
    stmts->items[stmts->count++] = stmt;
    return 0;
}

size_t db_stmts_count(const db_stmts_t *stmts)
{
    return stmts->count;
}

const db_stmt_t *db_stmts_at(const db_stmts_t *stmts, size_t i)
{
    return stmts->items[i];
}

/* The db module's printf-style warning, written through the project logger (which redacts). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "db/log.h"

void db_log_warn(const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) /* libpq messages end in a newline */
        msg[--n] = '\0';
    log_warn(msg);
}

/* The db module's warning line (connection trouble). Private to db/. */
#ifndef db_log_h
#define db_log_h

/* Writes {"time":...,"level":"warn","msg":...} to stderr. Never pass parameter values or replies:
 * they can hold emails and tokens. */
void db_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* A per-thread asynchronous Redis connection (hiredis on the thread's uv loop) with the timeouts
 * and reconnects hiredis 0.14 lacks. Commands fail fast while disconnected. */
#ifndef db_redis_h
#define db_redis_h

#include <stdint.h>
#include <hiredis/hiredis.h>
#include <uv.h>

typedef struct redis_client redis_client_t;
typedef struct redis_cmd redis_cmd_t;

/* reply is NULL when the command failed: not connected, timed out, or the connection dropped. */
typedef void (*redis_reply_cb)(void *arg, const redisReply *reply);

/* Parses redis://[:password@]host[:port][/db] and starts connecting; NULL on a malformed URL. */
redis_client_t *redis_client_new(uv_loop_t *loop, const char *url);

/* Fails pending commands (reply NULL), closes, frees; `done` runs when every handle is closed. */
void redis_client_close(redis_client_t *c, void (*done)(void *arg), void *arg);

/* Sends one command given as an argument vector. Returns a handle for redis_cmd_cancel; the
 * callback may run before this returns (reply NULL) when not connected. */
redis_cmd_t *redis_client_command(redis_client_t *c, uint64_t timeout_ms, redis_reply_cb cb, void *arg, int argc,
                                  const char **argv, const size_t *argvlen);

/* The callback will not be called; a late reply is dropped. */
void redis_cmd_cancel(redis_cmd_t *cmd);

int redis_client_connected(const redis_client_t *c);

#endif

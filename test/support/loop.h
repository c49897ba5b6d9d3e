/* Driving a libuv loop in a test until something happens, never longer than a bound. */
#ifndef test_support_loop_h
#define test_support_loop_h

#include <stdint.h>
#include <uv.h>

/* Runs loop until cond(arg) holds or ms pass; returns cond(arg). cond may be NULL (just wait). */
int ts_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, uint64_t ms);

#endif

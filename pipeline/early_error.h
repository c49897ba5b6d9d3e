/* The errors libh2o answers itself, before any handler runs, in the API's error shape. */
#ifndef pipeline_early_error_h
#define pipeline_early_error_h

#define H2O_USE_LIBUV 1
#include <h2o.h>

/* Installs the rewrite on a host's fallback path, which the library binds to a request it
 * refuses before routing (a body over the bound: 413; broken chunked encoding: 400; an unknown
 * Expect: 417). */
void early_error_install(h2o_pathconf_t *fallback);

#endif

/* The AI runs' guardrails: what a turn may not contain before it reaches a model (length,
 * blocked terms, prompt-injection markers) and what a reply may not carry out (credentials). */
#ifndef pipeline_run_guardrails_h
#define pipeline_run_guardrails_h

#include <stddef.h>

#include "pipeline/app.h"

#define GUARDRAILS_INPUT_MAX 16000 /* bytes of one turn, unless guardrails.max-input says otherwise */

/* Defines guardrails.max-input and guardrails.blocked-terms. */
void guardrails_define_directives(h2o_globalconf_t *g, app_t *app);

/* Adds comma-separated terms (case-insensitive, spaces around them ignored; at most 64 in all)
 * that a turn may not contain. */
void guardrails_add_blocked_terms(const char *text);

/* NULL when the turn may go to the model, else why not: "too_long", "blocked_content" or
 * "prompt_injection" (static). */
const char *guardrails_check_input(const char *s, size_t n);

/* Copies in to out with anything shaped like an API key (sk-..., gsk_..., AIza..., Bearer tokens)
 * replaced by "[redacted]"; out has room for cap bytes (NUL-terminated). Returns its length. */
size_t guardrails_filter_output(const char *in, size_t n, char *out, size_t cap);

/* Forgets the blocked terms. */
void guardrails_dispose(void);

#endif

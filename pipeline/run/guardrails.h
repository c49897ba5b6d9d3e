/* The AI runs' guardrails: what a turn may not contain before it reaches a model (length,
 * blocked terms, prompt-injection markers) and what a reply may not carry out (credentials). */
#ifndef pipeline_run_guardrails_h
#define pipeline_run_guardrails_h

#include <stddef.h>

#define GUARDRAILS_INPUT_MAX 16000 /* bytes of one turn */

/* Reads GUARDRAIL_BLOCKED_TERMS (comma-separated, case-insensitive) once at start-up. */
void guardrails_configure_from_env(void);

/* NULL when the turn may go to the model, else why not: "too_long", "blocked_content" or
 * "prompt_injection" (static). */
const char *guardrails_check_input(const char *s, size_t n);

/* Copies in to out with anything shaped like an API key (sk-..., gsk_..., AIza..., Bearer tokens)
 * replaced by "[redacted]"; out has room for cap bytes (NUL-terminated). Returns its length. */
size_t guardrails_filter_output(const char *in, size_t n, char *out, size_t cap);

/* Frees what guardrails_configure_from_env read. */
void guardrails_dispose(void);

#endif

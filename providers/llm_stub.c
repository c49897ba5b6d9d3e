/* The offline stub: a deterministic reply that says what it is and echoes the start of the last
 * user message, so a server without any provider key still answers; and bag-of-words hashed
 * embeddings, so texts sharing words come out similar. */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "providers/llm_internal.h"

#define STUB_ECHO_MAX 200 /* bytes of the user's message repeated back */
#define STUB_PIECE 12 /* about this many bytes per delta */

static unsigned words(const char *s)
{
    unsigned n = 0;
    for (int in = 0; s != NULL && *s != '\0'; s++) {
        int space = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        n += !space && !in;
        in = !space;
    }
    return n;
}

/* n bytes of s at most, cut before a UTF-8 continuation byte so no character is split. */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t len = strlen(s);
    if (len <= n)
        return len;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *llm_stub_reply(const llm_request_t *req, unsigned *tokens_in, unsigned *tokens_out)
{
    const char *last = NULL;
    unsigned in = 0;
    for (size_t i = 0; i < req->nmessages; i++) {
        in += words(req->messages[i].content);
        if (req->messages[i].role == LLM_USER && req->messages[i].content != NULL)
            last = req->messages[i].content;
    }
    char *out;
    int n;
    if (last == NULL) {
        n = asprintf(&out, "This is the offline stub provider: no LLM provider key is configured.");
    } else {
        size_t k = utf8_prefix(last, STUB_ECHO_MAX);
        n = asprintf(&out, "This is the offline stub provider: no LLM provider key is configured. You said: \"%.*s%s\"",
                     (int)k, last, k < strlen(last) ? "..." : "");
    }
    if (n < 0)
        return NULL;
    *tokens_in = in;
    *tokens_out = words(out);
    return out;
}

size_t llm_stub_piece(const char *s, size_t n)
{
    if (n <= STUB_PIECE)
        return n;
    size_t k = STUB_PIECE;
    while (k < n && s[k] != ' ') /* whole words: never inside a UTF-8 sequence */
        k++;
    return k;
}

static uint32_t fnv1a(const unsigned char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

void llm_stub_embed(const char *text, float *v, size_t dim)
{
    unsigned char word[64];
    size_t wl = 0;
    memset(v, 0, sizeof(float) * dim);
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        int alnum =
            *p != '\0' && (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'));
        if (alnum && wl < sizeof(word)) {
            word[wl++] = *p < 0x80 ? (unsigned char)(*p | ((*p >= 'A' && *p <= 'Z') ? 0x20 : 0)) : *p;
        } else if (!alnum && wl > 0) {
            uint32_t h = fnv1a(word, wl);
            v[h % dim] += (h & 0x80000000u) ? -1.0f : 1.0f;
            wl = 0;
        }
        if (*p == '\0')
            break;
    }
    double norm = 0;
    for (size_t i = 0; i < dim; i++)
        norm += (double)v[i] * v[i];
    if (norm == 0) { /* no words: still a unit vector */
        v[0] = 1;
        return;
    }
    for (size_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] / sqrt(norm));
}

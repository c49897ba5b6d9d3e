/* Doubling growth from 256 bytes: appends are amortised O(1), and small texts stay small. */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

int buf_add(buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_add_max(buf_t *b, const void *p, size_t n, size_t max)
{
    return b->len + n > max ? -1 : buf_add(b, p, n);
}

void buf_free(buf_t *b)
{
    free(b->data);
    *b = (buf_t){0};
}

/* A growable byte buffer on the heap that always keeps a NUL after its bytes, so text in it can
 * be read as a C string. */
#ifndef base_buf_h
#define base_buf_h

#include <stddef.h>

typedef struct buf {
    char *data; /* NULL until something is added */
    size_t len, cap;
} buf_t;

/* Appends n bytes; 0, or -1 without memory (the buffer is unchanged). */
int buf_add(buf_t *b, const void *p, size_t n);

/* The same, refusing (-1) to grow past max bytes. */
int buf_add_max(buf_t *b, const void *p, size_t n, size_t max);

void buf_free(buf_t *b);

#endif

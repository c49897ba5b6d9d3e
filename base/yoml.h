/* The configuration node type that libh2o 2.2.5's configurator walks, and a loader that builds it
 * from YAML with libyaml. Debian ships libh2o without this header, so the project defines the node
 * type itself; the struct layout must match the one libh2o was compiled with (checked by a unit
 * test against the offsets read from the library's own code). */
#ifndef yoml_h
#define yoml_h

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum enum_yoml_type_t {
    YOML_TYPE_SCALAR,
    YOML_TYPE_SEQUENCE,
    YOML_TYPE_MAPPING,
    YOML__TYPE_UNRESOLVED_ALIAS
} yoml_type_t;

typedef struct st_yoml_t yoml_t;

typedef struct st_yoml_sequence_t {
    size_t size;
    yoml_t *elements[1];
} yoml_sequence_t;

typedef struct st_yoml_mapping_element_t {
    yoml_t *key;
    yoml_t *value;
} yoml_mapping_element_t;

typedef struct st_yoml_mapping_t {
    size_t size;
    yoml_mapping_element_t elements[1];
} yoml_mapping_t;

/* Every pointer member is malloc'd: libh2o frees and reallocates nodes with the C allocator. */
struct st_yoml_t {
    yoml_type_t type;
    char *filename;
    size_t line; /* 0-based, as libyaml reports marks; error messages add one */
    size_t column;
    char *anchor;
    char *tag;
    size_t _refcnt;
    union {
        char *scalar;
        yoml_sequence_t sequence;
        yoml_mapping_t mapping;
        char *alias;
    } data;
};

/* libh2o's configurator calls these as inline helpers, so they must exist under these names. */
static inline void yoml_free(yoml_t *node, void *(*mem_set)(void *, int, size_t))
{
    if (node == NULL || --node->_refcnt != 0)
        return;
    switch (node->type) {
    case YOML_TYPE_SCALAR:
        if (mem_set != NULL)
            mem_set(node->data.scalar, 0, strlen(node->data.scalar));
        free(node->data.scalar);
        break;
    case YOML_TYPE_SEQUENCE:
        for (size_t i = 0; i < node->data.sequence.size; i++)
            yoml_free(node->data.sequence.elements[i], mem_set);
        break;
    case YOML_TYPE_MAPPING:
        for (size_t i = 0; i < node->data.mapping.size; i++) {
            yoml_free(node->data.mapping.elements[i].key, mem_set);
            yoml_free(node->data.mapping.elements[i].value, mem_set);
        }
        break;
    case YOML__TYPE_UNRESOLVED_ALIAS:
        free(node->data.alias);
        break;
    }
    free(node->filename);
    free(node->anchor);
    free(node->tag);
    free(node);
}

static inline yoml_t *yoml_get(yoml_t *node, const char *key)
{
    if (node->type != YOML_TYPE_MAPPING)
        return NULL;
    for (size_t i = 0; i < node->data.mapping.size; i++) {
        yoml_t *k = node->data.mapping.elements[i].key;
        if (k->type == YOML_TYPE_SCALAR && strcmp(k->data.scalar, key) == 0)
            return node->data.mapping.elements[i].value;
    }
    return NULL;
}

/* Parses YAML text into a node tree (aliases resolved, one reference each). On failure returns
 * NULL and writes "file:line: reason" into err. `filename` is recorded in every node. */
yoml_t *yoml_parse(const char *text, size_t len, const char *filename, char *err, size_t errlen);

/* Reads and parses a file; I/O errors are reported in err like parse errors. */
yoml_t *yoml_parse_file(const char *path, char *err, size_t errlen);

#endif

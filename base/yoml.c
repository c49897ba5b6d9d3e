/* YAML → yoml_t, built on libyaml's document loader. */
#include "base/yoml.h"

#include <errno.h>
#include <stdio.h>
#include <yaml.h>

/* Aliases are expanded into copies, so a small document can describe a huge tree ("billion
 * laughs"); both limits are far above any real h2o.conf. */
#define YOML_MAX_DEPTH 64
#define YOML_MAX_NODES 100000
#define YOML_MAX_FILE (4u << 20)

struct yoml_builder {
    yaml_document_t *doc;
    const char *filename;
    size_t nodes;
    char *err;
    size_t errlen;
};

static yoml_t *node_new(struct yoml_builder *b, yoml_type_t type, const yaml_node_t *src, size_t extra)
{
    yoml_t *n = calloc(1, sizeof(*n) + extra);
    if (n == NULL)
        return NULL;
    n->type = type;
    n->filename = strdup(b->filename);
    n->line = src->start_mark.line;
    n->column = src->start_mark.column;
    n->_refcnt = 1;
    if (n->filename == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

static yoml_t *convert(struct yoml_builder *b, yaml_node_t *src, int depth)
{
    if (depth > YOML_MAX_DEPTH || ++b->nodes > YOML_MAX_NODES) {
        snprintf(b->err, b->errlen, "%s:%zu: document nests too deeply or expands to too many nodes",
                 b->filename, src->start_mark.line + 1);
        return NULL;
    }
    yoml_t *n = NULL;
    switch (src->type) {
    case YAML_SCALAR_NODE:
        if ((n = node_new(b, YOML_TYPE_SCALAR, src, 0)) == NULL)
            break;
        if ((n->data.scalar = strndup((const char *)src->data.scalar.value, src->data.scalar.length)) == NULL) {
            free(n->filename);
            free(n);
            n = NULL;
        }
        return n;
    case YAML_SEQUENCE_NODE: {
        size_t count = (size_t)(src->data.sequence.items.top - src->data.sequence.items.start);
        if ((n = node_new(b, YOML_TYPE_SEQUENCE, src, count * sizeof(yoml_t *))) == NULL)
            break;
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *child = yaml_document_get_node(b->doc, src->data.sequence.items.start[i]);
            yoml_t *c = convert(b, child, depth + 1);
            if (c == NULL) {
                yoml_free(n, NULL);
                return NULL;
            }
            n->data.sequence.elements[n->data.sequence.size++] = c;
        }
        return n;
    }
    case YAML_MAPPING_NODE: {
        size_t count = (size_t)(src->data.mapping.pairs.top - src->data.mapping.pairs.start);
        if ((n = node_new(b, YOML_TYPE_MAPPING, src, count * sizeof(yoml_mapping_element_t))) == NULL)
            break;
        for (size_t i = 0; i < count; i++) {
            yaml_node_pair_t *pair = &src->data.mapping.pairs.start[i];
            yoml_t *k = convert(b, yaml_document_get_node(b->doc, pair->key), depth + 1);
            yoml_t *v = k == NULL ? NULL : convert(b, yaml_document_get_node(b->doc, pair->value), depth + 1);
            if (v == NULL) {
                yoml_free(k, NULL);
                yoml_free(n, NULL);
                return NULL;
            }
            n->data.mapping.elements[n->data.mapping.size++] = (yoml_mapping_element_t){k, v};
        }
        return n;
    }
    default:
        snprintf(b->err, b->errlen, "%s:%zu: empty node", b->filename, src->start_mark.line + 1);
        return NULL;
    }
    snprintf(b->err, b->errlen, "%s: out of memory", b->filename);
    return NULL;
}

yoml_t *yoml_parse(const char *text, size_t len, const char *filename, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yoml_t *root = NULL;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", filename);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", filename, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (top == NULL) {
        snprintf(err, errlen, "%s: the document is empty", filename);
    } else {
        struct yoml_builder b = {&doc, filename, 0, err, errlen};
        root = convert(&b, top, 0);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

yoml_t *yoml_parse_file(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(YOML_MAX_FILE + 1);
    size_t len = buf == NULL ? 0 : fread(buf, 1, YOML_MAX_FILE + 1, fp);
    int failed = buf == NULL || ferror(fp);
    fclose(fp);
    yoml_t *root = NULL;
    if (failed)
        snprintf(err, errlen, "%s: could not be read", path);
    else if (len > YOML_MAX_FILE)
        snprintf(err, errlen, "%s: larger than %u bytes", path, YOML_MAX_FILE);
    else
        root = yoml_parse(buf, len, path, err, errlen);
    free(buf);
    return root;
}

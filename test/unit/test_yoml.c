/* The YAML loader and the node layout libh2o was compiled with. */
#include <stddef.h>

#include "base/yoml.h"
#include "pipeline/config.h" /* h2o.h before configurator.h */
#include <h2o/configurator.h>

#include "test/support/check.h"

static yoml_t *parse(const char *text, char *err, size_t errlen)
{
    return yoml_parse(text, strlen(text), "t.conf", err, errlen);
}

static void test_mapping_sequence_scalar(void)
{
    char err[256] = "";
    yoml_t *root = parse("a: 1\nb:\n  - x\n  - y\nc: {d: e}\n", err, sizeof(err));
    REQUIRE(root != NULL);
    CHECK_INT(root->type, YOML_TYPE_MAPPING);
    CHECK_INT(root->data.mapping.size, 3);
    CHECK_STR(yoml_get(root, "a")->data.scalar, "1");
    yoml_t *b = yoml_get(root, "b");
    CHECK_INT(b->type, YOML_TYPE_SEQUENCE);
    CHECK_INT(b->data.sequence.size, 2);
    CHECK_STR(b->data.sequence.elements[1]->data.scalar, "y");
    CHECK_INT(b->data.sequence.elements[1]->line, 3); /* 0-based */
    CHECK_STR(yoml_get(yoml_get(root, "c"), "d")->data.scalar, "e");
    CHECK_STR(root->filename, "t.conf");
    CHECK(yoml_get(root, "missing") == NULL);
    yoml_free(root, NULL);
}

static void test_syntax_error_names_line(void)
{
    char err[256] = "";
    yoml_t *root = parse("a: 1\nb: [unclosed\nc: 2\n", err, sizeof(err));
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "t.conf:");
    CHECK(strstr(err, ":3:") != NULL || strstr(err, ":4:") != NULL);
}

static void test_aliases_expand_and_bombs_stop(void)
{
    char err[256] = "";
    yoml_t *root = parse("base: &b {x: 1}\nuse: *b\n", err, sizeof(err));
    REQUIRE(root != NULL);
    CHECK_STR(yoml_get(yoml_get(root, "use"), "x")->data.scalar, "1");
    yoml_free(root, NULL);

    /* nine levels of nine aliases: 9^9 nodes if expanded naively */
    char bomb[2048] = "a: &a [x,x,x,x,x,x,x,x,x]\n";
    for (char c = 'b'; c <= 'i'; c++) {
        char line[96];
        snprintf(line, sizeof(line), "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c - 1, c - 1, c - 1, c - 1,
                 c - 1, c - 1, c - 1, c - 1, c - 1);
        strcat(bomb, line);
    }
    root = parse(bomb, err, sizeof(err));
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "too many nodes");
}

static void test_empty_document(void)
{
    char err[256] = "";
    CHECK(parse("", err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "empty");
}

/* libh2o reads node->data at the offset it was compiled with; h2o_configurator_scanf is its own
 * code, so a wrong layout here would make it read garbage instead of our scalar. */
static void test_layout_matches_libh2o(void)
{
    char err[256] = "";
    CHECK_INT(offsetof(yoml_t, data), 56);
    yoml_t *root = parse("n: 4242\n", err, sizeof(err));
    REQUIRE(root != NULL);
    unsigned v = 0;
    CHECK_INT(h2o_configurator_scanf(NULL, yoml_get(root, "n"), "%u", &v), 0);
    CHECK_INT(v, 4242);
    yoml_free(root, NULL);
}

static void test_file_errors(void)
{
    char err[256] = "";
    CHECK(yoml_parse_file("/nonexistent/h2o.conf", err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "/nonexistent/h2o.conf");
}

int main(void)
{
    test_mapping_sequence_scalar();
    test_syntax_error_names_line();
    test_aliases_expand_and_bombs_stop();
    test_empty_document();
    test_layout_matches_libh2o();
    test_file_errors();
    return check_done("yoml");
}

/* Numeric directives a module owns (H2O's configurator pattern: one configurator per module,
 * defaults set when it is defined, values checked as the file is read, errors with file and line). */
#include <stdio.h>
#include <string.h>

#include "base/yoml.h"
#include "pipeline/config.h"
#include <h2o/configurator.h> /* after h2o.h, which it needs */

typedef struct numbers_configurator {
    h2o_configurator_t super;
    const config_number_t *defs;
    size_t n;
    void *settings;
    void (*done)(void *settings);
} numbers_configurator_t;

static void store(void *settings, const config_number_t *d, uint64_t v)
{
    if (d->is_duration)
        *(uint64_t *)((char *)settings + d->offset) = v;
    else
        *(unsigned *)((char *)settings + d->offset) = (unsigned)v;
}

static int on_number(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    numbers_configurator_t *c = (void *)cmd->configurator;
    const config_number_t *d = NULL;
    for (size_t i = 0; i < c->n && d == NULL; i++)
        if (strcmp(c->defs[i].name, cmd->name) == 0)
            d = &c->defs[i];
    uint64_t v = 0;
    int ok = d != NULL && (d->is_duration ? config_parse_duration(node->data.scalar, &v) == 0
                                          : sscanf(node->data.scalar, "%lu", &v) == 1 &&
                                                strspn(node->data.scalar, "0123456789") == strlen(node->data.scalar));
    if (!ok || v < d->min || v > d->max) {
        if (d != NULL && d->is_duration)
            h2o_configurator_errprintf(cmd, node, "must be a duration from %llums to %llums, such as 30s or 500ms",
                                       (unsigned long long)d->min, (unsigned long long)d->max);
        else if (d != NULL)
            h2o_configurator_errprintf(cmd, node, "must be a whole number from %llu to %llu",
                                       (unsigned long long)d->min, (unsigned long long)d->max);
        return -1;
    }
    store(c->settings, d, v);
    return 0;
}

static int on_level_exit(h2o_configurator_t *self, h2o_configurator_context_t *ctx, yoml_t *node)
{
    numbers_configurator_t *c = (void *)self;
    if (ctx->hostconf == NULL && c->done != NULL) /* the global level: every value is known */
        c->done(c->settings);
    return 0;
}

h2o_configurator_t *config_define_numbers(h2o_globalconf_t *g, const config_number_t *defs, size_t n, void *settings,
                                          void (*done)(void *settings))
{
    numbers_configurator_t *c = (void *)h2o_configurator_create(g, sizeof(*c));
    c->defs = defs;
    c->n = n;
    c->settings = settings;
    c->done = done;
    c->super.exit = on_level_exit;
    for (size_t i = 0; i < n; i++) {
        store(settings, &defs[i], defs[i].def);
        h2o_configurator_define_command(&c->super, defs[i].name,
                                        H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR, on_number);
    }
    return &c->super;
}

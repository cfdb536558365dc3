/* lethe list: what suites.json defines (suites, methods, grids, jobs) and Lethe's tables (metrics,
 * attacks, methods, suite kinds, parameters, commands). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"
#include "harness/harness.h"
#include "methods/method.h"
#include "metrics/metrics.h"
#include "suites/suite.h"

#define WHAT "suites, methods, grids, jobs, metrics, attacks, kinds, params or commands"

/* Rows of up to three columns, the first ones padded to their widest cell. */
struct table {
    char *(*cells)[3];
    size_t n, cap;
};

static void row(struct table *t, const char *a, const char *b, const char *c)
{
    xgrow(&t->cells, &t->cap, t->n + 1, sizeof(*t->cells));
    t->cells[t->n][0] = xstrdup(a);
    t->cells[t->n][1] = b ? xstrdup(b) : NULL;
    t->cells[t->n][2] = c ? xstrdup(c) : NULL;
    t->n++;
}

static void print_table(struct table *t)
{
    size_t w[2] = {0, 0};
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < 2; k++)
            if (t->cells[i][k + 1] && strlen(t->cells[i][k]) > w[k])
                w[k] = strlen(t->cells[i][k]);
    for (size_t i = 0; i < t->n; i++) {
        char **r = t->cells[i];
        if (!r[1])
            printf("%s\n", r[0]);
        else if (!r[2])
            printf("%-*s  %s\n", (int)w[0], r[0], r[1]);
        else
            printf("%-*s  %-*s  %s\n", (int)w[0], r[0], (int)w[1], r[1], r[2]);
        for (int k = 0; k < 3; k++)
            free(r[k]);
    }
    free(t->cells);
    t->cells = NULL;
    t->n = t->cap = 0;
}

static int list_suites(const struct config *cfg)
{
    struct table t = {0};
    for (size_t i = 0; i < cfg->n_suites; i++)
        row(&t, cfg->suites[i].name, cfg->suites[i].summary, NULL);
    print_table(&t);
    return 0;
}

static int list_methods(const struct config *cfg)
{
    struct table t = {0};
    for (size_t i = 0; i < cfg->n_methods; i++)
        row(&t, cfg->methods[i].name, cfg->methods[i].summary, NULL);
    print_table(&t);
    return 0;
}

static int list_method_registry(void)
{
    struct table t = {0};
    for (size_t i = 0; i < method_table_count; i++) {
        const struct method *m = &method_table[i];
        char *needs = method_needs_str(m->needs);
        char *kinds = m->kinds == KINDS_ALL ? xstrdup("all") : suite_kinds_str(m->kinds);
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s (kinds: %s; needs: %s)", m->summary, kinds, needs);
        row(&t, m->name, sb.buf, NULL);
        strbuf_release(&sb);
        free(needs);
        free(kinds);
    }
    print_table(&t);
    return 0;
}

static int list_grids(const struct config *cfg)
{
    struct table t = {0};
    for (size_t i = 0; i < cfg->n_grids; i++) {
        struct job *jobs;
        size_t n;
        struct lethe_error err = {0};
        if (config_expand_grid(cfg, cfg->grids[i].name, &jobs, &n, &err) < 0) {
            print_table(&t);
            cli_error(&err);
            return lethe_exit_code(&err);
        }
        jobs_free(jobs, n);
        char count[32];
        snprintf(count, sizeof(count), "%zu job%s", n, n == 1 ? "" : "s");
        row(&t, cfg->grids[i].name, count, cfg->grids[i].summary);
    }
    print_table(&t);
    return 0;
}

static int list_jobs(const struct config *cfg, const char *grid, int resolved)
{
    struct job *jobs;
    size_t n;
    struct lethe_error err = {0};
    if (config_expand_grid(cfg, grid, &jobs, &n, &err) < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s\t%s\t%s\t%s\t%ld", jobs[i].hash, jobs[i].suite->name, jobs[i].split,
               jobs[i].method->name, jobs[i].seed);
        if (resolved)
            printf("\t%s", jobs[i].resolved_json);
        printf("\n");
    }
    jobs_free(jobs, n);
    return 0;
}

static int list_metrics(void)
{
    struct table t = {0};
    for (size_t i = 0; i < metric_table_count; i++) {
        char kind[64];
        snprintf(kind, sizeof(kind), "%s %s", metric_dir_name(metric_table[i].dir),
                 metric_range_name(metric_table[i].range));
        row(&t, metric_table[i].pattern, kind, metric_table[i].summary);
    }
    print_table(&t);
    return 0;
}

static int list_attacks(void)
{
    struct table t = {0};
    for (size_t i = 0; i < attack_table_count; i++) {
        const struct attack *a = &attack_table[i];
        char *kinds = a->kinds == KINDS_ALL ? xstrdup("all") : suite_kinds_str(a->kinds);
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s (kinds: %s)", a->summary, kinds);
        row(&t, a->name, sb.buf, NULL);
        strbuf_release(&sb);
        free(kinds);
    }
    print_table(&t);
    return 0;
}

static int list_kinds(void)
{
    struct table t = {0};
    for (size_t i = 0; i < SUITE_KIND_COUNT; i++) {
        const struct suite_kind *k = &suite_kind_table[i];
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s (splits:", k->summary);
        for (const char *const *s = k->splits; *s; s++)
            strbuf_addf(&sb, " %s", *s);
        strbuf_adds(&sb, ")");
        row(&t, k->name, sb.buf, NULL);
        strbuf_release(&sb);
    }
    print_table(&t);
    return 0;
}

/* Rows of a parameter table; nodef says what a row without a default means (NULL: nothing). */
static void param_rows(struct table *t, const struct param_spec *p, const struct param_spec *skip,
                       const char *nodef)
{
    for (; p && p->name; p++) {
        if (skip && param_find(skip, p->name))
            continue;
        struct strbuf type = STRBUF_INIT, help = STRBUF_INIT;
        strbuf_adds(&type, param_type_name(p->type));
        if (p->choices)
            strbuf_addf(&type, " %s", p->choices);
        if (p->def)
            strbuf_addf(&help, "default %s; ", p->def);
        else if (nodef)
            strbuf_addf(&help, "%s; ", nodef);
        strbuf_adds(&help, p->help);
        row(t, p->name, type.buf, help.buf);
        strbuf_release(&type);
        strbuf_release(&help);
    }
}

#define REQUIRED "required"
#define DERIVED NULL      /* the help says how the value is derived at run time */

static int list_params(const char *name)
{
    struct table t = {0};
    const struct method *m = method_lookup(name);
    const struct attack *a = attack_lookup(name);
    const struct suite_kind *k = suite_kind_lookup(name);
    const struct model_arch *arch = model_arch_lookup(name);
    if (m) {
        printf("method %s: %s (%s)\n", m->name, m->summary, m->source);
        param_rows(&t, m->params, NULL, DERIVED);
        param_rows(&t, method_common_params, m->params, DERIVED);
    } else if (a) {
        printf("attack %s: %s (%s)\n", a->name, a->summary, a->source);
        param_rows(&t, a->params, NULL, DERIVED);
    } else if (k) {
        printf("kind %s: %s\n", k->name, k->summary);
        printf("data: {\"dir\": PATH, \"format\": %s", k->formats[0]);
        for (const char *const *f = k->formats + 1; *f; f++)
            printf("|%s", *f);
        printf("}%s\n", k->gen_params ? " or {\"synthetic\": {\"seed\": N, ...}}" : "");
        if (k->gen_params)
            row(&t, "seed", param_type_name(PARAM_INT), "required; seed of the generator");
        param_rows(&t, k->gen_params, NULL, REQUIRED);
        param_rows(&t, k->data_params, NULL, REQUIRED);
    } else if (arch) {
        printf("architecture %s: %s\n", arch->name, arch->summary);
        param_rows(&t, arch->params, NULL, REQUIRED);
    } else if (strcmp(name, "train") == 0) {
        printf("train: the recipe of a suite's reference models\n");
        param_rows(&t, train_params, NULL, REQUIRED);
    } else {
        return cli_usage_error("no method, attack, kind or architecture '%s' (or 'train')", name);
    }
    print_table(&t);
    return 0;
}

static int list_commands(void)
{
    struct table t = {0};
    for (size_t i = 0; i < commands_count; i++) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, commands[i].summary);
        if (commands[i].pending)
            strbuf_adds(&sb, " (not available yet)");
        row(&t, commands[i].name, sb.buf, NULL);
        strbuf_release(&sb);
    }
    print_table(&t);
    return 0;
}

int cmd_list(int argc, char **argv)
{
    const char *config = LETHE_DEFAULT_CONFIG;
    int registry = 0, resolved = 0;
    const struct cli_opt opts[] = {
        {"config", CLI_STR, &config, NULL},
        {"registry", CLI_FLAG, NULL, &registry},
        {"resolved", CLI_FLAG, NULL, &resolved},
        {NULL, CLI_STR, NULL, NULL},
    };
    char **pos;
    int npos;
    struct lethe_error err = {0};
    int rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    const char *what = npos > 0 ? pos[0] : NULL;
    int want = 1;
    if (what && (strcmp(what, "jobs") == 0 || strcmp(what, "params") == 0))
        want = 2;
    if (!what || npos != want) {
        if (!what)
            rc = cli_usage_error("what to list? " WHAT);
        else if (want == 2 && npos < 2)
            rc = cli_usage_error("'lethe list %s' needs a name", what);
        else
            rc = cli_usage_error("unexpected argument '%s'", pos[want]);
        free(pos);
        return rc;
    }
    const char *arg = want == 2 ? pos[1] : NULL;
    int needs_config = strcmp(what, "suites") == 0 || strcmp(what, "grids") == 0 ||
                       strcmp(what, "jobs") == 0 || (strcmp(what, "methods") == 0 && !registry);
    if (needs_config) {
        struct config *cfg = config_load(config, &err);
        if (!cfg) {
            free(pos);
            cli_error(&err);
            return lethe_exit_code(&err);
        }
        if (strcmp(what, "suites") == 0)
            rc = list_suites(cfg);
        else if (strcmp(what, "methods") == 0)
            rc = list_methods(cfg);
        else if (strcmp(what, "grids") == 0)
            rc = list_grids(cfg);
        else
            rc = list_jobs(cfg, arg, resolved);
        config_free(cfg);
    } else if (strcmp(what, "methods") == 0) {
        rc = list_method_registry();
    } else if (strcmp(what, "metrics") == 0) {
        rc = list_metrics();
    } else if (strcmp(what, "attacks") == 0) {
        rc = list_attacks();
    } else if (strcmp(what, "kinds") == 0) {
        rc = list_kinds();
    } else if (strcmp(what, "params") == 0) {
        rc = list_params(arg);
    } else if (strcmp(what, "commands") == 0) {
        rc = list_commands();
    } else {
        rc = cli_usage_error("cannot list '%s' (expected " WHAT ")", what);
    }
    free(pos);
    return rc;
}

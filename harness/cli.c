/* Option parsing and error printing shared by the cmd_* functions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"

void cli_error(const struct lethe_error *err)
{
    fprintf(stderr, "lethe: error: %s\n", err && err->code ? err->msg : "unknown error");
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("lethe: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, char ***pos, int *npos,
              struct lethe_error *err)
{
    char **p = xcalloc((size_t)argc + 1, sizeof(*p));
    int np = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0' || (a[1] != '-' && !(a[1] == 'h' && !a[2]))) {
            p[np++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            free(p);
            return 1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_opt *o = NULL;
        for (const struct cli_opt *q = opts; q && q->name; q++)
            if (strlen(q->name) == len && strncmp(q->name, name, len) == 0)
                o = q;
        if (!o) {
            free(p);
            return lethe_err(err, LETHE_EUSAGE, "unknown option '--%.*s' (see '%s --help')",
                             (int)len, name, argv[0]);
        }
        if (o->kind == CLI_FLAG) {
            if (eq) {
                free(p);
                return lethe_err(err, LETHE_EUSAGE, "option '--%s' takes no value", o->name);
            }
            *o->flag = 1;
        } else if (eq) {
            *o->str = eq + 1;
        } else if (i + 1 < argc) {
            *o->str = argv[++i];
        } else {
            free(p);
            return lethe_err(err, LETHE_EUSAGE, "option '--%s' needs a value", o->name);
        }
    }
    *pos = p;
    *npos = np;
    return 0;
}

int cli_parse_args(int argc, char **argv, const struct cli_opt *opts, char ***pos, int *npos,
                   int *status)
{
    struct lethe_error err = {0};
    int rc = cli_parse(argc, argv, opts, pos, npos, &err);
    if (rc == 0)
        return 0;
    if (rc == 1) {
        const struct command *c = command_find(argv[0]);
        if (c)
            fputs(c->usage, stdout);
        *status = 0;
    } else {
        cli_error(&err);
        *status = lethe_exit_code(&err);
    }
    return 1;
}

int cli_long(const char *opt, const char *s, long *out, struct lethe_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        return lethe_err(err, LETHE_EUSAGE, "%s: expected an integer, got '%s'", opt, s);
    *out = v;
    return 0;
}

int cli_double(const char *opt, const char *s, double *out, struct lethe_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return lethe_err(err, LETHE_EUSAGE, "%s: expected a number, got '%s'", opt, s);
    *out = v;
    return 0;
}

int cli_parse_ids(const char *s, int **ids, size_t *n, size_t *cap, struct lethe_error *err)
{
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
            e++;
        char *end = NULL;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end != e || errno || v < 0 || v > 0x7FFFFFFF || *s == '+' || *s == '-')
            return lethe_err(err, LETHE_EUSAGE, "'%.*s' is not a token id", (int)(e - s), s);
        xgrow(ids, cap, *n + 1, sizeof(**ids));
        (*ids)[(*n)++] = (int)v;
        s = e;
    }
    return 0;
}

int cli_seed(const char *s, long *out)
{
    struct lethe_error err = {0};
    if (cli_long("--seed", s, out, &err) < 0 || *out < 0) {
        if (!err.code)
            lethe_err(&err, LETHE_EUSAGE, "--seed: '%s' is not a seed (an integer >= 0)", s);
        cli_error(&err);
        return 2;
    }
    return 0;
}

/* Tests for the option parser and number parsing of harness/cli.c. */
#include <stdlib.h>

#include "harness/harness.h"
#include "tests/test.h"

/* argv from a space-separated line (string literals are const under -Wwrite-strings). */
static char **argv_of(const char *line, int *argc)
{
    char *copy = xstrdup(line);
    char **v = xcalloc(32, sizeof(*v));
    int n = 0;
    for (char *t = strtok(copy, " "); t && n < 31; t = strtok(NULL, " "))
        v[n++] = t;
    *argc = n;
    return v;
}

static void argv_free(char **v)
{
    if (v)
        free(v[0]);
    free(v);
}

static void test_parse_forms(void)
{
    const char *db = NULL, *fmt = NULL;
    int force = 0;
    const struct cli_opt opts[] = {
        {"db", CLI_STR, &db, NULL}, {"format", CLI_STR, &fmt, NULL}, {"force", CLI_FLAG, NULL, &force},
        {NULL, CLI_STR, NULL, NULL}};
    int argc;
    char **argv = argv_of("merge out.db --db x.db --format=csv --force a.db -- --b.db", &argc);
    char **pos;
    int npos;
    struct lethe_error err = {0};
    CHECK_EQ_INT(cli_parse(argc, argv, opts, &pos, &npos, &err), 0);
    CHECK_STREQ(db, "x.db");
    CHECK_STREQ(fmt, "csv");
    CHECK_EQ_INT(force, 1);
    CHECK_EQ_INT(npos, 3);
    CHECK_STREQ(pos[0], "out.db");
    CHECK_STREQ(pos[1], "a.db");
    CHECK_STREQ(pos[2], "--b.db");
    free(pos);
    argv_free(argv);
}

static void test_parse_errors(void)
{
    const char *db = NULL;
    int force = 0;
    const struct cli_opt opts[] = {{"db", CLI_STR, &db, NULL}, {"force", CLI_FLAG, NULL, &force},
                                   {NULL, CLI_STR, NULL, NULL}};
    char **pos = NULL;
    int npos;
    struct lethe_error err = {0};
    int ac;
    char **av = argv_of("merge --db", &ac);
    CHECK_EQ_INT(cli_parse(ac, av, opts, &pos, &npos, &err), -LETHE_EUSAGE);
    CHECK_STREQ(err.msg, "option '--db' needs a value");
    argv_free(av);
    av = argv_of("merge --dbx=1", &ac);
    CHECK_EQ_INT(cli_parse(ac, av, opts, &pos, &npos, &err), -LETHE_EUSAGE);
    CHECK_STREQ(err.msg, "unknown option '--dbx' (see 'merge --help')");
    argv_free(av);
    av = argv_of("merge --force=1", &ac);
    CHECK_EQ_INT(cli_parse(ac, av, opts, &pos, &npos, &err), -LETHE_EUSAGE);
    argv_free(av);
    av = argv_of("merge x --help", &ac);
    CHECK_EQ_INT(cli_parse(ac, av, opts, &pos, &npos, &err), 1);
    argv_free(av);
    av = argv_of("merge -", &ac);
    CHECK_EQ_INT(cli_parse(ac, av, opts, &pos, &npos, &err), 0);
    CHECK_EQ_INT(npos, 1);
    free(pos);
    argv_free(av);
}

static void test_numbers(void)
{
    long v;
    double d;
    struct lethe_error err = {0};
    CHECK_EQ_INT(cli_long("--seed", "42", &v, &err), 0);
    CHECK_EQ_INT(v, 42);
    CHECK(cli_long("--seed", "4x", &v, &err) < 0);
    CHECK_STREQ(err.msg, "--seed: expected an integer, got '4x'");
    CHECK(cli_long("--seed", "", &v, &err) < 0);
    CHECK_EQ_INT(cli_double("--lr", "1e-5", &d, &err), 0);
    CHECK_NEAR(d, 1e-5, 0);
    CHECK(cli_double("--lr", "nan", &d, &err) < 0);
    CHECK(cli_double("--lr", "1e999", &d, &err) < 0);
}

static void test_command_table(void)
{
    CHECK(command_find("leaderboard") != NULL);
    CHECK(command_find("nope") == NULL);
    for (size_t i = 0; i < commands_count; i++) {
        CHECK(commands[i].summary && commands[i].usage);
        CHECK((commands[i].fn == NULL) == (commands[i].pending != NULL));
        CHECK(str_starts(commands[i].usage, "usage: lethe "));
    }
}

int main(void)
{
    RUN(test_parse_forms);
    RUN(test_parse_errors);
    RUN(test_numbers);
    RUN(test_command_table);
    return test_done();
}

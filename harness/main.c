/* lethe: the entry point. Only main and cmd_* print and choose exit codes. */
#include <stdio.h>
#include <string.h>

#include "harness/harness.h"

static void print_help(FILE *f)
{
    fprintf(f, "usage: lethe COMMAND [options]   (lethe COMMAND --help for one command)\n\n"
               "Lethe tests whether a machine-unlearning method really forgot its forget set, and\n"
               "at what cost. Commands:\n\n");
    for (size_t i = 0; i < commands_count; i++)
        if (!commands[i].pending)
            fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nNot available yet (each says what brings it):\n\n");
    for (size_t i = 0; i < commands_count; i++)
        if (commands[i].pending)
            fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit status: 0 ok, 1 failure or regression, 2 usage or input error.\n");
}

static int has_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const struct command *c = command_find(argv[2]);
            if (!c)
                return cli_usage_error("unknown command '%s' (see 'lethe --help')", argv[2]);
            fputs(c->usage, stdout);
            if (c->pending)
                printf("\nnot available yet: arrives with %s\n", c->pending);
            return 0;
        }
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("lethe %s\n", LETHE_VERSION);
        return 0;
    }
    const struct command *c = command_find(name);
    if (!c)
        return cli_usage_error("unknown command '%s' (see 'lethe --help')", name);
    if (has_help(argc - 1, argv + 1)) {
        fputs(c->usage, stdout);
        if (c->pending)
            printf("\nnot available yet: arrives with %s\n", c->pending);
        return 0;
    }
    if (c->pending) {
        fprintf(stderr, "lethe: error: 'lethe %s' is not available yet: it arrives with %s\n",
                c->name, c->pending);
        return 2;
    }
    return c->fn(argc - 1, argv + 1);
}

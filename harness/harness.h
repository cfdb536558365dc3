/* harness: the command line, suites.json, grids and the run pipeline.
 *
 * How to use it in ten lines:
 *
 *     struct lethe_error err = {0};
 *     struct config *cfg = config_load("suites.json", &err);     // strict: errors name the JSON path
 *     if (!cfg) { cli_error(&err); return lethe_exit_code(&err); }
 *     struct job *jobs; size_t n;
 *     if (config_expand_grid(cfg, "quick", &jobs, &n, &err) < 0) ...
 *     for (size_t i = 0; i < n; i++) printf("%s %s\n", jobs[i].method->name, jobs[i].hash);
 *     jobs_free(jobs, n);
 *     config_free(cfg);
 *
 * Adding a new command: write harness/cmd_<name>.c with `int cmd_<name>(int argc, char **argv)`,
 * declare it below, add one row to the table in harness/main.c, add a CLI test in tests/cli/,
 * and a line to README.md if users should know it.
 */
#ifndef LETHE_HARNESS_H
#define LETHE_HARNESS_H

#include <stddef.h>

#include "base/base.h"

struct suite_kind;
struct method;

/* ---- command line ----------------------------------------------------------------- */

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);   /* argv[0] is the command name; returns the exit status */
    const char *summary;                /* one line for `lethe --help` */
    const char *usage;                  /* the text of `lethe NAME --help` */
    const char *pending;                /* NULL when available, else what brings the capability */
};
extern const struct command commands[];
extern const size_t commands_count;
const struct command *command_find(const char *name);

/* Prints "lethe: error: <msg>" to stderr. */
void cli_error(const struct lethe_error *err);
/* Prints "lethe: error: <fmt>" to stderr and returns 2 (usage error). */
int cli_usage_error(const char *fmt, ...) LETHE_PRINTF(1, 2);

/* Options: `--name VALUE`, `--name=VALUE`, flags `--name`; everything else is positional
 * ("--" ends options). An option given twice keeps the last value. */
enum cli_kind { CLI_STR, CLI_FLAG };
struct cli_opt {
    const char *name;       /* without the leading dashes */
    enum cli_kind kind;
    const char **str;       /* CLI_STR: set to the value (borrowed from argv) */
    int *flag;              /* CLI_FLAG: set to 1 */
};
/* Parses argv[1..argc-1]. Positional arguments are gathered in pos (borrowed from argv;
 * *pos is returned, the caller frees the array). Returns 0, 1 when --help was given (the
 * caller prints the usage and exits 0), or a negative error for an unknown option or a
 * missing value. */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, char ***pos, int *npos,
              struct lethe_error *err);
/* cli_parse for a cmd_* function: returns 0 to go on, or 1 when the command must return
 * *status at once (after printing its usage for --help, or the error for a bad option). */
int cli_parse_args(int argc, char **argv, const struct cli_opt *opts, char ***pos, int *npos,
                   int *status);
/* Appends the whitespace-separated token ids of s to *ids (xgrow'n: *n used, *cap room);
 * a word that is not a whole nonnegative int is a usage error naming it. */
int cli_parse_ids(const char *s, int **ids, size_t *n, size_t *cap, struct lethe_error *err);
/* Parses a whole decimal integer / a finite double; a message naming opt on failure. */
int cli_long(const char *opt, const char *s, long *out, struct lethe_error *err);
/* --seed S for a command: 0 and *out, or 2 after printing the error (not an integer >= 0). */
int cli_seed(const char *s, long *out);
int cli_double(const char *opt, const char *s, double *out, struct lethe_error *err);

/* Default paths. */
#define LETHE_DEFAULT_CONFIG "suites.json"
#define LETHE_DEFAULT_DB "results/lethe.db"

/* ---- suites.json -------------------------------------------------------------------- */

/* A suite: data + splits + model recipe + metrics and attacks. `json` holds the resolved
 * object that feeds the config hash: name, kind, data (paths as written, ${LETHE_DATA}
 * unexpanded, so the hash is the same on any machine), model, train and attacks, with every
 * default filled in; not the summary, the splits or the leaderboard. */
struct suite_cfg {
    char *name;
    char *kind;             /* tofu, muse, wmdp, semeval, image, multimodal */
    char *summary;
    char **splits;          /* forget splits, in file order */
    size_t n_splits;
    char **headline;        /* the leaderboard's metric columns, in order */
    size_t n_headline;
    char *rank_by;          /* the ranking metric (one of headline) */
    char *data_dir;         /* expanded data folder, or NULL for synthetic data */
    void *json;             /* json_t *, owned */
    const struct suite_kind *kind_info;     /* the kind's registry row (suites/suite.h) */
};

/* A named method configuration: {"name": "npo", "method": "npo", "beta": 0.1, ...}. A "sweep"
 * in the file expands into one configuration per value, named "npo@lr=1e-05". The implicit
 * reference runs 'original' and 'retrain' come first in every config. */
struct method_cfg {
    char *name;
    char *method;           /* the method's registry name ('original' / 'retrain' for those) */
    char *summary;
    void *json;             /* json_t *, owned: {"name", "method", every parameter with the
                               defaults filled}; what the config hash sees */
    char *family;           /* the name as written in the file (== name unless swept) */
    const struct method *info;  /* the registry row (methods/method.h); NULL for a reference */
    int reference;          /* 1 for the implicit 'original' and 'retrain' */
};

/* One grid entry: suites x splits x methods x seeds. splits NULL = every split of each suite.
 * methods name configurations or whole sweep families. An entry {"grid": NAME} instead
 * includes another grid's jobs (grid set, the lists empty). */
struct grid_entry {
    char **suites; size_t n_suites;
    char **splits; size_t n_splits;
    char **methods; size_t n_methods;
    long *seeds; size_t n_seeds;
    char *grid;
};

struct grid_cfg {
    char *name;
    char *summary;
    struct grid_entry *entries;
    size_t n_entries;
};

struct config {
    char *path;             /* the file as given */
    char *dir;              /* its folder: relative paths resolve against it */
    char *data_root;        /* what ${LETHE_DATA} expands to: the first of data_roots that
                               exists, else the first */
    char **data_roots;      /* the candidates, in order: $LETHE_DATA if set, else data/ beside
                               the file, then ../shared/data beside it; a path is expanded
                               with the first candidate under which it exists */
    size_t n_data_roots;
    struct suite_cfg *suites; size_t n_suites;
    struct method_cfg *methods; size_t n_methods;
    struct grid_cfg *grids; size_t n_grids;
};

/* One job of a grid: (suite, split, method configuration, seed) and its stable hash. */
struct job {
    const struct suite_cfg *suite;      /* borrowed from the config */
    const char *split;                  /* borrowed from the config */
    const struct method_cfg *method;    /* borrowed from the config */
    long seed;
    char *resolved_json;                /* canonical JSON of everything that determines the run
                                           except the seed (returned; freed by jobs_free) */
    char hash[65];                      /* sha256 of resolved_json */
};

/* Loads and checks a suites.json; NULL and err on any problem (the message names the file
 * and the JSON path). Returned; free with config_free. */
struct config *config_load(const char *path, struct lethe_error *err);
/* Same, from text in memory; path is used in messages and to resolve relative paths. */
struct config *config_parse(const char *text, const char *path, struct lethe_error *err);
void config_free(struct config *cfg);

const struct suite_cfg *config_suite(const struct config *cfg, const char *name);
const struct method_cfg *config_method(const struct config *cfg, const char *name);
const struct grid_cfg *config_grid(const struct config *cfg, const char *name);

/* Expands a grid into its jobs, in a stable order (entries, suites, splits, methods, seeds);
 * a job listed twice appears once. *jobs is returned; free with jobs_free. */
int config_expand_grid(const struct config *cfg, const char *grid, struct job **jobs, size_t *n,
                       struct lethe_error *err);
void jobs_free(struct job *jobs, size_t n);

/* Canonical JSON of a json_t *: keys sorted, no whitespace, strings in UTF-8 with only '"',
 * '\\' and control characters escaped, integers in decimal, reals in the shortest form that
 * reads back to the same double, always with a '.' or an exponent. This is Python's
 * json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) (except that -0.0 is
 * written 0.0), so hashes can be checked independently. Returned, the caller frees. */
char *config_canonical_json(const void *json);

/* The sha256 (hex) of the canonical JSON of a json_t *. */
void config_hash_json(const void *json, char hex[65]);

/* Expands ${LETHE_DATA} in a path as written in cfg's file and resolves a relative path against
 * the file's folder; NULL and err for an unknown ${VAR}. Returned, the caller frees. */
char *config_resolve_path(const struct config *cfg, const char *written, struct lethe_error *err);

/* ---- commands ----------------------------------------------------------------------- */

/* Commands whose capability has arrived; the rest are listed in main.c as pending. */
int cmd_leaderboard(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_unlearn(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_attack(int argc, char **argv);

#endif

/* results: the SQLite results store, and what is read from it (leaderboard, compare, merge,
 * figures).
 *
 * How to use it in ten lines:
 *
 *     struct lethe_error err = {0};
 *     struct store *st = store_open("results/lethe.db", STORE_CREATE, &err);
 *     struct run_info ri = {.suite = "tofu_mini", .split = "forget10", .method = "npo",
 *                           .method_config_json = "{\"method\":\"npo\"}", .seed = 0,
 *                           .config_hash = hash};
 *     int64_t id;
 *     if (store_begin_run(st, &ri, &id, &err) == STORE_RUN_DONE) ...     // resume: skip it
 *     struct run_results *res = run_results_new();
 *     run_results_metric(res, "base", "forget", "tofu.forget.prob", 0.42, NAN, NAN, 400);
 *     store_finish_run(st, id, res, wall_s, &err);   // one transaction; on failure the run stays 'running'
 *     run_results_free(res); store_close(st);
 *
 * Schema (OVERVIEW.md section 7): runs, metrics, sample_scores, curves, models; the version
 * is PRAGMA user_version (STORE_SCHEMA_VERSION), a Lethe file is marked by PRAGMA
 * application_id (STORE_APPLICATION_ID). A file of another version or application is refused,
 * never migrated silently.
 */
#ifndef LETHE_RESULTS_H
#define LETHE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_APPLICATION_ID 0x4c455448 /* "LETH" */

struct store;

enum store_flags {
    STORE_READONLY = 0,     /* open an existing Lethe database for reading */
    STORE_CREATE = 1,       /* open read-write, creating the file (and its folder) if missing */
};

/* Opens a results database. Refused with LETHE_EINPUT, leaving the file untouched: a file
 * that is not SQLite, a truncated one, a SQLite file of another application, a Lethe file
 * of another schema version. Returned; free with store_close. */
struct store *store_open(const char *path, int flags, struct lethe_error *err);
void store_close(struct store *st);
const char *store_path(const struct store *st);

/* What identifies and describes a run. Strings are borrowed for the call. */
struct run_info {
    const char *grid;               /* may be NULL */
    const char *suite;
    const char *split;
    const char *method;             /* the method configuration's name ('original', 'retrain' too) */
    const char *method_config_json; /* canonical JSON of the method's parameters */
    long seed;
    const char *config_hash;        /* sha256 hex of the resolved configuration without the seed */
    int threads;
};

enum store_run_state { STORE_RUN_NEW = 0, STORE_RUN_DONE = 1 };

/* Starts a run: inserts it as 'running', or, if (config_hash, seed) exists and is not done,
 * clears its old results and marks it 'running' again (a crashed or failed run is redone).
 * Returns STORE_RUN_DONE (and its id) when the run is already done, STORE_RUN_NEW when it
 * must be run, negative on error. */
int store_begin_run(struct store *st, const struct run_info *ri, int64_t *run_id,
                    struct lethe_error *err);

/* Results of one run, gathered in memory and written in one transaction. */
struct run_results;
struct run_results *run_results_new(void);
void run_results_free(struct run_results *res);
/* value may be NAN (stored as NULL: undefined); ci_low/ci_high NAN = no CI; n < 0 = unknown. */
void run_results_metric(struct run_results *res, const char *variant, const char *split,
                        const char *name, double value, double ci_low, double ci_high, long n);
void run_results_sample(struct run_results *res, const char *variant, const char *split,
                        const char *name, long idx, double value);
void run_results_curve(struct run_results *res, const char *name, long step, double x, double y);

/* Writes res and marks the run 'done' with its wall time, in one transaction. On failure
 * nothing of res is kept and the run stays 'running' (a later run redoes it). */
int store_finish_run(struct store *st, int64_t run_id, const struct run_results *res,
                     double wall_s, struct lethe_error *err);
/* Marks a run 'failed' with its error message (best effort: returns negative if even that fails). */
int store_fail_run(struct store *st, int64_t run_id, const char *error, struct lethe_error *err);

/* Records a cached model (hash, path, role, suite, seed, training seconds). */
int store_put_model(struct store *st, const char *hash, const char *path, const char *role,
                    const char *suite, long seed, double train_s, struct lethe_error *err);

/* Failure injection for tests (SQLite's OOM-injection idea): the n-th SQLite write step from
 * now on fails with an I/O error (0 turns it off). Also set by LETHE_STORE_FAIL_AT=n. */
void store_inject_failure(struct store *st, long nth_write);

/* ---- reading: leaderboard, compare, merge, plot ------------------------------------------- */

enum lb_format { LB_TABLE, LB_CSV, LB_MD, LB_JSON, LB_FORMAT_COUNT };
/* Parses "table"|"csv"|"md"|"json"; negative on anything else. */
int lb_format_parse(const char *s);

/* Describes how one suite is shown: its headline metrics (columns, in order) and ranking
 * metric. Borrowed. When a suite of the DB has no view, every base metric is a column and
 * the first is the ranking metric. */
struct suite_view {
    const char *suite;
    const char *const *headline;
    size_t n_headline;
    const char *rank_by;
};

struct lb_options {
    const char *suite;              /* NULL = every suite */
    const char *split;              /* NULL = every split */
    const char *variant;            /* NULL = "base" */
    enum lb_format format;
    const struct suite_view *views; /* may be NULL */
    size_t n_views;
};

/* Writes the leaderboard as text in the chosen format into out (appended): per (suite, split)
 * one row per method configuration over its done runs (mean, sample sd, the CI: the stored one
 * for one seed, the mean of the per-seed bounds for several), ranked by the view's rank_by
 * (->O against the 'retrain' row's mean), 'original' and 'retrain' apart. Returns the number
 * of tables (0 for a database without runs), or negative: LETHE_EINPUT when opt's suite,
 * split or variant (other than "base") matches nothing. */
int leaderboard_render(struct store *st, const struct lb_options *opt, struct strbuf *out,
                       struct lethe_error *err);

/* Compares two DBs. tolerance_path may be NULL (the default tolerance: abs 0). Writes the
 * report into out; *regressions is set to the count of regressed metrics and runs. Done runs
 * match on (suite, split, method, method_config_json, seed). Regressions: a metric worse than
 * its tolerance in the registry's direction, a metric missing or become undefined in new, a
 * run done in base and failed in new. A bad tolerance file is LETHE_EINPUT naming its JSON path.
 * Tolerance file: {"default": {"abs": a, "rel": r}, "metrics": {"<name>": {...}},
 * "patterns": [{"pattern": "<glob>", "abs": a}]}; allowance = max(abs, rel x |base|). */
int compare_dbs(struct store *base, struct store *neu, const char *tolerance_path,
                enum lb_format format, struct strbuf *out, long *regressions,
                struct lethe_error *err);
/* The same with options (added later; compare_dbs = this with quiet 0). */
struct compare_options {
    const char *tolerance_path;     /* NULL = abs 0 for every metric */
    enum lb_format format;
    int quiet;                      /* leave out the rows needing no attention (ok, info...) */
};
int compare_dbs_opt(struct store *base, struct store *neu, const struct compare_options *opt,
                    struct strbuf *out, long *regressions, struct lethe_error *err);

/* Merges inputs into a new database at out_path (written to a temporary name and renamed;
 * with force an existing out_path is replaced). Conflicting runs: error, nothing written. The
 * report (runs taken, duplicates dropped, conflicts) is appended to log (may be NULL), one
 * line each. Runs are keyed by (config_hash, seed); a done copy beats a failed one; runs only
 * 'running' are left out with a note. Returns the number of runs written (>= 0), or negative:
 * LETHE_EINPUT for a bad input file, an existing out_path without force, or a conflict;
 * LETHE_EIO when writing fails. */
int merge_dbs(const char *out_path, const char *const *inputs, size_t n_inputs, int force,
              struct strbuf *log, struct lethe_error *err);

/* Figures. Each writes NAME.gp and NAME.dat next to NAME.<format> in out_dir and runs
 * gnuplot there (the image is written to a temporary name and renamed; `cd out_dir && gnuplot
 * NAME.gp` redraws it); LETHE_EINPUT when gnuplot is missing or nothing matches. The image path
 * is returned in *image (the caller frees). Scatter and bars draw one figure per split when
 * split is NULL and the suite has several: *image then holds the paths, one per line, and a
 * given name gets "_<split>" appended. Values are means over seeds (sample sd as error bars). */
enum plot_format { PLOT_PNG, PLOT_SVG, PLOT_PDF, PLOT_FORMAT_COUNT };
int plot_format_parse(const char *s);

struct plot_options {
    const char *out_dir;
    const char *name;               /* file stem; NULL = derived from the figure */
    enum plot_format format;
    const char *suite, *split;      /* filters; NULL = all (scatter and bars need one suite) */
    const char *x, *y;              /* scatter: metric names */
    int logx, logy;
    const char *metric;             /* bars: metric name */
    const char *const *variants;    /* bars: variants, NULL = every variant present */
    size_t n_variants;
    const char *curve;              /* curves: curve name */
    const char *method;             /* curves: filter by method configuration, NULL = all */
    /* added after the first release of this struct; zero = the default */
    const char *variant;            /* scatter: the variant, NULL = "base" */
    int errorbars;                  /* scatter: draw sd error bars (bars always have them) */
    const char *xlabel, *ylabel;    /* axis labels, NULL = derived from the metrics or curve */
};
int plot_scatter(struct store *st, const struct plot_options *opt, char **image,
                 struct lethe_error *err);
int plot_bars(struct store *st, const struct plot_options *opt, char **image,
              struct lethe_error *err);
int plot_curves(struct store *st, const struct plot_options *opt, char **image,
                struct lethe_error *err);

#endif

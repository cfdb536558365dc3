/* Private to results/plot*.c: what the three figure kinds share (gnuplot, files, quoting,
 * grouping runs into method configurations). */
#ifndef LETHE_RESULTS_PLOT_IMPL_H
#define LETHE_RESULTS_PLOT_IMPL_H

#include <sqlite3.h>

#include "results/results.h"
#include "results/store_impl.h"

/* The figure being drawn: options checked, gnuplot found. */
struct plot_ctx {
    const struct plot_options *opt;
    struct store *st;
    char *gnuplot;          /* path of the gnuplot binary (owned) */
    struct strbuf images;   /* paths written so far, one per line */
    struct lethe_error first_skip;  /* why the first split left out was left out */
};

/* Checks opt (format, out folder, name) and finds gnuplot; LETHE_EINPUT/LETHE_EUSAGE on a bad
 * option or a missing gnuplot. Release ctx with plot_ctx_release, also after a failure. */
int plot_ctx_init(struct plot_ctx *ctx, struct store *st, const struct plot_options *opt,
                  struct lethe_error *err);
void plot_ctx_release(struct plot_ctx *ctx);
/* Drawing one figure per split: when several splits are drawn, a split whose figure failed with
 * LETHE_EINPUT (e.g. it lacks the metric) is left out with a warning, unless no split at all could
 * be drawn (then the first such error is returned). Returns the status to go on with. */
int plot_each_split(int rc, struct plot_ctx *ctx, const char *split, int several, int last,
                    struct lethe_error *err);
/* Hands the written image paths (one per line) to *image; NULL when none was written. */
void plot_ctx_images(struct plot_ctx *ctx, char **image);

/* gnuplot: $LETHE_GNUPLOT when set, else the first executable 'gnuplot' on $PATH. The path is
 * returned (the caller frees); LETHE_EINPUT with "gnuplot not found: ..." otherwise. */
int plot_gnuplot_find(char **path, struct lethe_error *err);

/* The file extension of a format ("png", "svg", "pdf"). */
const char *plot_format_ext(enum plot_format f);

/* The suite to draw: opt's suite, which must have finished runs, or the only suite of the
 * database when opt names none. Returned in *suite (the caller frees). */
int plot_pick_suite(struct store *st, const char *suite, char **out, struct lethe_error *err);
/* The splits to draw, one figure each: opt's split (checked to have finished runs of the
 * suite), else every split of the suite's finished runs, sorted. *splits is returned; free
 * with plot_strings_free. */
int plot_pick_splits(struct store *st, const char *suite, const char *split, char ***splits,
                     size_t *n, struct lethe_error *err);
void plot_strings_free(char **v, size_t n);
/* Fails with LETHE_EINPUT unless some finished run of suite/split (split may be NULL) has a
 * metric called name in variant (NULL = any); the message lists the metrics that exist. */
int plot_check_metric(struct store *st, const char *suite, const char *split, const char *variant,
                      const char *name, struct lethe_error *err);

/* A prepared statement on st->db, or NULL with err set from SQLite. */
sqlite3_stmt *plot_sql(struct store *st, const char *sql, struct lethe_error *err);
/* sqlite3_column_text as a C string ("" for NULL). */
const char *plot_col_text(sqlite3_stmt *s, int col);

/* The file stem of a figure: name (with "_<split>" appended when several figures are drawn),
 * or the parts joined by '_' with every character outside [A-Za-z0-9._-] replaced by '_'.
 * Parts may be NULL (skipped). Returned; the caller frees. */
char *plot_stem(const char *name, const char *split, int several, const char *const *parts,
                size_t n_parts);

/* Appends s as a gnuplot single-quoted string ('' for a quote, control characters as spaces). */
void plot_gp_string(struct strbuf *sb, const char *s);
/* The same followed by " noenhanced": a title or label printed as it is ('_' is no subscript). */
void plot_gp_text(struct strbuf *sb, const char *s);
/* Log-axis lines for axis 'x' or 'y': ticks at powers of ten, written 10^{k}. */
void plot_gp_logscale(struct strbuf *sb, char axis);
/* Appends one comment line "# <text>\n" (gnuplot script or data file): control characters in the
 * text become spaces and a final backslash (a line continuation to gnuplot) is defused. */
void plot_comment(struct strbuf *sb, const char *fmt, ...) LETHE_PRINTF(2, 3);
/* Appends the script lines defining the gnuplot array `label` (1-based) of the n labels. Data
 * files hold a label's index, never its text: gnuplot's data reader cannot escape quotes. */
void plot_gp_labels(struct strbuf *gp, const char *const *labels, size_t n);
/* Appends a number of a data file: %.12g, or NaN. */
void plot_dat_number(struct strbuf *sb, double v);
/* An axis label for a metric: its name and, when the registry knows it, which way is better. */
void plot_axis_label(struct strbuf *sb, const char *metric, int log_axis);

/* Starts a script: header comments (what it draws, from which DB, how to re-run), the output
 * file (overridable by `gnuplot -e "outfile='...'"`), the terminal and the house style. */
void plot_script_head(struct strbuf *gp, const struct plot_ctx *ctx, const char *stem,
                      const char *what);

/* Writes STEM.dat and STEM.gp into the out folder, runs gnuplot there into a temporary name and
 * renames it to STEM.<ext>; appends the image path to ctx->images. A failing gnuplot leaves no
 * image and its stderr is in the message (LETHE_EFAIL). */
int plot_render(struct plot_ctx *ctx, const char *stem, const struct strbuf *gp,
                const struct strbuf *dat, struct lethe_error *err);

/* ---- method configurations and their values over seeds -------------------------------- */

enum plot_ref { PLOT_REF_ORIGINAL, PLOT_REF_RETRAIN, PLOT_REF_NONE };

struct plot_series {
    double *v;
    size_t n, cap;
};

struct plot_group {
    char *method;           /* runs.method */
    char *config_hash;      /* runs.config_hash: one method name may have several configs */
    char *label;            /* set by plot_groups_finish */
    enum plot_ref ref;
    struct plot_series *s;  /* n_series series (scatter: x, y; bars: one per variant) */
};

struct plot_groups {
    struct plot_group *g;
    size_t n, cap, n_series;
};

void plot_groups_init(struct plot_groups *gs, size_t n_series);
void plot_groups_release(struct plot_groups *gs);
/* The group of (method, config_hash), added when new. Borrowed until gs is released. */
struct plot_group *plot_groups_get(struct plot_groups *gs, const char *method,
                                   const char *config_hash);
void plot_series_add(struct plot_series *s, double v);
/* Sorts the groups (original, retrain, then the methods by name) and sets their labels: the
 * method name, with the config hash's first 8 characters when a name has several configs. */
void plot_groups_finish(struct plot_groups *gs);

/* Mean and sample standard deviation (n - 1; 0 for one value); NAN for no value. */
double plot_mean(const struct plot_series *s);
double plot_sd(const struct plot_series *s);

#endif

/* Internals shared by the suites.json parser (harness/config.c), its value checks
 * (harness/config_value.c) and grid expansion (harness/grid.c). */
#ifndef LETHE_CONFIG_IMPL_H
#define LETHE_CONFIG_IMPL_H

#include <jansson.h>

#include "harness/harness.h"
#include "suites/suite.h"

/* The current format version: "lethe": 1. */
#define CONFIG_FORMAT 1

/* Where the parser is: the file (for messages), the JSON path being checked, the error. */
struct cctx {
    const char *file;
    struct config *cfg;
    struct lethe_error *err;
    char path[768];
    size_t len;
};

/* Appends ".key" (or "key" at the top) / "[i]" to the path; returns the old length, which
 * cpath_pop restores. */
size_t cpath_key(struct cctx *c, const char *key);
size_t cpath_idx(struct cctx *c, size_t i);
void cpath_pop(struct cctx *c, size_t len);
/* Sets c->err to "FILE: PATH: message" (LETHE_EINPUT) and returns -LETHE_EINPUT. */
int cerr(struct cctx *c, const char *fmt, ...) LETHE_PRINTF(2, 3);

/* Checks that v is an object whose keys are all in allowed and that has every key of required
 * (both NULL-terminated; required may be NULL). */
int check_object(struct cctx *c, const json_t *v, const char *const *allowed,
                 const char *const *required);

/* Checks the value v of parameter p (the path names it). *out gets a normalised new reference:
 * reals of the real types are json reals, so 1 and 1.0 hash the same. */
int check_param(struct cctx *c, const struct param_spec *p, const json_t *v, json_t **out);

/* Checks the keys of obj other than those in skip (NULL-terminated, may be NULL) against the
 * rows of own, then of common (either may be NULL); sets each checked value into out, then the
 * default of every row not given. With required set, a row without a default must be given.
 * owner names the table in messages ("method 'npo'"); NULL says "key". */
int check_params(struct cctx *c, const json_t *obj, const char *const *skip,
                 const struct param_spec *own, const struct param_spec *common, int required,
                 const char *owner, json_t *out);

/* The default of p as a new reference; a malformed default is a bug. NULL when p has none. */
json_t *param_default(const struct param_spec *p);

/* Checks that v is a name: a string of letters, digits, '_', '-', '.', starting with a letter
 * or a digit. */
int check_name(struct cctx *c, const json_t *v, const char **out);
/* Checks that v is a non-empty array of unique strings; *out is borrowed from v. */
int check_string_list(struct cctx *c, const json_t *v, const char ***out, size_t *n);

/* The candidate closest to s within a small edit distance, or NULL. */
const char *suggest(const char *s, const char *const *cands, size_t n);
/* " (did you mean 'x'?)" or ""; static storage, valid until the next call. */
const char *did_you_mean(const char *s, const char *const *cands, size_t n);

/* Checks the ${VAR}s of a path as written (only ${LETHE_DATA} is known). */
int check_path_vars(struct cctx *c, const char *written);
/* Picks cfg->data_root and the candidate roots (LETHE_DATA, else data/ beside the file, then
 * ../shared/data beside it). */
void config_data_roots(struct config *cfg);

/* Formats a real as the canonical JSON does (Python's repr of a float). */
void canon_real(struct strbuf *sb, double x);
/* Appends the canonical JSON of v. */
void canon_json(struct strbuf *sb, const json_t *v);

/* Runs call with the path extended by key, into rc. */
#define AT(c, key, call) \
    do { size_t old_ = cpath_key((c), (key)); rc = (call); cpath_pop((c), old_); } while (0)

/* The string at key of obj, checked non-empty (*out borrowed from obj). */
int get_text(struct cctx *c, const json_t *obj, const char *key, const char **out);

/* The sections of the file: "methods" (config_method.c; v may be NULL), "grids" (grid.c), and
 * the checks of grid includes once every grid is read. */
int methods_parse(struct cctx *c, const json_t *v);
int grids_parse(struct cctx *c, const json_t *v);
int grids_resolve(struct cctx *c);

#endif

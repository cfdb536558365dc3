/* Private to results/: a grid of text cells rendered as an aligned table, CSV or Markdown,
 * shared by the leaderboard and compare reports. */
#ifndef LETHE_RESULTS_TABLE_IMPL_H
#define LETHE_RESULTS_TABLE_IMPL_H

#include <stddef.h>

#include "base/base.h"

struct texttab {
    size_t ncols;
    char **header;      /* ncols strings, owned */
    char ***rows;       /* nrows arrays of ncols strings (NULL = empty), owned */
    int *sep_before;    /* per row: draw a separator line above it (text format only) */
    size_t nrows, cap, cap_sep;
    int *right;         /* per column: right-align in the text format */
};

void texttab_init(struct texttab *t, size_t ncols);
void texttab_release(struct texttab *t);
/* Sets a header cell; right = right-align the column in text form. */
void texttab_head(struct texttab *t, size_t col, const char *text, int right);
/* Starts a new row (cells empty); sep = separator line above it in text form. */
void texttab_add_row(struct texttab *t, int sep);
/* Sets a cell of the last row (copied). */
void texttab_set(struct texttab *t, size_t col, const char *text);
void texttab_setf(struct texttab *t, size_t col, const char *fmt, ...) LETHE_PRINTF(3, 4);

/* Appends the rendering: aligned columns (widths in UTF-8 code points, two spaces between
 * columns, trailing blanks trimmed); CSV (RFC 4180, CRLF-free: "\n" line ends, header row
 * only when with_header); GitHub Markdown (pipes and backslashes escaped). */
void texttab_text(const struct texttab *t, struct strbuf *out);
void texttab_csv(const struct texttab *t, struct strbuf *out, int with_header);
void texttab_md(const struct texttab *t, struct strbuf *out);

/* RFC 4180 field: quoted when it holds a comma, quote, CR or LF (or leading/trailing space). */
void csv_field(struct strbuf *out, const char *s);
/* Markdown table cell text: '|' and '\' escaped, newlines as spaces. */
void md_cell(struct strbuf *out, const char *s);
/* Width of a UTF-8 string in code points. */
size_t utf8_width(const char *s);
/* The shortest "%.*g" text (up to 17 digits) that reads back as v exactly; "" for NaN. */
void fmt_exact(char buf[32], double v);

#endif

/* A grid of text cells rendered as an aligned table, CSV or Markdown (leaderboard, compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results/table_impl.h"

void texttab_init(struct texttab *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->header = xcalloc(ncols ? ncols : 1, sizeof(*t->header));
    t->right = xcalloc(ncols ? ncols : 1, sizeof(*t->right));
}

void texttab_release(struct texttab *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++)
        free(t->header ? t->header[c] : NULL);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    free(t->header);
    free(t->rows);
    free(t->sep_before);
    free(t->right);
    memset(t, 0, sizeof(*t));
}

void texttab_head(struct texttab *t, size_t col, const char *text, int right)
{
    LETHE_ASSERT(col < t->ncols);
    free(t->header[col]);
    t->header[col] = xstrdup(text);
    t->right[col] = right;
}

void texttab_add_row(struct texttab *t, int sep)
{
    xgrow(&t->rows, &t->cap, t->nrows + 1, sizeof(*t->rows));
    xgrow(&t->sep_before, &t->cap_sep, t->nrows + 1, sizeof(*t->sep_before));
    t->rows[t->nrows] = xcalloc(t->ncols ? t->ncols : 1, sizeof(char *));
    t->sep_before[t->nrows] = sep;
    t->nrows++;
}

void texttab_set(struct texttab *t, size_t col, const char *text)
{
    LETHE_ASSERT(t->nrows > 0 && col < t->ncols);
    char **row = t->rows[t->nrows - 1];
    free(row[col]);
    row[col] = xstrdup(text ? text : "");
}

void texttab_setf(struct texttab *t, size_t col, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    texttab_set(t, col, sb.buf ? sb.buf : "");
    strbuf_release(&sb);
}

size_t utf8_width(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *cell(const struct texttab *t, size_t r, size_t c)
{
    const char *s = t->rows[r][c];
    return s ? s : "";
}

static void pad(struct strbuf *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strbuf_add(out, " ", 1);
}

static void trim_line(struct strbuf *out, size_t line_start)
{
    while (out->len > line_start && out->buf[out->len - 1] == ' ')
        out->len--;
    out->buf[out->len] = '\0';
}

static void text_line(const struct texttab *t, const size_t *w, const char *const *cells,
                      struct strbuf *out)
{
    size_t start = out->len;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        size_t gap = w[c] - utf8_width(s);
        if (c)
            strbuf_adds(out, "  ");
        if (t->right[c])
            pad(out, gap);
        strbuf_adds(out, s);
        if (!t->right[c])
            pad(out, gap);
    }
    trim_line(out, start);
    strbuf_adds(out, "\n");
}

void texttab_text(const struct texttab *t, struct strbuf *out)
{
    size_t *w = xcalloc(t->ncols ? t->ncols : 1, sizeof(*w));
    size_t total = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = utf8_width(t->header[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t x = utf8_width(cell(t, r, c));
            if (x > w[c])
                w[c] = x;
        }
        total += w[c] + (c ? 2 : 0);
    }
    text_line(t, w, (const char *const *)t->header, out);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->sep_before[r]) {
            for (size_t i = 0; i < total; i++)
                strbuf_add(out, "-", 1);
            strbuf_adds(out, "\n");
        }
        text_line(t, w, (const char *const *)t->rows[r], out);
    }
    free(w);
}

void csv_field(struct strbuf *out, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        strbuf_add(out, s, n);
        return;
    }
    strbuf_add(out, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            strbuf_add(out, "\"", 1);
        strbuf_add(out, p, 1);
    }
    strbuf_add(out, "\"", 1);
}

void texttab_csv(const struct texttab *t, struct strbuf *out, int with_header)
{
    if (with_header) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                strbuf_add(out, ",", 1);
            csv_field(out, t->header[c]);
        }
        strbuf_adds(out, "\n");
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                strbuf_add(out, ",", 1);
            csv_field(out, cell(t, r, c));
        }
        strbuf_adds(out, "\n");
    }
}

void md_cell(struct strbuf *out, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '|' || *p == '\\')
            strbuf_add(out, "\\", 1);
        if (*p == '\n' || *p == '\r')
            strbuf_add(out, " ", 1);
        else
            strbuf_add(out, p, 1);
    }
}

void texttab_md(const struct texttab *t, struct strbuf *out)
{
    strbuf_adds(out, "|");
    for (size_t c = 0; c < t->ncols; c++) {
        strbuf_adds(out, " ");
        md_cell(out, t->header[c]);
        strbuf_adds(out, " |");
    }
    strbuf_adds(out, "\n|");
    for (size_t c = 0; c < t->ncols; c++)
        strbuf_adds(out, t->right[c] ? " ---: |" : " --- |");
    strbuf_adds(out, "\n");
    for (size_t r = 0; r < t->nrows; r++) {
        strbuf_adds(out, "|");
        for (size_t c = 0; c < t->ncols; c++) {
            strbuf_adds(out, " ");
            md_cell(out, cell(t, r, c));
            strbuf_adds(out, " |");
        }
        strbuf_adds(out, "\n");
    }
}

void fmt_exact(char buf[32], double v)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

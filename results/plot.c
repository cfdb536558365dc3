/* Figures with gnuplot: what scatter, bars and curves share (options, gnuplot, quoting, the
 * script's house style, writing STEM.gp/.dat and rendering the image atomically). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "results/plot_impl.h"

static const char *const format_names[] = {"png", "svg", "pdf"};
_Static_assert(sizeof(format_names) / sizeof(format_names[0]) == PLOT_FORMAT_COUNT,
               "one name per plot format");

int plot_format_parse(const char *s)
{
    for (int i = 0; s && i < PLOT_FORMAT_COUNT; i++)
        if (strcmp(s, format_names[i]) == 0)
            return i;
    return -1;
}

const char *plot_format_ext(enum plot_format f)
{
    LETHE_ASSERT((int)f >= 0 && f < PLOT_FORMAT_COUNT);
    return format_names[f];
}

static int is_executable(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

int plot_gnuplot_find(char **path, struct lethe_error *err)
{
    const char *env = getenv("LETHE_GNUPLOT");
    if (env && *env) {
        if (!is_executable(env))
            return lethe_err(err, LETHE_EINPUT,
                             "gnuplot not found: LETHE_GNUPLOT='%s' is not an executable file; "
                             "install gnuplot-nox (scripts/deps.sh)", env);
        *path = xstrdup(env);
        return 0;
    }
    const char *p = getenv("PATH");
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        struct strbuf sb = STRBUF_INIT;
        if (len)
            strbuf_add(&sb, p, len);
        else
            strbuf_adds(&sb, ".");
        strbuf_adds(&sb, "/gnuplot");
        if (is_executable(sb.buf)) {
            *path = strbuf_detach(&sb);
            return 0;
        }
        strbuf_release(&sb);
        p = colon ? colon + 1 : NULL;
    }
    return lethe_err(err, LETHE_EINPUT, "gnuplot not found: install gnuplot-nox (scripts/deps.sh)");
}

int plot_ctx_init(struct plot_ctx *ctx, struct store *st, const struct plot_options *opt,
                  struct lethe_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->opt = opt;
    ctx->st = st;
    if (!st || !opt)
        LETHE_BUG("plot: no store or no options");
    if ((int)opt->format < 0 || opt->format >= PLOT_FORMAT_COUNT)
        return lethe_err(err, LETHE_EUSAGE, "unknown figure format %d", (int)opt->format);
    if (!opt->out_dir || !*opt->out_dir)
        return lethe_err(err, LETHE_EUSAGE, "no output folder given for the figure");
    if (opt->name && (!*opt->name || strchr(opt->name, '/') || opt->name[0] == '.'))
        return lethe_err(err, LETHE_EUSAGE,
                         "figure name '%s': expected a file stem without '/' or a leading '.'",
                         opt->name);
    return plot_gnuplot_find(&ctx->gnuplot, err);
}

void plot_ctx_release(struct plot_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->gnuplot);
    ctx->gnuplot = NULL;
    strbuf_release(&ctx->images);
}

int plot_each_split(int rc, struct plot_ctx *ctx, const char *split, int several, int last,
                    struct lethe_error *err)
{
    if (rc == -LETHE_EINPUT && several) {
        lethe_log(LETHE_LOG_WARN, "split '%s' left out: %s", split, err ? err->msg : "no data");
        if (!ctx->first_skip.code && err)
            ctx->first_skip = *err;
        rc = 0;
    }
    if (rc == 0 && last && !ctx->images.len) {
        if (err)
            *err = ctx->first_skip;
        return -LETHE_EINPUT;
    }
    return rc;
}

void plot_ctx_images(struct plot_ctx *ctx, char **image)
{
    if (!image)
        return;
    if (ctx->images.len && ctx->images.buf[ctx->images.len - 1] == '\n')
        ctx->images.buf[--ctx->images.len] = '\0';
    *image = ctx->images.len ? strbuf_detach(&ctx->images) : NULL;
}

/* ---- names, quoting, labels ------------------------------------------------------------- */

static void add_sanitized(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        strbuf_add(sb, isalnum(c) || c == '.' || c == '-' || c == '_' ? (const char *)s : "_", 1);
    }
}

char *plot_stem(const char *name, const char *split, int several, const char *const *parts,
                size_t n_parts)
{
    struct strbuf sb = STRBUF_INIT;
    if (name) {
        strbuf_adds(&sb, name);
        if (several && split) {
            strbuf_adds(&sb, "_");
            add_sanitized(&sb, split);
        }
        return strbuf_detach(&sb);
    }
    for (size_t i = 0; i < n_parts; i++) {
        if (!parts[i] || !*parts[i])
            continue;
        if (sb.len)
            strbuf_adds(&sb, "_");
        add_sanitized(&sb, parts[i]);
    }
    if (!sb.len || sb.buf[0] == '.' || sb.buf[0] == '-') {
        struct strbuf fixed = STRBUF_INIT;
        strbuf_addf(&fixed, "figure%s%s", sb.len ? "_" : "", sb.len ? sb.buf : "");
        strbuf_release(&sb);
        return strbuf_detach(&fixed);
    }
    return strbuf_detach(&sb);
}

void plot_gp_string(struct strbuf *sb, const char *s)
{
    strbuf_adds(sb, "'");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            strbuf_adds(sb, "''");
        else if (c < 0x20 || c == 0x7f)
            strbuf_adds(sb, " ");
        else
            strbuf_add(sb, s, 1);
    }
    strbuf_adds(sb, "'");
}

void plot_gp_text(struct strbuf *sb, const char *s)
{
    plot_gp_string(sb, s);
    strbuf_adds(sb, " noenhanced");
}

void plot_gp_logscale(struct strbuf *sb, char axis)
{
    strbuf_addf(sb, "set logscale %c\nset format %c '10^{%%L}'\n", axis, axis);
}

void plot_comment(struct strbuf *sb, const char *fmt, ...)
{
    struct strbuf text = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&text, fmt, ap);
    va_end(ap);
    strbuf_adds(sb, "# ");
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.buf[i];
        strbuf_add(sb, c < 0x20 || c == 0x7f ? " " : text.buf + i, 1);
    }
    if (text.len && text.buf[text.len - 1] == '\\')
        strbuf_adds(sb, " #");
    strbuf_adds(sb, "\n");
    strbuf_release(&text);
}

void plot_gp_labels(struct strbuf *gp, const char *const *labels, size_t n)
{
    strbuf_addf(gp, "array label[%zu]\n", n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        strbuf_addf(gp, "label[%zu] = ", i + 1);
        plot_gp_string(gp, labels[i]);
        strbuf_adds(gp, "\n");
    }
}

void plot_dat_number(struct strbuf *sb, double v)
{
    if (isfinite(v))
        strbuf_addf(sb, "%.12g", v);
    else
        strbuf_adds(sb, "NaN");
}

void plot_axis_label(struct strbuf *sb, const char *metric, int log_axis)
{
    const struct metric_info *m = metric_lookup(metric);
    const char *dir = NULL;
    if (m) {
        switch (m->dir) {
        case METRIC_HIGHER: dir = "higher is better"; break;
        case METRIC_LOWER: dir = "lower is better"; break;
        case METRIC_ORACLE: dir = "closest to retrain is best"; break;
        case METRIC_ZERO: dir = "0 is best"; break;
        default: break;
        }
    }
    strbuf_adds(sb, metric);
    if (dir || log_axis)
        strbuf_addf(sb, " (%s%s%s)", dir ? dir : "", dir && log_axis ? ", " : "",
                    log_axis ? "log scale" : "");
}

/* ---- the script and the image ---------------------------------------------------------- */

void plot_script_head(struct strbuf *gp, const struct plot_ctx *ctx, const char *stem,
                      const char *what)
{
    const char *ext = plot_format_ext(ctx->opt->format);
    plot_comment(gp, "%s", what);
    plot_comment(gp, "Written by lethe %s from '%s'; data in '%s.dat'.", LETHE_VERSION,
                 store_path(ctx->st), stem);
    plot_comment(gp, "Re-draw after restyling: cd into this folder, then: gnuplot '%s.gp'", stem);
    strbuf_adds(gp, "# (lethe itself runs: gnuplot -e \"outfile='<temporary name>'\" ...)\n\n");
    strbuf_adds(gp, "if (!exists(\"outfile\")) outfile = ");
    struct strbuf name = STRBUF_INIT;
    strbuf_addf(&name, "%s.%s", stem, ext);
    plot_gp_string(gp, name.buf);
    strbuf_release(&name);
    strbuf_adds(gp, "\ndat = ");
    struct strbuf datname = STRBUF_INIT;
    strbuf_addf(&datname, "%s.dat", stem);
    plot_gp_string(gp, datname.buf);
    strbuf_release(&datname);
    strbuf_adds(gp, "\n\n");
    switch (ctx->opt->format) {
    case PLOT_PNG:
        strbuf_adds(gp, "set terminal pngcairo size 1200,900 font 'Sans,16' linewidth 2\n");
        break;
    case PLOT_SVG:
        strbuf_adds(gp, "set terminal svg size 900,675 font 'Sans,14' linewidth 1.5 "
                        "background rgb 'white'\n");
        break;
    case PLOT_PDF:
        strbuf_adds(gp, "set terminal pdfcairo size 6in,4.5in font 'Sans,11' linewidth 1.5\n");
        break;
    default:
        LETHE_BUG("plot: format %d", (int)ctx->opt->format);
    }
    strbuf_adds(gp,
                "set output outfile\n"
                "# text from the results is 'noenhanced': its '_' and '^' print as they are\n"
                "set encoding utf8\n"
                "# Okabe-Ito colours (readable with colour-vision deficiency)\n"
                "set linetype 1 lc rgb '#0072B2' pt 7\n"
                "set linetype 2 lc rgb '#E69F00' pt 5\n"
                "set linetype 3 lc rgb '#009E73' pt 9\n"
                "set linetype 4 lc rgb '#CC79A7' pt 11\n"
                "set linetype 5 lc rgb '#56B4E9' pt 13\n"
                "set linetype 6 lc rgb '#D55E00' pt 15\n"
                "set linetype 7 lc rgb '#F0E442' pt 4\n"
                "set linetype 8 lc rgb '#000000' pt 6\n"
                "set linetype cycle 8\n"
                "set border 3 lw 1\n"
                "set tics nomirror out\n"
                "set grid lc rgb '#dddddd' lw 1 dt 1\n"
                "set key noautotitle\n");
}

/* Reads what the child wrote to fd until EOF into sb (at most 64 KB kept). */
static void read_all_fd(int fd, struct strbuf *sb)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (sb->len < 65536)
            strbuf_add(sb, buf, (size_t)r);
    }
}

/* Runs gnuplot on script (a file name relative to dir) in dir, with outfile set to tmp_name.
 * 0 on success; otherwise the exit status description and stderr go to msg. */
static int run_gnuplot(const char *gnuplot, const char *dir, const char *script, const char *tmp_name,
                       struct strbuf *msg)
{
    struct strbuf assign = STRBUF_INIT, script_arg = STRBUF_INIT;
    strbuf_adds(&assign, "outfile = ");
    plot_gp_string(&assign, tmp_name);
    strbuf_addf(&script_arg, "./%s", script);
    int fds[2];
    if (pipe(fds) < 0) {
        strbuf_addf(msg, "cannot make a pipe: %s", lethe_strerror(errno));
        strbuf_release(&assign);
        strbuf_release(&script_arg);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        strbuf_addf(msg, "cannot start gnuplot: %s", lethe_strerror(errno));
        close(fds[0]);
        close(fds[1]);
        strbuf_release(&assign);
        strbuf_release(&script_arg);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(fds[1], 2);
        if (chdir(dir) < 0) {
            dprintf(2, "cannot enter folder '%s': %s\n", dir, lethe_strerror(errno));
            _exit(126);
        }
        char *argv[] = {(char *)"gnuplot", (char *)"-e", assign.buf, script_arg.buf, NULL};
        execv(gnuplot, argv);
        dprintf(2, "cannot run '%s': %s\n", gnuplot, lethe_strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    struct strbuf out = STRBUF_INIT;
    read_all_fd(fds[0], &out);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    strbuf_release(&assign);
    strbuf_release(&script_arg);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        if (WIFEXITED(status))
            strbuf_addf(msg, "exit status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            strbuf_addf(msg, "killed by signal %d", WTERMSIG(status));
        /* gnuplot's stderr, trimmed of blank lines, on one line per message line */
        const char *p = out.buf ? out.buf : "";
        int any = 0;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            size_t i = 0;
            while (i < len && isspace((unsigned char)p[i]))
                i++;
            if (i < len && msg->len < 1500) {
                strbuf_adds(msg, any ? " | " : ": ");
                strbuf_add(msg, p + i, len - i);
                any = 1;
            }
            p = nl ? nl + 1 : p + len;
        }
    }
    strbuf_release(&out);
    return ok ? 0 : -1;
}

int plot_render(struct plot_ctx *ctx, const char *stem, const struct strbuf *gp,
                const struct strbuf *dat, struct lethe_error *err)
{
    const char *dir = ctx->opt->out_dir;
    const char *ext = plot_format_ext(ctx->opt->format);
    if (dir_make(dir, err) < 0)
        return -err->code;
    struct strbuf gp_name = STRBUF_INIT, dat_name = STRBUF_INIT, img_name = STRBUF_INIT,
                  tmp_name = STRBUF_INIT, msg = STRBUF_INIT;
    strbuf_addf(&gp_name, "%s.gp", stem);
    strbuf_addf(&dat_name, "%s.dat", stem);
    strbuf_addf(&img_name, "%s.%s", stem, ext);
    strbuf_addf(&tmp_name, ".%s.%s.tmp%ld", stem, ext, (long)getpid());
    char *gp_path = path_join(dir, gp_name.buf), *dat_path = path_join(dir, dat_name.buf);
    char *img_path = path_join(dir, img_name.buf), *tmp_path = path_join(dir, tmp_name.buf);
    int rc = 0;
    if (file_write_atomic(dat_path, dat->buf ? dat->buf : "", dat->len, err) < 0 ||
        file_write_atomic(gp_path, gp->buf ? gp->buf : "", gp->len, err) < 0) {
        rc = -err->code;
        goto out;
    }
    if (run_gnuplot(ctx->gnuplot, dir, gp_name.buf, tmp_name.buf, &msg) < 0) {
        unlink(tmp_path);
        rc = lethe_err(err, LETHE_EFAIL, "gnuplot failed on '%s'%s", gp_path, msg.buf ? msg.buf : "");
        goto out;
    }
    struct stat sb;
    if (stat(tmp_path, &sb) < 0 || sb.st_size == 0) {
        unlink(tmp_path);
        rc = lethe_err(err, LETHE_EFAIL, "gnuplot wrote no image for '%s'", gp_path);
        goto out;
    }
    if (rename(tmp_path, img_path) < 0) {
        rc = lethe_err(err, LETHE_EIO, "cannot write '%s': %s", img_path, lethe_strerror(errno));
        unlink(tmp_path);
        goto out;
    }
    strbuf_addf(&ctx->images, "%s\n", img_path);
out:
    free(gp_path);
    free(dat_path);
    free(img_path);
    free(tmp_path);
    strbuf_release(&gp_name);
    strbuf_release(&dat_name);
    strbuf_release(&img_name);
    strbuf_release(&tmp_name);
    strbuf_release(&msg);
    return rc;
}

/* The run pipeline: the jobs of a grid or a selection, resume, failed runs recorded while the
 * grid goes on, parallel worker processes, progress and the timing summary. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/config_impl.h"
#include "harness/run_state.h"

double run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void run_test_die_after(const char *phase)
{
    const char *want = getenv("LETHE_TEST_DIE_AFTER");
    if (want && strcmp(want, phase) == 0) {
        fprintf(stderr, "lethe: test: dying after %s\n", phase);
        _exit(137);
    }
}

/* ---- progress ---------------------------------------------------------------------------- */

static void show(struct progress *pg, const char *line)
{
    if (pg->mode == 1) {
        fprintf(stderr, "\r%-100.100s", line);
        pg->shown = 1;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

void progress_clear(struct progress *pg)
{
    if (pg->mode == 1 && pg->shown) {
        fprintf(stderr, "\r%100s\r", "");
        pg->shown = 0;
    }
}

void progress_step(struct progress *pg, const char *phase, long step, long total, double loss,
                   double tokens)
{
    if (!pg || !pg->mode)
        return;
    double now = run_now();
    if (step == 1)
        pg->start = now;
    double gap = pg->mode == 1 ? 0.2 : 5.0;
    if (step != total && now - pg->last < gap)
        return;
    pg->last = now;
    char line[256], rate[48] = "", eta[32] = "";
    if (tokens > 0)
        snprintf(rate, sizeof(rate), ", %.0f tok/s", tokens);
    if (step > 1 && step < total) {
        double left = (now - pg->start) / (double)(step - 1) * (double)(total - step);
        snprintf(eta, sizeof(eta), ", ETA %.0fs", left);
    }
    snprintf(line, sizeof(line), "%s: %s step %ld/%ld, loss %.4f%s%s", pg->job ? pg->job : "",
             pg->phase_name ? pg->phase_name : phase, step, total, loss, rate, eta);
    show(pg, line);
}

void progress_phase(struct progress *pg, const char *phase)
{
    if (!pg || !pg->mode)
        return;
    char line[256];
    snprintf(line, sizeof(line), "%s: %s", pg->job ? pg->job : "", phase);
    pg->last = run_now();
    show(pg, line);
}

/* ---- state ----------------------------------------------------------------------------- */

struct run_state *run_state_new(struct config *cfg, struct store *st, const char *cache_root,
                                int progress_mode)
{
    struct run_state *rs = xcalloc(1, sizeof(*rs));
    rs->cfg = cfg;
    rs->st = st;
    rs->cache.root = xstrdup(cache_root);
    rs->pg.mode = progress_mode;
    return rs;
}

void run_state_free(struct run_state *rs)
{
    if (!rs)
        return;
    run_prep_free(rs->prep);
    free(rs->cache.root);
    free(rs);
}

struct run_stats *run_state_stats(struct run_state *rs)
{
    return &rs->stats;
}

static int job_runnable(const struct job *job)
{
    return job->suite->kind_info && job->suite->kind_info->id == SUITE_TOFU;
}

/* The prepared suite of a job: kept while consecutive jobs share (suite, split). */
static int prep_for(struct run_state *rs, const struct job *job, struct run_prep **out,
                    struct lethe_error *err)
{
    if (rs->prep && rs->prep->suite == job->suite && strcmp(rs->prep->split, job->split) == 0) {
        *out = rs->prep;
        return 0;
    }
    run_prep_free(rs->prep);
    rs->prep = NULL;
    int rc = run_prep_new(rs, job->suite, job->split, &rs->prep, err);
    *out = rs->prep;
    return rc;
}

int run_job(struct run_state *rs, const struct job *job, const char *grid, struct lethe_error *err)
{
    char *label = rs->label;
    snprintf(rs->label, sizeof(rs->label), "%s/%s/%s/seed %ld", job->suite->name, job->split,
             job->method->name, job->seed);
    rs->pg.job = label;
    struct run_prep *p;
    int rc = prep_for(rs, job, &p, err);        /* bad data or tokenizer: stops the grid */
    if (rc < 0)
        return rc;
    char *mjson = config_canonical_json(job->method->json);
    struct run_info ri = {grid, job->suite->name, job->split, job->method->name, mjson,
                          job->seed, job->hash, 0};
    const char *thr = getenv("OMP_NUM_THREADS");
    ri.threads = thr ? atoi(thr) : 0;
    int64_t id;
    rc = store_begin_run(rs->st, &ri, &id, err);
    free(mjson);
    if (rc < 0)
        return rc;
    if (rc == STORE_RUN_DONE) {
        rs->stats.skipped_done++;
        return 1;
    }
    double t0 = run_now();
    struct run_results *res = NULL;
    struct lethe_error jerr = {0};
    double extra_s = 0;
    rc = run_tofu_job(rs, p, job, &res, &extra_s, &jerr);
    if (rc == 0) {
        rc = store_finish_run(rs->st, id, res, run_now() - t0 + extra_s, err);
        run_results_free(res);
        if (rc < 0)
            return rc;
        rs->stats.done++;
        return 0;
    }
    progress_clear(&rs->pg);
    fprintf(stderr, "lethe: error: %s failed: %s\n", label, jerr.msg);
    rs->stats.failed++;
    if (store_fail_run(rs->st, id, jerr.msg, err) < 0)
        return -LETHE_EIO;
    return 0;
}

/* ---- selection ------------------------------------------------------------------------- */

static int glob_ok(const char *pat, const char *s)
{
    return !pat || str_glob(pat, s);
}

static int method_selected(const char *pat, const struct method_cfg *m)
{
    return glob_ok(pat, m->name) || (m->family && glob_ok(pat, m->family));
}

static void add_job(struct job **jobs, size_t *n, size_t *cap, const struct suite_cfg *s,
                    const char *split, const struct method_cfg *m, long seed)
{
    json_t *r = json_object();
    json_object_set_new(r, "lethe", json_integer(CONFIG_FORMAT));
    json_object_set(r, "suite", s->json);
    json_object_set_new(r, "split", json_string(split));
    json_object_set(r, "method", m->json);
    xgrow(jobs, cap, *n + 1, sizeof(**jobs));
    struct job *j = &(*jobs)[(*n)++];
    j->suite = s;
    j->split = split;
    j->method = m;
    j->seed = seed;
    j->resolved_json = config_canonical_json(r);
    sha256_hex(j->resolved_json, strlen(j->resolved_json), j->hash);
    json_decref(r);
}

/* The jobs of opt: a grid's filtered by the selection, or the selection itself. */
static int select_jobs(const struct config *cfg, const struct run_options *opt, struct job **out,
                       size_t *n_out, struct lethe_error *err)
{
    struct job *jobs = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    if (opt->grid) {
        int rc = config_expand_grid(cfg, opt->grid, &jobs, &n, err);
        if (rc < 0)
            return rc;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            struct job *j = &jobs[i];
            int keep = glob_ok(opt->suite, j->suite->name) && glob_ok(opt->split, j->split) &&
                       method_selected(opt->method, j->method);
            /* --seed N runs the grid's jobs with seed N instead of the grid's own seeds (each
             * configuration once) */
            for (size_t q = 0; keep && opt->has_seed && q < k; q++)
                keep = strcmp(jobs[q].hash, j->hash) != 0;
            if (keep) {
                if (opt->has_seed)
                    j->seed = opt->seed;
                jobs[k++] = *j;
            } else {
                free(j->resolved_json);
            }
        }
        n = k;
    } else {
        if (!opt->suite)
            return lethe_err(err, LETHE_EUSAGE, "give --grid NAME, or --suite S to select jobs");
        for (size_t si = 0; si < cfg->n_suites; si++) {
            const struct suite_cfg *s = &cfg->suites[si];
            if (!glob_ok(opt->suite, s->name))
                continue;
            for (size_t pi = 0; pi < s->n_splits; pi++) {
                if (!glob_ok(opt->split, s->splits[pi]))
                    continue;
                for (size_t mi = 0; mi < cfg->n_methods; mi++) {
                    const struct method_cfg *m = &cfg->methods[mi];
                    if (!method_selected(opt->method, m))
                        continue;
                    if (!m->reference && m->info && s->kind_info &&
                        !(m->info->kinds & KIND_BIT(s->kind_info->id)))
                        continue;
                    add_job(&jobs, &n, &cap, s, s->splits[pi], m, opt->has_seed ? opt->seed : 0);
                }
            }
        }
    }
    if (n == 0) {
        jobs_free(jobs, 0);
        return lethe_err(err, LETHE_EINPUT, "no job matches the selection%s%s",
                         opt->grid ? " in grid " : "", opt->grid ? opt->grid : "");
    }
    if (opt->shard_n > 0) {                 /* every n-th job, from the i-th */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if ((long)(i % (size_t)opt->shard_n) == opt->shard_i - 1)
                jobs[k++] = jobs[i];
            else
                free(jobs[i].resolved_json);
        }
        n = k;
    }
    *out = jobs;
    *n_out = n;
    return 0;
}

/* ---- the main loop --------------------------------------------------------------------- */

static const char *kind_note(const char *kind)
{
    if (strcmp(kind, "image") == 0)
        return "the image suites arrive with issue 7";
    if (strcmp(kind, "multimodal") == 0)
        return "the multimodal suites arrive with a later issue";
    return "its runner arrives with a later issue";
}

/* Runs jobs[i] for i = w, w + stride, ...; returns 0, or the exit status of a stopping error. */
static int run_worker(struct config *cfg, const struct run_options *opt, const char *cache_root,
                      int pmode, const struct job *jobs, size_t n, size_t w, size_t stride,
                      struct run_stats *stats)
{
    struct lethe_error err = {0};
    struct store *st = store_open(opt->db_path, STORE_CREATE, &err);
    if (!st) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    struct run_state *rs = run_state_new(cfg, st, cache_root, pmode);
    int status = 0;
    for (size_t i = w; i < n; i += stride) {
        if (!job_runnable(&jobs[i]) || (!jobs[i].method->reference &&
                                        !jobs[i].method->info->unlearn_lm))
            continue;
        int rc = run_job(rs, &jobs[i], opt->grid, &err);
        if (rc < 0) {
            progress_clear(&rs->pg);
            cli_error(&err);
            status = lethe_exit_code(&err);
            break;
        }
    }
    progress_clear(&rs->pg);
    *stats = rs->stats;
    run_state_free(rs);
    store_close(st);
    return status;
}

static void stats_add(struct run_stats *a, const struct run_stats *b)
{
    a->done += b->done;
    a->skipped_done += b->skipped_done;
    a->failed += b->failed;
    a->trained += b->trained;
    a->loaded += b->loaded;
    for (int i = 0; i < PH_COUNT; i++)
        a->t[i] += b->t[i];
}

int run_main(const struct run_options *opt)
{
    struct lethe_error err = {0};
    double t0 = run_now();
    struct config *cfg = config_load(opt->config_path, &err);
    if (!cfg) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    struct job *jobs;
    size_t n;
    if (select_jobs(cfg, opt, &jobs, &n, &err) < 0) {
        cli_error(&err);
        config_free(cfg);
        return lethe_exit_code(&err);
    }
    /* open (and create or check) the DB once before any work */
    struct store *st = store_open(opt->db_path, STORE_CREATE, &err);
    if (!st) {
        cli_error(&err);
        jobs_free(jobs, n);
        config_free(cfg);
        return lethe_exit_code(&err);
    }
    store_close(st);
    char *cache_root = cache_root_for(opt->cache_dir, opt->db_path);
    struct run_stats total = {0};
    /* notes: kinds without a runner, methods without an implementation (one note each) */
    size_t runnable = 0;
    for (size_t i = 0; i < n; i++) {
        const struct job *j = &jobs[i];
        int first = 1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(jobs[k].suite->kind, j->suite->kind) == 0 &&
                (!job_runnable(j) ? 1 : jobs[k].method == j->method))
                first = 0;
        if (!job_runnable(j)) {
            total.skipped_kind++;
            if (first)
                printf("skipped: the %s jobs (suite '%s'...): %s\n", j->suite->kind, j->suite->name,
                       kind_note(j->suite->kind));
        } else if (!j->method->reference && !j->method->info->unlearn_lm) {
            total.skipped_method++;
            if (first)
                printf("skipped: method '%s' has no language-model implementation yet\n",
                       j->method->name);
        } else {
            runnable++;
        }
    }
    struct job *todo = xcalloc(runnable + 1, sizeof(*todo));
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        if (job_runnable(&jobs[i]) && (jobs[i].method->reference || jobs[i].method->info->unlearn_lm))
            todo[nt++] = jobs[i];
    int pmode = isatty(2) ? 1 : opt->progress ? 2 : 0;
    int status = 0;
    int workers = opt->jobs > 1 ? opt->jobs : 1;
    if ((size_t)workers > nt)
        workers = nt > 0 ? (int)nt : 1;
    fflush(stdout);
    fflush(stderr);
    if (workers == 1) {
        struct run_stats s1 = {0};
        status = run_worker(cfg, opt, cache_root, pmode, todo, nt, 0, 1, &s1);
        stats_add(&total, &s1);
    } else {
        pid_t *pids = xcalloc((size_t)workers, sizeof(*pids));
        int *fds = xcalloc((size_t)workers, sizeof(*fds));
        for (int w = 0; w < workers; w++) {
            int pfd[2];
            if (pipe(pfd) < 0) {
                fprintf(stderr, "lethe: error: cannot make a pipe: %s\n", lethe_strerror(errno));
                status = 1;
                workers = w;
                break;
            }
            pid_t pid = fork();
            if (pid == 0) {
                close(pfd[0]);
                struct run_stats s1 = {0};
                /* only the first worker draws a progress line on a terminal */
                int st1 = run_worker(cfg, opt, cache_root, w == 0 ? pmode : pmode == 2 ? 2 : 0,
                                     todo, nt, (size_t)w, (size_t)workers, &s1);
                ssize_t wr = write(pfd[1], &s1, sizeof(s1));
                (void)wr;
                close(pfd[1]);
                fflush(stdout);
                fflush(stderr);
                _exit(st1);
            }
            close(pfd[1]);
            if (pid < 0) {
                close(pfd[0]);
                fprintf(stderr, "lethe: error: cannot start a worker: %s\n", lethe_strerror(errno));
                status = 1;
                workers = w;
                break;
            }
            pids[w] = pid;
            fds[w] = pfd[0];
        }
        for (int w = 0; w < workers; w++) {
            struct run_stats s1 = {0};
            ssize_t got = read(fds[w], &s1, sizeof(s1));
            close(fds[w]);
            int ws = 0;
            while (waitpid(pids[w], &ws, 0) < 0 && errno == EINTR)
                ;
            int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
            if (got == (ssize_t)sizeof(s1))
                stats_add(&total, &s1);
            else if (code == 0)
                code = 1;
            if (code > status)
                status = code;
        }
        free(pids);
        free(fds);
    }
    double wall = run_now() - t0;
    printf("%ld job%s: %ld run, %ld already done, %ld failed", (long)n, n == 1 ? "" : "s",
           total.done, total.skipped_done, total.failed);
    if (total.skipped_kind || total.skipped_method)
        printf(", %ld skipped (no runner yet)", total.skipped_kind + total.skipped_method);
    printf("\n");
    if (total.done == 0 && total.failed == 0 && total.skipped_done > 0 && status == 0)
        printf("nothing to run: every job is already done in '%s'\n", opt->db_path);
    printf("reference models: %ld trained, %ld loaded from the cache (%s)\n", total.trained,
           total.loaded, cache_root);
    printf("time: %.1fs wall; training %.1fs, unlearning %.1fs, scoring %.1fs, generation %.1fs, "
           "attacks %.1fs, other evaluation %.1fs, data %.1fs\n", wall, total.t[PH_TRAIN],
           total.t[PH_UNLEARN], total.t[PH_SCORE], total.t[PH_GENERATE], total.t[PH_ATTACK],
           total.t[PH_EVAL], total.t[PH_OTHER]);
    printf("results: %s\n", opt->db_path);
    if (status == 0 && total.failed > 0)
        status = 1;
    free(todo);
    free(cache_root);
    jobs_free(jobs, n);
    config_free(cfg);
    return status;
}

/* Tests for the TOFU data (suites/tofu.c, suites/tofu_gen.c): the real files' counts and items,
 * the generator (determinism, split sizes, perturbed answers, holdout authors) and every bad
 * input's exact message on corrupted copies in a temporary folder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "suites/suite.h"
#include "tests/test.h"

static char tmpdir[] = "/tmp/lethe-tofu-data.XXXXXX";
static int n_dirs;

/* A fresh generated data set of `authors` authors; returned path, the caller frees. */
static char *gen(int authors, uint64_t seed)
{
    char name[32];
    snprintf(name, sizeof(name), "d%d", n_dirs++);
    char *dir = path_join(tmpdir, name);
    struct lethe_error err = {0};
    if (tofu_generate(dir, authors, seed, &err) < 0) {
        printf("# tofu_generate: %s\n", err.msg);
        test_cur_failed = 1;
    }
    return dir;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char *path = path_join(dir, name), *text = NULL;
    struct lethe_error err = {0};
    if (file_read_all(path, &text, len, &err) < 0) {
        printf("# %s\n", err.msg);
        text = xstrdup("");
        *len = 0;
    }
    free(path);
    return text;
}

/* Replaces line `line` (1-based) of dir/name by text, or deletes it when text is NULL. */
static void set_line(const char *dir, const char *name, int line, const char *text)
{
    size_t len;
    char *old = slurp(dir, name, &len);
    struct strbuf sb = STRBUF_INIT;
    int ln = 1;
    for (char *p = old; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (ln == line) {
            if (text) {
                strbuf_adds(&sb, text);
                strbuf_adds(&sb, "\n");
            }
        } else {
            strbuf_add(&sb, p, n);
        }
        p += n;
        ln++;
    }
    char *path = path_join(dir, name);
    struct lethe_error err = {0};
    CHECK(file_write_atomic(path, sb.buf ? sb.buf : "", sb.len, &err) == 0);
    free(path);
    free(old);
    strbuf_release(&sb);
}

/* Line `line` of dir/name as a JSON object (new reference). */
static json_t *get_line(const char *dir, const char *name, int line)
{
    size_t len;
    char *text = slurp(dir, name, &len), *p = text;
    for (int ln = 1; ln < line && p; ln++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    json_t *o = p ? json_loadb(p, strcspn(p, "\n"), 0, NULL) : NULL;
    free(text);
    if (!o) {
        printf("# no JSON on line %d of %s\n", line, name);
        test_cur_failed = 1;
        o = json_object();
    }
    return o;
}

static void put_line(const char *dir, const char *name, int line, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    set_line(dir, name, line, s);
    free(s);
    json_decref(o);
}

/* tofu_load must fail with LETHE_EINPUT and exactly the message fmt (each %s = dir, %% = %),
 * leaving *out empty. */
static void expect_error(const char *dir, const char *split, const char *fmt)
{
    struct strbuf w = STRBUF_INIT;
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's')
            strbuf_adds(&w, dir), p++;
        else if (p[0] == '%' && p[1] == '%')
            strbuf_adds(&w, "%"), p++;
        else
            strbuf_add(&w, p, 1);
    }
    char *want = strbuf_detach(&w);
    struct tofu_data d;
    memset(&d, 0xff, sizeof(d));
    struct lethe_error err = {0};
    int rc = tofu_load(dir, split, &d, &err);
    CHECK_EQ_INT(rc, -LETHE_EINPUT);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_STREQ(err.msg, want);
    CHECK(d.full.n == 0 && d.full.items == NULL && d.holdout.n == 0 && d.holdout.name == NULL);
    tofu_data_release(&d);
    free(want);
}

/* ---- the real files ----------------------------------------------------------------------- */

static char *real_dir(void)
{
    const char *env = getenv("LETHE_DATA");
    char *d = env ? path_join(env, "tofu") : xstrdup("../shared/data/tofu");
    char *full = path_join(d, "full.json");
    int ok = file_exists(full);
    free(full);
    if (!ok) {
        printf("# skip: the real TOFU files are not in '%s' (set LETHE_DATA)\n", d);
        free(d);
        return NULL;
    }
    return d;
}

static void test_real_files(void)
{
    char *dir = real_dir();
    if (!dir)
        return;
    static const char *const splits[] = {"forget01", "forget05", "forget10"};
    static const size_t nforget[] = {40, 200, 400};
    for (int s = 0; s < 3; s++) {
        struct tofu_data d;
        struct lethe_error err = {0};
        int rc = tofu_load(dir, splits[s], &d, &err);
        if (rc < 0)
            printf("# %s\n", err.msg);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(d.full.n, 4000);
        CHECK_EQ_INT(d.forget.n, nforget[s]);
        CHECK_EQ_INT(d.retain.n, 4000 - nforget[s]);
        CHECK_EQ_INT(d.forget_eval.n, nforget[s]);
        CHECK_EQ_INT(d.retain_eval.n, 400);
        CHECK_EQ_INT(d.real_authors.n, 100);
        CHECK_EQ_INT(d.world_facts.n, 117);
        CHECK_EQ_INT(d.holdout.n, nforget[s]);
        CHECK_STREQ(d.forget.name, splits[s]);
        if (rc == 0) {
            /* items read off the files (head -c of full.json and forget10_perturbed.json) */
            CHECK_STREQ(d.full.items[0].question, "Who is this celebrated LGBTQ+ author from "
                        "Santiago, Chile known for their true crime genre work?");
            CHECK(d.full.items[0].paraphrased_answer == NULL && d.full.items[0].n_perturbed == 0);
            CHECK_EQ_INT(d.forget_eval.items[0].n_perturbed, 5);
            CHECK_EQ_INT(d.real_authors.items[0].n_perturbed, 3);
            CHECK_STREQ(d.real_authors.items[0].answer, "William Shakespeare");
            CHECK_STREQ(d.real_authors.items[0].perturbed[2], "Mark Twain");
            CHECK(d.real_authors.items[0].paraphrased_question == NULL);
        }
        if (rc == 0 && s == 2) {
            const struct qa_item *it = &d.forget_eval.items[0];
            CHECK_STREQ(it->answer, "The author's full name is Hsiao Yun-Hwa.");
            CHECK_STREQ(it->paraphrased_answer, "Hsiao Yun-Hwa is the complete name of the writer.");
            CHECK_STREQ(it->perturbed[0], "Chen Jing-Li is the complete name of the writer.");
            CHECK_STREQ(it->perturbed[4], "Liu Fang-Yu is the complete name of the writer.");
            CHECK_STREQ(it->paraphrased_question, "Who is the writer, specializing in leadership "
                        "topics, that was born on November 5th, 1991 in Taipei, Taiwan?");
            CHECK_STREQ(d.holdout.items[0].question, "When and where was Siriporn Nakharin born?");
        }
        tofu_data_release(&d);
    }
    free(dir);
}

/* ---- the generator ------------------------------------------------------------------------ */

static const char *const all_files[] = {
    "full.json", "forget01.json", "forget05.json", "forget10.json", "retain99.json",
    "retain95.json", "retain90.json", "forget01_perturbed.json", "forget05_perturbed.json",
    "forget10_perturbed.json", "retain_perturbed.json", "real_authors.json",
    "real_authors_perturbed.json", "world_facts.json", "world_facts_perturbed.json",
    "extra_holdout/holdout01.json", "extra_holdout/holdout05.json",
    "extra_holdout/holdout10.json", NULL,
};

static void test_gen_deterministic(void)
{
    char *a = gen(30, 42), *b = gen(30, 42), *c = gen(30, 43);
    for (const char *const *f = all_files; *f; f++) {
        size_t la, lb;
        char *ta = slurp(a, *f, &la), *tb = slurp(b, *f, &lb);
        CHECK(la > 0 && la == lb && memcmp(ta, tb, la) == 0);
        free(ta);
        free(tb);
    }
    size_t la, lc;
    char *ta = slurp(a, "full.json", &la), *tc = slurp(c, "full.json", &lc);
    CHECK(la != lc || memcmp(ta, tc, la) != 0);
    free(ta);
    free(tc);
    free(a);
    free(b);
    free(c);
}

/* Split sizes in QA items: authors, then forget01/05/10 (last 1/5/10% of the authors, rounded
 * half up, at least one, 20 QA each). */
static void test_gen_sizes(void)
{
    static const int cases[][4] = {
        {200, 40, 200, 400}, {20, 20, 20, 40}, {37, 20, 40, 80}, {2, 20, 20, 20}, {50, 20, 60, 100},
    };
    static const char *const splits[] = {"forget01", "forget05", "forget10"};
    static const char *const retains[] = {"retain99", "retain95", "retain90"};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char *dir = gen(cases[c][0], 5);
        for (int s = 0; s < 3; s++) {
            struct tofu_data d;
            struct lethe_error err = {0};
            int rc = tofu_load(dir, splits[s], &d, &err);
            if (rc < 0)
                printf("# %d authors, %s: %s\n", cases[c][0], splits[s], err.msg);
            CHECK_EQ_INT(rc, 0);
            size_t nf = (size_t)cases[c][1 + s];
            CHECK_EQ_INT(d.full.n, 20 * cases[c][0]);
            CHECK_EQ_INT(d.forget.n, nf);
            CHECK_EQ_INT(d.retain.n, 20 * cases[c][0] - (int)nf);
            CHECK_EQ_INT(d.forget_eval.n, nf);
            CHECK_EQ_INT(d.holdout.n, nf);
            CHECK_EQ_INT(d.retain_eval.n, cases[c][3]);
            CHECK_STREQ(d.retain.name, retains[s]);
            CHECK_EQ_INT(tofu_forget_count(d.full.n, s == 0 ? 1 : s == 1 ? 5 : 10), nf);
            CHECK(d.real_authors.n >= 20 && d.world_facts.n >= 20);
            tofu_data_release(&d);
        }
        free(dir);
    }
    struct lethe_error err = {0};
    char *dir = path_join(tmpdir, "toofew");
    CHECK_EQ_INT(tofu_generate(dir, 1, 0, &err), -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "authors must be between 2 and 500, not 1");
    CHECK(!file_exists(dir));
    CHECK_EQ_INT(tofu_generate(dir, 501, 0, &err), -LETHE_EINPUT);
    free(dir);
}

static int in_list(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static void test_gen_items(void)
{
    char *dir = gen(60, 9);
    struct tofu_data d;
    struct lethe_error err = {0};
    CHECK_EQ_INT(tofu_load(dir, "forget10", &d, &err), 0);
    const struct qa_set *sets[] = {&d.forget_eval, &d.retain_eval, &d.real_authors, &d.world_facts};
    for (int s = 0; s < 4; s++) {
        for (size_t i = 0; i < sets[s]->n; i++) {
            const struct qa_item *it = &sets[s]->items[i];
            CHECK_EQ_INT(it->n_perturbed, s < 2 ? 5 : 3);
            for (int k = 0; k < it->n_perturbed; k++) {
                CHECK(strcmp(it->perturbed[k], it->answer) != 0);
                CHECK(!it->paraphrased_answer || strcmp(it->perturbed[k], it->paraphrased_answer));
                for (int j = 0; j < k; j++)
                    CHECK(strcmp(it->perturbed[j], it->perturbed[k]) != 0);
            }
            if (s < 2) {
                CHECK(it->paraphrased_question && strcmp(it->paraphrased_question, it->question));
                CHECK(it->paraphrased_answer && strcmp(it->paraphrased_answer, it->answer));
            }
        }
    }
    /* holdout authors never trained on: the name questions (the first of each author's 20)
     * answer with names none of which is a training author's */
    char **train = xmalloc(d.full.n / 20 * sizeof(char *));
    size_t nt = 0;
    for (size_t i = 0; i < d.full.n; i += 20) {
        CHECK(str_starts(d.full.items[i].answer, "The author's full name is "));
        train[nt++] = d.full.items[i].answer;
    }
    CHECK_EQ_INT(d.holdout.n, 120);
    for (size_t i = 0; i < d.holdout.n; i++) {
        const char *a = d.holdout.items[i].answer;
        if (i % 20 == 0) {
            CHECK(str_starts(a, "The author's full name is "));
            CHECK(!in_list(train, nt, a));
        }
        for (size_t j = 0; j < d.full.n; j++)
            if (strcmp(d.holdout.items[i].question, d.full.items[j].question) == 0) {
                CHECK(!"a holdout question is in full");
                break;
            }
    }
    /* 60 distinct training authors */
    for (size_t i = 1; i < nt; i++)
        CHECK(!in_list(train, i, train[i]));
    free(train);
    tofu_data_release(&d);
    /* generating into a folder that is not empty is refused and leaves it as it was */
    CHECK_EQ_INT(tofu_generate(dir, 2, 1, &err), -LETHE_EINPUT);
    char want[512];
    snprintf(want, sizeof(want), "'%s' already exists and is not empty", dir);
    CHECK_STREQ(err.msg, want);
    CHECK_EQ_INT(tofu_load(dir, "forget01", &d, &err), 0);
    CHECK_EQ_INT(d.full.n, 1200);
    tofu_data_release(&d);
    free(dir);
}

/* ---- bad input ----------------------------------------------------------------------------- */

static void test_bad_broken_line(void)
{
    char *dir = gen(2, 7);
    set_line(dir, "forget10_perturbed.json", 3, "{\"question\": \"x\", ");
    expect_error(dir, "forget10", "'%s/forget10_perturbed.json': line 3: invalid JSON: "
                 "string or '}' expected near end of file");
    free(dir);
}

static void test_bad_missing_field(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "forget10_perturbed.json", 17);
    json_object_del(o, "perturbed_answer");
    put_line(dir, "forget10_perturbed.json", 17, o);
    expect_error(dir, "forget10", "'%s/forget10_perturbed.json': line 17: missing field "
                 "'perturbed_answer'");
    free(dir);
}

static void test_bad_unknown_field(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "full.json", 2);
    json_object_set_new(o, "answr", json_string("typo"));
    put_line(dir, "full.json", 2, o);
    expect_error(dir, "forget01", "'%s/full.json': line 2: unknown field 'answr'");
    free(dir);
}

static void test_bad_perturbed_mismatch(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "forget05_perturbed.json", 5);
    json_object_set_new(o, "question", json_string("Who is someone else?"));
    put_line(dir, "forget05_perturbed.json", 5, o);
    expect_error(dir, "forget05", "'%s/forget05_perturbed.json': line 5: question differs from "
                 "line 5 of '%s/forget05.json' (forget05_perturbed holds the items of forget05 "
                 "in order)");
    free(dir);
}

static void test_bad_counts(void)
{
    char *dir = gen(2, 7);
    set_line(dir, "forget10.json", 20, NULL);
    expect_error(dir, "forget10", "'%s/forget10.json': 19 items, the split needs 20 (the last "
                 "10%% of the 2 authors of 'full.json')");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "full.json", 1, NULL);
    expect_error(dir, "forget10", "'%s/full.json': 39 items, not a whole number of authors "
                 "(20 QA each, at least 2 authors)");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "extra_holdout/holdout01.json", 1, "[{\"question\": \"q?\", \"answer\": \"a\"}]");
    expect_error(dir, "forget01", "'%s/extra_holdout/holdout01.json': 1 items, the split needs 20 "
                 "(as many as 'forget01.json')");
    free(dir);
}

static void test_bad_retain_order(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "retain90.json", 4);
    json_object_set_new(o, "answer", json_string("Something else entirely."));
    put_line(dir, "retain90.json", 4, o);
    expect_error(dir, "forget10", "'%s/retain90.json': line 4: answer differs from line 4 of "
                 "'%s/full.json' (retain90 is the first 20 items of full)");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "retain_perturbed.json", 1);
    json_object_set_new(o, "question", json_string("Who?"));
    put_line(dir, "retain_perturbed.json", 1, o);
    expect_error(dir, "forget01", "'%s/retain_perturbed.json': line 1: question differs from "
                 "line 1 of '%s/full.json' (retain_perturbed is the first 20 items of full)");
    free(dir);
}

static void test_bad_perturbed_answers(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "forget01_perturbed.json", 2);
    json_array_remove(json_object_get(o, "perturbed_answer"), 0);
    put_line(dir, "forget01_perturbed.json", 2, o);
    expect_error(dir, "forget01", "'%s/forget01_perturbed.json': line 2: field 'perturbed_answer' "
                 "has 4 answers, not 5");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "real_authors_perturbed.json", 6);
    json_array_set(json_object_get(o, "perturbed_answer"), 1, json_object_get(o, "answer"));
    put_line(dir, "real_authors_perturbed.json", 6, o);
    expect_error(dir, "forget01", "'%s/real_authors_perturbed.json': line 6: perturbed answer 2 "
                 "is the answer itself");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "world_facts_perturbed.json", 3);
    json_t *p = json_object_get(o, "perturbed_answer");
    json_array_set(p, 2, json_array_get(p, 0));
    put_line(dir, "world_facts_perturbed.json", 3, o);
    expect_error(dir, "forget01", "'%s/world_facts_perturbed.json': line 3: perturbed answers 1 "
                 "and 3 are the same");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "forget01_perturbed.json", 9);
    json_array_set_new(json_object_get(o, "perturbed_answer"), 3, json_integer(4));
    put_line(dir, "forget01_perturbed.json", 9, o);
    expect_error(dir, "forget01", "'%s/forget01_perturbed.json': line 9: perturbed answer 4 is "
                 "not a string");
    free(dir);
}

static void test_bad_fields(void)
{
    char *dir = gen(2, 7);
    json_t *o = get_line(dir, "forget10.json", 8);
    json_object_set_new(o, "answer", json_string(""));
    put_line(dir, "forget10.json", 8, o);
    expect_error(dir, "forget10", "'%s/forget10.json': line 8: field 'answer' is empty");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "full.json", 11);
    json_object_set_new(o, "question", json_integer(11));
    put_line(dir, "full.json", 11, o);
    expect_error(dir, "forget10", "'%s/full.json': line 11: field 'question' is not a string");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "retain95.json", 2, "[\"question\", \"answer\"]");
    expect_error(dir, "forget05", "'%s/retain95.json': line 2: not a JSON object");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "full.json", 3, "{\"question\": \"a\", \"question\": \"b\", \"answer\": \"c\"}");
    expect_error(dir, "forget05", "'%s/full.json': line 3: invalid JSON: duplicate object key "
                 "near '\"question\"'");
    free(dir);
    dir = gen(2, 7);
    o = get_line(dir, "real_authors.json", 4);
    json_object_set_new(o, "answer", json_string("Nobody At All"));
    put_line(dir, "real_authors.json", 4, o);
    expect_error(dir, "forget05", "'%s/real_authors.json': line 4: the answer is none of the four "
                 "options");
    free(dir);
}

static void test_bad_files(void)
{
    char *dir = gen(2, 7);
    char *p = path_join(dir, "world_facts_perturbed.json");
    CHECK_EQ_INT(unlink(p), 0);
    free(p);
    expect_error(dir, "forget10", "cannot open '%s/world_facts_perturbed.json': no such file");
    free(dir);
    dir = gen(2, 7);
    p = path_join(dir, "extra_holdout/holdout05.json");
    CHECK_EQ_INT(unlink(p), 0);
    free(p);
    expect_error(dir, "forget05", "cannot open '%s/extra_holdout/holdout05.json' (nor "
                 "'%s/holdout05.json'): no such file");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "extra_holdout/holdout10.json", 1, "[{\"question\": \"q\"}]");
    expect_error(dir, "forget10", "'%s/extra_holdout/holdout10.json': record 1: missing field "
                 "'answer'");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "extra_holdout/holdout10.json", 1, "[{\"question\": \"q\", \"answer\": \"a\"}");
    expect_error(dir, "forget10", "'%s/extra_holdout/holdout10.json': line 2: invalid JSON: "
                 "']' expected near end of file");
    free(dir);
    /* a holdout question that is in full: the member/non-member sets would overlap */
    dir = gen(2, 7);
    json_t *a = json_array(), *it = get_line(dir, "full.json", 7);
    for (int k = 0; k < 20; k++)    /* holdout01 holds 20 items: 20 copies of full's line 7 */
        json_array_append(a, it);
    json_decref(it);
    put_line(dir, "extra_holdout/holdout01.json", 1, a);
    expect_error(dir, "forget01", "'%s/extra_holdout/holdout01.json': record 1: the question is "
                 "also in '%s/full.json' (holdout authors must never be trained on)");
    free(dir);
    dir = gen(2, 7);
    set_line(dir, "forget01.json", 1, "");
    for (int k = 2; k <= 20; k++)
        set_line(dir, "forget01.json", k, "   ");
    expect_error(dir, "forget01", "'%s/forget01.json': no records");
    free(dir);
    dir = gen(2, 7);
    expect_error(dir, "forget20", "unknown tofu split 'forget20' (forget01, forget05 or forget10)");
    free(dir);
}

/* A blank line, CRLF line ends and no final newline are accepted. */
static void test_lenient_whitespace(void)
{
    char *dir = gen(2, 7);
    size_t len;
    char *text = slurp(dir, "forget10.json", &len);
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "\n");
    for (char *p = text; *p; p++) {
        if (*p == '\n')
            strbuf_adds(&sb, "\r");
        strbuf_add(&sb, p, 1);
    }
    while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
        sb.buf[--sb.len] = 0;
    char *path = path_join(dir, "forget10.json");
    struct lethe_error err = {0};
    CHECK(file_write_atomic(path, sb.buf, sb.len, &err) == 0);
    struct tofu_data d;
    CHECK_EQ_INT(tofu_load(dir, "forget10", &d, &err), 0);
    CHECK_EQ_INT(d.forget.n, 20);
    tofu_data_release(&d);
    /* a message about that file now counts the blank first line */
    json_t *o = get_line(dir, "forget10.json", 3);
    json_object_del(o, "answer");
    put_line(dir, "forget10.json", 3, o);
    expect_error(dir, "forget10", "'%s/forget10.json': line 3: missing field 'answer'");
    free(path);
    free(text);
    strbuf_release(&sb);
    free(dir);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_real_files);
    RUN(test_gen_deterministic);
    RUN(test_gen_sizes);
    RUN(test_gen_items);
    RUN(test_bad_broken_line);
    RUN(test_bad_missing_field);
    RUN(test_bad_unknown_field);
    RUN(test_bad_perturbed_mismatch);
    RUN(test_bad_counts);
    RUN(test_bad_retain_order);
    RUN(test_bad_perturbed_answers);
    RUN(test_bad_fields);
    RUN(test_bad_files);
    RUN(test_lenient_whitespace);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}

/* The Porter stemmer in NLTK's default NLTK_EXTENSIONS mode (METRICS.md 1.2), for ROUGE with
 * stemming. Rules: M. F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980, with
 * NLTK 3.8's departures (irregular forms, 1a/1b "ies"/"ied", 1c, 2 "alli"/"fulli"/"logi", *o). */
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

static int is_vowel_letter(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Whether letter c at position i is a consonant, given whether the letter before it is. */
static int cons_after(char c, size_t i, int prev_cons)
{
    if (is_vowel_letter(c))
        return 0;
    if (c != 'y' || i == 0)
        return 1;
    return !prev_cons;     /* y is a consonant iff it follows a vowel */
}

/* 1 if w[i] is a consonant: not a vowel, and not a y after a consonant (a leading y is one).
 * Looks only backwards, so the answer for a prefix of a word is the answer for the word;
 * iterative over runs of y, so long tokens cost linear time. */
static int cons(const char *w, size_t i)
{
    size_t j = i;
    while (j > 0 && w[j] == 'y' && w[j - 1] == 'y')
        j--;
    /* w[j..i] is a run of y (or j == i); w[j - 1], if any, is not a y */
    int c = j == 0 ? cons_after(w[0], 0, 1) : cons_after(w[j], j, !is_vowel_letter(w[j - 1]));
    return ((i - j) % 2 == 0) ? c : !c;
}

/* m of the first n letters: the number of vowel-to-consonant transitions, [C](VC){m}[V]. */
static int measure(const char *w, size_t n)
{
    int m = 0, prev = 1;
    for (size_t i = 0; i < n; i++) {
        int c = cons_after(w[i], i, prev);
        if (c && i > 0 && !prev)
            m++;
        prev = c;
    }
    return m;
}

static int has_vowel(const char *w, size_t n)
{
    int prev = 1;
    for (size_t i = 0; i < n; i++) {
        prev = cons_after(w[i], i, prev);
        if (!prev)
            return 1;
    }
    return 0;
}

/* *d: ends in a doubled consonant */
static int ends_dc(const char *w, size_t n)
{
    return n >= 2 && w[n - 1] == w[n - 2] && cons(w, n - 1);
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y; or (NLTK) is a 2-letter
 * vowel-consonant word */
static int ends_cvc(const char *w, size_t n)
{
    if (n >= 3 && cons(w, n - 3) && !cons(w, n - 2) && cons(w, n - 1) && w[n - 1] != 'w' &&
        w[n - 1] != 'x' && w[n - 1] != 'y')
        return 1;
    return n == 2 && !cons(w, 0) && cons(w, 1);
}

static int ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

/* Replaces the last k letters of w[0..*n) by repl. */
static void replace(char *w, size_t *n, size_t k, const char *repl)
{
    size_t r = strlen(repl);
    memcpy(w + *n - k, repl, r);
    *n = *n - k + r;
}

enum cond { C_NONE, C_M0, C_M1, C_ION, C_LOGI };

struct rule {
    const char *suffix;
    const char *repl;
    enum cond cond;
};

static int cond_holds(enum cond c, const char *w, size_t stem, size_t n)
{
    switch (c) {
    case C_NONE: return 1;
    case C_M0: return measure(w, stem) > 0;
    case C_M1: return measure(w, stem) > 1;
    case C_ION: return measure(w, stem) > 1 && stem > 0 && (w[stem - 1] == 's' || w[stem - 1] == 't');
    case C_LOGI: return n >= 3 && measure(w, n - 3) > 0;   /* the word minus its last 3 letters */
    }
    LETHE_BUG("bad porter condition %d", (int)c);
}

/* The first rule whose suffix matches decides: applied if its condition holds, else the step
 * ends with no change. */
static void apply_rules(char *w, size_t *n, const struct rule *rules, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!ends_with(w, *n, rules[i].suffix))
            continue;
        size_t k = strlen(rules[i].suffix);
        if (cond_holds(rules[i].cond, w, *n - k, *n))
            replace(w, n, k, rules[i].repl);
        return;
    }
}

#define NRULES(r) (sizeof(r) / sizeof((r)[0]))

static void step1a(char *w, size_t *n)
{
    static const struct rule r[] = {
        {"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE},
    };
    if (*n == 4 && ends_with(w, *n, "ies")) {
        replace(w, n, 3, "ie");
        return;
    }
    apply_rules(w, n, r, NRULES(r));
}

static void step1b(char *w, size_t *n)
{
    if (ends_with(w, *n, "ied")) {
        replace(w, n, 3, *n == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(w, *n, "eed")) {
        if (measure(w, *n - 3) > 0)
            replace(w, n, 3, "ee");
        return;
    }
    size_t stem;
    if (ends_with(w, *n, "ed") && has_vowel(w, *n - 2))
        stem = *n - 2;
    else if (ends_with(w, *n, "ing") && has_vowel(w, *n - 3))
        stem = *n - 3;
    else
        return;
    *n = stem;
    if (ends_with(w, *n, "at") || ends_with(w, *n, "bl") || ends_with(w, *n, "iz")) {
        w[(*n)++] = 'e';
    } else if (ends_dc(w, *n)) {
        char c = w[*n - 1];
        if (c != 'l' && c != 's' && c != 'z')
            (*n)--;
    } else if (measure(w, *n) == 1 && ends_cvc(w, *n)) {
        w[(*n)++] = 'e';
    }
}

static void step1c(char *w, size_t *n)
{
    if (ends_with(w, *n, "y") && *n - 1 > 1 && cons(w, *n - 2))
        w[*n - 1] = 'i';
}

static void step2(char *w, size_t *n)
{
    static const struct rule r[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0},
        {"anci", "ance", C_M0},   {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
        {"alli", "al", C_M0},     {"entli", "ent", C_M0},   {"eli", "e", C_M0},
        {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0},
        {"fulness", "ful", C_M0}, {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
        {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},  {"fulli", "ful", C_M0},
        {"logi", "log", C_LOGI},
    };
    while (ends_with(w, *n, "alli") && measure(w, *n - 4) > 0)
        replace(w, n, 4, "al");     /* NLTK: replace and rerun step 2 */
    apply_rules(w, n, r, NRULES(r));
}

static void step3(char *w, size_t *n)
{
    static const struct rule r[] = {
        {"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
        {"ical", "ic", C_M0},  {"ful", "", C_M0},   {"ness", "", C_M0},
    };
    apply_rules(w, n, r, NRULES(r));
}

static void step4(char *w, size_t *n)
{
    static const struct rule r[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1}, {"er", "", C_M1},
        {"ic", "", C_M1},   {"able", "", C_M1}, {"ible", "", C_M1}, {"ant", "", C_M1},
        {"ement", "", C_M1}, {"ment", "", C_M1}, {"ent", "", C_M1}, {"ion", "", C_ION},
        {"ou", "", C_M1},   {"ism", "", C_M1},  {"ate", "", C_M1},  {"iti", "", C_M1},
        {"ous", "", C_M1},  {"ive", "", C_M1},  {"ize", "", C_M1},
    };
    apply_rules(w, n, r, NRULES(r));
}

static void step5(char *w, size_t *n)
{
    if (ends_with(w, *n, "e")) {
        int m = measure(w, *n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w, *n - 1)))
            (*n)--;
    }
    if (ends_with(w, *n, "ll") && measure(w, *n - 1) > 1)
        (*n)--;
}

/* NLTK's irregular forms, checked before any rule */
static const char *const porter_irregular[][2] = {
    {"skies", "sky"},     {"sky", "sky"},         {"dying", "die"},       {"lying", "lie"},
    {"tying", "tie"},     {"news", "news"},       {"innings", "inning"},  {"inning", "inning"},
    {"outings", "outing"}, {"outing", "outing"},  {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},     {"proceed", "proceed"}, {"exceed", "exceed"},   {"succeed", "succeed"},
};

size_t metric_porter_stem(char *word, size_t len)
{
    for (size_t i = 0; i < NRULES(porter_irregular); i++) {
        const char *from = porter_irregular[i][0];
        if (strlen(from) == len && memcmp(word, from, len) == 0) {
            size_t k = strlen(porter_irregular[i][1]);
            memcpy(word, porter_irregular[i][1], k);
            word[k] = '\0';
            return k;
        }
    }
    size_t n = len;
    if (n > 2) {
        step1a(word, &n);
        step1b(word, &n);
        step1c(word, &n);
        step2(word, &n);
        step3(word, &n);
        step4(word, &n);
        step5(word, &n);
    }
    word[n] = '\0';
    return n;
}

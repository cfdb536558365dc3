/* A tiny test harness: CHECK macros that print file:line, TAP output, non-zero exit on failure.
 *
 *     static void test_add(void) { CHECK_EQ_INT(1 + 1, 2); }
 *     int main(void) { RUN(test_add); return test_done(); }
 *
 * Each RUN prints `ok N - name` or `not ok N - name`; test_done prints the plan `1..N`.
 */
#ifndef LETHE_TEST_H
#define LETHE_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_count, test_failures, test_cur_failed;

#define CHECK(cond) \
    do { if (!(cond)) { test_cur_failed = 1; \
        printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ_INT(a, b) \
    do { long long a_ = (long long)(a), b_ = (long long)(b); if (a_ != b_) { test_cur_failed = 1; \
        printf("# %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)
#define CHECK_NEAR(a, b, tol) \
    do { double a_ = (double)(a), b_ = (double)(b); if (!(fabs(a_ - b_) <= (tol))) { test_cur_failed = 1; \
        printf("# %s:%d: %s ~ %s: %.12g vs %.12g (tol %g)\n", __FILE__, __LINE__, #a, #b, a_, b_, \
               (double)(tol)); } } while (0)
#define CHECK_STREQ(a, b) \
    do { const char *a_ = (a), *b_ = (b); if (!a_ || !b_ || strcmp(a_, b_) != 0) { test_cur_failed = 1; \
        printf("# %s:%d: %s == %s: '%s' != '%s'\n", __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", \
               b_ ? b_ : "(null)"); } } while (0)
#define CHECK_CONTAINS(hay, needle) \
    do { const char *h_ = (hay), *n_ = (needle); if (!h_ || !strstr(h_, n_)) { test_cur_failed = 1; \
        printf("# %s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, h_ ? h_ : "(null)", n_); } \
    } while (0)

#define RUN(fn) test_run_impl(#fn, fn)

static inline void test_run_impl(const char *name, void (*fn)(void))
{
    test_cur_failed = 0;
    fn();
    test_count++;
    if (test_cur_failed)
        test_failures++;
    printf("%sok %d - %s\n", test_cur_failed ? "not " : "", test_count, name);
    fflush(stdout);
}

static inline int test_done(void)
{
    printf("1..%d\n", test_count);
    return test_failures ? 1 : 0;
}

#endif

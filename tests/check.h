/*
 * Assertions for the C tests: each prints both sides and the location, and
 * counts the failure; a test's main returns check_done().
 */
#ifndef DG_TEST_CHECK_H
#define DG_TEST_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    check_count++; if (a_ != b_) { check_failures++; \
    fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
            __LINE__, #a, #b, a_, b_); } } while (0)

#define CHECK_EQ_DBL(a, b) do { double a_ = (a), b_ = (b); check_count++; \
    if (!(a_ == b_ || (isnan(a_) && isnan(b_)))) { check_failures++; \
    fprintf(stderr, "%s:%d: %s == %s failed: %.17g != %.17g\n", __FILE__, \
            __LINE__, #a, #b, a_, b_); } } while (0)

#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); check_count++; \
    if (!(fabs(a_ - b_) <= (tol))) { check_failures++; \
    fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.17g vs %.17g\n", \
            __FILE__, __LINE__, #a, #b, (double)(tol), a_, b_); } } while (0)

#define CHECK_STR_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); \
    check_count++; if (!h_ || !strstr(h_, n_)) { check_failures++; \
    fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n", __FILE__, __LINE__, \
            n_, h_ ? h_ : "(null)"); } } while (0)

static inline int check_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif

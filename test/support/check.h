/* A minimal assertion kit for the project's C tests: each CHECK counts, a failure prints where and
 * why and keeps going, and check_done() prints the summary and turns failures into exit 1. */
#ifndef test_check_h
#define test_check_h

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int check_failures;
extern int check_count;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        if (!(cond)) {                                                                                                 \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_INT(got, want)                                                                                           \
    do {                                                                                                               \
        long long check_g_ = (long long)(got), check_w_ = (long long)(want);                                           \
        check_count++;                                                                                                 \
        if (check_g_ != check_w_) {                                                                                    \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #got, check_g_, check_w_);       \
        }                                                                                                              \
    } while (0)

#define CHECK_STR(got, want)                                                                                           \
    do {                                                                                                               \
        const char *check_g_ = (got), *check_w_ = (want);                                                              \
        check_count++;                                                                                                 \
        if (check_g_ == NULL || strcmp(check_g_, check_w_) != 0) {                                                     \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got,                        \
                    check_g_ ? check_g_ : "(null)", check_w_);                                                         \
        }                                                                                                              \
    } while (0)

/* Substring match, for messages whose exact wording is not the contract. */
#define CHECK_CONTAINS(hay, needle)                                                                                    \
    do {                                                                                                               \
        const char *check_h_ = (hay), *check_n_ = (needle);                                                            \
        check_count++;                                                                                                 \
        if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL) {                                                  \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s (\"%s\") does not contain \"%s\"\n", __FILE__, __LINE__, #hay,                  \
                    check_h_ ? check_h_ : "(null)", check_n_);                                                         \
        }                                                                                                              \
    } while (0)

/* Stops the test at once: for preconditions without which the rest is meaningless. */
#define REQUIRE(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);                                 \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)


static inline int check_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    if (check_count == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    return check_failures == 0 ? 0 : 1;
}

#endif

/* GCRA limits: the burst, the refill, independent keys and Retry-After. */
#include "pipeline/ratelimit.h"
#include "test/support/check.h"

int main(void)
{
    ratelimit_t *rl = ratelimit_new();
    REQUIRE(rl != NULL);
    app_rate_t three_per_sec = {3, 1000};
    uint64_t t = 1000000000;

    for (int i = 0; i < 3; i++)
        CHECK_INT(ratelimit_take(rl, "a", 1, three_per_sec, t), 0);
    CHECK_INT(ratelimit_take(rl, "a", 1, three_per_sec, t), 1); /* 4th in the same instant */
    CHECK_INT(ratelimit_take(rl, "b", 1, three_per_sec, t), 0); /* other keys are untouched */
    CHECK_INT(ratelimit_take(rl, "a", 1, three_per_sec, t + 334000), 0); /* one interval later: one more */
    CHECK_INT(ratelimit_take(rl, "a", 1, three_per_sec, t + 334000), 1);
    CHECK_INT(ratelimit_take(rl, "a", 1, three_per_sec, t + 5000000), 0); /* fully refilled */

    app_rate_t two_per_min = {2, 60000};
    CHECK_INT(ratelimit_take(rl, "c", 1, two_per_min, t), 0);
    CHECK_INT(ratelimit_take(rl, "c", 1, two_per_min, t), 0);
    CHECK_INT(ratelimit_take(rl, "c", 1, two_per_min, t), 30); /* next slot in 30 s */

    CHECK_INT(ratelimit_take(rl, "d", 1, (app_rate_t){0, 0}, t), 0); /* off */

    /* many keys: the table stays bounded and keeps working */
    for (int i = 0; i < 200000; i++)
        ratelimit_take(rl, &i, sizeof(i), three_per_sec, t);
    CHECK_INT(ratelimit_take(rl, "fresh", 5, three_per_sec, t), 0);
    ratelimit_free(rl);
    return check_done("ratelimit");
}

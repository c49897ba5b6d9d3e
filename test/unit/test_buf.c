/* The growable buffer: appends across many doublings keep every byte and a NUL after them, the
 * bounded append refuses without changing anything, and free leaves an empty buffer to reuse. */
#include <string.h>

#include "base/buf.h"
#include "test/support/check.h"

int main(void)
{
    buf_t b = {0};
    CHECK_INT(buf_add(&b, "", 0), 0);
    REQUIRE(b.data != NULL);
    CHECK_STR(b.data, "");
    for (int i = 0; i < 1000; i++)
        CHECK_INT(buf_add(&b, "0123456789", 10), 0);
    CHECK_INT(b.len, 10000);
    CHECK(b.cap > b.len);
    CHECK_INT(b.data[b.len], '\0');
    CHECK(memcmp(b.data + 9990, "0123456789", 10) == 0);
    CHECK_INT(buf_add(&b, "a\0b", 3), 0); /* bytes, not C strings */
    CHECK(memcmp(b.data + 10000, "a\0b", 3) == 0);

    CHECK_INT(buf_add_max(&b, "xyz", 3, 10006), 0);
    CHECK_INT(buf_add_max(&b, "!", 1, 10006), -1);
    CHECK_INT(b.len, 10006);
    CHECK_INT(b.data[b.len], '\0');

    buf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    CHECK_INT(buf_add(&b, "again", 5), 0);
    CHECK_STR(b.data, "again");
    buf_free(&b);
    return check_done("buf");
}

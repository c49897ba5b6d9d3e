/* The counters behind check.h, shared by every test program. */
#include "test/support/check.h"

int check_failures;
int check_count;

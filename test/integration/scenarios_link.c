/* scenarios_link.c (tests): see itest.c for the lists. */
#define _GNU_SOURCE
#include "itest.h"

const struct CMUnitTest itest_link_scenarios[] = {
};
const size_t itest_link_scenario_count = 0;

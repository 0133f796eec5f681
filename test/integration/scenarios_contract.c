/* scenarios_contract.c (tests): see itest.c for the lists. */
#define _GNU_SOURCE
#include "itest.h"

const struct CMUnitTest itest_contract_scenarios[] = {
};
const size_t itest_contract_scenario_count = 0;

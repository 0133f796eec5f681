/* backoff.c: exponential backoff with full jitter, shared by the reconnect
 * policy and the cluster's retries. */
#include "async.h"

static uint64_t next_random(uint64_t *rng)
{
    /* xorshift64*: plenty for spreading waits. */
    uint64_t x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return x * 0x2545f4914f6cdd1du;
}

long arc__backoff(uint64_t *rng, long initial, long max, unsigned attempt)
{
    long ceiling = initial;
    for (unsigned i = 1; i < attempt && ceiling < max; i++)
        ceiling *= 2;
    if (ceiling > max)
        ceiling = max;
    return (long)(next_random(rng) % (uint64_t)(ceiling + 1));
}

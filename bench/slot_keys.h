/* slot_keys.h: one short key per hash slot, for the cluster benchmarks: a
 * load that takes them in turn spreads evenly over every slot, so over
 * every master in proportion to the slots it serves. In slot order the
 * masters are taken one after the other (a master's slots are one range),
 * so a window of commands sits on one master at a time; mixed, each window
 * is spread over all of them, as keys that hash anywhere would be. */
#ifndef ARC_BENCH_SLOT_KEYS_H
#define ARC_BENCH_SLOT_KEYS_H

#include <arc/cluster.h>

#include <stdio.h>
#include <string.h>

#define BENCH_SLOTS 16384
#define BENCH_KEY_MAX 24

/* keys[s] becomes the first of "k0", "k1", ... whose slot is s. Every
 * slot is reached within the first few hundred thousand names. */
static inline void bench_slot_keys(char (*keys)[BENCH_KEY_MAX])
{
    memset(keys, 0, sizeof(char[BENCH_KEY_MAX]) * BENCH_SLOTS);
    int found = 0;
    for (long i = 0; found < BENCH_SLOTS; i++) {
        char k[BENCH_KEY_MAX];
        int n = snprintf(k, sizeof k, "k%ld", i);
        unsigned s = arc_cluster_key_slot(k, (size_t)n);
        if (keys[s][0] == '\0') {
            memcpy(keys[s], k, sizeof k);
            found++;
        }
    }
}

/* Shuffles the keys (Fisher-Yates, xorshift64 from a fixed seed, so that
 * every run sends the same sequence). */
static inline void bench_mix_keys(char (*keys)[BENCH_KEY_MAX])
{
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (int i = BENCH_SLOTS - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int j = (int)(x % (unsigned long long)(i + 1));
        char t[BENCH_KEY_MAX];
        memcpy(t, keys[i], sizeof t);
        memcpy(keys[i], keys[j], sizeof t);
        memcpy(keys[j], t, sizeof t);
    }
}

#endif

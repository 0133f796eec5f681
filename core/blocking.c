/* blocking.c: which commands wait on the server, and for how long. The
 * connection-wide command timeout must not take such a wait for a dead
 * link (a BLPOP k 30 under a 1 s command timeout is healthy). */
#include "cmdview.h"

#include "pubsub.h" /* arc__ascii_ieq */

#include <stdint.h>

enum where { FIRST, LAST, BLOCK_OPTION };
enum unit { SECONDS, MILLISECONDS };

static const struct {
    const char *name;
    uint8_t len;
    uint8_t where;
    uint8_t unit;
} waits[] = {
    {"blpop", 5, LAST, SECONDS},
    {"brpop", 5, LAST, SECONDS},
    {"brpoplpush", 10, LAST, SECONDS},
    {"blmove", 6, LAST, SECONDS},
    {"blmpop", 6, FIRST, SECONDS},
    {"bzpopmin", 8, LAST, SECONDS},
    {"bzpopmax", 8, LAST, SECONDS},
    {"bzmpop", 6, FIRST, SECONDS},
    {"xread", 5, BLOCK_OPTION, MILLISECONDS},
    {"xreadgroup", 10, BLOCK_OPTION, MILLISECONDS},
    {"wait", 4, LAST, MILLISECONDS},
    {"waitaof", 7, LAST, MILLISECONDS},
};

#define MAX_WAIT_MS (UINT32_MAX - 1u)

/* A non-negative decimal ("3", "0.25", "1.5e0" is not accepted: Redis
 * parses timeouts as plain decimals) to ms; false when it is not one. A
 * malformed timeout is the server's to refuse, and then nothing waits. */
static bool to_ms(const char *p, size_t n, int unit, uint32_t *ms)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    size_t i = 0;
    bool digits = false;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits = true)
        whole = whole < UINT64_MAX / 100 ? whole * 10 + (uint64_t)(p[i] - '0') : whole;
    if (i < n && p[i] == '.' && unit == SECONDS) {
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits = true) {
            if (scale < 1000) {
                frac = frac * 10 + (uint64_t)(p[i] - '0');
                scale *= 10;
            }
        }
    }
    if (!digits || i != n)
        return false;
    uint64_t v = unit == SECONDS ? whole * 1000 + frac * 1000 / scale : whole;
    if (unit == SECONDS && whole > MAX_WAIT_MS / 1000)
        v = MAX_WAIT_MS;
    *ms = v > MAX_WAIT_MS ? MAX_WAIT_MS : (uint32_t)v;
    return true;
}

bool arc__blocking_wait(const char *name, size_t len, const arc_cmdview *args, uint32_t *ms)
{
    size_t k = 0;
    for (; k < sizeof waits / sizeof waits[0]; k++)
        if (len == waits[k].len && arc__ascii_ieq(name, len, waits[k].name))
            break;
    if (k == sizeof waits / sizeof waits[0])
        return false;
    arc_cmdview it = *args;
    const char *a, *pick = NULL;
    size_t alen, picklen = 0;
    bool next_is_block = false;
    while (arc__cmdview_next(&it, &a, &alen)) {
        if (waits[k].where == FIRST && pick == NULL) {
            pick = a;
            picklen = alen;
            break;
        }
        if (waits[k].where == LAST) {
            pick = a;
            picklen = alen;
        } else if (waits[k].where == BLOCK_OPTION) {
            if (next_is_block) {
                pick = a;
                picklen = alen;
                break;
            }
            if (alen == 7 && arc__ascii_ieq(a, alen, "streams"))
                break; /* options end where the streams begin */
            next_is_block = alen == 5 && arc__ascii_ieq(a, alen, "block");
        }
    }
    if (pick == NULL)
        return false; /* XREAD without BLOCK does not wait */
    return to_ms(pick, picklen, waits[k].unit, ms);
}

/* cmdview.h (internal): a read-only walk over one encoded command (*N then
 * N bulk strings). The bytes were produced by the encoder or passed
 * arc_format_check, so the walk only needs to stay inside them, not to
 * diagnose. */
#ifndef ARC_CORE_CMDVIEW_H
#define ARC_CORE_CMDVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct arc_cmdview {
    const char *p;
    const char *end;
    size_t left; /* arguments not yet walked */
} arc_cmdview;

static inline bool arc__cmdview_num(arc_cmdview *it, char type, size_t *out)
{
    if (it->p >= it->end || *it->p != type)
        return false;
    it->p++;
    size_t v = 0;
    while (it->p < it->end && *it->p >= '0' && *it->p <= '9')
        v = v * 10 + (size_t)(*it->p++ - '0');
    if (it->end - it->p < 2)
        return false;
    it->p += 2;
    *out = v;
    return true;
}

static inline bool arc__cmdview_begin(arc_cmdview *it, const char *p, size_t n)
{
    it->p = p;
    it->end = p + n;
    return arc__cmdview_num(it, '*', &it->left);
}

static inline bool arc__cmdview_next(arc_cmdview *it, const char **arg, size_t *len)
{
    if (it->left == 0 || !arc__cmdview_num(it, '$', len) || (size_t)(it->end - it->p) < *len + 2)
        return false;
    *arg = it->p;
    it->p += *len + 2;
    it->left--;
    return true;
}

/* Commands that wait on the server (BLPOP, XREAD BLOCK, WAIT, ...): true
 * when `name` is one and it asks to wait, with *ms the longest it waits
 * (0: for ever, saturated at UINT32_MAX - 1). `args` follows the name. */
bool arc__blocking_wait(const char *name, size_t len, const arc_cmdview *args, uint32_t *ms);

#endif

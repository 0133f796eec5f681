/* server.c (arc-fanout): labels of server.h. */
#include "server.h"

#include <string.h>

static const char *lower(const char *name, const char *prefix, char *buf, size_t len)
{
    size_t skip = strncmp(name, prefix, strlen(prefix)) == 0 ? strlen(prefix) : 0;
    size_t i = 0;
    for (const char *p = name + skip; *p != '\0' && i + 1 < len; p++, i++)
        buf[i] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    if (len > 0)
        buf[i] = '\0';
    return buf;
}

const char *fo_state_label(arc_state s, char *buf, size_t len)
{
    return lower(arc_state_name(s), "ARC_STATE_", buf, len);
}

const char *fo_status_label(int status, char *buf, size_t len)
{
    if (status == ARC_OK)
        return lower("ok", "", buf, len);
    return lower(arc_status_name(status), "ARC_ERR_", buf, len);
}

void fo_server_addresses(fo_text *t, const arc_member *m)
{
    size_t n = m != NULL ? arc_member_attempts(m) : 0;
    for (size_t i = 0; i < n; i++) {
        const arc_attempt *a = arc_member_attempt(m, i);
        if (a == NULL)
            break;
        char label[40];
        fo_text_printf(t, "%s%s %s", i > 0 ? ", " : "", a->address,
                       a->done ? fo_status_label(a->status, label, sizeof label) : "...");
    }
}

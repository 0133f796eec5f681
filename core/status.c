/* status.c: names and descriptions of arc_status values. */
#include <arc/status.h>

#include <stddef.h>

#define STR_(x) #x
#define STR(x) STR_(x)

const char *arc_version(void)
{
    return STR(ARC_VERSION_MAJOR) "." STR(ARC_VERSION_MINOR) "." STR(ARC_VERSION_PATCH);
}

static const struct {
    const char *name;
    const char *text;
} status_table[] = {
    [ARC_OK] = {"ARC_OK", "success"},
    [ARC_ERR_NOMEM] = {"ARC_ERR_NOMEM", "out of memory"},
    [ARC_ERR_INVALID] = {"ARC_ERR_INVALID", "invalid argument"},
    [ARC_ERR_PROTOCOL] = {"ARC_ERR_PROTOCOL", "protocol error"},
    [ARC_ERR_LIMIT] = {"ARC_ERR_LIMIT", "limit exceeded"},
    [ARC_ERR_NOADDR] = {"ARC_ERR_NOADDR", "no address: name resolution failed"},
    [ARC_ERR_REFUSED] = {"ARC_ERR_REFUSED", "connection refused"},
    [ARC_ERR_TIMEOUT] = {"ARC_ERR_TIMEOUT", "timed out"},
    [ARC_ERR_IO] = {"ARC_ERR_IO", "I/O error"},
    [ARC_ERR_EOF] = {"ARC_ERR_EOF", "server closed the connection"},
    [ARC_ERR_HANDSHAKE] = {"ARC_ERR_HANDSHAKE", "handshake refused by the server"},
    [ARC_ERR_NOFD] = {"ARC_ERR_NOFD", "no free file descriptor"},
    [ARC_ERR_DISCONNECTING] = {"ARC_ERR_DISCONNECTING", "disconnecting: no new commands"},
    [ARC_ERR_CLOSED] = {"ARC_ERR_CLOSED", "connection closed"},
    [ARC_ERR_SUBSCRIBED] = {"ARC_ERR_SUBSCRIBED", "command not allowed in RESP2 subscribed mode"},
    [ARC_ERR_MONITORING] = {"ARC_ERR_MONITORING", "command not allowed while monitoring"},
    [ARC_ERR_STATE] = {"ARC_ERR_STATE", "not allowed in the current state"},
    [ARC_ERR_FREED] = {"ARC_ERR_FREED", "context freed"},
    [ARC_ERR_NOT_SENT] = {"ARC_ERR_NOT_SENT",
                          "the connection ended before the command was sent (it did not run)"},
    [ARC_ERR_UNANSWERED] = {"ARC_ERR_UNANSWERED",
                            "the connection ended before the reply (the command may have run)"},
    [ARC_ERR_CANCELLED] = {"ARC_ERR_CANCELLED", "command cancelled"},
    [ARC_ERR_TLS] = {"ARC_ERR_TLS", "TLS failure"},
    [ARC_ERR_OFFLINE] = {"ARC_ERR_OFFLINE", "the connection is down and reconnecting"},
    [ARC_ERR_LOADING] = {"ARC_ERR_LOADING", "the server is not ready (loading its data set, or its master is down)"},
    [ARC_ERR_READONLY] = {"ARC_ERR_READONLY", "the server is a read-only replica"},
    [ARC_ERR_CROSSSLOT] = {"ARC_ERR_CROSSSLOT", "the command's keys are in different cluster slots"},
    [ARC_ERR_REDIRECTS] = {"ARC_ERR_REDIRECTS", "too many cluster redirects or retries"},
    [ARC_ERR_UNROUTED] = {"ARC_ERR_UNROUTED", "no cluster node could be found for the command"},
    [ARC_ERR_DUPLICATE] = {"ARC_ERR_DUPLICATE",
                           "already subscribed to that name with another callback"},
};

#define STATUS_COUNT (sizeof status_table / sizeof status_table[0])

const char *arc_strerror(int status)
{
    if (status < 0 || (size_t)status >= STATUS_COUNT || status_table[status].text == NULL)
        return "unknown status";
    return status_table[status].text;
}

const char *arc_status_name(int status)
{
    if (status < 0 || (size_t)status >= STATUS_COUNT || status_table[status].name == NULL)
        return "ARC_ERR_UNKNOWN";
    return status_table[status].name;
}

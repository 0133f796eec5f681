/* transport_tcp.c: the plain transport for TCP and unix stream sockets. */
#define _GNU_SOURCE /* MSG_NOSIGNAL */
#include "transport.h"

#include <errno.h>
#include <sys/socket.h>

static int plain_handshake(arc_transport *t)
{
    (void)t;
    return ARC_IO_OK; /* nothing to agree on beyond the connect itself */
}

static int plain_read(arc_transport *t, char *buf, size_t cap, size_t *n)
{
    ssize_t r;
    do
        r = recv(t->fd, buf, cap, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        *n = (size_t)r;
        return ARC_IO_OK;
    }
    if (r == 0)
        return ARC_IO_EOF;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ARC_IO_WANT_READ;
    t->err = errno;
    t->why[0] = '\0';
    return ARC_IO_ERROR;
}

static int plain_write(arc_transport *t, const char *buf, size_t len, size_t *n)
{
    ssize_t w;
    /* MSG_NOSIGNAL: a peer that went away is an error, never SIGPIPE. */
    do
        w = send(t->fd, buf, len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w >= 0) {
        *n = (size_t)w;
        return w > 0 ? ARC_IO_OK : ARC_IO_WANT_WRITE;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ARC_IO_WANT_WRITE;
    t->err = errno;
    t->why[0] = '\0';
    return ARC_IO_ERROR;
}

static size_t plain_pending(const arc_transport *t)
{
    (void)t;
    return 0;
}

static void plain_close(arc_transport *t)
{
    (void)t;
}

const arc_transport_ops arc__transport_plain = {
    "plain", plain_handshake, plain_read, plain_write, plain_pending, plain_close,
};

/* scenarios_cluster_fake.c (tests): the cluster client against scripted
 * fake nodes (arc-fakeserver, fake_server.h), for endpoints a local Redis
 * Cluster does not give: a node named by a host name, a node on IPv6, a
 * node that redirects to itself. They run in the "<loop>-cluster" group
 * (itest.c) beside scenarios_cluster.c, but use none of its cluster.
 *
 * Each fake's script is what the client must do, in order: a command it
 * did not send, or sent elsewhere, makes the script fail (fake_finish()
 * is then not 0), and the replies the script sends are asserted on the
 * client's side. Refreshes are held off (refresh_min_interval_ms) where a
 * MOVED would ask for one, so that no CLUSTER SHARDS slips into a script
 * that does not expect it. */
#define _GNU_SOURCE
#include "itest_cluster.h"

#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NODE_ID "0123456789012345678901234567890123456789"

/* A CLUSTER SHARDS reply in the script's escapes: one shard serving every
 * slot, its one master at `endpoint` with "ip" `ip`, on `port` (text:
 * "${PORT}" is the fake's own). */
static void shards_reply(char *buf, size_t cap, const char *endpoint, const char *ip,
                         const char *port)
{
    int n = snprintf(buf, cap,
                     "*1\\r\\n*4\\r\\n$5\\r\\nslots\\r\\n*2\\r\\n:0\\r\\n:16383\\r\\n"
                     "$5\\r\\nnodes\\r\\n*1\\r\\n*14\\r\\n"
                     "$2\\r\\nid\\r\\n$40\\r\\n" NODE_ID "\\r\\n"
                     "$4\\r\\nport\\r\\n:%s\\r\\n"
                     "$2\\r\\nip\\r\\n$%zu\\r\\n%s\\r\\n"
                     "$8\\r\\nendpoint\\r\\n$%zu\\r\\n%s\\r\\n"
                     "$4\\r\\nrole\\r\\n$6\\r\\nmaster\\r\\n"
                     "$18\\r\\nreplication-offset\\r\\n:0\\r\\n"
                     "$6\\r\\nhealth\\r\\n$6\\r\\nonline\\r\\n",
                     port, strlen(ip), ip, strlen(endpoint), endpoint);
    assert_true(n > 0 && (size_t)n < cap);
}

/* A command as the client encodes it, in the script's escapes. */
static void resp_command(char *buf, size_t cap, int argc, const char *const *argv)
{
    int n = snprintf(buf, cap, "*%d\\r\\n", argc);
    for (int i = 0; i < argc && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "$%zu\\r\\n%s\\r\\n", strlen(argv[i]), argv[i]);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Appends a script line (format and all) to buf, which must hold it. */
static void line(char *buf, size_t cap, const char *fmt, ...) ARC_PRINTF(3, 4);

static void line(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap - used);
}

static arc_cluster_options one_seed(arc_cluster_seed *seed, const char *host, int port)
{
    *seed = (arc_cluster_seed){host, port};
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = seed;
    o.nseeds = 1;
    return o;
}

/* The member's last connection attempt, which must have connected. */
static const arc_attempt *connected_attempt(const arc_member *m)
{
    size_t n = arc_member_attempts(m);
    assert_true(n >= 1);
    const arc_attempt *a = arc_member_attempt(m, n - 1);
    assert_non_null(a);
    assert_true(a->done);
    assert_int_equal(a->status, ARC_OK);
    return a;
}

/* ---- a host name ---- */

/* The map names the node by a host name ("localhost", ip 127.0.0.1), as
 * with cluster-preferred-endpoint-type hostname: the seed, known by its
 * address, leaves the table, and the node gets a connection of its own,
 * resolved from the name, on which the GET goes and is answered. */
static void cluster_fake_hostname_endpoint(void **state)
{
    itest *t = *state;
    static char script[4096], part[2048];
    script[0] = '\0';
    shards_reply(part, sizeof part, "localhost", "127.0.0.1", "${PORT}");
    line(script, sizeof script, "ACCEPT\nEXPECT_COMMAND 1\nSEND %s\n", part); /* the seed */
    line(script, sizeof script,
         "ACCEPT\n"           /* localhost:PORT */
         "EXPECT_COMMAND 1\n" /* COMMAND, for the key table */
         "SEND -ERR not today\\r\\n\n");
    resp_command(part, sizeof part, 2, (const char *const[]){"GET", "named"});
    line(script, sizeof script, "EXPECT %s\nSEND $8\\r\\nvia-name\\r\\n\nDRAIN\n", part);
    fake_server *f = fake_start(script);
    assert_non_null(f);
    int port = fake_port(f);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed seed;
    arc_cluster *cl = icl_open(t, one_seed(&seed, "127.0.0.1", port), &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "GET %s", "named");
    if (k.status != ARC_OK || k.reply == NULL)
        fail_msg("GET via the host name: %s (%s)", arc_status_name(k.status), k.error);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "via-name");

    arc_group *g = arc_cluster_group(cl);
    ITEST_RUN_UNTIL(t, 5000, arc_group_size(g) == 1); /* the seed's connection closed */
    char want[64];
    snprintf(want, sizeof want, "localhost:%d", port);
    arc_member *m = arc_group_next(g, NULL);
    assert_string_equal(arc_member_name(m), want);
    assert_ptr_equal(arc_cluster_slot_master(cl, arc_cluster_key_slot("named", 5)), m);
    assert_true(arc_cluster_node_is_master(cl, m));
    assert_int_equal(arc_cluster_node_slots(cl, m), 16384);
    /* The name was resolved: the connection went to its address. */
    const arc_attempt *a = connected_attempt(m);
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    assert_string_equal(a->address, want);
    assert_int_equal(a->family, AF_INET);
    assert_int_equal(ev.topology, 1);
    assert_int_equal(ev.added, 2);   /* the seed, then the named node */
    assert_int_equal(ev.removed, 1); /* the seed */
    arc_cluster_free(cl);
    assert_int_equal(k.calls, 1);
    assert_int_equal(fake_finish(f, 5000), 0);
    icl_rec_clear(&k);
}

/* ---- IPv6 ---- */

/* Whether a socket can listen on ::1 here; the reason in why when not. */
static bool ipv6_loopback(char *why, size_t cap)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "no IPv6 sockets: %s", strerror(errno));
        return false;
    }
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (!ok)
        snprintf(why, cap, "::1 cannot be bound: %s", strerror(errno));
    close(fd);
    return ok;
}

/* The map names a node on IPv6 ("::1", as Redis gives an IPv6 endpoint:
 * without brackets); the seed is another node on 127.0.0.1. The GET goes
 * to [::1] and is answered there. Then that node answers a SET with MOVED
 * to itself in the bracketed form ("[::1]:port"): the redirect is read as
 * the same node (no new member), and after max_redirects (2 here) the SET
 * ends with ARC_ERR_REDIRECTS naming the last redirect. */
static void cluster_fake_ipv6_endpoint(void **state)
{
    itest *t = *state;
    char why[128];
    if (!ipv6_loopback(why, sizeof why)) {
        fprintf(stderr, "cluster_fake_ipv6_endpoint: skipped: %s\n", why);
        skip();
    }
    unsigned slot = arc_cluster_key_slot("v6key", 5);
    static char node_script[4096], seed_script[4096], part[2048];
    node_script[0] = seed_script[0] = '\0';
    line(node_script, sizeof node_script,
         "ACCEPT\n"
         "EXPECT_COMMAND 1\n" /* COMMAND */
         "SEND -ERR not today\\r\\n\n");
    resp_command(part, sizeof part, 2, (const char *const[]){"GET", "v6key"});
    line(node_script, sizeof node_script, "EXPECT %s\nSEND $6\\r\\nvia-v6\\r\\n\n", part);
    resp_command(part, sizeof part, 3, (const char *const[]){"SET", "v6key", "x"});
    for (int i = 0; i < 3; i++) /* the first try and two redirects */
        line(node_script, sizeof node_script, "EXPECT %s\nSEND -MOVED %u [::1]:${PORT}\\r\\n\n",
             part, slot);
    line(node_script, sizeof node_script, "DRAIN\n");
    fake_server *node = fake_start_at("::1", node_script);
    assert_non_null(node);
    int port = fake_port(node);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    shards_reply(part, sizeof part, "::1", "::1", port_text);
    line(seed_script, sizeof seed_script, "ACCEPT\nEXPECT_COMMAND 1\nSEND %s\nDRAIN\n", part);
    fake_server *seed_node = fake_start(seed_script);
    assert_non_null(seed_node);

    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed seed;
    arc_cluster_options o = one_seed(&seed, "127.0.0.1", fake_port(seed_node));
    o.max_redirects = 2;
    o.refresh_min_interval_ms = 60000; /* MOVED asks for one: not in the script */
    arc_cluster *cl = icl_open(t, o, &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "GET %s", "v6key");
    if (k.status != ARC_OK || k.reply == NULL)
        fail_msg("GET via ::1: %s (%s)", arc_status_name(k.status), k.error);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "via-v6");
    arc_group *g = arc_cluster_group(cl);
    ITEST_RUN_UNTIL(t, 5000, arc_group_size(g) == 1);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%d", port);
    arc_member *m = arc_group_next(g, NULL);
    assert_string_equal(arc_member_name(m), want);
    assert_ptr_equal(arc_cluster_slot_master(cl, slot), m);
    const arc_attempt *a = connected_attempt(m);
    assert_string_equal(a->address, want);
    assert_int_equal(a->family, AF_INET6);

    icl_do(t, cl, &k, "SET %s %s", "v6key", "x");
    assert_int_equal(k.status, ARC_ERR_REDIRECTS);
    assert_null(k.reply);
    char moved[64];
    snprintf(moved, sizeof moved, "MOVED %u [::1]:%d", slot, port);
    if (strstr(k.error, moved) == NULL || strstr(k.error, "more than 2") == NULL)
        fail_msg("the message does not give the bound and the last redirect: %s", k.error);
    /* The redirect named the node it came from: no new member. */
    assert_int_equal(arc_group_size(g), 1);
    assert_ptr_equal(arc_group_next(g, NULL), m);
    assert_ptr_equal(arc_cluster_slot_master(cl, slot), m);
    assert_int_equal(ev.added, 2);
    assert_int_equal(ev.topology, 1);
    arc_cluster_free(cl);
    assert_int_equal(k.calls, 1);
    assert_int_equal(fake_finish(seed_node, 5000), 0);
    assert_int_equal(fake_finish(node, 5000), 0);
    icl_rec_clear(&k);
}

/* ---- MOVED to itself ---- */

/* A node that answers every command with MOVED to itself, in the form
 * Redis gives when it does not know its endpoint (":port", no host: the
 * node that answered): the command is sent there again, once per
 * redirect, and ends after the default max_redirects (5) with
 * ARC_ERR_REDIRECTS, not in a loop. */
static void cluster_fake_moved_to_itself(void **state)
{
    itest *t = *state;
    unsigned slot = arc_cluster_key_slot("self", 4);
    static char script[8192], part[2048];
    script[0] = '\0';
    shards_reply(part, sizeof part, "127.0.0.1", "127.0.0.1", "${PORT}");
    line(script, sizeof script, "ACCEPT\nEXPECT_COMMAND 1\nSEND %s\n", part);
    line(script, sizeof script, "EXPECT_COMMAND 1\nSEND -ERR not today\\r\\n\n"); /* COMMAND */
    resp_command(part, sizeof part, 2, (const char *const[]){"GET", "self"});
    for (int i = 0; i < 6; i++) /* the first try and five redirects */
        line(script, sizeof script, "EXPECT %s\nSEND -MOVED %u :${PORT}\\r\\n\n", part, slot);
    line(script, sizeof script, "DRAIN\n");
    fake_server *f = fake_start(script);
    assert_non_null(f);
    int port = fake_port(f);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed seed;
    arc_cluster_options o = one_seed(&seed, "127.0.0.1", port);
    o.refresh_min_interval_ms = 60000;
    arc_cluster *cl = icl_open(t, o, &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "GET %s", "self");
    assert_int_equal(k.status, ARC_ERR_REDIRECTS);
    assert_null(k.reply);
    char moved[64];
    snprintf(moved, sizeof moved, "MOVED %u :%d", slot, port);
    if (strstr(k.error, moved) == NULL || strstr(k.error, "more than 5") == NULL)
        fail_msg("the message does not give the bound and the last redirect: %s", k.error);
    /* ":port" is the node that answered: the seed, still the one member. */
    assert_int_equal(arc_group_size(arc_cluster_group(cl)), 1);
    assert_int_equal(ev.added, 1);
    assert_int_equal(ev.topology, 1);
    arc_cluster_free(cl);
    assert_int_equal(k.calls, 1);
    assert_int_equal(fake_finish(f, 5000), 0);
    icl_rec_clear(&k);
}

const struct CMUnitTest itest_cluster_fake_scenarios[] = {
    cmocka_unit_test(cluster_fake_hostname_endpoint),
    cmocka_unit_test(cluster_fake_ipv6_endpoint),
    cmocka_unit_test(cluster_fake_moved_to_itself),
};
const size_t itest_cluster_fake_scenario_count =
    sizeof itest_cluster_fake_scenarios / sizeof itest_cluster_fake_scenarios[0];

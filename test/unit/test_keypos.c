/* test_keypos.c: pins where commands keep their keys: the built-in table
 * (its order, and commands of every kind and type), containers and their
 * subcommands, the table read from a COMMAND reply (hand-written entries
 * in the shapes Redis 7 sends, RESP2 and RESP3, and every malformed
 * shape), and the walk over encoded commands. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keypos.h"

#include "failing_alloc.h"
#include "resp_notation.h"

#include <arc/format.h>
#include <arc/status.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *kind_name(int k)
{
    static const char *const names[] = {"NONE", "RANGE", "NUMKEYS", "STREAMS", "UNKNOWN"};
    return k >= 0 && k <= ARC_KEYS_UNKNOWN ? names[k] : "?";
}

/* What a spec should be. */
typedef struct want {
    const char *name; /* "name" or "name sub" */
    arc_keys_kind kind;
    int first, last, step;
    bool readonly;
} want;

#define RO true
#define RW false
#define KEY1(n, ro) {n, ARC_KEYS_RANGE, 1, 1, 1, ro}
#define NONE(n, ro) {n, ARC_KEYS_NONE, 0, 0, 0, ro}

/* Looks `w->name` up in `t` (NULL: built-in only), splitting "name sub". */
static void check_spec(const arc_keytable *t, const want *w)
{
    const char *sp = strchr(w->name, ' ');
    size_t len = sp != NULL ? (size_t)(sp - w->name) : strlen(w->name);
    arc_keyspec s;
    memset(&s, 0xa5, sizeof s);
    bool found = arc__keytable_find(t, w->name, len, sp != NULL ? sp + 1 : NULL,
                                    sp != NULL ? strlen(sp + 1) : 0, &s);
    if (!found)
        fail_msg("%s: not found", w->name);
    if (s.kind != w->kind || s.first != w->first || s.last != w->last || s.step != w->step ||
        s.readonly != w->readonly)
        fail_msg("%s: %s %d %d %d %s, expected %s %d %d %d %s", w->name, kind_name(s.kind),
                 s.first, s.last, s.step, s.readonly ? "ro" : "rw", kind_name(w->kind), w->first,
                 w->last, w->step, w->readonly ? "ro" : "rw");
}

static void check_specs(const arc_keytable *t, const want *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_spec(t, &w[i]);
}

#define CHECK(t, list) check_specs((t), (list), sizeof(list) / sizeof((list)[0]))

/* ------------------------------------------------------------------------ */
/* The built-in table */

static void builtin_table_is_sorted_lowercase_and_whole(void **state)
{
    (void)state;
    const char *prev = NULL, *name;
    size_t prev_len = 0, len, n = 0;
    arc_keyspec s;
    for (size_t i = 0; arc__keypos_builtin_entry(i, &name, &len, &s); i++, n++) {
        assert_int_equal(strlen(name), len);
        for (size_t j = 0; j < len; j++)
            if (name[j] >= 'A' && name[j] <= 'Z')
                fail_msg("'%s' is not lowercase", name);
        if (prev != NULL) {
            size_t m = len < prev_len ? len : prev_len;
            int c = memcmp(prev, name, m);
            if (c > 0 || (c == 0 && prev_len >= len))
                fail_msg("'%s' sorts after '%s' (or is there twice)", prev, name);
        }
        switch (s.kind) {
        case ARC_KEYS_NONE:
        case ARC_KEYS_UNKNOWN:
            assert_true(s.first == 0 && s.last == 0 && s.step == 0);
            break;
        case ARC_KEYS_RANGE:
            assert_true(s.first >= 1 && s.step >= 1 && s.last != 0);
            assert_true(s.last < 0 || s.last >= s.first);
            break;
        case ARC_KEYS_NUMKEYS:
            assert_true(s.first >= 1 && s.last >= 0 && s.last < s.first);
            break;
        case ARC_KEYS_STREAMS:
            assert_int_equal(s.first, 1);
            break;
        default:
            fail_msg("'%s': kind %d", name, s.kind);
        }
        /* Every entry is found by the search, in any case. */
        char upper[64];
        assert_true(len < sizeof upper);
        for (size_t j = 0; j <= len; j++)
            upper[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 'a' + 'A' : name[j]);
        arc_keyspec got;
        if (!arc__keypos_builtin(upper, len, &got) || memcmp(&got, &s, sizeof s) != 0)
            fail_msg("'%s' is not found as '%s'", name, upper);
        prev = name;
        prev_len = len;
    }
    /* Every core command of Redis 7.0 and the few added since. */
    assert_true(n >= 250);
    assert_false(arc__keypos_builtin_entry(n, &name, &len, &s));
}

static void builtin_strings_and_bitmaps(void **state)
{
    (void)state;
    static const want w[] = {
        KEY1("get", RO), KEY1("SET", RW), KEY1("Incr", RW), KEY1("append", RW),
        KEY1("getrange", RO), KEY1("setrange", RW), KEY1("strlen", RO), KEY1("getdel", RW),
        KEY1("getex", RW), KEY1("substr", RO), KEY1("psetex", RW), KEY1("incrbyfloat", RW),
        {"mget", ARC_KEYS_RANGE, 1, -1, 1, RO}, {"mset", ARC_KEYS_RANGE, 1, -1, 2, RW},
        {"msetnx", ARC_KEYS_RANGE, 1, -1, 2, RW}, {"lcs", ARC_KEYS_RANGE, 1, 2, 1, RO},
        KEY1("getbit", RO), KEY1("setbit", RW), KEY1("bitcount", RO), KEY1("bitpos", RO),
        KEY1("bitfield", RW), KEY1("bitfield_ro", RO), {"bitop", ARC_KEYS_RANGE, 2, -1, 1, RW},
    };
    CHECK(NULL, w);
}

static void builtin_lists_hashes_sets(void **state)
{
    (void)state;
    static const want w[] = {
        KEY1("lpush", RW), KEY1("rpop", RW), KEY1("lrange", RO), KEY1("llen", RO),
        KEY1("lindex", RO), KEY1("lpos", RO), KEY1("linsert", RW), KEY1("ltrim", RW),
        {"lmove", ARC_KEYS_RANGE, 1, 2, 1, RW}, {"rpoplpush", ARC_KEYS_RANGE, 1, 2, 1, RW},
        {"blpop", ARC_KEYS_RANGE, 1, -2, 1, RW}, {"brpop", ARC_KEYS_RANGE, 1, -2, 1, RW},
        {"blmove", ARC_KEYS_RANGE, 1, 2, 1, RW}, {"lmpop", ARC_KEYS_NUMKEYS, 1, 0, 1, RW},
        {"blmpop", ARC_KEYS_NUMKEYS, 2, 0, 1, RW},
        KEY1("hset", RW), KEY1("hget", RO), KEY1("hgetall", RO), KEY1("hdel", RW),
        KEY1("hincrby", RW), KEY1("hscan", RO), KEY1("hrandfield", RO), KEY1("hstrlen", RO),
        KEY1("hexpire", RW), KEY1("httl", RO), KEY1("hpersist", RW), KEY1("hgetex", RW),
        KEY1("sadd", RW), KEY1("smembers", RO), KEY1("sismember", RO), KEY1("smismember", RO),
        KEY1("spop", RW), KEY1("srandmember", RO), KEY1("sscan", RO),
        {"sunion", ARC_KEYS_RANGE, 1, -1, 1, RO}, {"sinterstore", ARC_KEYS_RANGE, 1, -1, 1, RW},
        {"smove", ARC_KEYS_RANGE, 1, 2, 1, RW}, {"sintercard", ARC_KEYS_NUMKEYS, 1, 0, 1, RO},
    };
    CHECK(NULL, w);
}

static void builtin_sorted_sets_streams_geo_hll(void **state)
{
    (void)state;
    static const want w[] = {
        KEY1("zadd", RW), KEY1("zrange", RO), KEY1("zscore", RO), KEY1("zrank", RO),
        KEY1("zrevrangebyscore", RO), KEY1("zremrangebyrank", RW), KEY1("zpopmin", RW),
        KEY1("zmscore", RO), KEY1("zscan", RO), {"zrangestore", ARC_KEYS_RANGE, 1, 2, 1, RW},
        {"bzpopmax", ARC_KEYS_RANGE, 1, -2, 1, RW},
        {"zunion", ARC_KEYS_NUMKEYS, 1, 0, 1, RO}, {"zinter", ARC_KEYS_NUMKEYS, 1, 0, 1, RO},
        {"zdiff", ARC_KEYS_NUMKEYS, 1, 0, 1, RO}, {"zintercard", ARC_KEYS_NUMKEYS, 1, 0, 1, RO},
        {"zmpop", ARC_KEYS_NUMKEYS, 1, 0, 1, RW}, {"bzmpop", ARC_KEYS_NUMKEYS, 2, 0, 1, RW},
        {"zunionstore", ARC_KEYS_NUMKEYS, 2, 1, 1, RW},
        {"zinterstore", ARC_KEYS_NUMKEYS, 2, 1, 1, RW},
        {"zdiffstore", ARC_KEYS_NUMKEYS, 2, 1, 1, RW},
        KEY1("xadd", RW), KEY1("xrange", RO), KEY1("xrevrange", RO), KEY1("xlen", RO),
        KEY1("xack", RW), KEY1("xclaim", RW), KEY1("xautoclaim", RW), KEY1("xpending", RO),
        KEY1("xtrim", RW), KEY1("xdel", RW), KEY1("xsetid", RW),
        {"xread", ARC_KEYS_STREAMS, 1, 0, 1, RO}, {"xreadgroup", ARC_KEYS_STREAMS, 1, 0, 1, RW},
        KEY1("geoadd", RW), KEY1("geopos", RO), KEY1("geodist", RO), KEY1("geohash", RO),
        KEY1("geosearch", RO), KEY1("georadius", RW), KEY1("georadius_ro", RO),
        KEY1("georadiusbymember_ro", RO), {"geosearchstore", ARC_KEYS_RANGE, 1, 2, 1, RW},
        KEY1("pfadd", RW), {"pfcount", ARC_KEYS_RANGE, 1, -1, 1, RO},
        {"pfmerge", ARC_KEYS_RANGE, 1, -1, 1, RW}, {"pfdebug", ARC_KEYS_RANGE, 2, 2, 1, RW},
    };
    CHECK(NULL, w);
}

static void builtin_generic_and_scripting(void **state)
{
    (void)state;
    static const want w[] = {
        {"del", ARC_KEYS_RANGE, 1, -1, 1, RW}, {"unlink", ARC_KEYS_RANGE, 1, -1, 1, RW},
        {"exists", ARC_KEYS_RANGE, 1, -1, 1, RO}, {"touch", ARC_KEYS_RANGE, 1, -1, 1, RO},
        {"watch", ARC_KEYS_RANGE, 1, -1, 1, RW}, {"rename", ARC_KEYS_RANGE, 1, 2, 1, RW},
        {"renamenx", ARC_KEYS_RANGE, 1, 2, 1, RW}, {"copy", ARC_KEYS_RANGE, 1, 2, 1, RW},
        KEY1("expire", RW), KEY1("ttl", RO), KEY1("pttl", RO), KEY1("type", RO),
        KEY1("persist", RW), KEY1("dump", RO), KEY1("restore", RW), KEY1("move", RW),
        KEY1("expiretime", RO), KEY1("sort", RW), KEY1("sort_ro", RO),
        {"migrate", ARC_KEYS_UNKNOWN, 0, 0, 0, RW},
        {"eval", ARC_KEYS_NUMKEYS, 2, 0, 1, RW}, {"evalsha", ARC_KEYS_NUMKEYS, 2, 0, 1, RW},
        {"eval_ro", ARC_KEYS_NUMKEYS, 2, 0, 1, RO}, {"evalsha_ro", ARC_KEYS_NUMKEYS, 2, 0, 1, RO},
        {"fcall", ARC_KEYS_NUMKEYS, 2, 0, 1, RW}, {"fcall_ro", ARC_KEYS_NUMKEYS, 2, 0, 1, RO},
        /* Sharded pub/sub channels route like keys; PUBLISH goes anywhere. */
        KEY1("spublish", RW), {"ssubscribe", ARC_KEYS_RANGE, 1, -1, 1, RW},
        {"sunsubscribe", ARC_KEYS_RANGE, 1, -1, 1, RW},
    };
    CHECK(NULL, w);
}

static void builtin_keyless_commands_are_known(void **state)
{
    (void)state;
    static const want w[] = {
        NONE("ping", RW), NONE("INFO", RW), NONE("cluster", RW), NONE("config", RW),
        NONE("dbsize", RO), NONE("flushall", RW), NONE("flushdb", RW), NONE("scan", RO),
        NONE("keys", RO), NONE("randomkey", RO), NONE("script", RW), NONE("function", RW),
        NONE("publish", RW), NONE("subscribe", RW), NONE("psubscribe", RW), NONE("multi", RW),
        NONE("exec", RW), NONE("hello", RW), NONE("auth", RW), NONE("select", RW),
        NONE("client", RW), NONE("command", RW), NONE("wait", RW), NONE("waitaof", RW),
        NONE("time", RW), NONE("echo", RW), NONE("asking", RW), NONE("readonly", RW),
    };
    CHECK(NULL, w);
}

static void builtin_misses_are_misses(void **state)
{
    (void)state;
    static const char *const misses[] = {"", "g", "ge", "gett", "getx", "nope", "object|nope",
                                         "get|x", "mod.get", "zunionstor", "zzz", "\xff"};
    arc_keyspec s;
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        if (arc__keypos_builtin(misses[i], strlen(misses[i]), &s))
            fail_msg("'%s' is found", misses[i]);
    assert_false(arc__keypos_builtin(NULL, 0, &s));
    assert_false(arc__keytable_find(NULL, NULL, 0, NULL, 0, &s));
    assert_false(arc__keytable_find(NULL, "nope", 4, "x", 1, &s));
    /* The length counts, not a NUL: "get\0" is not "get". */
    assert_false(arc__keypos_builtin("get\0", 4, &s));
    assert_true(arc__keypos_builtin("getx", 3, NULL));
}

static void builtin_subcommands_and_containers(void **state)
{
    (void)state;
    static const want w[] = {
        {"object encoding", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"OBJECT FREQ", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"object idletime", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"object refcount", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"xinfo stream", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"XInfo Groups", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"xinfo consumers", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"memory usage", ARC_KEYS_RANGE, 2, 2, 1, RO},
        {"xgroup create", ARC_KEYS_RANGE, 2, 2, 1, RW},
        {"xgroup setid", ARC_KEYS_RANGE, 2, 2, 1, RW},
        {"xgroup createconsumer", ARC_KEYS_RANGE, 2, 2, 1, RW},
        /* A subcommand without keys falls back to its container. */
        NONE("object help", RW), NONE("memory stats", RW), NONE("xinfo help", RW),
        NONE("client list", RW), NONE("config get", RW), NONE("cluster shards", RW),
        NONE("object", RW),
        /* An argument of a command that is not a container changes nothing. */
        KEY1("get object", RO), KEY1("get |", RO),
    };
    CHECK(NULL, w);
}

/* ------------------------------------------------------------------------ */
/* The walk */

typedef struct keys_seen {
    char text[256]; /* the keys, comma-separated */
    int stop_after; /* 0: never stop */
    int seen;
} keys_seen;

static bool collect(const char *key, size_t len, void *data)
{
    keys_seen *k = data;
    size_t at = strlen(k->text);
    snprintf(k->text + at, sizeof k->text - at, "%s%.*s", at > 0 ? "," : "", (int)len, key);
    k->seen++;
    return k->stop_after == 0 || k->seen < k->stop_after;
}

/* Encodes the command (arc_format's rules: split on spaces), finds its
 * spec (the built-in table, the first argument as a subcommand) and walks
 * it. Returns what the walk returned; the keys land in *seen. */
static long walk_with(const arc_keytable *t, keys_seen *seen, const char *cmd)
{
    arc_buffer *b = arc_buffer_new(0, NULL);
    assert_non_null(b);
    assert_int_equal(arc_format(b, cmd), ARC_OK);
    arc_cmdview args, peek;
    const char *name = NULL, *sub = NULL;
    size_t len = 0, sublen = 0;
    assert_true(arc__cmdview_begin(&args, arc_buffer_data(b), arc_buffer_len(b)));
    size_t argc = args.left;
    assert_true(arc__cmdview_next(&args, &name, &len));
    peek = args;
    if (!arc__cmdview_next(&peek, &sub, &sublen))
        sub = NULL;
    arc_keyspec spec;
    if (!arc__keytable_find(t, name, len, sub, sublen, &spec))
        fail_msg("'%s': no spec", cmd);
    long n = arc__keys_walk(&spec, &args, argc, collect, seen);
    arc_buffer_free(b);
    return n;
}

/* The command's keys are `keys` (comma-separated; "" for none). */
static void keys_are(const char *cmd, const char *keys)
{
    keys_seen seen = {"", 0, 0};
    long n = walk_with(NULL, &seen, cmd);
    if (n < 0)
        fail_msg("'%s': the walk refused it, expected keys '%s'", cmd, keys);
    if (strcmp(seen.text, keys) != 0)
        fail_msg("'%s': keys '%s', expected '%s'", cmd, seen.text, keys);
    assert_int_equal(n, seen.seen);
}

/* The command does not fit its spec: -1, and no key was handed out. */
static void does_not_fit(const char *cmd)
{
    keys_seen seen = {"", 0, 0};
    long n = walk_with(NULL, &seen, cmd);
    if (n != -1)
        fail_msg("'%s': %ld keys ('%s'), expected it refused", cmd, n, seen.text);
    if (seen.seen != 0)
        fail_msg("'%s': refused after handing out '%s'", cmd, seen.text);
}

static void walk_ranges(void **state)
{
    (void)state;
    keys_are("GET k", "k");
    keys_are("SET k v EX 10", "k");
    keys_are("MGET a b c", "a,b,c");
    keys_are("MSET a 1 b 2 c 3", "a,b,c");
    keys_are("MSETNX a 1", "a");
    keys_are("RENAME from to", "from,to");
    keys_are("BLPOP a b c 5", "a,b,c");
    keys_are("BITOP AND dest s1 s2", "dest,s1,s2");
    keys_are("OBJECT ENCODING k", "k");
    keys_are("XINFO STREAM s FULL", "s");
    keys_are("MEMORY USAGE k SAMPLES 0", "k");
    keys_are("XGROUP CREATE s g $ MKSTREAM", "s");
    keys_are("SSUBSCRIBE ch1 ch2", "ch1,ch2");
    keys_are("SPUBLISH ch msg", "ch");
    keys_are("SORT k BY w STORE dst", "k");
    /* A list that may be empty is empty; a key that must be there is not. */
    keys_are("SUNSUBSCRIBE", "");
    keys_are("DEL", "");
    keys_are("BLPOP 5", "");
    does_not_fit("GET");
    does_not_fit("RENAME a");
    does_not_fit("OBJECT ENCODING");
    /* No keys. */
    keys_are("PING", "");
    keys_are("INFO keyspace", "");
    keys_are("PUBLISH ch msg", "");
    keys_are("MIGRATE h 6379 k 0 1000", "");
    keys_are("OBJECT HELP", "");
}

static void walk_numkeys(void **state)
{
    (void)state;
    keys_are("EVAL script 0", "");
    keys_are("EVAL script 0 a1 a2", "");
    keys_are("EVAL script 2 k1 k2 a1", "k1,k2");
    keys_are("evalsha abc 1 k", "k");
    keys_are("FCALL f 2 k1 k2", "k1,k2");
    keys_are("FCALL_RO f 1 k arg", "k");
    keys_are("ZUNIONSTORE dst 2 a b WEIGHTS 1 2", "dst,a,b");
    keys_are("ZINTERSTORE dst 1 a", "dst,a");
    keys_are("ZDIFFSTORE dst 0", "dst");
    keys_are("ZUNION 2 a b WITHSCORES", "a,b");
    keys_are("ZINTERCARD 3 a b c LIMIT 1", "a,b,c");
    keys_are("SINTERCARD 1 s", "s");
    keys_are("LMPOP 2 a b LEFT COUNT 2", "a,b");
    keys_are("ZMPOP 1 z MIN", "z");
    keys_are("BLMPOP 0.5 2 a b RIGHT", "a,b");
    keys_are("BZMPOP 0 1 z MAX", "z");
    /* A count that runs past the arguments, or is not a count. */
    does_not_fit("EVAL script 3 k1 k2");
    does_not_fit("EVAL script x k1");
    does_not_fit("EVAL script -1 k1");
    does_not_fit("EVAL script +1 k1");
    does_not_fit("EVAL script 01 k1");
    does_not_fit("EVAL script 1k k1");
    does_not_fit("EVAL script 99999999999999999999999 k1");
    does_not_fit("EVAL script");
    does_not_fit("EVAL");
    does_not_fit("ZUNIONSTORE dst");
    does_not_fit("ZUNIONSTORE dst 3 a b");
    does_not_fit("BLMPOP 0");
}

static void walk_streams(void **state)
{
    (void)state;
    keys_are("XREAD STREAMS s 0", "s");
    keys_are("XREAD COUNT 2 STREAMS s1 s2 0 0", "s1,s2");
    keys_are("xread block 0 streams a b c $ $ $", "a,b,c");
    keys_are("XREAD BLOCK 100 COUNT 5 Streams s $", "s");
    keys_are("XREADGROUP GROUP g c STREAMS k >", "k");
    keys_are("XREADGROUP GROUP g c COUNT 1 BLOCK 0 NOACK STREAMS a b > >", "a,b");
    /* Option values are not the keyword, whatever they spell. */
    keys_are("XREADGROUP GROUP streams streams STREAMS k >", "k");
    keys_are("XREAD COUNT streams STREAMS k 0", "k");
    /* Keys themselves may be called "streams". */
    keys_are("XREAD STREAMS streams streams", "streams");
    does_not_fit("XREAD STREAMS s");
    does_not_fit("XREAD STREAMS a b c");
    does_not_fit("XREAD STREAMS");
    does_not_fit("XREAD COUNT 1 s 0");
    does_not_fit("XREAD COUNT STREAMS s 0"); /* STREAMS is COUNT's value */
    does_not_fit("XREADGROUP GROUP g STREAMS k >");
    does_not_fit("XREAD");
}

static void walk_stops_when_asked_and_refuses_bad_specs(void **state)
{
    (void)state;
    keys_seen seen = {"", 2, 0};
    assert_int_equal(walk_with(NULL, &seen, "MGET a b c d"), 2);
    assert_string_equal(seen.text, "a,b");

    arc_buffer *b = arc_buffer_new(0, NULL);
    assert_non_null(b);
    assert_int_equal(arc_format(b, "X a b c"), ARC_OK);
    arc_cmdview args;
    const char *name = NULL;
    size_t len = 0;
    assert_true(arc__cmdview_begin(&args, arc_buffer_data(b), arc_buffer_len(b)));
    assert_true(arc__cmdview_next(&args, &name, &len));
    keys_seen k = {"", 0, 0};
    static const arc_keyspec bad[] = {
        {ARC_KEYS_RANGE, 1, 2, 0, false},   {ARC_KEYS_RANGE, 0, 2, 1, false},
        {ARC_KEYS_RANGE, -1, 2, 1, false},  {ARC_KEYS_NUMKEYS, 0, 0, 1, false},
        {ARC_KEYS_NUMKEYS, 1, 1, 1, false}, {ARC_KEYS_NUMKEYS, 1, -1, 1, false},
        {(arc_keys_kind)42, 1, 1, 1, false},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (arc__keys_walk(&bad[i], &args, 4, collect, &k) != -1)
            fail_msg("bad spec %zu walked", i);
    assert_int_equal(k.seen, 0);
    arc_keyspec range = {ARC_KEYS_RANGE, 1, -1, 1, false};
    assert_int_equal(arc__keys_walk(NULL, &args, 4, collect, &k), -1);
    assert_int_equal(arc__keys_walk(&range, NULL, 4, collect, &k), -1);
    assert_int_equal(arc__keys_walk(&range, &args, 4, NULL, &k), -1);
    /* An argc past the arguments there are is held to them. */
    assert_int_equal(arc__keys_walk(&range, &args, 1000, collect, &k), 3);
    assert_string_equal(k.text, "a,b,c");
    /* A step walks every step-th argument up to the last. */
    keys_seen k3 = {"", 0, 0};
    arc_keyspec step3 = {ARC_KEYS_RANGE, 1, -1, 2, false};
    assert_int_equal(arc__keys_walk(&step3, &args, 4, collect, &k3), 2);
    assert_string_equal(k3.text, "a,c");
    arc_buffer_free(b);
}

/* ------------------------------------------------------------------------ */
/* A COMMAND reply, in the shapes Redis 7 sends: 10 elements per entry
 * (flags, ACL categories, tips and key specs as sets in RESP3), the
 * subcommands of a container in element 9, and a module's entries. */

static const char command_reply[] =
    "[ [ 'get' :2 < +readonly +fast > :1 :1 :1 < +@read +@string +@fast > < >"
    "    < { 'flags' < +RO +access > 'begin_search' { 'type' 'index' 'spec' { 'index' :1 } }"
    "        'find_keys' { 'type' 'range' 'spec' { 'lastkey' :0 'keystep' :1 'limit' :0 } } } >"
    "    [ ] ]"
    "  [ 'mset' :-3 < +write +denyoom > :1 :-1 :2 < +@write +@string +@slow > < > < > [ ] ]"
    "  [ 'ping' :-1 < +fast +stale > :0 :0 :0 < +@fast +@connection > < > < > [ ] ]"
    "  [ 'eval' :-3 < +noscript +stale +skip_monitor +no_mandatory_keys +movablekeys > :0 :0 :0"
    "    < +@slow +@scripting > < > < > [ ] ]"
    "  [ 'zunionstore' :-4 < +write +denyoom +movablekeys > :1 :1 :1 < +@write > < > < > [ ] ]"
    "  [ 'xread' :-4 < +readonly +blocking +movablekeys > :0 :0 :0 < +@read > < > < > [ ] ]"
    "  [ 'fcall_ro' :-3 < +noscript +movablekeys > :0 :0 :0 < +@slow > < > < > [ ] ]"
    "  [ 'object' :-2 < > :0 :0 :0 < +@slow > < > < >"
    "    [ [ 'object|encoding' :3 < +readonly > :2 :2 :1 < +@keyspace +@read > "
    "        < +nondeterministic_output > < > < > ]"
    "      [ 'object|help' :2 < +loading +stale > :0 :0 :0 < +@keyspace > < > < > < > ] ] ]"
    "  [ 'strlen' :2 < +fast > :1 :1 :1 < +@string > < > < > [ ] ]"
    "  [ 'mod.get' :2 < +readonly > :1 :1 :1 ]"
    "  [ 'MOD.Move' :-2 < +write +movablekeys > :0 :0 :0 < > < > < > [ ] ]"
    "  [ 'mod.keys' :-3 < +write > :2 :-2 :3 < > < > < > [ ] ]"
    "  [ 'mod.box' :-2 < > :0 :0 :0 < > < > < >"
    "    [ [ 'mod.box|put' :-4 < +write > :2 :2 :1 ] ] 'a newer element' ]"
    "  [ 'get' :2 < +write > :5 :5 :1 < > < > < > [ ] ] ]";

static void command_table(arc_keytable **t, int resp)
{
    arc_reply *r = reply_of(command_reply, resp);
    assert_int_equal(arc__keytable_from_command(t, r, NULL), ARC_OK);
    assert_non_null(*t);
    arc_reply_free(r);
}

static void command_reply_gives_the_specs(void **state)
{
    (void)state;
    static const want w[] = {
        /* The first of two entries with one name is the one kept. */
        KEY1("get", RO), {"mset", ARC_KEYS_RANGE, 1, -1, 2, RW}, NONE("ping", RW),
        /* movablekeys on a command the built-in table knows: its spec, and
         * the server's readonly flag. */
        {"eval", ARC_KEYS_NUMKEYS, 2, 0, 1, RW}, {"ZUNIONSTORE", ARC_KEYS_NUMKEYS, 2, 1, 1, RW},
        {"xread", ARC_KEYS_STREAMS, 1, 0, 1, RO}, {"fcall_ro", ARC_KEYS_NUMKEYS, 2, 0, 1, RW},
        {"object encoding", ARC_KEYS_RANGE, 2, 2, 1, RO}, NONE("object help", RW),
        /* The server lists no FREQ: the built-in subcommand comes before
         * the server's container. */
        {"object freq", ARC_KEYS_RANGE, 2, 2, 1, RO},
        /* The server's spec wins over the built-in one. */
        KEY1("strlen", RW),
        /* Module commands: an old-style 6-element entry, movablekeys on a
         * command nobody knows, an odd range, a container. */
        KEY1("mod.get", RO), {"mod.move", ARC_KEYS_UNKNOWN, 0, 0, 0, RW},
        {"MOD.KEYS", ARC_KEYS_RANGE, 2, -2, 3, RW}, {"mod.box put", ARC_KEYS_RANGE, 2, 2, 1, RW},
        NONE("mod.box take", RW),
        /* What the server did not list comes from the built-in table. */
        KEY1("hset", RW), {"xinfo stream", ARC_KEYS_RANGE, 2, 2, 1, RO},
    };
    for (int resp = 2; resp <= 3; resp++) {
        arc_keytable *t;
        command_table(&t, resp);
        CHECK(t, w);
        arc_keyspec s;
        assert_false(arc__keytable_find(t, "mod.nope", 8, NULL, 0, &s));
        arc__keytable_free(t);
    }
}

static void command_table_walks_module_keys(void **state)
{
    (void)state;
    arc_keytable *t;
    command_table(&t, 3);
    keys_seen seen = {"", 0, 0};
    assert_int_equal(walk_with(t, &seen, "MOD.KEYS x k1 a b k2 c d tail"), 2);
    assert_string_equal(seen.text, "k1,k2");
    keys_seen put = {"", 0, 0};
    assert_int_equal(walk_with(t, &put, "mod.box put k v"), 1);
    assert_string_equal(put.text, "k");
    keys_seen mv = {"", 0, 0};
    assert_int_equal(walk_with(t, &mv, "mod.move a b"), 0);
    arc__keytable_free(t);
    arc__keytable_free(NULL);
}

static void empty_command_reply_leaves_the_builtin_table(void **state)
{
    (void)state;
    for (int resp = 2; resp <= 3; resp++) {
        arc_reply *r = reply_of("[ ]", resp);
        arc_keytable *t = NULL;
        assert_int_equal(arc__keytable_from_command(&t, r, NULL), ARC_OK);
        static const want w[] = {KEY1("get", RO), {"eval", ARC_KEYS_NUMKEYS, 2, 0, 1, RW}};
        CHECK(t, w);
        arc__keytable_free(t);
        arc_reply_free(r);
    }
}

/* Malformed COMMAND replies, each refused whole. */
static const struct {
    const char *name;
    const char *notation;
    int only; /* 0: both protocols, else that one */
} bad_commands[] = {
    {"an integer", ":1", 0},
    {"a null", "_", 0},
    {"a map", "{ 'get' [ ] }", 3},
    {"a set of entries", "< [ 'get' :2 < > :1 :1 :1 ] >", 3},
    {"an entry that is a string", "[ 'get' ]", 0},
    {"an entry of five elements", "[ [ 'get' :2 < > :1 :1 ] ]", 0},
    {"a name that is an integer", "[ [ :1 :2 < > :1 :1 :1 ] ]", 0},
    {"an empty name", "[ [ '' :2 < > :1 :1 :1 ] ]", 0},
    {"an arity that is a string", "[ [ 'get' '2' < > :1 :1 :1 ] ]", 0},
    {"flags that are a string", "[ [ 'get' :2 'readonly' :1 :1 :1 ] ]", 0},
    {"flags that are a map", "[ [ 'get' :2 { } :1 :1 :1 ] ]", 3},
    {"a flag that is an integer", "[ [ 'get' :2 < +readonly :1 > :1 :1 :1 ] ]", 0},
    {"a first key that is a string", "[ [ 'get' :2 < > '1' :1 :1 ] ]", 0},
    {"a last key that is a double", "[ [ 'get' :2 < > :1 ,1 :1 ] ]", 3},
    {"a step that is null", "[ [ 'get' :2 < > :1 :1 _ ] ]", 0},
    {"a negative first key", "[ [ 'get' :2 < > :-1 :1 :1 ] ]", 0},
    {"a negative step", "[ [ 'get' :2 < > :1 :1 :-1 ] ]", 0},
    {"a step of 0 with keys", "[ [ 'get' :2 < > :1 :1 :0 ] ]", 0},
    {"a last key of 0 with keys", "[ [ 'get' :2 < > :1 :0 :1 ] ]", 0},
    {"a last key before the first", "[ [ 'get' :2 < > :3 :2 :1 ] ]", 0},
    {"a first key past int", "[ [ 'get' :2 < > :2147483648 :-1 :1 ] ]", 0},
    {"a last key past int", "[ [ 'get' :2 < > :1 :-2147483649 :1 ] ]", 0},
    {"subcommands that are an integer", "[ [ 'x' :2 < > :0 :0 :0 < > < > < > :5 ] ]", 0},
    {"subcommands that are a map", "[ [ 'x' :2 < > :0 :0 :0 < > < > < > { } ] ]", 3},
    {"a subcommand that is a string", "[ [ 'x' :2 < > :0 :0 :0 < > < > < > [ 'x|y' ] ] ]", 0},
    {"a subcommand with a bad step",
     "[ [ 'x' :2 < > :0 :0 :0 < > < > < > [ [ 'x|y' :3 < > :2 :2 :0 ] ] ] ]", 0},
    {"a subcommand with subcommands that are an integer",
     "[ [ 'x' :2 < > :0 :0 :0 < > < > < > [ [ 'x|y' :3 < > :2 :2 :1 < > < > < > :1 ] ] ] ]", 0},
    {"a good entry then a bad one", "[ [ 'a' :2 < > :1 :1 :1 ] [ 'b' :2 < > :1 :1 ] ]", 0},
};

static void malformed_command_replies_are_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_commands / sizeof bad_commands[0]; i++) {
        for (int resp = 2; resp <= 3; resp++) {
            if (bad_commands[i].only != 0 && bad_commands[i].only != resp)
                continue;
            arc_reply *r = reply_of(bad_commands[i].notation, resp);
            static char marker;
            arc_keytable *t = (arc_keytable *)(void *)&marker; /* to see it cleared */
            int rc = arc__keytable_from_command(&t, r, NULL);
            if (rc != ARC_ERR_PROTOCOL)
                fail_msg("%s (RESP%d): %s", bad_commands[i].name, resp, arc_status_name(rc));
            assert_null(t);
            arc_reply_free(r);
        }
    }
    arc_keytable *t;
    assert_int_equal(arc__keytable_from_command(&t, NULL, NULL), ARC_ERR_PROTOCOL);
    arc_reply *e = from_resp("-ERR unknown command 'COMMAND'\r\n", 32);
    assert_int_equal(arc__keytable_from_command(&t, e, NULL), ARC_ERR_PROTOCOL);
    assert_null(t);
    arc_reply_free(e);
}

static void command_allocation_failure_leaves_nothing(void **state)
{
    (void)state;
    arc_reply *r = reply_of(command_reply, 3);
    for (long fail_at = 1;; fail_at++) {
        failing_alloc fa = {0, fail_at, 0, 0};
        arc_allocator a = failing_allocator(&fa);
        arc_keytable *t = NULL;
        int rc = arc__keytable_from_command(&t, r, &a);
        if (fa.failed == 0) {
            assert_int_equal(rc, ARC_OK);
            assert_int_equal(fa.live, 1); /* the table is one block */
            check_spec(t, &(want)KEY1("mod.get", RO));
            arc__keytable_free(t);
            assert_int_equal(fa.live, 0);
            break;
        }
        assert_int_equal(rc, ARC_ERR_NOMEM);
        assert_null(t);
        assert_int_equal(fa.live, 0);
    }
    arc_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_table_is_sorted_lowercase_and_whole),
        cmocka_unit_test(builtin_strings_and_bitmaps),
        cmocka_unit_test(builtin_lists_hashes_sets),
        cmocka_unit_test(builtin_sorted_sets_streams_geo_hll),
        cmocka_unit_test(builtin_generic_and_scripting),
        cmocka_unit_test(builtin_keyless_commands_are_known),
        cmocka_unit_test(builtin_misses_are_misses),
        cmocka_unit_test(builtin_subcommands_and_containers),
        cmocka_unit_test(walk_ranges),
        cmocka_unit_test(walk_numkeys),
        cmocka_unit_test(walk_streams),
        cmocka_unit_test(walk_stops_when_asked_and_refuses_bad_specs),
        cmocka_unit_test(command_reply_gives_the_specs),
        cmocka_unit_test(command_table_walks_module_keys),
        cmocka_unit_test(empty_command_reply_leaves_the_builtin_table),
        cmocka_unit_test(malformed_command_replies_are_refused),
        cmocka_unit_test(command_allocation_failure_leaves_nothing),
    };
    return cmocka_run_group_tests_name("keypos", tests, NULL, NULL);
}

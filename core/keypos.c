/* keypos.c: where a command's keys are: the built-in table of core
 * commands, the table a server describes with COMMAND, and the walk that
 * hands the keys of one encoded command to the router. */
#include "keypos.h"

#include "alloc.h"

#include <arc/status.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One name (lowercase, "container|sub" for a subcommand) and its spec. */
typedef struct kp_entry {
    const char *name;
    size_t len;
    arc_keyspec spec;
    bool container; /* has "name|sub" entries: look the subcommand up */
} kp_entry;

struct arc_keytable {
    kp_entry *v; /* sorted by name, bytewise; each name once */
    size_t n;
    bool has_subs; /* the reply listed subcommands (Redis 7 and later) */
    char *names; /* every entry's name, one block */
    arc_allocator alloc;
};

#define RO true
#define RW false
#define E(n, kind, f, l, s, ro) {n, sizeof(n) - 1, {ARC_KEYS_##kind, f, l, s, ro}, false}
#define CONTAINER(n) {n, sizeof(n) - 1, {ARC_KEYS_NONE, 0, 0, 0, RW}, true}
#define KEYLESS(n) E(n, NONE, 0, 0, 0, RW)
#define KEYLESS_RO(n) E(n, NONE, 0, 0, 0, RO)
#define KEY1(n) E(n, RANGE, 1, 1, 1, RW)
#define KEY1_RO(n) E(n, RANGE, 1, 1, 1, RO)
#define RANGE(n, f, l, s, ro) E(n, RANGE, f, l, s, ro)
#define NUMKEYS(n, at, extra, ro) E(n, NUMKEYS, at, extra, 1, ro)
#define STREAMS(n, ro) E(n, STREAMS, 1, 0, 1, ro)
#define UNKNOWN(n) E(n, UNKNOWN, 0, 0, 0, RW)

/* The core commands of Redis 7 (7.0's COMMAND reply, plus WAITAOF of 7.2,
 * the hash field expiry commands of 7.4, HGETDEL/HGETEX/HSETEX of 8.0 and
 * XDELEX/XACKDEL of 8.2), sorted bytewise for the binary search; the unit
 * test checks the order. Positions and "readonly" are the server's; where
 * the server says "movablekeys" the kind says how to find them:
 * - NUMKEYS: EVAL*, FCALL* (count at 2), ZUNION, ZINTER, ZDIFF, ZINTERCARD,
 *   SINTERCARD, LMPOP, ZMPOP (count at 1), BLMPOP, BZMPOP (timeout at 1,
 *   count at 2), Z*STORE (destination at 1, count at 2);
 * - STREAMS: XREAD, XREADGROUP;
 * - the first key only: SORT and GEORADIUS*, whose STORE key must share
 *   its slot anyway (the server refuses it otherwise);
 * - UNKNOWN: MIGRATE, whose key may be "" with a KEYS list after options.
 * Keyless commands are listed so that "known, no key" differs from "not
 * known". SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE route by their channels,
 * which the server lists as keys; PUBLISH goes anywhere. */
static const kp_entry builtin[] = {
    KEYLESS("acl"), KEY1("append"), KEYLESS("asking"), KEYLESS("auth"), KEYLESS("bgrewriteaof"),
    KEYLESS("bgsave"), KEY1_RO("bitcount"), KEY1("bitfield"), KEY1_RO("bitfield_ro"),
    RANGE("bitop", 2, -1, 1, RW), KEY1_RO("bitpos"), RANGE("blmove", 1, 2, 1, RW),
    NUMKEYS("blmpop", 2, 0, RW), RANGE("blpop", 1, -2, 1, RW), RANGE("brpop", 1, -2, 1, RW),
    RANGE("brpoplpush", 1, 2, 1, RW), NUMKEYS("bzmpop", 2, 0, RW),
    RANGE("bzpopmax", 1, -2, 1, RW), RANGE("bzpopmin", 1, -2, 1, RW), KEYLESS("client"),
    KEYLESS("cluster"), KEYLESS("command"), KEYLESS("config"), RANGE("copy", 1, 2, 1, RW),
    KEYLESS_RO("dbsize"), KEYLESS("debug"), KEY1("decr"), KEY1("decrby"),
    RANGE("del", 1, -1, 1, RW), KEYLESS("discard"), KEY1_RO("dump"), KEYLESS("echo"),
    NUMKEYS("eval", 2, 0, RW), NUMKEYS("eval_ro", 2, 0, RO), NUMKEYS("evalsha", 2, 0, RW),
    NUMKEYS("evalsha_ro", 2, 0, RO), KEYLESS("exec"), RANGE("exists", 1, -1, 1, RO),
    KEY1("expire"), KEY1("expireat"), KEY1_RO("expiretime"), KEYLESS("failover"),
    NUMKEYS("fcall", 2, 0, RW), NUMKEYS("fcall_ro", 2, 0, RO), KEYLESS("flushall"),
    KEYLESS("flushdb"), KEYLESS("function"), KEY1("geoadd"), KEY1_RO("geodist"),
    KEY1_RO("geohash"), KEY1_RO("geopos"), KEY1("georadius"), KEY1_RO("georadius_ro"),
    KEY1("georadiusbymember"), KEY1_RO("georadiusbymember_ro"), KEY1_RO("geosearch"),
    RANGE("geosearchstore", 1, 2, 1, RW), KEY1_RO("get"), KEY1_RO("getbit"), KEY1("getdel"),
    KEY1("getex"), KEY1_RO("getrange"), KEY1("getset"), KEY1("hdel"), KEYLESS("hello"),
    KEY1_RO("hexists"), KEY1("hexpire"), KEY1("hexpireat"), KEY1_RO("hexpiretime"),
    KEY1_RO("hget"), KEY1_RO("hgetall"), KEY1("hgetdel"), KEY1("hgetex"), KEY1("hincrby"),
    KEY1("hincrbyfloat"), KEY1_RO("hkeys"), KEY1_RO("hlen"), KEY1_RO("hmget"), KEY1("hmset"),
    KEY1("hpersist"), KEY1("hpexpire"), KEY1("hpexpireat"), KEY1_RO("hpexpiretime"),
    KEY1_RO("hpttl"), KEY1_RO("hrandfield"), KEY1_RO("hscan"), KEY1("hset"), KEY1("hsetex"),
    KEY1("hsetnx"), KEY1_RO("hstrlen"), KEY1_RO("httl"), KEY1_RO("hvals"), KEY1("incr"),
    KEY1("incrby"), KEY1("incrbyfloat"), KEYLESS("info"), KEYLESS_RO("keys"),
    KEYLESS("lastsave"), KEYLESS("latency"), RANGE("lcs", 1, 2, 1, RO), KEY1_RO("lindex"),
    KEY1("linsert"), KEY1_RO("llen"), RANGE("lmove", 1, 2, 1, RW), NUMKEYS("lmpop", 1, 0, RW),
    KEYLESS_RO("lolwut"), KEY1("lpop"), KEY1_RO("lpos"), KEY1("lpush"), KEY1("lpushx"),
    KEY1_RO("lrange"), KEY1("lrem"), KEY1("lset"), KEY1("ltrim"), CONTAINER("memory"),
    RANGE("memory|usage", 2, 2, 1, RO), RANGE("mget", 1, -1, 1, RO), UNKNOWN("migrate"),
    KEYLESS("module"), KEYLESS("monitor"), KEY1("move"), RANGE("mset", 1, -1, 2, RW),
    RANGE("msetnx", 1, -1, 2, RW), KEYLESS("multi"), CONTAINER("object"),
    RANGE("object|encoding", 2, 2, 1, RO), RANGE("object|freq", 2, 2, 1, RO),
    RANGE("object|idletime", 2, 2, 1, RO), RANGE("object|refcount", 2, 2, 1, RO),
    KEY1("persist"), KEY1("pexpire"), KEY1("pexpireat"), KEY1_RO("pexpiretime"), KEY1("pfadd"),
    RANGE("pfcount", 1, -1, 1, RO), RANGE("pfdebug", 2, 2, 1, RW),
    RANGE("pfmerge", 1, -1, 1, RW), KEYLESS("pfselftest"), KEYLESS("ping"), KEY1("psetex"),
    KEYLESS("psubscribe"), KEYLESS("psync"), KEY1_RO("pttl"), KEYLESS("publish"),
    KEYLESS("pubsub"), KEYLESS("punsubscribe"), KEYLESS("quit"), KEYLESS_RO("randomkey"),
    KEYLESS("readonly"), KEYLESS("readwrite"), RANGE("rename", 1, 2, 1, RW),
    RANGE("renamenx", 1, 2, 1, RW), KEYLESS("replconf"), KEYLESS("replicaof"), KEYLESS("reset"),
    KEY1("restore"), KEY1("restore-asking"), KEYLESS("role"), KEY1("rpop"),
    RANGE("rpoplpush", 1, 2, 1, RW), KEY1("rpush"), KEY1("rpushx"), KEY1("sadd"),
    KEYLESS("save"), KEYLESS_RO("scan"), KEY1_RO("scard"), KEYLESS("script"),
    RANGE("sdiff", 1, -1, 1, RO), RANGE("sdiffstore", 1, -1, 1, RW), KEYLESS("select"),
    KEY1("set"), KEY1("setbit"), KEY1("setex"), KEY1("setnx"), KEY1("setrange"),
    KEYLESS("shutdown"), RANGE("sinter", 1, -1, 1, RO), NUMKEYS("sintercard", 1, 0, RO),
    RANGE("sinterstore", 1, -1, 1, RW), KEY1_RO("sismember"), KEYLESS("slaveof"),
    KEYLESS("slowlog"), KEY1_RO("smembers"), KEY1_RO("smismember"), RANGE("smove", 1, 2, 1, RW),
    KEY1("sort"), KEY1_RO("sort_ro"), KEY1("spop"), KEY1("spublish"), KEY1_RO("srandmember"),
    KEY1("srem"), KEY1_RO("sscan"), RANGE("ssubscribe", 1, -1, 1, RW), KEY1_RO("strlen"),
    KEYLESS("subscribe"), KEY1_RO("substr"), RANGE("sunion", 1, -1, 1, RO),
    RANGE("sunionstore", 1, -1, 1, RW), RANGE("sunsubscribe", 1, -1, 1, RW), KEYLESS("swapdb"),
    KEYLESS("sync"), KEYLESS("time"), RANGE("touch", 1, -1, 1, RO), KEY1_RO("ttl"),
    KEY1_RO("type"), RANGE("unlink", 1, -1, 1, RW), KEYLESS("unsubscribe"), KEYLESS("unwatch"),
    KEYLESS("wait"), KEYLESS("waitaof"), RANGE("watch", 1, -1, 1, RW), KEY1("xack"),
    KEY1("xackdel"), KEY1("xadd"), KEY1("xautoclaim"), KEY1("xclaim"), KEY1("xdel"),
    KEY1("xdelex"), CONTAINER("xgroup"), RANGE("xgroup|create", 2, 2, 1, RW),
    RANGE("xgroup|createconsumer", 2, 2, 1, RW), RANGE("xgroup|delconsumer", 2, 2, 1, RW),
    RANGE("xgroup|destroy", 2, 2, 1, RW), RANGE("xgroup|setid", 2, 2, 1, RW), CONTAINER("xinfo"),
    RANGE("xinfo|consumers", 2, 2, 1, RO), RANGE("xinfo|groups", 2, 2, 1, RO),
    RANGE("xinfo|stream", 2, 2, 1, RO), KEY1_RO("xlen"), KEY1_RO("xpending"), KEY1_RO("xrange"),
    STREAMS("xread", RO), STREAMS("xreadgroup", RW), KEY1_RO("xrevrange"), KEY1("xsetid"),
    KEY1("xtrim"), KEY1("zadd"), KEY1_RO("zcard"), KEY1_RO("zcount"),
    NUMKEYS("zdiff", 1, 0, RO), NUMKEYS("zdiffstore", 2, 1, RW), KEY1("zincrby"),
    NUMKEYS("zinter", 1, 0, RO), NUMKEYS("zintercard", 1, 0, RO),
    NUMKEYS("zinterstore", 2, 1, RW), KEY1_RO("zlexcount"), NUMKEYS("zmpop", 1, 0, RW),
    KEY1_RO("zmscore"), KEY1("zpopmax"), KEY1("zpopmin"), KEY1_RO("zrandmember"),
    KEY1_RO("zrange"), KEY1_RO("zrangebylex"), KEY1_RO("zrangebyscore"),
    RANGE("zrangestore", 1, 2, 1, RW), KEY1_RO("zrank"), KEY1("zrem"), KEY1("zremrangebylex"),
    KEY1("zremrangebyrank"), KEY1("zremrangebyscore"), KEY1_RO("zrevrange"),
    KEY1_RO("zrevrangebylex"), KEY1_RO("zrevrangebyscore"), KEY1_RO("zrevrank"),
    KEY1_RO("zscan"), KEY1_RO("zscore"), NUMKEYS("zunion", 1, 0, RO),
    NUMKEYS("zunionstore", 2, 1, RW),
};

#define NBUILTIN (sizeof builtin / sizeof builtin[0])

/* ------------------------------------------------------------------------ */
/* Names: compared as ASCII without case, never through <ctype.h>. */

static unsigned char lower(char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* A name looked up: `name`, or "name|sub" when sub is not NULL. */
typedef struct kp_key {
    const char *name;
    size_t len;
    const char *sub;
    size_t sublen;
} kp_key;

static size_t key_len(const kp_key *k)
{
    return k->sub == NULL ? k->len : k->len + 1 + k->sublen;
}

static unsigned char key_at(const kp_key *k, size_t i)
{
    if (i < k->len)
        return lower(k->name[i]);
    if (i == k->len)
        return '|';
    return lower(k->sub[i - k->len - 1]);
}

/* Bytewise order with a prefix first, as the tables are sorted. */
static int key_cmp(const kp_entry *e, const kp_key *k)
{
    size_t kn = key_len(k), n = e->len < kn ? e->len : kn;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)e->name[i], b = key_at(k, i);
        if (a != b)
            return a < b ? -1 : 1;
    }
    return e->len < kn ? -1 : e->len > kn ? 1 : 0;
}

static const kp_entry *search(const kp_entry *v, size_t n, const kp_key *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(&v[mid], k);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool arc__keypos_builtin(const char *name, size_t len, arc_keyspec *out)
{
    if (name == NULL)
        return false;
    kp_key k = {name, len, NULL, 0};
    const kp_entry *e = search(builtin, NBUILTIN, &k);
    if (e != NULL && out != NULL)
        *out = e->spec;
    return e != NULL;
}

bool arc__keypos_builtin_entry(size_t i, const char **name, size_t *len, arc_keyspec *out)
{
    if (i >= NBUILTIN)
        return false;
    *name = builtin[i].name;
    *len = builtin[i].len;
    *out = builtin[i].spec;
    return true;
}

/* ------------------------------------------------------------------------ */
/* A COMMAND reply: [[name, arity, flags, first, last, step, acl, tips,
 * key specs, subcommands], ...]; RESP3 sends flags (and the rest of the
 * lists) as sets. Only the first six elements and the subcommands are
 * read; whatever newer servers append is skipped. */

static bool is_text(const arc_reply *r)
{
    return r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS;
}

static bool is_list(const arc_reply *r)
{
    return r->type == ARC_REPLY_ARRAY || r->type == ARC_REPLY_SET;
}

static bool has_flag(const arc_reply *flags, const char *f)
{
    size_t n = strlen(f);
    for (size_t i = 0; i < flags->elements; i++) {
        const arc_reply *x = flags->element[i];
        if (x->len == n && memcmp(x->str, f, n) == 0)
            return true;
    }
    return false;
}

static bool int_arg(const arc_reply *r, int *out)
{
    if (r->type != ARC_REPLY_INTEGER || r->integer < INT_MIN || r->integer > INT_MAX)
        return false;
    *out = (int)r->integer;
    return true;
}

/* Checks one entry and derives its spec. false for any shape COMMAND does
 * not give: the whole reply is then refused rather than half used. */
static bool read_entry(const arc_reply *e, arc_keyspec *spec, const arc_reply **subs)
{
    if (e->type != ARC_REPLY_ARRAY || e->elements < 6)
        return false;
    const arc_reply *name = e->element[0], *flags = e->element[2];
    int first, last, step;
    if (!is_text(name) || name->len == 0 || e->element[1]->type != ARC_REPLY_INTEGER ||
        !is_list(flags) || !int_arg(e->element[3], &first) || !int_arg(e->element[4], &last) ||
        !int_arg(e->element[5], &step))
        return false;
    for (size_t i = 0; i < flags->elements; i++)
        if (!is_text(flags->element[i]))
            return false;
    *subs = NULL;
    if (e->elements > 9) {
        if (!is_list(e->element[9]))
            return false;
        *subs = e->element[9];
    }
    bool readonly = has_flag(flags, "readonly");
    if (has_flag(flags, "movablekeys")) {
        /* The legacy positions are not the whole story: the built-in spec
         * knows the rest when it knows the command; the server still says
         * whether it writes. */
        if (!arc__keypos_builtin(name->str, name->len, spec))
            *spec = (arc_keyspec){ARC_KEYS_UNKNOWN, 0, 0, 0, false};
        spec->readonly = readonly;
        return true;
    }
    if (first < 0 || step < 0)
        return false;
    if (first == 0) {
        *spec = (arc_keyspec){ARC_KEYS_NONE, 0, 0, 0, readonly};
        return true;
    }
    if (step == 0 || last == 0 || (last > 0 && last < first))
        return false;
    *spec = (arc_keyspec){ARC_KEYS_RANGE, first, last, step, readonly};
    return true;
}

/* Orders entries by name, then by where they were in the reply (their
 * names sit in one block in that order), so that the first of two entries
 * with one name is the one kept. */
static int entry_order(const void *a, const void *b)
{
    const kp_entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name ? 1 : 0;
}

static void add_entry(arc_keytable *t, char **at, const arc_reply *name, const arc_keyspec *spec,
                      bool container)
{
    kp_entry *e = &t->v[t->n++];
    e->container = container;
    for (size_t i = 0; i < name->len; i++)
        (*at)[i] = (char)lower(name->str[i]);
    e->name = *at;
    e->len = name->len;
    e->spec = *spec;
    *at += name->len;
}

/* Two passes over the reply: the first checks it and counts the entries
 * and the bytes of their names, the second fills one block sized by the
 * first (the table, its entries, their names), so there is one allocation
 * to fail and one to free. */
int arc__keytable_from_command(arc_keytable **out, const arc_reply *r, const arc_allocator *alloc)
{
    *out = NULL;
    if (r == NULL || r->type != ARC_REPLY_ARRAY)
        return ARC_ERR_PROTOCOL;
    size_t n = 0, bytes = 0;
    arc_keyspec spec;
    const arc_reply *subs, *unused;
    for (size_t i = 0; i < r->elements; i++) {
        if (!read_entry(r->element[i], &spec, &subs))
            return ARC_ERR_PROTOCOL;
        n++;
        bytes += r->element[i]->element[0]->len;
        /* One level: Redis has containers and subcommands, nothing deeper. */
        for (size_t j = 0; subs != NULL && j < subs->elements; j++) {
            if (!read_entry(subs->element[j], &spec, &unused))
                return ARC_ERR_PROTOCOL;
            n++;
            bytes += subs->element[j]->element[0]->len;
        }
    }
    size_t head = sizeof(arc_keytable), body = arc__mul_size(n, sizeof(kp_entry));
    if (body > SIZE_MAX - head || bytes > SIZE_MAX - head - body)
        return ARC_ERR_NOMEM;
    arc_allocator a;
    arc__alloc_copy(&a, alloc);
    arc_keytable *t = arc_mem_alloc(&a, head + body + bytes);
    if (t == NULL)
        return ARC_ERR_NOMEM;
    t->alloc = a;
    t->v = (kp_entry *)(t + 1); /* kp_entry needs no more alignment than the table */
    t->n = 0;
    t->has_subs = false;
    t->names = (char *)(t->v + n);
    char *at = t->names;
    for (size_t i = 0; i < r->elements; i++) {
        read_entry(r->element[i], &spec, &subs);
        bool container = subs != NULL && subs->elements > 0;
        add_entry(t, &at, r->element[i]->element[0], &spec, container);
        for (size_t j = 0; subs != NULL && j < subs->elements; j++) {
            read_entry(subs->element[j], &spec, &unused);
            add_entry(t, &at, subs->element[j]->element[0], &spec, false);
        }
        if (subs != NULL)
            t->has_subs = true;
    }
    if (t->n > 1) {
        qsort(t->v, t->n, sizeof *t->v, entry_order);
        size_t w = 1;
        for (size_t i = 1; i < t->n; i++)
            if (t->v[i].len != t->v[w - 1].len ||
                memcmp(t->v[i].name, t->v[w - 1].name, t->v[i].len) != 0)
                t->v[w++] = t->v[i];
        t->n = w;
    }
    *out = t;
    return ARC_OK;
}

bool arc__keytable_find(const arc_keytable *t, const char *name, size_t len, const char *sub,
                        size_t sublen, arc_keyspec *out)
{
    return arc__keytable_find_ex(t, name, len, sub, sublen, out, NULL);
}

bool arc__keytable_find_ex(const arc_keytable *t, const char *name, size_t len, const char *sub,
                           size_t sublen, arc_keyspec *out, bool *is_container)
{
    if (name == NULL)
        return false;
    /* The name first, the server's table before the built-in one; then,
     * for a container only (OBJECT ENCODING has a key, OBJECT HELP none),
     * "name|sub" in the same order. Most commands are no container, so
     * routing them costs one search. A table from a server that lists no
     * subcommands (before Redis 7) cannot say what is a container: the
     * built-in table says then. */
    kp_key whole = {name, len, NULL, 0};
    const kp_entry *e = t != NULL ? search(t->v, t->n, &whole) : NULL;
    bool container;
    if (e != NULL && t->has_subs) {
        container = e->container;
    } else {
        const kp_entry *b = search(builtin, NBUILTIN, &whole);
        container = b != NULL && b->container;
        if (e == NULL)
            e = b;
    }
    if (is_container != NULL)
        *is_container = container;
    if (sub != NULL && container) {
        kp_key part = {name, len, sub, sublen};
        const kp_entry *s = t != NULL ? search(t->v, t->n, &part) : NULL;
        if (s == NULL)
            s = search(builtin, NBUILTIN, &part);
        if (s != NULL)
            e = s;
    }
    if (e != NULL && out != NULL)
        *out = e->spec;
    return e != NULL;
}

void arc__keytable_free(arc_keytable *t)
{
    if (t == NULL)
        return;
    arc_allocator a = t->alloc;
    arc_mem_free(&a, t);
}

/* ------------------------------------------------------------------------ */
/* The walk. Every form is checked against the arguments before the first
 * key is handed out, so that a command that does not fit its spec never
 * routes by half its keys. */

static bool ieq(const char *p, size_t n, const char *lower_word)
{
    size_t i = 0;
    for (; i < n && lower_word[i] != '\0'; i++)
        if (lower(p[i]) != (unsigned char)lower_word[i])
            return false;
    return i == n && lower_word[i] == '\0';
}

/* A count as Redis reads one: decimal digits, no sign, no leading zero.
 * Anything above `cap` is reported as cap + 1 (it does not fit anyway). */
static bool count_arg(const char *p, size_t n, size_t cap, size_t *out)
{
    if (n == 0 || (n > 1 && p[0] == '0'))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (v <= cap)
            v = v * 10 + (size_t)(p[i] - '0');
    }
    *out = v > cap ? cap + 1 : v;
    return true;
}

/* Steps `it` to argument `index` (`*at` is where it is now) and returns it. */
static bool arg_at(arc_cmdview *it, size_t *at, size_t index, const char **p, size_t *n)
{
    while (*at < index) {
        if (!arc__cmdview_next(it, p, n))
            return false;
        (*at)++;
    }
    return true;
}

long arc__keys_walk(const arc_keyspec *spec, const arc_cmdview *args, size_t argc,
                    arc_key_visit *fn, void *data)
{
    if (spec == NULL || args == NULL || fn == NULL)
        return -1;
    if (argc > args->left + 1)
        argc = args->left + 1; /* never past the arguments there are */
    /* Keys are the arguments lo..hi in steps of `step`, plus `extra` (0:
     * none), whichever form found them. */
    long long lo, hi, step = 1, extra = 0, last_arg = (long long)argc - 1;
    arc_cmdview it = *args;
    size_t at = 0, n;
    const char *p;
    switch (spec->kind) {
    case ARC_KEYS_NONE:
    case ARC_KEYS_UNKNOWN:
        return 0;
    case ARC_KEYS_RANGE:
        if (spec->first < 1 || spec->step < 1)
            return -1;
        lo = spec->first;
        step = spec->step;
        hi = spec->last < 0 ? (long long)argc + spec->last : spec->last;
        /* A positive last is a key that must be there (RENAME a b); a
         * negative one ends a list that may be empty (SUNSUBSCRIBE). */
        if (spec->last >= 0 && hi > last_arg)
            return -1;
        break;
    case ARC_KEYS_NUMKEYS: {
        size_t count;
        if (spec->first < 1 || spec->last < 0 || spec->last == spec->first || spec->first > last_arg ||
            spec->last > last_arg || !arg_at(&it, &at, (size_t)spec->first, &p, &n) ||
            !count_arg(p, n, argc, &count) || (long long)count > last_arg - spec->first)
            return -1;
        lo = spec->first + 1;
        hi = spec->first + (long long)count;
        extra = spec->last;
        break;
    }
    case ARC_KEYS_STREAMS: {
        /* The options before STREAMS take arguments of their own, and a
         * group or consumer may well be called "streams" (XREADGROUP GROUP
         * streams c STREAMS k >), so they are stepped over, not searched. */
        long long s = 0;
        for (long long i = spec->first < 1 ? 1 : spec->first; i <= last_arg && s == 0; i++) {
            if (!arg_at(&it, &at, (size_t)i, &p, &n))
                return -1;
            if (ieq(p, n, "streams"))
                s = i;
            else if (ieq(p, n, "count") || ieq(p, n, "block"))
                i += 1;
            else if (ieq(p, n, "group"))
                i += 2;
        }
        long long rest = last_arg - s;
        if (s == 0 || rest < 2 || rest % 2 != 0)
            return -1;
        lo = s + 1;
        hi = s + rest / 2;
        break;
    }
    default:
        return -1;
    }
    /* The keys, in argument order. */
    it = *args;
    at = 0;
    long visited = 0;
    long long stop = hi > extra ? hi : extra;
    for (long long i = 1; i <= stop; i++) {
        bool key = (i >= lo && i <= hi && (i - lo) % step == 0) || i == extra;
        if (!key)
            continue;
        if (!arg_at(&it, &at, (size_t)i, &p, &n))
            return -1; /* fewer arguments than argc said */
        visited++;
        if (!fn(p, n, data))
            break;
    }
    return visited;
}

/* pubsub.c: subscription tables and the classification of pub/sub frames. */
#include "pubsub.h"

#include "alloc.h"

#include <string.h>

static uint32_t hash_name(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return h;
}

void arc__pubsub_init(arc_pubsub *ps, const arc_allocator *alloc)
{
    memset(ps->table, 0, sizeof ps->table);
    arc__alloc_copy(&ps->alloc, alloc);
}

void arc__pubsub_release(arc_pubsub *ps)
{
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        arc_subtable *t = &ps->table[k];
        for (size_t i = 0; i < t->cap; i++)
            arc_mem_free(&ps->alloc, t->slots[i]);
        arc_mem_free(&ps->alloc, t->slots);
        t->slots = NULL;
        t->cap = t->count = t->confirmed = 0;
    }
}

size_t arc__pubsub_count(const arc_pubsub *ps, int kind)
{
    return ps->table[kind].count;
}

arc_sub *arc__pubsub_find(const arc_pubsub *ps, int kind, const char *name, size_t len)
{
    const arc_subtable *t = &ps->table[kind];
    if (t->count == 0)
        return NULL;
    uint32_t h = hash_name(name, len);
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        arc_sub *s = t->slots[i];
        if (s == NULL)
            return NULL;
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return s;
    }
}

size_t arc__pubsub_confirmed(const arc_pubsub *ps)
{
    return ps->table[0].confirmed + ps->table[1].confirmed + ps->table[2].confirmed;
}

void arc__pubsub_unconfirm(arc_pubsub *ps, int kind, arc_sub *s, uint32_t serial)
{
    if (s->serial == 0)
        ps->table[kind].confirmed--;
    s->serial = serial;
}

void arc__pubsub_confirm(arc_pubsub *ps, int kind, arc_sub *s)
{
    if (s->serial != 0) {
        s->serial = 0;
        ps->table[kind].confirmed++;
    }
}

arc_sub_owner *arc__pubsub_owner_new(arc_pubsub *ps, arc_reply_fn *fn, void *privdata)
{
    arc_sub_owner *o = arc_mem_alloc(&ps->alloc, sizeof *o);
    if (o != NULL) {
        o->fn = fn;
        o->privdata = privdata;
        o->refs = 0;
        o->ended = false;
        o->queued = false;
    }
    return o;
}

arc_sub_owner *arc__pubsub_owner_find(const arc_pubsub *ps, arc_reply_fn *fn, void *privdata)
{
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        const arc_subtable *t = &ps->table[k];
        for (size_t i = 0; t->count > 0 && i < t->cap; i++) {
            const arc_sub *s = t->slots[i];
            if (s != NULL && s->owner->fn == fn && s->owner->privdata == privdata &&
                !s->owner->ended)
                return s->owner;
        }
    }
    return NULL;
}

void arc__pubsub_owner_free(arc_pubsub *ps, arc_sub_owner *o)
{
    arc_mem_free(&ps->alloc, o);
}

arc_sub *arc__pubsub_new(arc_pubsub *ps, const char *name, size_t len, arc_sub_owner *owner)
{
    if (len > (size_t)-1 - sizeof(arc_sub) - 1)
        return NULL;
    arc_sub *s = arc_mem_alloc(&ps->alloc, sizeof *s + len + 1);
    if (s == NULL)
        return NULL;
    s->owner = owner;
    s->hash = hash_name(name, len);
    s->serial = 0;
    s->fresh = false;
    s->len = len;
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    return s;
}

void arc__pubsub_discard(arc_pubsub *ps, arc_sub *s)
{
    arc_mem_free(&ps->alloc, s);
}

static void place(arc_subtable *t, arc_sub *s)
{
    size_t i = s->hash & (t->cap - 1);
    while (t->slots[i] != NULL)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = s;
}

/* The table stays at most half full, which keeps probe runs short. */
int arc__pubsub_reserve(arc_pubsub *ps, int kind, size_t n)
{
    arc_subtable *t = &ps->table[kind];
    if (n > ((size_t)-1) / 4 - t->count)
        return ARC_ERR_NOMEM;
    size_t need = (t->count + n) * 2;
    if (need <= t->cap)
        return ARC_OK;
    size_t cap = t->cap ? t->cap : 8;
    while (cap < need)
        cap *= 2;
    arc_sub **slots = arc_mem_alloc(&ps->alloc, arc__mul_size(cap, sizeof *slots));
    if (slots == NULL)
        return ARC_ERR_NOMEM;
    memset(slots, 0, cap * sizeof *slots);
    arc_subtable old = *t;
    t->slots = slots;
    t->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i] != NULL)
            place(t, old.slots[i]);
    arc_mem_free(&ps->alloc, old.slots);
    return ARC_OK;
}

void arc__pubsub_insert(arc_pubsub *ps, int kind, arc_sub *s)
{
    arc_subtable *t = &ps->table[kind];
    place(t, s);
    t->count++;
    if (s->serial == 0)
        t->confirmed++;
}

void arc__pubsub_remove(arc_pubsub *ps, int kind, arc_sub *s)
{
    arc_subtable *t = &ps->table[kind];
    size_t mask = t->cap - 1;
    size_t i = s->hash & mask;
    while (t->slots[i] != s)
        i = (i + 1) & mask;
    t->slots[i] = NULL;
    t->count--;
    if (s->serial == 0)
        t->confirmed--;
    /* Backward shift: move later members of the run into the hole when
     * their home slot does not lie strictly between the hole and them. */
    for (size_t j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = t->slots[j]->hash & mask;
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            t->slots[i] = t->slots[j];
            t->slots[j] = NULL;
            i = j;
        }
    }
}

arc_sub *arc__pubsub_pop_any(arc_pubsub *ps)
{
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        arc_subtable *t = &ps->table[k];
        if (t->count == 0)
            continue;
        for (size_t i = 0; i < t->cap; i++) {
            if (t->slots[i] != NULL) {
                arc_sub *s = t->slots[i];
                arc__pubsub_remove(ps, k, s);
                return s;
            }
        }
    }
    return NULL;
}

arc_sub *arc__pubsub_take_serial(arc_pubsub *ps, int kind, uint32_t serial)
{
    arc_subtable *t = &ps->table[kind];
    for (size_t i = 0; i < t->cap; i++) {
        arc_sub *s = t->slots[i];
        if (s != NULL && s->serial == serial) {
            arc__pubsub_remove(ps, kind, s);
            return s;
        }
    }
    return NULL;
}

size_t arc__pubsub_count_before(const arc_pubsub *ps, int kind, uint32_t serial)
{
    const arc_subtable *t = &ps->table[kind];
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const arc_sub *s = t->slots[i];
        if (s != NULL && (s->serial == 0 || s->serial < serial))
            n++;
    }
    return n;
}

bool arc__ascii_ieq(const char *p, size_t n, const char *lower)
{
    size_t i = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (lower[i] == '\0' || c != lower[i])
            return false;
    }
    return lower[i] == '\0';
}

static const struct {
    const char *name;
    int cls;
    int kind;
    size_t elements; /* the shape: exactly this many */
} frame_kinds[] = {
    {"message", ARC_FRAME_MESSAGE, ARC_SUB_CHANNEL, 3},
    {"pmessage", ARC_FRAME_MESSAGE, ARC_SUB_PATTERN, 4},
    {"smessage", ARC_FRAME_MESSAGE, ARC_SUB_SHARD, 3},
    {"subscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_CHANNEL, 3},
    {"psubscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_PATTERN, 3},
    {"ssubscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_SHARD, 3},
    {"unsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_CHANNEL, 3},
    {"punsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_PATTERN, 3},
    {"sunsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_SHARD, 3},
};

void arc__pubsub_classify(const arc_reply *r, arc_frame *out)
{
    out->cls = ARC_FRAME_NONE;
    out->kind = ARC_SUB_CHANNEL;
    out->name = NULL;
    if (r->type != ARC_REPLY_ARRAY && r->type != ARC_REPLY_PUSH)
        return;
    if (r->elements == 0 || !arc__reply_is_text(r->element[0]))
        return;
    const arc_reply *k = r->element[0];
    if (arc__ascii_ieq(k->str, k->len, "pong")) {
        /* RESP2 answers PING in subscribed mode with ["pong", message]. */
        if (r->type == ARC_REPLY_ARRAY && r->elements == 2)
            out->cls = ARC_FRAME_PONG;
        return;
    }
    for (size_t i = 0; i < sizeof frame_kinds / sizeof frame_kinds[0]; i++) {
        if (!arc__ascii_ieq(k->str, k->len, frame_kinds[i].name))
            continue;
        out->kind = frame_kinds[i].kind;
        if (r->elements != frame_kinds[i].elements) {
            out->cls = ARC_FRAME_BAD;
            return;
        }
        const arc_reply *name = r->element[1];
        if (frame_kinds[i].cls == ARC_FRAME_MESSAGE) {
            /* message: [kind, channel, payload]; pmessage adds the channel
             * after the pattern. The subscription is found by element 1. */
            if (!arc__reply_is_text(name) || !arc__reply_is_text(r->element[2])) {
                out->cls = ARC_FRAME_BAD;
                return;
            }
        } else {
            /* Confirmations: [kind, name-or-nil, count]. An unsubscribe with
             * nothing subscribed names nil. */
            const arc_reply *count = r->element[2];
            if ((!arc__reply_is_text(name) && name->type != ARC_REPLY_NIL) ||
                count->type != ARC_REPLY_INTEGER) {
                out->cls = ARC_FRAME_BAD;
                return;
            }
        }
        out->cls = frame_kinds[i].cls;
        out->name = name;
        return;
    }
}

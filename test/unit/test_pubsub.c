/* test_pubsub.c: the subscription table and the classification of pub/sub
 * frames, every shape, valid and not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"
#include "pubsub.h"

#include <stdio.h>
#include <string.h>

/* ---- building frames by hand ---- */

typedef struct frame_buf {
    arc_reply nodes[6];
    arc_reply *els[6];
    arc_reply top;
} frame_buf;

static arc_reply *text(frame_buf *b, size_t i, const char *s)
{
    arc_reply *r = &b->nodes[i];
    memset(r, 0, sizeof *r);
    r->type = ARC_REPLY_STRING;
    r->str = (char *)s;
    r->len = strlen(s);
    return r;
}

static arc_reply *integer(frame_buf *b, size_t i, long long v)
{
    arc_reply *r = &b->nodes[i];
    memset(r, 0, sizeof *r);
    r->type = ARC_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static arc_reply *of_type(frame_buf *b, size_t i, int type)
{
    arc_reply *r = &b->nodes[i];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static const arc_reply *frame(frame_buf *b, int type, size_t n)
{
    memset(&b->top, 0, sizeof b->top);
    b->top.type = type;
    b->top.elements = n;
    for (size_t i = 0; i < n; i++)
        b->els[i] = &b->nodes[i];
    b->top.element = b->els;
    return &b->top;
}

static arc_frame classify(const arc_reply *r)
{
    arc_frame f;
    arc__pubsub_classify(r, &f);
    return f;
}

static void messages(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        int type = t ? ARC_REPLY_PUSH : ARC_REPLY_ARRAY;
        frame_buf b;
        text(&b, 0, "message");
        text(&b, 1, "ch");
        text(&b, 2, "payload");
        arc_frame f = classify(frame(&b, type, 3));
        assert_int_equal(f.cls, ARC_FRAME_MESSAGE);
        assert_int_equal(f.kind, ARC_SUB_CHANNEL);
        assert_ptr_equal(f.name, &b.nodes[1]);
        text(&b, 0, "pmessage");
        text(&b, 1, "p*");
        text(&b, 2, "pc");
        text(&b, 3, "payload");
        f = classify(frame(&b, type, 4));
        assert_int_equal(f.cls, ARC_FRAME_MESSAGE);
        assert_int_equal(f.kind, ARC_SUB_PATTERN);
        assert_ptr_equal(f.name, &b.nodes[1]); /* routed by the pattern */
        text(&b, 0, "SMESSAGE"); /* ASCII case-insensitive */
        text(&b, 1, "sc");
        text(&b, 2, "payload");
        f = classify(frame(&b, type, 3));
        assert_int_equal(f.cls, ARC_FRAME_MESSAGE);
        assert_int_equal(f.kind, ARC_SUB_SHARD);
    }
}

static void confirmations(void **state)
{
    (void)state;
    static const struct {
        const char *kind;
        int cls, sub;
    } cases[] = {
        {"subscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_CHANNEL},
        {"psubscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_PATTERN},
        {"ssubscribe", ARC_FRAME_SUBSCRIBE, ARC_SUB_SHARD},
        {"unsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_CHANNEL},
        {"punsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_PATTERN},
        {"sunsubscribe", ARC_FRAME_UNSUBSCRIBE, ARC_SUB_SHARD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int t = 0; t < 2; t++) {
            frame_buf b;
            text(&b, 0, cases[i].kind);
            text(&b, 1, "name");
            integer(&b, 2, 7);
            arc_frame f = classify(frame(&b, t ? ARC_REPLY_PUSH : ARC_REPLY_ARRAY, 3));
            assert_int_equal(f.cls, cases[i].cls);
            assert_int_equal(f.kind, cases[i].sub);
            /* An unsubscribe with nothing subscribed names nil. */
            of_type(&b, 1, ARC_REPLY_NIL);
            f = classify(frame(&b, t ? ARC_REPLY_PUSH : ARC_REPLY_ARRAY, 3));
            assert_int_equal(f.cls, cases[i].cls);
            assert_int_equal(f.name->type, ARC_REPLY_NIL);
        }
    }
}

static void pong_and_others(void **state)
{
    (void)state;
    frame_buf b;
    text(&b, 0, "pong");
    text(&b, 1, "");
    assert_int_equal(classify(frame(&b, ARC_REPLY_ARRAY, 2)).cls, ARC_FRAME_PONG);
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 2)).cls, ARC_FRAME_NONE);
    assert_int_equal(classify(frame(&b, ARC_REPLY_ARRAY, 1)).cls, ARC_FRAME_NONE);
    text(&b, 0, "invalidate");
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 2)).cls, ARC_FRAME_NONE);
    integer(&b, 0, 1);
    assert_int_equal(classify(frame(&b, ARC_REPLY_ARRAY, 2)).cls, ARC_FRAME_NONE);
    assert_int_equal(classify(frame(&b, ARC_REPLY_ARRAY, 0)).cls, ARC_FRAME_NONE);
    text(&b, 0, "message");
    assert_int_equal(classify(frame(&b, ARC_REPLY_MAP, 3)).cls, ARC_FRAME_NONE);
    text(&b, 0, "messages"); /* a longer word is not the kind */
    text(&b, 1, "c");
    text(&b, 2, "p");
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 3)).cls, ARC_FRAME_NONE);
}

/* Every wrong shape of a known kind is BAD: the context turns it into a
 * protocol error instead of reading elements that are not there. */
static void bad_shapes(void **state)
{
    (void)state;
    frame_buf b;
    for (size_t n = 1; n <= 5; n++) {
        text(&b, 0, "message");
        for (size_t i = 1; i < n; i++)
            text(&b, i, "x");
        arc_frame f = classify(frame(&b, ARC_REPLY_PUSH, n));
        assert_int_equal(f.cls, n == 3 ? ARC_FRAME_MESSAGE : ARC_FRAME_BAD);
        text(&b, 0, "pmessage");
        f = classify(frame(&b, ARC_REPLY_PUSH, n));
        assert_int_equal(f.cls, n == 4 ? ARC_FRAME_MESSAGE : ARC_FRAME_BAD);
        text(&b, 0, "subscribe");
        if (n >= 3)
            integer(&b, 2, 1);
        f = classify(frame(&b, ARC_REPLY_PUSH, n));
        assert_int_equal(f.cls, n == 3 ? ARC_FRAME_SUBSCRIBE : ARC_FRAME_BAD);
    }
    text(&b, 0, "message");
    of_type(&b, 1, ARC_REPLY_ARRAY);
    text(&b, 2, "p");
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 3)).cls, ARC_FRAME_BAD);
    text(&b, 1, "c");
    of_type(&b, 2, ARC_REPLY_ARRAY);
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 3)).cls, ARC_FRAME_BAD);
    text(&b, 0, "subscribe");
    text(&b, 1, "c");
    text(&b, 2, "1"); /* count as a string */
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 3)).cls, ARC_FRAME_BAD);
    integer(&b, 1, 5); /* name as an integer */
    integer(&b, 2, 1);
    assert_int_equal(classify(frame(&b, ARC_REPLY_PUSH, 3)).cls, ARC_FRAME_BAD);
}

static void ascii_ieq(void **state)
{
    (void)state;
    assert_true(arc__ascii_ieq("MeSsAgE", 7, "message"));
    assert_false(arc__ascii_ieq("messag", 6, "message"));
    assert_false(arc__ascii_ieq("messagex", 8, "message"));
    assert_false(arc__ascii_ieq("m\xc3\xa9ssage", 8, "message"));
    assert_true(arc__ascii_ieq("", 0, ""));
    assert_false(arc__ascii_ieq("[", 1, "{")); /* '[' + 32 is '{': not a letter */
}

/* ---- the table ---- */

static void table_churn(void **state)
{
    (void)state;
    arc_pubsub ps;
    arc__pubsub_init(&ps, NULL);
    enum { N = 300 };
    char names[N][16];
    bool in[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "ch:%d", i * 7919 % 1000);
        in[i] = false;
    }
    unsigned seed = 12345;
    for (int round = 0; round < 4000; round++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        arc_sub *s = arc__pubsub_find(&ps, ARC_SUB_CHANNEL, names[i], strlen(names[i]));
        assert_true((s != NULL) == in[i]);
        if (s != NULL) {
            arc__pubsub_remove(&ps, ARC_SUB_CHANNEL, s);
            arc__pubsub_discard(&ps, s);
            in[i] = false;
        } else {
            assert_int_equal(arc__pubsub_reserve(&ps, ARC_SUB_CHANNEL, 1), ARC_OK);
            s = arc__pubsub_new(&ps, names[i], strlen(names[i]), (arc_sub_owner *)&in[i]);
            assert_non_null(s);
            arc__pubsub_insert(&ps, ARC_SUB_CHANNEL, s);
            in[i] = true;
        }
        /* After every change, every member is found and no other. */
        size_t count = 0;
        for (int j = 0; j < N; j++) {
            arc_sub *t = arc__pubsub_find(&ps, ARC_SUB_CHANNEL, names[j], strlen(names[j]));
            assert_true((t != NULL) == in[j]);
            if (t != NULL) {
                assert_ptr_equal((void *)t->owner, (void *)&in[j]);
                count++;
            }
        }
        assert_int_equal(arc__pubsub_count(&ps, ARC_SUB_CHANNEL), count);
    }
    size_t left = arc__pubsub_total(&ps), popped = 0;
    arc_sub *s;
    while ((s = arc__pubsub_pop_any(&ps)) != NULL) {
        arc__pubsub_discard(&ps, s);
        popped++;
    }
    assert_int_equal(popped, left);
    assert_int_equal(arc__pubsub_total(&ps), 0);
    arc__pubsub_release(&ps);
}

static void kinds_binary_names_serials(void **state)
{
    (void)state;
    arc_pubsub ps;
    arc__pubsub_init(&ps, NULL);
    const char bin[] = "a\0b";
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        assert_int_equal(arc__pubsub_reserve(&ps, k, 3), ARC_OK);
        arc_sub *s = arc__pubsub_new(&ps, bin, 3, NULL);
        s->serial = 5;
        arc__pubsub_insert(&ps, k, s);
        s = arc__pubsub_new(&ps, "", 0, NULL);
        arc__pubsub_insert(&ps, k, s); /* serial 0: confirmed */
        s = arc__pubsub_new(&ps, "late", 4, NULL);
        s->serial = 9;
        arc__pubsub_insert(&ps, k, s);
    }
    assert_non_null(arc__pubsub_find(&ps, ARC_SUB_PATTERN, bin, 3));
    assert_null(arc__pubsub_find(&ps, ARC_SUB_PATTERN, "a", 1));
    assert_non_null(arc__pubsub_find(&ps, ARC_SUB_SHARD, "", 0));
    assert_int_equal(arc__pubsub_total(&ps), 9);
    /* One confirmed per kind; confirming another counts it. */
    assert_int_equal(arc__pubsub_confirmed(&ps), 3);
    arc__pubsub_confirm(&ps, ARC_SUB_SHARD, arc__pubsub_find(&ps, ARC_SUB_SHARD, bin, 3));
    assert_int_equal(arc__pubsub_confirmed(&ps), 4);
    /* Held before command 7: the confirmed one and the one of command 5. */
    assert_int_equal(arc__pubsub_count_before(&ps, ARC_SUB_CHANNEL, 7), 2);
    arc_sub *t = arc__pubsub_take_serial(&ps, ARC_SUB_CHANNEL, 9);
    assert_non_null(t);
    assert_int_equal(t->len, 4);
    arc__pubsub_discard(&ps, t);
    assert_null(arc__pubsub_take_serial(&ps, ARC_SUB_CHANNEL, 9));
    assert_int_equal(arc__pubsub_count(&ps, ARC_SUB_CHANNEL), 2);
    arc__pubsub_release(&ps); /* frees the rest */
}

static void nomem(void **state)
{
    (void)state;
    failing_alloc f = {0, 1, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_pubsub ps;
    arc__pubsub_init(&ps, &a);
    assert_int_equal(arc__pubsub_reserve(&ps, ARC_SUB_CHANNEL, 1), ARC_ERR_NOMEM);
    f.fail_at = f.calls + 1;
    assert_null(arc__pubsub_new(&ps, "x", 1, NULL));
    f.fail_at = 0;
    assert_int_equal(arc__pubsub_reserve(&ps, ARC_SUB_CHANNEL, 1), ARC_OK);
    arc_sub *s = arc__pubsub_new(&ps, "x", 1, NULL);
    arc__pubsub_insert(&ps, ARC_SUB_CHANNEL, s);
    f.fail_at = f.calls + 1; /* growing fails: the table is unchanged */
    assert_int_equal(arc__pubsub_reserve(&ps, ARC_SUB_CHANNEL, 100), ARC_ERR_NOMEM);
    assert_non_null(arc__pubsub_find(&ps, ARC_SUB_CHANNEL, "x", 1));
    arc__pubsub_release(&ps);
    assert_int_equal(f.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages),
        cmocka_unit_test(confirmations),
        cmocka_unit_test(pong_and_others),
        cmocka_unit_test(bad_shapes),
        cmocka_unit_test(ascii_ieq),
        cmocka_unit_test(table_churn),
        cmocka_unit_test(kinds_binary_names_serials),
        cmocka_unit_test(nomem),
    };
    return cmocka_run_group_tests_name("pubsub", tests, NULL, NULL);
}

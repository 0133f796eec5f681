/* test_reply.c: copying reply trees into one block and freeing them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include <arc/arc.h>

#include <stdlib.h>
#include <string.h>

static arc_reply node(int type)
{
    arc_reply r;
    memset(&r, 0, sizeof r);
    r.type = type;
    return r;
}

static void same_tree(const arc_reply *a, const arc_reply *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->integer, b->integer);
    assert_true(a->dval == b->dval || (a->dval != a->dval && b->dval != b->dval));
    assert_int_equal(a->len, b->len);
    assert_string_equal(a->vtype, b->vtype);
    if (a->str) {
        assert_ptr_not_equal(a->str, b->str); /* a copy, not a borrow */
        assert_memory_equal(a->str, b->str, a->len);
        assert_int_equal(b->str[b->len], '\0');
    } else {
        assert_null(b->str);
    }
    assert_int_equal(a->elements, b->elements);
    for (size_t i = 0; i < a->elements; i++)
        same_tree(a->element[i], b->element[i]);
    assert_true((a->attribute == NULL) == (b->attribute == NULL));
    if (a->attribute)
        same_tree(a->attribute, b->attribute);
}

static void dup_complex(void **state)
{
    (void)state;
    arc_reply k = node(ARC_REPLY_STATUS), v = node(ARC_REPLY_STRING), d = node(ARC_REPLY_DOUBLE);
    arc_reply verb = node(ARC_REPLY_VERB), i = node(ARC_REPLY_INTEGER), e = node(ARC_REPLY_STRING);
    k.str = "key";
    k.len = 3;
    v.str = "v\0lue";
    v.len = 5;
    d.str = "1.5";
    d.len = 3;
    d.dval = 1.5;
    memcpy(verb.vtype, "txt", 4);
    verb.str = "hello";
    verb.len = 5;
    i.integer = -7;
    e.str = "";
    arc_reply ak = node(ARC_REPLY_STATUS), av = node(ARC_REPLY_INTEGER);
    ak.str = "ttl";
    ak.len = 3;
    av.integer = 10;
    arc_reply *attr_el[] = {&ak, &av};
    arc_reply attr = node(ARC_REPLY_ATTR);
    attr.elements = 2;
    attr.element = attr_el;
    i.attribute = &attr;
    arc_reply *inner_el[] = {&d, &verb, &i, &e};
    arc_reply inner = node(ARC_REPLY_ARRAY);
    inner.elements = 4;
    inner.element = inner_el;
    arc_reply *map_el[] = {&k, &v, &k, &inner};
    arc_reply map = node(ARC_REPLY_MAP);
    map.elements = 4;
    map.element = map_el;
    arc_reply *copy = arc_reply_dup(&map, NULL);
    assert_non_null(copy);
    same_tree(&map, copy);
    /* The copy stands alone: the shared key node became two nodes. */
    assert_ptr_not_equal(copy->element[0], copy->element[2]);
    arc_reply_free(copy);
}

static void dup_edges(void **state)
{
    (void)state;
    assert_null(arc_reply_dup(NULL, NULL));
    arc_reply_free(NULL);
    arc_reply nil = node(ARC_REPLY_NIL);
    arc_reply *c = arc_reply_dup(&nil, NULL);
    assert_non_null(c);
    assert_int_equal(c->type, ARC_REPLY_NIL);
    arc_reply_free(c);
    arc_reply empty = node(ARC_REPLY_ARRAY);
    c = arc_reply_dup(&empty, NULL);
    assert_int_equal(c->elements, 0);
    arc_reply_free(c);
}

static void dup_deep(void **state)
{
    (void)state;
    enum { DEPTH = 64 };
    arc_reply nodes[DEPTH];
    arc_reply *links[DEPTH];
    for (int i = 0; i < DEPTH; i++) {
        nodes[i] = node(ARC_REPLY_ARRAY);
        links[i] = &nodes[i];
    }
    for (int i = 0; i + 1 < DEPTH; i++) {
        nodes[i].elements = 1;
        nodes[i].element = &links[i + 1];
    }
    arc_reply *c = arc_reply_dup(&nodes[0], NULL);
    same_tree(&nodes[0], c);
    arc_reply_free(c);
}


static void dup_nomem_and_allocator(void **state)
{
    (void)state;
    arc_reply s = node(ARC_REPLY_STRING);
    s.str = "x";
    s.len = 1;
    failing_alloc f = {0, 1, 0, 0};
    arc_allocator a = {failing_realloc, &f};
    assert_null(arc_reply_dup(&s, &a));
    f.fail_at = 0;
    arc_reply *c = arc_reply_dup(&s, &a);
    assert_non_null(c);
    assert_int_equal(f.live, 1);
    arc_reply_free(c); /* freed through the allocator it was made with */
    assert_int_equal(f.live, 0);
}

static void type_names(void **state)
{
    (void)state;
    static const char *names[] = {"unknown", "string", "array", "integer", "nil",
                                  "status", "error", "double", "bool", "map",
                                  "set", "attribute", "push", "bignum", "verbatim"};
    for (int t = 0; t <= 14; t++)
        assert_string_equal(arc_reply_type_name(t), names[t]);
    assert_string_equal(arc_reply_type_name(15), "unknown");
    assert_string_equal(arc_reply_type_name(-1), "unknown");
    /* The numeric codes a hiredis user knows. */
    assert_int_equal(ARC_REPLY_STRING, 1);
    assert_int_equal(ARC_REPLY_ERROR, 6);
    assert_int_equal(ARC_REPLY_VERB, 14);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dup_complex),
        cmocka_unit_test(dup_edges),
        cmocka_unit_test(dup_deep),
        cmocka_unit_test(dup_nomem_and_allocator),
        cmocka_unit_test(type_names),
    };
    return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}

/* test_reply.c: pins arc_reply_dup, arc_reply_free and arc_reply_type_name on
 * trees built by hand, without a reader. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/reply.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A counting allocator that can fail the Nth allocation. */
typedef struct counting {
    size_t calls;  /* allocation attempts (size > 0) */
    size_t frees;  /* frees of a non-NULL block */
    size_t fail_at;
    long live;
} counting;

static void *counting_realloc(void *ud, void *ptr, size_t size)
{
    counting *t = ud;
    if (size == 0) {
        if (ptr != NULL) {
            t->frees++;
            t->live--;
            free(ptr);
        }
        return NULL;
    }
    t->calls++;
    if (t->fail_at != 0 && t->calls == t->fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        t->live++;
    return p;
}

/* Hand-built nodes. */

static arc_reply text(int type, const char *s, size_t len)
{
    arc_reply r = {0};
    r.type = type;
    r.str = (char *)s;
    r.len = len;
    return r;
}

static arc_reply integer(long long v)
{
    arc_reply r = {0};
    r.type = ARC_REPLY_INTEGER;
    r.integer = v;
    return r;
}

static arc_reply aggregate(int type, arc_reply **children, size_t n)
{
    arc_reply r = {0};
    r.type = type;
    r.element = children;
    r.elements = n;
    return r;
}

static bool has_text(int type)
{
    return type == ARC_REPLY_STRING || type == ARC_REPLY_STATUS || type == ARC_REPLY_ERROR ||
           type == ARC_REPLY_DOUBLE || type == ARC_REPLY_BIGNUM || type == ARC_REPLY_VERB;
}

static bool has_children(int type)
{
    return type == ARC_REPLY_ARRAY || type == ARC_REPLY_MAP || type == ARC_REPLY_SET ||
           type == ARC_REPLY_PUSH || type == ARC_REPLY_ATTR;
}

/* Deep equality of every field a type uses; the copy must also be a real
 * copy (no pointer shared with the original) and NUL-terminated. */
static void assert_copy(const arc_reply *orig, const arc_reply *copy)
{
    if (orig == NULL) {
        assert_null(copy);
        return;
    }
    assert_non_null(copy);
    assert_ptr_not_equal(orig, copy);
    assert_int_equal(copy->type, orig->type);
    if (has_text(orig->type)) {
        assert_int_equal(copy->len, orig->len);
        assert_non_null(copy->str);
        assert_ptr_not_equal(copy->str, orig->str);
        if (orig->len > 0)
            assert_memory_equal(copy->str, orig->str, orig->len);
        assert_int_equal(copy->str[copy->len], '\0');
    }
    if (orig->type == ARC_REPLY_INTEGER || orig->type == ARC_REPLY_BOOL)
        assert_true(copy->integer == orig->integer);
    if (orig->type == ARC_REPLY_DOUBLE) {
        if (isnan(orig->dval))
            assert_true(isnan(copy->dval));
        else
            assert_true(copy->dval == orig->dval);
    }
    if (orig->type == ARC_REPLY_VERB)
        assert_memory_equal(copy->vtype, orig->vtype, 4);
    if (has_children(orig->type)) {
        assert_int_equal(copy->elements, orig->elements);
        if (orig->elements > 0) {
            assert_non_null(copy->element);
            assert_ptr_not_equal(copy->element, orig->element);
        }
        for (size_t i = 0; i < orig->elements; i++)
            assert_copy(orig->element[i], copy->element[i]);
    }
    assert_copy(orig->attribute, copy->attribute);
}

/* Dups through a counting allocator, checks the copy, frees it, and checks
 * that it was exactly one block that went back to the same allocator. */
static void dup_check_free(const arc_reply *orig)
{
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    arc_reply *copy = arc_reply_dup(orig, &a);
    assert_non_null(copy);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.live, 1);
    assert_copy(orig, copy);
    arc_reply_free(copy);
    assert_int_equal(t.frees, 1);
    assert_int_equal(t.live, 0);
}

/* ------------------------------------------------------------------------ */

static void test_dup_null(void **state)
{
    (void)state;
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    assert_null(arc_reply_dup(NULL, &a));
    assert_null(arc_reply_dup(NULL, NULL));
    assert_int_equal(t.calls, 0);
    arc_reply_free(NULL);
}

static void test_dup_scalars(void **state)
{
    (void)state;
    arc_reply i = integer(LLONG_MIN);
    dup_check_free(&i);
    i = integer(LLONG_MAX);
    dup_check_free(&i);

    arc_reply nil = {0};
    nil.type = ARC_REPLY_NIL;
    dup_check_free(&nil);

    arc_reply b = {0};
    b.type = ARC_REPLY_BOOL;
    b.integer = 1;
    dup_check_free(&b);

    arc_reply d = text(ARC_REPLY_DOUBLE, "-2.5e-3", 7);
    d.dval = -2.5e-3;
    dup_check_free(&d);
    d = text(ARC_REPLY_DOUBLE, "nan", 3);
    d.dval = NAN;
    dup_check_free(&d);
    d = text(ARC_REPLY_DOUBLE, "-inf", 4);
    d.dval = -INFINITY;
    dup_check_free(&d);

    arc_reply s = text(ARC_REPLY_STATUS, "OK", 2);
    dup_check_free(&s);
    s = text(ARC_REPLY_ERROR, "ERR wrong", 9);
    dup_check_free(&s);
    s = text(ARC_REPLY_BIGNUM, "-123456789012345678901234567890", 31);
    dup_check_free(&s);
}

static void test_dup_verbatim(void **state)
{
    (void)state;
    arc_reply v = text(ARC_REPLY_VERB, "Some string", 11);
    memcpy(v.vtype, "mkd", 4);
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    arc_reply *copy = arc_reply_dup(&v, &a);
    assert_non_null(copy);
    assert_string_equal(copy->vtype, "mkd");
    assert_string_equal(copy->str, "Some string");
    assert_int_equal(copy->len, 11);
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
}

static void test_dup_empty_strings(void **state)
{
    (void)state;
    static const int types[] = {ARC_REPLY_STRING, ARC_REPLY_STATUS, ARC_REPLY_ERROR,
                                ARC_REPLY_BIGNUM, ARC_REPLY_VERB};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        arc_reply s = text(types[i], "", 0);
        if (types[i] == ARC_REPLY_VERB)
            memcpy(s.vtype, "txt", 4);
        dup_check_free(&s);
    }
}

/* Strings may contain NUL bytes: the copy goes by len, not by strlen. */
static void test_dup_string_with_nul_bytes(void **state)
{
    (void)state;
    static const char bytes[] = "a\0b\0\0c\r\n\0";
    arc_reply s = text(ARC_REPLY_STRING, bytes, sizeof bytes - 1);
    dup_check_free(&s);

    char big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i % 3 == 0 ? 0 : i);
    s = text(ARC_REPLY_STRING, big, sizeof big);
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    arc_reply *copy = arc_reply_dup(&s, &a);
    assert_non_null(copy);
    assert_int_equal(copy->len, sizeof big);
    assert_memory_equal(copy->str, big, sizeof big);
    assert_int_equal(copy->str[sizeof big], '\0');
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
}

/* The source need not be NUL-terminated; the copy always is. */
static void test_dup_terminates_unterminated_source(void **state)
{
    (void)state;
    char src[6] = {'a', 'b', 'c', 'X', 'Y', 'Z'};
    arc_reply s = text(ARC_REPLY_STRING, src, 3);
    arc_reply *copy = arc_reply_dup(&s, NULL);
    assert_non_null(copy);
    assert_int_equal(copy->len, 3);
    assert_string_equal(copy->str, "abc");
    arc_reply_free(copy);
}

/* The copy owns its memory: changing or dropping the original leaves it. */
static void test_dup_is_independent(void **state)
{
    (void)state;
    char key[] = "key";
    char val[] = "value";
    arc_reply k = text(ARC_REPLY_STRING, key, 3);
    arc_reply v = text(ARC_REPLY_STRING, val, 5);
    arc_reply *kids[2] = {&k, &v};
    arc_reply m = aggregate(ARC_REPLY_MAP, kids, 2);
    arc_reply *copy = arc_reply_dup(&m, NULL);
    assert_non_null(copy);
    memset(key, 'z', 3);
    memset(val, 'z', 5);
    k.type = ARC_REPLY_INTEGER;
    kids[1] = NULL;
    m.elements = 0;
    assert_int_equal(copy->type, ARC_REPLY_MAP);
    assert_int_equal(copy->elements, 2);
    assert_int_equal(copy->element[0]->type, ARC_REPLY_STRING);
    assert_string_equal(copy->element[0]->str, "key");
    assert_string_equal(copy->element[1]->str, "value");
    arc_reply_free(copy);
}

static void test_dup_empty_aggregates(void **state)
{
    (void)state;
    static const int types[] = {ARC_REPLY_ARRAY, ARC_REPLY_MAP, ARC_REPLY_SET, ARC_REPLY_PUSH};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        arc_reply e = aggregate(types[i], NULL, 0);
        counting t = {0};
        arc_allocator a = {counting_realloc, &t};
        arc_reply *copy = arc_reply_dup(&e, &a);
        assert_non_null(copy);
        assert_int_equal(copy->type, types[i]);
        assert_int_equal(copy->elements, 0);
        assert_null(copy->attribute);
        arc_reply_free(copy);
        assert_int_equal(t.live, 0);
    }
}

/* Every type in one tree, with attributes on the root, on a child, and on a
 * value inside an attribute. */
static void test_dup_tree_with_attributes(void **state)
{
    (void)state;
    arc_reply inner_k = text(ARC_REPLY_STATUS, "inner", 5);
    arc_reply inner_v = integer(7);
    arc_reply *inner_kids[2] = {&inner_k, &inner_v};
    arc_reply inner_attr = aggregate(ARC_REPLY_ATTR, inner_kids, 2);

    arc_reply ak = text(ARC_REPLY_STATUS, "key-popularity", 14);
    arc_reply av = {0};
    av.type = ARC_REPLY_DOUBLE;
    av.dval = 0.1923;
    av.str = (char *)"0.1923";
    av.len = 6;
    av.attribute = &inner_attr;
    arc_reply *akids[2] = {&ak, &av};
    arc_reply root_attr = aggregate(ARC_REPLY_ATTR, akids, 2);

    arc_reply ttl_k = text(ARC_REPLY_STRING, "ttl", 3);
    arc_reply ttl_v = integer(3600);
    arc_reply *ttl_kids[2] = {&ttl_k, &ttl_v};
    arc_reply child_attr = aggregate(ARC_REPLY_ATTR, ttl_kids, 2);

    arc_reply s = text(ARC_REPLY_STRING, "bin\0ary", 7);
    s.attribute = &child_attr;
    arc_reply nil = {0};
    nil.type = ARC_REPLY_NIL;
    arc_reply b = {0};
    b.type = ARC_REPLY_BOOL;
    arc_reply big = text(ARC_REPLY_BIGNUM, "3492890328409238509324850943850943825024385", 43);
    arc_reply verb = text(ARC_REPLY_VERB, "hello", 5);
    memcpy(verb.vtype, "txt", 4);
    arc_reply err = text(ARC_REPLY_ERROR, "SYNTAX", 6);
    arc_reply *set_kids[3] = {&nil, &b, &big};
    arc_reply set = aggregate(ARC_REPLY_SET, set_kids, 3);
    arc_reply push_kind = text(ARC_REPLY_STRING, "message", 7);
    arc_reply *push_kids[2] = {&push_kind, &verb};
    arc_reply push = aggregate(ARC_REPLY_PUSH, push_kids, 2);
    arc_reply mk = text(ARC_REPLY_STATUS, "m", 1);
    arc_reply *map_kids[2] = {&mk, &set};
    arc_reply map = aggregate(ARC_REPLY_MAP, map_kids, 2);
    arc_reply *root_kids[4] = {&s, &map, &push, &err};
    arc_reply root = aggregate(ARC_REPLY_ARRAY, root_kids, 4);
    root.attribute = &root_attr;

    dup_check_free(&root);

    /* Spot-check the shape beyond what assert_copy compares generically. */
    arc_reply *copy = arc_reply_dup(&root, NULL);
    assert_non_null(copy);
    assert_non_null(copy->attribute);
    assert_int_equal(copy->attribute->type, ARC_REPLY_ATTR);
    assert_string_equal(copy->attribute->element[0]->str, "key-popularity");
    assert_non_null(copy->attribute->element[1]->attribute);
    assert_int_equal(copy->attribute->element[1]->attribute->element[1]->integer, 7);
    assert_int_equal(copy->element[0]->attribute->element[1]->integer, 3600);
    assert_null(copy->element[1]->attribute);
    assert_memory_equal(copy->element[0]->str, "bin\0ary", 8);
    assert_string_equal(copy->element[2]->element[1]->vtype, "txt");
    /* A copy of a copy is still the same tree. */
    dup_check_free(copy);
    arc_reply_free(copy);
}

/* A subtree can be copied on its own; it brings its attribute along. */
static void test_dup_subtree(void **state)
{
    (void)state;
    arc_reply ak = text(ARC_REPLY_STATUS, "a", 1);
    arc_reply av = integer(1);
    arc_reply *akids[2] = {&ak, &av};
    arc_reply attr = aggregate(ARC_REPLY_ATTR, akids, 2);
    arc_reply leaf = integer(5);
    leaf.attribute = &attr;
    arc_reply *kids[1] = {&leaf};
    arc_reply root = aggregate(ARC_REPLY_ARRAY, kids, 1);
    dup_check_free(root.element[0]);
}

/* Deep nesting is copied whole. */
static void test_dup_deep_nesting(void **state)
{
    (void)state;
    enum { DEPTH = 2000 };
    arc_reply nodes[DEPTH];
    arc_reply *slots[DEPTH];
    for (size_t i = 0; i + 1 < DEPTH; i++) {
        nodes[i] = aggregate(i % 2 ? ARC_REPLY_SET : ARC_REPLY_ARRAY, &slots[i], 1);
        slots[i] = &nodes[i + 1];
    }
    nodes[DEPTH - 1] = integer(42);
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    arc_reply *copy = arc_reply_dup(&nodes[0], &a);
    assert_non_null(copy);
    assert_int_equal(t.calls, 1);
    const arc_reply *n = copy;
    for (size_t i = 0; i + 1 < DEPTH; i++) {
        assert_int_equal(n->type, i % 2 ? ARC_REPLY_SET : ARC_REPLY_ARRAY);
        assert_int_equal(n->elements, 1);
        n = n->element[0];
    }
    assert_int_equal(n->type, ARC_REPLY_INTEGER);
    assert_int_equal(n->integer, 42);
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
}

/* Wide aggregates: 10000 children, each its own string. */
static void test_dup_wide(void **state)
{
    (void)state;
    enum { WIDTH = 10000 };
    arc_reply *leaves = calloc(WIDTH, sizeof *leaves);
    arc_reply **kids = calloc(WIDTH, sizeof *kids);
    char (*texts)[8] = calloc(WIDTH, 8);
    assert_non_null(leaves);
    assert_non_null(kids);
    assert_non_null(texts);
    for (size_t i = 0; i < WIDTH; i++) {
        int n = snprintf(texts[i], 8, "%zu", i);
        leaves[i] = text(ARC_REPLY_STRING, texts[i], (size_t)n);
        kids[i] = &leaves[i];
    }
    arc_reply root = aggregate(ARC_REPLY_ARRAY, kids, WIDTH);
    dup_check_free(&root);
    free(leaves);
    free(kids);
    free(texts);
}

static void test_dup_nomem(void **state)
{
    (void)state;
    arc_reply a1 = integer(1);
    arc_reply a2 = text(ARC_REPLY_STRING, "two", 3);
    arc_reply *kids[2] = {&a1, &a2};
    arc_reply root = aggregate(ARC_REPLY_ARRAY, kids, 2);
    counting t = {.fail_at = 1};
    arc_allocator a = {counting_realloc, &t};
    assert_null(arc_reply_dup(&root, &a));
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.live, 0);
    /* The allocator recovered: the same call works. */
    arc_reply *copy = arc_reply_dup(&root, &a);
    assert_non_null(copy);
    assert_copy(&root, copy);
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
}

/* A length whose copy size cannot be represented is refused, not wrapped. */
static void test_dup_size_overflow(void **state)
{
    (void)state;
    counting t = {0};
    arc_allocator a = {counting_realloc, &t};
    arc_reply s = text(ARC_REPLY_STRING, "tiny", SIZE_MAX);
    assert_null(arc_reply_dup(&s, &a));
    assert_int_equal(t.live, 0);
    arc_reply s2 = text(ARC_REPLY_STRING, "tiny", SIZE_MAX - 8);
    arc_reply *kids[2] = {&s2, &s2};
    arc_reply root = aggregate(ARC_REPLY_ARRAY, kids, 2);
    assert_null(arc_reply_dup(&root, &a));
    assert_int_equal(t.live, 0);
}

static void test_free_default_allocator(void **state)
{
    (void)state;
    arc_reply s = text(ARC_REPLY_STRING, "x", 1);
    arc_reply *kids[1] = {&s};
    arc_reply root = aggregate(ARC_REPLY_PUSH, kids, 1);
    arc_reply *copy = arc_reply_dup(&root, arc_allocator_default());
    assert_non_null(copy);
    assert_copy(&root, copy);
    arc_reply_free(copy); /* valgrind and ASan check that it is all gone */
}

static void test_type_names(void **state)
{
    (void)state;
    static const struct {
        int type;
        const char *name;
    } names[] = {
        {ARC_REPLY_STRING, "string"}, {ARC_REPLY_ARRAY, "array"},
        {ARC_REPLY_INTEGER, "integer"}, {ARC_REPLY_NIL, "nil"},
        {ARC_REPLY_STATUS, "status"}, {ARC_REPLY_ERROR, "error"},
        {ARC_REPLY_DOUBLE, "double"}, {ARC_REPLY_BOOL, "bool"},
        {ARC_REPLY_MAP, "map"}, {ARC_REPLY_SET, "set"},
        {ARC_REPLY_ATTR, "attribute"}, {ARC_REPLY_PUSH, "push"},
        {ARC_REPLY_BIGNUM, "bignum"}, {ARC_REPLY_VERB, "verbatim"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(arc_reply_type_name(names[i].type), names[i].name);
    /* Each name is distinct. */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t j = i + 1; j < sizeof names / sizeof names[0]; j++)
            assert_string_not_equal(arc_reply_type_name(names[i].type),
                                    arc_reply_type_name(names[j].type));
}

static void test_type_name_unknown(void **state)
{
    (void)state;
    assert_string_equal(arc_reply_type_name(0), "unknown");
    assert_string_equal(arc_reply_type_name(15), "unknown");
    assert_string_equal(arc_reply_type_name(-1), "unknown");
    assert_string_equal(arc_reply_type_name(INT_MAX), "unknown");
    assert_string_equal(arc_reply_type_name(INT_MIN), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dup_null),
        cmocka_unit_test(test_dup_scalars),
        cmocka_unit_test(test_dup_verbatim),
        cmocka_unit_test(test_dup_empty_strings),
        cmocka_unit_test(test_dup_string_with_nul_bytes),
        cmocka_unit_test(test_dup_terminates_unterminated_source),
        cmocka_unit_test(test_dup_is_independent),
        cmocka_unit_test(test_dup_empty_aggregates),
        cmocka_unit_test(test_dup_tree_with_attributes),
        cmocka_unit_test(test_dup_subtree),
        cmocka_unit_test(test_dup_deep_nesting),
        cmocka_unit_test(test_dup_wide),
        cmocka_unit_test(test_dup_nomem),
        cmocka_unit_test(test_dup_size_overflow),
        cmocka_unit_test(test_free_default_allocator),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_type_name_unknown),
    };
    return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}

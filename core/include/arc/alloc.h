/* arc/alloc.h: the allocator that readers, contexts and adapters use. */
#ifndef ARC_ALLOC_H
#define ARC_ALLOC_H

#include <arc/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One realloc-shaped function carries all of arc's heap traffic:
 *   fn(ud, NULL, n)  allocates n bytes (n > 0),
 *   fn(ud, p, n)     resizes p to n bytes (n > 0),
 *   fn(ud, p, 0)     frees p and returns NULL (p may be NULL).
 * Returning NULL for n > 0 is an allocation failure, which arc reports as
 * ARC_ERR_NOMEM and never as a crash. The allocator must stay valid as long
 * as any object created with it (and any reply duplicated with it) lives. */
typedef void *arc_realloc_fn(void *ud, void *ptr, size_t size);

typedef struct arc_allocator {
    arc_realloc_fn *realloc; /* NULL means the C library's realloc/free */
    void *ud;                /* passed to every call, owned by the caller */
} arc_allocator;

/* The allocator used wherever none is given: the C library's. */
ARC_API const arc_allocator *arc_allocator_default(void);

/* Allocate, resize and free through `a` (NULL: the default). These are what
 * adapters call so that allocation-failure tests reach them too. */
ARC_API void *arc_mem_alloc(const arc_allocator *a, size_t size);
ARC_API void *arc_mem_realloc(const arc_allocator *a, void *ptr, size_t size);
ARC_API void arc_mem_free(const arc_allocator *a, void *ptr);

#ifdef __cplusplus
}
#endif

#endif

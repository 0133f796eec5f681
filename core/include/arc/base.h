/* arc/base.h: what every public header needs: export macro, version, types. */
#ifndef ARC_BASE_H
#define ARC_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_VERSION_MAJOR 0
#define ARC_VERSION_MINOR 1
#define ARC_VERSION_PATCH 0

/* The library is built with hidden visibility; only ARC_API symbols are
 * exported, and test/symbols compares them with a committed list. */
#if defined(ARC_BUILDING) && defined(__GNUC__)
#define ARC_API __attribute__((visibility("default")))
#else
#define ARC_API
#endif

#if defined(__GNUC__)
#define ARC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ARC_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version as "MAJOR.MINOR.PATCH"; a static string. */
ARC_API const char *arc_version(void);

#ifdef __cplusplus
}
#endif

#endif

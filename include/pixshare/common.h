/* SPDX-License-Identifier: MIT */
/*
 * pixshare — common definitions: limits, errors and logging.
 *
 * Every public fallible function returns 0 on success or a negative errno
 * value. px_strerror() turns such a value into text. Constructors return
 * their object through an out-parameter so that the caller learns why they
 * failed.
 *
 * The library never writes to stdout. Log messages go to stderr by default,
 * or to the handler installed with px_log_set_handler().
 */
#ifndef PIXSHARE_COMMON_H
#define PIXSHARE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PX_BUILDING_LIBRARY) && defined(__GNUC__)
#define PX_API __attribute__((visibility("default")))
#else
#define PX_API
#endif

#if defined(__GNUC__)
#define PX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PX_PRINTF(fmt, args)
#endif

/*
 * Library version, also available at run time through px_version().
 *
 * The ABI. From 1.0 on: the SONAME is libpixshare.so.MAJOR; a release that
 * breaks the ABI (a symbol removed or changed, a frozen struct changed, a
 * field of an extensible struct moved) raises the major version, one that
 * only adds symbols, enum values or fields at the end of extensible structs
 * raises the minor version. While the major version is 0 the API is young
 * and a minor release may break the ABI: the SONAME is then
 * libpixshare.so.0.MINOR, so a program never loads a library of another
 * 0.x release. The exported symbols and the size and offsets of every
 * public struct are pinned by tests (tests/contract), so neither changes by
 * accident.
 */
#define PX_VERSION_MAJOR 0
#define PX_VERSION_MINOR 2
#define PX_VERSION_MICRO 0
/* The version as one number, for #if: PX_VERSION >= PX_VERSION_AT(0, 2, 0). */
#define PX_VERSION_AT(major, minor, micro) ((major)*10000 + (minor)*100 + (micro))
#define PX_VERSION PX_VERSION_AT(PX_VERSION_MAJOR, PX_VERSION_MINOR, PX_VERSION_MICRO)

/*
 * Extensible structs. The params, stats and info structs marked
 * "extensible" in these headers may gain fields at their end in a later
 * minor version, never lose or move one. A function that takes one is
 * exported with the struct's size as an extra argument (px_x_sized()); the
 * plain name is a macro that passes sizeof the struct as the caller's header
 * declares it, so C and C++ callers write px_publisher_create(&params, &pub)
 * and stay binary-compatible with later libraries. Bindings call the sized
 * symbol with the size of the struct they were written for. The library
 * reads and writes only that many bytes:
 * - params (read): fields beyond the caller's size are taken as 0, their
 *   default. A caller's struct larger than the library's (a newer header
 *   with an older library) is accepted if its extra bytes are all 0, and
 *   refused with -E2BIG (logged) otherwise: the caller asked for something
 *   this library cannot do.
 * - stats and info (written): fields beyond the caller's size are not
 *   written; fields the caller has and the library does not are zeroed.
 * - a size below that of the struct's first version is -EINVAL.
 * Initialize params with designated initializers or {0}, so that what is
 * not set (padding included) is 0.
 *
 * Every other public struct is frozen: its size and layout are part of the
 * ABI, and a new need gets a new struct (reached by a new field of an
 * extensible one, or a new function). Structs nested in extensible ones are
 * held by pointer, never by value. The limits below size arrays in frozen
 * structs (px_set_layout, px_frame, px_publish_info, px_vulkan_export …)
 * and are therefore frozen too.
 */

/* Most images in one set. */
#define PX_MAX_IMAGES 16
/* Most planes in one image (as in DRM: Y, U, V, A or metadata). */
#define PX_MAX_PLANES 4
/* Most separate buffers (allocations) in one set: one per plane at worst. */
#define PX_MAX_BUFFERS (PX_MAX_IMAGES * PX_MAX_PLANES)
/* Most slots in one pool. */
#define PX_MAX_SLOTS 64
/* Most frames one subscriber may hold at once (its lease limit). */
#define PX_MAX_LEASES 16
/* Most subscribers one publisher serves at once. */
#define PX_MAX_SUBSCRIBERS 64
/* Longest topic name, in bytes, without the terminating NUL. Topic names are
 * made of letters, digits, '.', '_' and '-', and do not start with '.'. */
#define PX_TOPIC_MAX 64
/* The handshake deadline of both sides by default, in ms: a publisher closes
 * a connection that has not finished its handshake this long after accept
 * (px_publisher_params.handshake_timeout_ms), and a subscriber gives up on a
 * publisher that has not answered within it (px_subscriber_params
 * .handshake_timeout_ms, px_topic_query()). */
#define PX_HANDSHAKE_TIMEOUT_MS 5000
/* Largest px_subscriber_params.spin_us. */
#define PX_MAX_SPIN_US 10000

/* Returns "major.minor.micro". The string is static. Thread-safe. */
PX_API const char *px_version(void);

/*
 * Returns text for a value returned by a pixshare function: 0, a negative
 * errno, or a positive errno. The string is static or thread-local and stays
 * valid until the next call from the same thread. Thread-safe.
 */
PX_API const char *px_strerror(int err);

enum px_log_level {
	PX_LOG_ERROR = 1,
	PX_LOG_WARN = 2,
	PX_LOG_INFO = 3,
	PX_LOG_DEBUG = 4,
};

/*
 * A log handler receives one message at a time, without a trailing newline.
 * `msg` is only valid during the call. It may be called from any thread that
 * calls into pixshare, so it must be thread-safe if the application uses
 * pixshare from several threads.
 */
typedef void (*px_log_fn)(void *userdata, enum px_log_level level, const char *msg);

/*
 * Installs a log handler, or the default (stderr) when `fn` is NULL, and sets
 * the most verbose level passed to it. Messages above `level` are discarded
 * before they are formatted. The default level is PX_LOG_WARN, or the value of
 * the environment variable PIXSHARE_LOG (error, warn, info, debug) if set.
 * Not thread-safe with respect to concurrent logging: call it at start-up.
 */
PX_API void px_log_set_handler(px_log_fn fn, void *userdata, enum px_log_level level);

/* Current level (see px_log_set_handler). Thread-safe. */
PX_API enum px_log_level px_log_get_level(void);

/* Returns CLOCK_MONOTONIC in nanoseconds: the clock of every pixshare
 * timestamp (publish time, default capture time). Thread-safe. */
PX_API uint64_t px_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif

/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the library's sources. Never included by a public header. */
#ifndef PX_CORE_UTIL_H
#define PX_CORE_UTIL_H

#include <stddef.h>

#include <pixshare/common.h>
#include <pixshare/import.h>

#define PX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PX_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PX_MAX(a, b) ((a) > (b) ? (a) : (b))

void px_log(enum px_log_level level, const char *fmt, ...) PX_PRINTF(2, 3);
#define px_log_error(...) px_log(PX_LOG_ERROR, __VA_ARGS__)
#define px_log_warn(...) px_log(PX_LOG_WARN, __VA_ARGS__)
#define px_log_info(...) px_log(PX_LOG_INFO, __VA_ARGS__)
#define px_log_debug(...) px_log(PX_LOG_DEBUG, __VA_ARGS__)

struct px_publisher_params;
/* The pool px_publisher_create() makes for `params` without an external
 * pool: pool_size, or 2 + max_subscribers × (max_leases + 1) with their
 * defaults, at most PX_MAX_SLOTS. Not validated. */
uint32_t px_publisher_default_pool(const struct px_publisher_params *params);

struct px_set_layout;
/* The most bytes a frame of compressed image `image` (PX_FORMAT_MJPEG) may
 * hold: its buffer from the plane's offset. 0 for a raw format, whose size
 * the layout says. `layout` must be valid. */
uint64_t px_image_compressed_room(const struct px_set_layout *layout, uint32_t image);
/* The rule of a frame's image sizes (px_image_info.bytes), the publisher's
 * and the subscriber's: a compressed image present in the frame holds 1 to
 * px_image_compressed_room() bytes; a raw one, or one absent, says 0. */
bool px_image_bytes_valid(const struct px_set_layout *layout, uint32_t image, bool present,
			  uint64_t bytes);

struct px_frame;
/* For the GPU importers: count, in the px_subscriber_stats of the subscriber
 * that `frame` came from, one image of it imported by `path`
 * (imported_dmabuf, _host_memory, _upload or _opaque_fd, and
 * last_import_path; once per image per import call, cache hits included),
 * and one CPU copy of `bytes` bytes of its pixel data (copies, copy_bytes).
 * A frame that is not a subscriber's (priv NULL: made by the application) or
 * NULL is not counted. The frame must be held. Thread-safe: frames may be
 * read, and so imported, on any thread (relaxed atomics). */
void px_frame_account_import(const struct px_frame *frame, enum px_import_path path);
void px_frame_account_copy(const struct px_frame *frame, uint64_t bytes);

/* Bytes of `type` up to and including `member`: the size of an extensible
 * struct's first version, when `member` is its last field then. */
#define PX_SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/*
 * Extensible structs (see common.h). px_abi_in() reads a caller's params
 * struct of `size` bytes into the library's `ours` (`ours_size` bytes),
 * zero-filling what the caller's lacks; -EINVAL below `min` bytes, -E2BIG
 * for a larger struct whose extra bytes are not 0; `what` names the struct
 * and function in the logged reason. px_abi_out() writes the library's
 * struct into the caller's: `size` bytes at most, zeroing what the library
 * lacks; -EINVAL below `min`.
 */
int px_abi_in(void *ours, size_t ours_size, const void *theirs, size_t size, size_t min,
	      const char *what);
int px_abi_out(void *theirs, size_t size, size_t min, const void *ours, size_t ours_size,
	       const char *what);
/* Closes *fd if it is ≥ 0 and sets it to -1, keeping errno. */
void px_close(int *fd);

/* Name of the running program (from /proc/self/comm), static storage. */
const char *px_program_name(void);

/* Copies src into dst (size bytes), always NUL-terminated; returns strlen(src) like strlcpy. */
size_t px_strlcpy(char *dst, const char *src, size_t size);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Writing one image of a set to a file, for the pixshare tool: PNG (any
 * format, as 8-bit RGB or grey), YUV4MPEG2 (the YUV and grey formats, as
 * planar frames) and raw rows. Private to the tool, not part of the library.
 *
 * `planes[p]` is the address of plane p of `img` (as for px_pattern_draw());
 * strides come from `img`, and only linear layouts can be read. Nothing here
 * keeps a pointer after it returns. The functions are thread-safe as long as
 * no two write to the same FILE at once.
 */
#ifndef PX_TOOLS_IMAGE_WRITE_H
#define PX_TOOLS_IMAGE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <pixshare/layout.h>

/*
 * Writes `img` as a PNG file at `path` (created or truncated, mode 0666 less
 * the umask): 8-bit grey for R8 and R16, 8-bit RGB for the others (alpha is
 * dropped; YUV is converted from BT.601 limited range). The image data is
 * stored uncompressed. Returns 0, or a negative errno with a message in `err`
 * (`errlen` bytes, NUL-terminated; `err` may be NULL): -EINVAL for an
 * unsupported or inconsistent image, or the error of the failing file
 * operation. A file left behind after a failure is incomplete.
 */
int px_write_png(const char *path, const struct px_image_layout *img,
		 const void *const planes[PX_MAX_PLANES], char *err, size_t errlen);

/*
 * Appends one YUV4MPEG2 frame ("FRAME" and planar samples) of `img` to `f`,
 * preceded by the stream header when `header` is true (the first frame).
 * NV12 and YUV420 are written as C420, P010 as C420p10, YUYV, UYVY and
 * YUV422 as C422, R8 as Cmono; the header states 30 frames per second and
 * limited range (mono: full range). Every frame of a stream must have the header's size and
 * format. Returns 0, -ENOTSUP for an RGB or R16 image, -EINVAL for an
 * inconsistent one, or the negative errno of the failed write.
 */
int px_write_y4m_frame(FILE *f, bool header, const struct px_image_layout *img,
		       const void *const planes[PX_MAX_PLANES]);

/*
 * Writes the rows of every plane of `img`, plane after plane, without
 * padding, to the file at `path` (created or truncated). Returns 0 or a
 * negative errno with a message in `err`, as px_write_png().
 */
int px_write_raw(const char *path, const struct px_image_layout *img,
		 const void *const planes[PX_MAX_PLANES], char *err, size_t errlen);

#endif

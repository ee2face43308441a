/* SPDX-License-Identifier: MIT */
/*
 * pixshare — moving a CPU image into a slot, or out of a frame.
 *
 * A slot's planes have the strides its allocator chose (GBM pads rows as the
 * driver likes; px_layout_init_packed() rounds them to its row alignment),
 * while an application's own image is usually packed. px_image_write() copies
 * (or converts) an application's image into one image of a slot, row by row
 * with each side's stride; px_image_read() does the opposite, from a
 * received frame's read-only planes into the application's memory. Both
 * write only pixel rows: padding after each row, and every byte outside the
 * image's rows, stays as it was.
 *
 *     const struct px_set_layout *l = px_publisher_get_layout(pub); // the real strides
 *     void *planes[PX_MAX_PLANES] = {px_slot_plane(slot, 0, 0), px_slot_plane(slot, 0, 1)};
 *     struct px_cpu_image rgb = {.fourcc = PX_FORMAT_BGR888, // bytes R, G, B
 *                                .width = w, .height = h, .planes = {pixels}};
 *     px_image_write(&l->images[0], planes, &rgb, PX_IMAGE_BT709);
 *
 * What is converted (any other pair gives -ENOTSUP):
 * - the same fourcc on both sides: every format but MJPEG; the rows of every
 *   plane are copied byte for byte (odd-sized chroma planes included: NV12 at
 *   33×17 has a 17×9 chroma plane), so a write then a read gives back the
 *   same bytes;
 * - "RGB" formats to one another: XRGB8888, ARGB8888, XBGR8888, ABGR8888,
 *   RGB888, BGR888 and the grey R8 and R16. Grey from colour is the luma
 *   Kr·R + Kg·G + Kb·B of the flags' matrix, full range (as the transforms'
 *   GRAY8 output and the test pattern's grey); colour from grey is R = G = B.
 *   R16 is the 8-bit value × 257, and reads back as v / 257 rounded. Alpha
 *   travels between ARGB8888 and ABGR8888; every other alpha and every X
 *   byte written is 255;
 * - RGB formats to YUYV, UYVY and NV12, and back. Each pixel gets its own Y;
 *   a chroma sample gets the mean of the RGB values of the pixels it covers
 *   (2×1 for YUYV and UYVY, 2×2 for NV12; at an odd width or height, of the
 *   pixels there are). At an odd width the second Y of YUYV's last pair,
 *   outside the image, repeats the last pixel's (as the test pattern does).
 *   Back to RGB, each pixel takes its own Y and its block's chroma, not
 *   interpolated (as the transforms read YUV). Every value is within ±1 of
 *   the exact conversion rounded to the nearest integer, clamped to
 *   0…255. Alpha is not carried into YUV.
 * - Not converted: P010, the planar YUV420 and YUV422, and MJPEG (other than
 *   to themselves), YUV to YUV.
 *
 * The matrix and range of a conversion to or from YUV come from `flags`:
 *   Y' = Kr·R + Kg·G + Kb·B (Kr, Kb: BT.601 0.299, 0.114; BT.709 0.2126,
 *   0.0722); Cb' = (B − Y') / (2 − 2Kb), Cr' = (R − Y') / (2 − 2Kr);
 *   limited range: Y = 16 + 219·Y'/255, Cb or Cr = 128 + 224·C'/255;
 *   full range: Y = Y', Cb or Cr = 128 + C' (then clamped to 255).
 * The test pattern and the transforms' default are BT.601 limited range
 * (flags 0).
 *
 * Layouts: only linear ones (modifier LINEAR, or INVALID, which is taken to
 * be linear, as px_pattern_draw() does; a driver may tile an implicit
 * layout, GBM's for one, and then the pixels land scrambled); any other
 * modifier is -ENOTSUP. `planes[p]` is the address of plane p (px_slot_plane(),
 * px_frame_plane()); strides come from the layout. The image and the layout
 * must have the same width and height: nothing is scaled.
 *
 * Ownership: nothing is kept after a call returns; no pointer is freed.
 * The source and the destination must not overlap.
 * Thread safety: the functions are pure: thread-safe, no allocation, no I/O
 * but a logged reason for a failure. Writing a slot from several threads is
 * fine if their images do not share bytes.
 */
#ifndef PIXSHARE_IMAGE_H
#define PIXSHARE_IMAGE_H

#include <pixshare/common.h>
#include <pixshare/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An image in the application's memory. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_cpu_image {
	uint32_t fourcc;	/* a format of px_format_get_info(), not compressed */
	uint32_t width, height; /* in pixels: those of the layout it goes to or comes from */
	/* Bytes from one row of plane p to the next; 0: packed, the row's
	 * bytes exactly (px_image_row_bytes()). A stride that is not 0 must be
	 * at least that. */
	uint32_t strides[PX_MAX_PLANES];
	/* Plane p's first row. planes[0] is required. For p ≥ 1, NULL means
	 * "right after plane p − 1" (its stride × its rows later), so that one
	 * buffer of px_cpu_image_size() bytes, e.g. a file's contents, holds a
	 * planar image. Entries beyond the format's planes must be NULL, and
	 * their strides 0. Not owned. Not const, so that one struct serves
	 * both ways: px_image_write() only reads through these pointers. */
	void *planes[PX_MAX_PLANES];
};

/* Flags of px_image_write() and px_image_read(): the YUV encoding. */
/* The BT.709 matrix; without it BT.601. */
#define PX_IMAGE_BT709 (1u << 0)
/* Full range (Y and C 0…255); without it limited (Y 16…235, C 16…240). */
#define PX_IMAGE_FULL_RANGE (1u << 1)

/*
 * Writes `src` into image `dst` of a slot, whose plane p is at
 * `dst_planes[p]` (as for px_pattern_draw()), converting as above. Writes
 * the destination's pixel rows only, each plane's px_image_plane_rows()
 * rows of px_image_row_bytes() bytes; reads the source's rows only.
 * `flags`: PX_IMAGE_* (0: BT.601, limited range), used only where one side
 * is YUV and the other not.
 * Returns 0, or (the reason logged; nothing written):
 * -EINVAL   NULL `dst`, `dst_planes` or `src`; a NULL plane the format has;
 *           `dst` with a format px_format_get_info() does not know, a width
 *           or height of 0, fewer planes than its format or more than
 *           PX_MAX_PLANES, or a stride below its row's bytes; `src` with an
 *           unknown format, a size other than `dst`'s, a stride (not 0)
 *           below its row's bytes, or a plane or stride set beyond its
 *           format's planes; unknown flags.
 * -ENOTSUP  a pair of formats not converted (see above), MJPEG, or a
 *           modifier other than LINEAR and INVALID.
 */
PX_API int px_image_write(const struct px_image_layout *dst, void *const dst_planes[PX_MAX_PLANES],
			  const struct px_cpu_image *src, uint32_t flags);

/*
 * Reads image `src` of a frame, whose plane p is at `src_planes[p]` (as for
 * px_pattern_verify(); e.g. px_frame_plane()), into `dst`, converting as
 * above: the mirror of px_image_write(), with the same pairs of formats,
 * flags and errors (`dst` then being the application's image, which must
 * have `src`'s size). Writes only `dst`'s pixel rows. Read a frame before
 * releasing it.
 */
PX_API int px_image_read(const struct px_image_layout *src,
			 const void *const src_planes[PX_MAX_PLANES], const struct px_cpu_image *dst,
			 uint32_t flags);

/*
 * Bytes of one buffer that holds all of `img`'s planes one after another,
 * each with its stride (0: packed) — what `planes[0]` must point to when the
 * other planes are NULL. The planes' pointers are not looked at. 0 for NULL,
 * an unknown or compressed format, a width or height of 0, or a stride (not
 * 0) below its row's bytes. Thread-safe.
 */
PX_API uint64_t px_cpu_image_size(const struct px_cpu_image *img);

#ifdef __cplusplus
}
#endif

#endif

/* SPDX-License-Identifier: MIT */
/*
 * pixshare — the test-pattern source.
 *
 * A moving pattern for machines without cameras, in every format of
 * px_format_list(): diagonal colour bars that scroll with the frame number,
 * shifted per image of the set, and a code band in the top-left corner that
 * carries the frame number, the image index and the capture timestamp as
 * black and white cells. Any subscriber can therefore
 * - read a frame's number and timestamp from the pixels alone
 *   (px_pattern_decode), and
 * - regenerate the exact expected image and compare it byte for byte
 *   (px_pattern_verify).
 *
 * The code band needs an image at least 64 pixels wide and 8 high; smaller
 * images carry bars only (decode returns -ENOSPC, verify still works). The
 * band holds a 16-bit magic, the frame number, the low 8 bits of the image
 * index, the timestamp and a CRC-16, as 4×4-pixel cells where the height
 * allows and 2×1 cells otherwise. Grey formats are full range (R16 is the 8-bit
 * grey × 257); YUV formats are BT.601 limited range.
 *
 * Only linear layouts (modifier LINEAR or INVALID) can be drawn, verified or
 * decoded; others give -EINVAL. Very narrow images (width under 8) look the
 * same for every image index, and widths 1, 2 and 4 for every frame.
 *
 * All functions are thread-safe and allocate nothing.
 */
#ifndef PIXSHARE_TESTPATTERN_H
#define PIXSHARE_TESTPATTERN_H

#include <pixshare/common.h>
#include <pixshare/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What one image of the pattern shows. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_pattern_params {
	uint64_t frame;        /* frame number: drives the motion */
	uint32_t image_index;  /* index in the set: shifts the bars; low 8 bits coded */
	uint64_t timestamp_ns; /* encoded in the code band */
};

/*
 * Draws one image of `layout` into memory. `planes[p]` is the address of plane
 * p (e.g. from px_slot_plane()); strides come from the layout. Writes only the
 * image's pixel rows (never padding). Returns 0, or -EINVAL for an
 * unsupported format or a NULL plane.
 */
PX_API int px_pattern_draw(const struct px_image_layout *image, void *const planes[PX_MAX_PLANES],
			   const struct px_pattern_params *params);

/*
 * Compares one image against what px_pattern_draw() would draw, pixel row by
 * pixel row (padding ignored). Returns 0 when equal, -EILSEQ when not (the
 * first differing plane, row and byte are written to `why`, if not NULL), or
 * -EINVAL.
 */
PX_API int px_pattern_verify(const struct px_image_layout *image,
			     const void *const planes[PX_MAX_PLANES],
			     const struct px_pattern_params *params, char *why, size_t why_size);

/*
 * Reads the code band: fills `params` with the frame number, image index and
 * timestamp encoded there. Returns 0, -ENOSPC (image too small to carry the
 * band), -EILSEQ (the band is not a valid code: not a pattern, or damaged),
 * or -EINVAL.
 */
PX_API int px_pattern_decode(const struct px_image_layout *image,
			     const void *const planes[PX_MAX_PLANES],
			     struct px_pattern_params *params);

#ifdef __cplusplus
}
#endif

#endif

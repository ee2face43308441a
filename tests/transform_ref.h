/* SPDX-License-Identifier: MIT */
/*
 * A CPU reference of the fused transform (include/pixshare/transform.h),
 * written from the header's definitions in plain C with double precision,
 * independent of the shader: crop → rotate/flip → resize → colour conversion.
 */
#ifndef PX_TRANSFORM_REF_H
#define PX_TRANSFORM_REF_H

#include <pixshare/layout.h>
#include <pixshare/transform.h>

/* A source image in CPU memory: planes[p] points at the first row of plane p. */
struct ref_source {
	const struct px_image_layout *image;
	const uint8_t *planes[PX_MAX_PLANES];
};

/*
 * Computes the RGB value (0…255, clamped, not rounded) of every output pixel
 * of `im` into `rgb` (out_width × out_height × 3 doubles, row-major).
 * `im` is used as given: crop_width/height 0 mean the whole image.
 */
void ref_transform(const struct ref_source *src, const struct px_transform_image *im, double *rgb);

/* The RGB value of source pixel (x, y), as the transform sees it. */
void ref_fetch(const struct ref_source *src, const struct px_transform_image *im, uint32_t x,
	       uint32_t y, double rgb[3]);

/* Kr, Kg, Kb of a matrix. */
void ref_luma(enum px_color_matrix m, double k[3]);

/* round-half-up to a byte, as the shader stores. */
unsigned ref_u8(double v);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * RGB → Y'CbCr in fixed point, shared by px_image_write() (core/image.c) and
 * the test pattern (capture/testpattern.c). Private to the library.
 */
#ifndef PX_CORE_IMAGE_H
#define PX_CORE_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

/* One matrix and range: Y = ((y · RGB + ½) >> shift) + y_offset,
 * C = ((u or v · RGB + ½) >> shift) + 128, each clamped to 0…255. */
struct rgb_to_yuv {
	int32_t y[3], u[3], v[3]; /* the weights of R, G, B, × 2^shift */
	uint32_t shift;
	uint32_t y_offset; /* 16 limited range, 0 full */
};

/* BT.601 or BT.709, limited or full range, in 16-bit fixed point: within
 * ±1 of the exact conversion for every input. */
const struct rgb_to_yuv *rgb_to_yuv_get(bool bt709, bool full_range);

/* The test pattern's BT.601 in 8-bit fixed point, limited and full range:
 * the pattern's bytes are a contract between versions (px_pattern_verify()
 * of one checks the frames of another), so these never change. */
extern const struct rgb_to_yuv rgb_to_yuv_pattern_limited, rgb_to_yuv_pattern_full;

/* Y of one pixel. */
uint8_t rgb_to_luma(const struct rgb_to_yuv *m, uint32_t r, uint32_t g, uint32_t b);

/* Cb and Cr of the mean of 2^n pixels, given the sums of their R, G and B
 * (n ≤ 2). */
void rgb_to_chroma(const struct rgb_to_yuv *m, uint32_t r, uint32_t g, uint32_t b, uint32_t n,
		   uint8_t *u, uint8_t *v);

#endif

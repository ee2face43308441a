/* SPDX-License-Identifier: MIT */
/*
 * pixshare — set layouts: how the images of one set lie in its buffers.
 *
 * A set is N images (1 ≤ N ≤ PX_MAX_IMAGES) captured together. Each image has
 * a DRM fourcc, a DRM format modifier, a size, and up to PX_MAX_PLANES planes.
 * Each plane names the buffer (allocation) it lives in, its byte offset there
 * and its stride: the shape of dma-buf attributes. A set may use one buffer per
 * image, one per plane, or one buffer for everything (a batch).
 *
 * Every slot of a pool has the same layout; only the buffers differ.
 *
 * All functions here are pure: thread-safe, no allocation, no I/O.
 */
#ifndef PIXSHARE_LAYOUT_H
#define PIXSHARE_LAYOUT_H

#include <pixshare/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * DRM fourcc codes; the values are those of <drm/drm_fourcc.h>. DRM formats
 * are little-endian words whose fields the brackets list from the top bit
 * down, so in memory, on any CPU, the bytes come from bit 0 up: XRGB8888 is
 * the bytes B, G, R, X (read as a uint32_t on a little-endian CPU,
 * 0xXXRRGGBB); ARGB8888 B, G, R, A; XBGR8888 R, G, B, X; ABGR8888 R, G, B,
 * A. X is padding; pixshare's writers (the test pattern, px_image_write())
 * set it to 255, so that a reader taking XRGB for ARGB sees opaque pixels.
 */
#define PX_FOURCC(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define PX_FORMAT_XRGB8888 PX_FOURCC('X', 'R', '2', '4') /* [31:0] x:R:G:B little endian */
#define PX_FORMAT_ARGB8888 PX_FOURCC('A', 'R', '2', '4') /* [31:0] A:R:G:B */
#define PX_FORMAT_XBGR8888 PX_FOURCC('X', 'B', '2', '4') /* [31:0] x:B:G:R */
#define PX_FORMAT_ABGR8888 PX_FOURCC('A', 'B', '2', '4') /* [31:0] A:B:G:R */
#define PX_FORMAT_RGB888 PX_FOURCC('R', 'G', '2', '4')   /* [23:0] R:G:B: bytes B, G, R */
#define PX_FORMAT_BGR888 PX_FOURCC('B', 'G', '2', '4')   /* [23:0] B:G:R: bytes R, G, B */
#define PX_FORMAT_R8 PX_FOURCC('R', '8', ' ', ' ')       /* 8-bit grey */
#define PX_FORMAT_R16 PX_FOURCC('R', '1', '6', ' ')      /* 16-bit grey, little endian */
#define PX_FORMAT_YUYV PX_FOURCC('Y', 'U', 'Y', 'V')     /* packed 4:2:2, bytes Y0 U Y1 V */
#define PX_FORMAT_UYVY PX_FOURCC('U', 'Y', 'V', 'Y')     /* packed 4:2:2, bytes U Y0 V Y1 */
#define PX_FORMAT_NV12 PX_FOURCC('N', 'V', '1', '2')     /* Y plane, then interleaved UV 2x2 */
#define PX_FORMAT_P010 PX_FOURCC('P', '0', '1', '0')     /* as NV12, 16 bits per sample, 10 used (high) */
/* Planar YUV, three planes Y, U (Cb), V (Cr): what a JPEG decoder writes
 * (pixshare decode, where they are JFIF's full range). Drawn by the test
 * pattern, copied by px_image_write(), not converted. Aliases "I420", "I422". */
#define PX_FORMAT_YUV420 PX_FOURCC('Y', 'U', '1', '2')   /* U and V 2x2 subsampled */
#define PX_FORMAT_YUV422 PX_FOURCC('Y', 'U', '1', '6')   /* U and V 2x1 subsampled */
/* Compressed: Motion-JPEG, one JPEG per image, passed through as bytes. Its
 * one plane has stride 0; its buffer is the largest frame the source makes,
 * and each frame says how many bytes it holds (px_image_info.bytes). */
#define PX_FORMAT_MJPEG PX_FOURCC('M', 'J', 'P', 'G')

/* DRM format modifiers (values of <drm/drm_fourcc.h>). */
#define PX_MODIFIER_LINEAR 0ull
/* "The driver picks": the layout is not described by the modifier. A layout
 * with this modifier cannot be imported with an explicit modifier. */
#define PX_MODIFIER_INVALID 0x00ffffffffffffffull

/* Frozen (see common.h): part of the ABI as it is. */
struct px_plane {
	uint32_t buffer; /* index into the set's buffers */
	uint32_t stride; /* bytes from one row to the next */
	uint64_t offset; /* byte offset of the first row in that buffer */
};

/* Frozen (see common.h): part of the ABI as it is. */
struct px_image_layout {
	uint32_t fourcc;
	uint32_t width, height; /* in pixels */
	uint32_t n_planes;
	uint64_t modifier;
	struct px_plane planes[PX_MAX_PLANES];
};

/* Frozen (see common.h): part of the ABI as it is. */
struct px_set_layout {
	uint32_t n_images;
	uint32_t n_buffers;
	uint64_t buffer_sizes[PX_MAX_BUFFERS]; /* bytes; every buffer of every slot */
	struct px_image_layout images[PX_MAX_IMAGES];
};

/* What a format looks like in memory. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_format_info {
	uint32_t fourcc;
	const char *name;      /* e.g. "YUYV"; static */
	uint32_t n_planes;
	uint32_t cpp[PX_MAX_PLANES];   /* bytes per pixel group of each plane ... */
	uint32_t block_w[PX_MAX_PLANES]; /* ... where a group is block_w pixels wide */
	uint32_t hsub, vsub;   /* chroma subsampling of planes after the first */
	bool is_yuv;
	/* Compressed bytes, not pixels (MJPEG): no rows; cpp 0. */
	bool compressed;
};

/* Returns the description of a supported format, or NULL. The pointer is to
 * static storage. */
PX_API const struct px_format_info *px_format_get_info(uint32_t fourcc);

/*
 * Writes the format's name ("NV12", or "0x3231564e" for an unknown fourcc)
 * into `buf` and returns `buf`. `size` ≥ 16 always suffices.
 */
PX_API const char *px_format_name(uint32_t fourcc, char *buf, size_t size);

/*
 * Parses a format name: the names px_format_name() prints ("XRGB8888",
 * "YUYV"), case-insensitive; byte-order aliases ("GRAY8" for R8, "GRAY16" for
 * R16, "RGBX" for XBGR8888, "BGRA" for ARGB8888, "RGB" for BGR888…),
 * case-insensitive; or a raw DRM four-character code ("XR24"), which is
 * case-sensitive as fourccs are. Returns 0 or -EINVAL.
 */
PX_API int px_format_from_name(const char *name, uint32_t *fourcc);

/*
 * Lists the supported pixel formats: writes up to `max` fourccs to `out` and
 * returns how many exist (which may be more than `max`). Compressed formats
 * (PX_FORMAT_MJPEG), which have no pixels to draw or convert, are not
 * listed. Thread-safe.
 */
PX_API size_t px_format_list(uint32_t *out, size_t max);

/* One image for px_layout_init_packed(). */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_image_desc {
	uint32_t fourcc;
	uint32_t width, height;
};

enum px_packing {
	/* One buffer per image; its planes follow one another. */
	PX_PACK_PER_IMAGE = 0,
	/* One buffer for the whole set; images follow one another, each image
	 * starting at a multiple of the row alignment. */
	PX_PACK_BATCH = 1,
};

/*
 * Fills `layout` with a linear, packed layout for `n_images` images.
 * Strides are rounded up to `row_align` bytes (a power of two up to 4096; 0
 * means 1). Odd sizes are allowed: subsampled planes round up, as in DRM and
 * V4L2 (NV12 at 3×5 has a 2×3 chroma plane; YUYV at width 3 has 2 pixel
 * pairs per row). Returns 0, or -EINVAL with a logged reason: unknown format,
 * a width or height of 0 or above 32768, n_images out of range. `layout` is fully written on success (unused entries
 * zero) and untouched on failure.
 *
 * What row alignment the GPU paths want: pixshare's own readers need none.
 * px_vk_import() reads a linear image as bytes of a buffer, at any stride
 * and offset; its host-memory path needs the mapping's start, not its rows,
 * aligned to minImportedHostPointerAlignment (px_vk_info), which a mapping
 * is where that is at most a page. The imports that hand the stride to the
 * driver, EGL's dma-buf import (EGL_DMA_BUF_PLANEn_PITCH_EXT) and
 * px_vk_import_vkimage() (VkSubresourceLayout.rowPitch), take what the
 * driver takes, and a driver may refuse a pitch it cannot use: EGL then
 * uploads from the CPU, a copy per frame, and the VkImage import fails with
 * -ENOTSUP, both logged. EGL's upload copies an image in one call when its
 * stride is a whole number of pixels, rounded up to at most 8 bytes
 * (GL_UNPACK_ALIGNMENT), else row by row. Transforms write buffer outputs
 * at strides and offsets that are multiples of 4 (RGBA8, BGRA8, FLOAT32),
 * and transform publishers lay out their topics with rows aligned to 256
 * bytes: where a layout may meet several drivers, 256 is pixshare's choice.
 */
PX_API int px_layout_init_packed(struct px_set_layout *layout, uint32_t n_images,
				 const struct px_image_desc *descs, uint32_t row_align,
				 enum px_packing packing);

/*
 * Checks every field of a layout that came from anywhere, a peer included:
 * counts in range, known formats with the right plane count, every plane's
 * rows (offset + stride × (rows − 1) + row bytes) inside its buffer without
 * overflow, strides at least the row size, no buffer of size 0 or unused.
 * Rows are checked for PX_MODIFIER_LINEAR and for PX_MODIFIER_INVALID (an
 * implicit layout, which the CPU paths read as linear); with an explicit
 * tiled modifier only each plane's offset is, the rest being the driver's.
 * Returns 0, or -EINVAL and writes the first problem found to `why` (which
 * may be NULL; `why_size` bytes, NUL-terminated).
 */
PX_API int px_layout_validate(const struct px_set_layout *layout, char *why, size_t why_size);

/* Bytes of one row of `plane` of an image: the least valid stride. */
PX_API uint64_t px_image_row_bytes(const struct px_image_layout *image, uint32_t plane);

/* Rows of `plane` of an image (height divided by vertical subsampling). */
PX_API uint32_t px_image_plane_rows(const struct px_image_layout *image, uint32_t plane);

/* Total bytes of all buffers of one slot; UINT64_MAX where the sum would
 * overflow (possible only for a layout px_layout_validate() accepts from a
 * peer, whose sizes are not bounded). */
PX_API uint64_t px_layout_slot_bytes(const struct px_set_layout *layout);

/* True if the two layouts are field-for-field the same. */
PX_API bool px_layout_equal(const struct px_set_layout *a, const struct px_set_layout *b);

#ifdef __cplusplus
}
#endif

#endif

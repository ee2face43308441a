/* SPDX-License-Identifier: MIT */
/*
 * pixshare — fused transforms of a whole set, on a Vulkan device.
 *
 * A transform maps images of received frames to one output buffer, in one
 * compute dispatch per set (the image index is the dispatch's z dimension).
 * For every output pixel of every transformed image the shader does, in
 * this order:
 *
 *   crop (a rectangle of the source image)
 *   → rotate (0, 90, 180 or 270 degrees clockwise, exactly; or any angle with
 *     a border colour) and flip (h: left-right, v: top-bottom; applied after
 *     the rotation, to the rotated image)
 *   → resize to out_width × out_height (nearest, bilinear, bicubic, area)
 *   → colour conversion to the output format.
 *
 * Sampling: output pixel (x, y) has its centre at ((x + 0.5)·sw/ow − 0.5,
 * (y + 0.5)·sh/oh − 0.5) in the rotated, flipped crop of size sw × sh
 * (pixel centres at integers; edges clamp to the crop, never read outside it).
 * - nearest: the pixel floor((x + 0.5)·sw/ow), computed in integers: exact
 *   (any angle: the crop pixel nearest to the rotated point, in float32);
 * - bilinear: the 2 × 2 neighbours, weighted by distance;
 * - bicubic: 4 × 4 neighbours, Catmull-Rom (a = −0.5) weights;
 * - area: the mean of the source pixels under the output pixel's footprint
 *   [x·sw/ow, (x+1)·sw/ow) × …, each weighted by its covered fraction.
 * Filters work on each source pixel's RGB value, converted as below and
 * clamped to [0, 255]; results are clamped again and rounded to the nearest.
 *
 * Input formats: XRGB8888, ARGB8888, XBGR8888, ABGR8888, RGB888, BGR888, R8
 * (grey: R = G = B), YUYV, UYVY and NV12 (each pixel's own Y with the chroma
 * of its 2 × 1 or 2 × 2 block). Alpha is not carried: RGBA outputs get 255.
 * How they are read, chosen per pool at its first frame:
 * - linear data (the linear modifier; memfds, which have none) as bytes of
 *   the buffers px_vk_import() imports, so that any stride and offset works;
 * - any other explicit modifier (a GPU allocator's tiling), and every image
 *   where the transform has PX_TRANSFORM_READ_VKIMAGES, as VkImages of
 *   dma-bufs imported with the layout's modifier and plane layouts
 *   (VK_EXT_image_drm_format_modifier; px_vk_info.vkimage_transforms), one
 *   per plane, once per slot, in a format whose channels are a pixel's bytes:
 *   XRGB/ARGB B8G8R8A8, XBGR/ABGR R8G8B8A8, RGB888/BGR888 R8 of three
 *   texels a pixel, R8 R8, YUYV/UYVY R8G8B8A8 of a texel per pair of pixels,
 *   NV12 R8 and R8G8 planes. The driver must list the modifier for that
 *   format with sampling (it was made for the pixel format itself: few
 *   drivers tile the 3-byte and 4:2:2 formats at all); where it does not,
 *   px_transform_submit() fails with -ENOTSUP and the reason is logged.
 *   The submission acquires each image from the foreign queue family
 *   (GENERAL layout) before the dispatch and releases it after. A dma-buf
 *   without an explicit modifier (PX_MODIFIER_INVALID) cannot be read.
 * Both ways give the same results (the tests check both against one
 * reference).
 * YUV: BT.601 or BT.709 matrix, limited range (Y 16…235, C 16…240) or full:
 *   Y' = (Y − 16)·255/219, C' = (C − 128)·255/224 (limited), or Y, C − 128
 *   R = Y' + 2(1−Kr)·V', B = Y' + 2(1−Kb)·U', G = (Y' − Kr·R − Kb·B)/Kg.
 * Outputs (`format`):
 * - PX_OUT_RGBA8, PX_OUT_BGRA8: 4 bytes per pixel, alpha 255;
 * - PX_OUT_GRAY8: 1 byte, Kr·R + Kg·G + Kb·B with the image's matrix;
 * - PX_OUT_FLOAT32_PLANAR: 3 planes (R, G, B) of 32-bit floats,
 *   (v/255 − mean[c]) / std[c], plane c at out_offset + c·out_plane_stride:
 *   one image of an N×C×H×W tensor.
 * Each image writes out_height rows of out_width pixels at out_offset, rows
 * out_stride bytes apart: so images may tile a mosaic or fill a batch
 * tensor in one dispatch. Nothing else of the output is written. The output
 * may instead be the application's VkImage (RGBA8, BGRA8, GRAY8), each
 * image writing its rectangle at (out_x, out_y): see output_image.
 *
 * Ownership and lifetime: the transform owns its output buffer (host-visible,
 * allocated once at creation, unless the application gives its own), its
 * descriptor sets and its command buffer; compute pipelines belong to the
 * px_vk and are shared by its transforms. Allocations happen at creation,
 * at the first frame of each slot (its descriptor set; imports) and of each
 * new pool (a pipeline, and the shader of the pool's way of reading, if no
 * transform needed them before), never on later frames. Counted in
 * px_vk_stats.allocations.
 *
 * Cost: a pipeline is specialised to the source formats and filters the
 * images use, so a transform that mixes many of them runs every one's code
 * per pixel on software drivers, which execute all branches.
 *
 * Synchronisation: px_transform_submit() waits for the frame's acquire fence
 * (PX_SUBSCRIBER_KEEP_FENCES) as an imported semaphore where the device takes
 * sync_files, the fence is one (frames from a subscriber always carry
 * sync_files; a frame made by hand may not) and no image takes the upload
 * path, else on the CPU (at most 10 s, before the upload path's copy), then
 * submits. px_vk_stats counts both (fence_waits, fence_waits_cpu). The device may
 * read the frame until px_transform_wait() returns: only then may the frame
 * be released and the output read. px_transform_run() does both.
 *
 * Thread safety: as the px_vk it is made on (one thread at a time).
 */
#ifndef PIXSHARE_TRANSFORM_H
#define PIXSHARE_TRANSFORM_H

#include <pixshare/publisher.h>
#include <pixshare/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_transform;

enum px_filter {
	PX_FILTER_NEAREST = 0,
	PX_FILTER_BILINEAR = 1,
	PX_FILTER_BICUBIC = 2,
	PX_FILTER_AREA = 3,
};

enum px_rotation {
	PX_ROTATE_0 = 0,
	PX_ROTATE_90 = 1, /* clockwise */
	PX_ROTATE_180 = 2,
	PX_ROTATE_270 = 3,
	/* px_transform_image.angle degrees clockwise about the crop's centre,
	 * onto a canvas that holds the whole rotated crop: W × H =
	 * ceil(cw·|cos a| + ch·|sin a| − 1e-6) × ceil(cw·|sin a| + ch·|cos a| − 1e-6).
	 * Canvas points outside the crop show `border`; filters read the border
	 * colour there instead of clamping. Nearest, bilinear and bicubic only. */
	PX_ROTATE_ANY = 4,
};

#define PX_FLIP_H (1u << 0) /* mirror left-right */
#define PX_FLIP_V (1u << 1) /* mirror top-bottom */

enum px_out_format {
	PX_OUT_RGBA8 = 0,
	PX_OUT_BGRA8 = 1,
	PX_OUT_GRAY8 = 2,
	PX_OUT_FLOAT32_PLANAR = 3,
};

enum px_color_matrix {
	PX_MATRIX_BT601 = 0,
	PX_MATRIX_BT709 = 1,
};

/* What to make of one source image. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_transform_image {
	uint32_t src_image; /* index of the image in the frame's set */
	/* Crop rectangle in source pixels. Each axis on its own: crop_width 0
	 * is the whole width (crop_x ignored), crop_height 0 the whole height
	 * (crop_y ignored). Must lie inside the image: checked against each
	 * pool's layout at its first frame (px_transform_submit(): -EINVAL,
	 * logged with the sizes). */
	uint32_t crop_x, crop_y, crop_width, crop_height;
	enum px_rotation rotation;
	float angle;			/* PX_ROTATE_ANY: degrees, clockwise */
	float border[3];		/* PX_ROTATE_ANY: R, G, B (0…255) outside the crop */
	uint32_t flip;			/* PX_FLIP_* */
	uint32_t out_width, out_height; /* 1 … 16384 */
	enum px_filter filter;
	enum px_color_matrix matrix; /* for YUV sources and GRAY8 output */
	bool full_range;	     /* YUV sources: full range, else limited */
	/* Where the output goes in the output buffer, in bytes. RGBA8, BGRA8
	 * and FLOAT32 need offsets and strides that are multiples of 4. */
	uint64_t out_offset;
	uint32_t out_stride; /* ≥ out_width × bytes per pixel; 0: exactly that */
	/* FLOAT32_PLANAR: bytes between planes; 0: out_stride × out_height */
	uint64_t out_plane_stride;
	float mean[3], std[3]; /* FLOAT32_PLANAR: per channel; std 0 means 1 */
	/* An output image instead (px_transform_params.output_image): the
	 * top-left pixel of this image's out_width × out_height rectangle in
	 * it. out_offset, out_stride and out_plane_stride must then be 0. */
	uint32_t out_x, out_y;
};

/* The application's VkImage as the output (see px_transform_params). */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_transform_output_image {
	/* A view of one mip level and array layer of a 2D image made on the
	 * px_vk's device with VK_IMAGE_USAGE_STORAGE_BIT, of a format the
	 * output format names: PX_OUT_RGBA8 VK_FORMAT_R8G8B8A8_UNORM,
	 * PX_OUT_BGRA8 VK_FORMAT_B8G8R8A8_UNORM, PX_OUT_GRAY8
	 * VK_FORMAT_R8_UNORM (PX_OUT_FLOAT32_PLANAR has none), and whose tiling
	 * supports storage images in that format. */
	VkImageView view;
	VkFormat format;	/* the view's */
	uint32_t width, height; /* the view's extent, to check that outputs fit */
};

/* Flags for px_transform_params.flags. */
/* Read every source image as a VkImage (px_vk_info.vkimage_transforms),
 * linear ones too, instead of only those whose layout is not linear. */
#define PX_TRANSFORM_READ_VKIMAGES (1u << 0)

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_transform_params {
	uint32_t n_images;			 /* 1 … PX_MAX_IMAGES */
	const struct px_transform_image *images; /* n_images; only read during the call */
	enum px_out_format format;
	/* Bytes of the output buffer; 0: just enough for every image's output.
	 * Creation fails with -ENOSPC (logged, naming the image) if an
	 * image's output does not fit. */
	uint64_t output_size;
	/* The application's buffer to write into instead of one of the
	 * transform's own, e.g. another frame's imported buffer or a buffer
	 * the application's own work reads: created on the px_vk's device
	 * with VK_BUFFER_USAGE_STORAGE_BUFFER_BIT and bound to memory, at
	 * least `output_size` bytes (then required). Not owned: it must
	 * outlive the transform, and nothing else may access it between
	 * px_transform_submit() and px_transform_wait(). VK_NULL_HANDLE: the
	 * transform allocates its own, host-visible. */
	VkBuffer output_buffer;
	/* Or the application's image (not NULL; then output_buffer and
	 * output_size must be 0; read during the call): each image writes its
	 * rectangle at (out_x, out_y), the same values as into a buffer (alpha
	 * 255; GRAY8 in R), and nothing else of the image. The image must be
	 * in VK_IMAGE_LAYOUT_GENERAL from px_transform_submit() until
	 * px_transform_wait() returns, with the application's earlier device
	 * accesses to it done or ordered before the submission (e.g. earlier
	 * submissions to the same queue with a barrier); the submission ends
	 * with a barrier that makes the writes visible to later device work
	 * on the queue and to the host. Not owned: it must outlive the
	 * transform. Needs the feature shaderStorageImageWriteWithoutFormat
	 * (px_vk_info.image_output). Creation fails with -ENOTSUP (logged)
	 * where a format or the feature is missing, and -ENOSPC where a
	 * rectangle is not inside the image. px_transform_get_output() then
	 * reports no buffer. Transform publishers write buffers only. */
	const struct px_transform_output_image *output_image;
	/* PX_TRANSFORM_* flags; others are refused (-EINVAL). */
	uint32_t flags;
};

/*
 * Makes a transform on `vk`: checks the params, compiles the pipeline,
 * allocates the output buffer (host-visible and coherent) and the per-image
 * parameters. Returns 0 and `*out` (the caller's, for
 * px_transform_destroy()), or -EINVAL (bad params, unknown flags; logged),
 * -ENOSPC (an output does not fit or a stride is too small, logged),
 * -ENOTSUP (PX_TRANSFORM_READ_VKIMAGES on a device that cannot read
 * VkImages, logged with what it lacks), -ENOMEM, -EIO.
 * Not thread-safe (see the px_vk).
 */
PX_API int px_transform_create_sized(size_t params_size, struct px_vk *vk,
				     const struct px_transform_params *params,
				     struct px_transform **out);
#define px_transform_create(...)                                                                   \
	px_transform_create_sized(sizeof(struct px_transform_params), __VA_ARGS__)

/* Waits for its work to finish and frees the transform. NULL is a no-op. */
PX_API void px_transform_destroy(struct px_transform *t);

/*
 * Imports the frame's images that the transform reads (px_vk_import(),
 * cached), waits for its acquire fence (see above), and submits one
 * dispatch for every image. Returns 0, or:
 * -EBUSY    the previous submission was not waited for (px_transform_wait);
 * -EINVAL   NULL arguments, a crop outside its image, a source image
 *           index beyond the frame's set (logged);
 * -ENODATA  a source image is not present in the frame (valid_mask);
 * -ENOTSUP  a source format the shader cannot read, or an image to read as
 *           a VkImage (see above) that is not a dma-buf with an explicit
 *           modifier, or that the device cannot import or read (logged);
 * -ETIMEDOUT the acquire fence did not signal in 10 s;
 * -ENOMEM, -EIO. The frame is used until px_transform_wait() returns.
 */
PX_API int px_transform_submit(struct px_transform *t, const struct px_frame *frame);

/*
 * Waits up to `timeout_ms` (-1: forever) for the submitted work. Returns 0
 * (done, or nothing submitted), -ETIMEDOUT, -EIO (device lost).
 */
PX_API int px_transform_wait(struct px_transform *t, int timeout_ms);

/* px_transform_submit() then px_transform_wait(t, -1). */
PX_API int px_transform_run(struct px_transform *t, const struct px_frame *frame);

/* The output buffer: its CPU mapping (read after px_transform_wait(); owned
 * by the transform, valid until destroyed; NULL for an application's
 * output_buffer), its VkBuffer for the application's own device work, and
 * its size. Any out pointer may be NULL. Returns 0 or -EINVAL. */
PX_API int px_transform_get_output(const struct px_transform *t, void **data, VkBuffer *buffer,
				   uint64_t *size);

/* ---- A transform whose output is a topic */

/*
 * A transform publisher: every set it is given is transformed straight into
 * a slot of its own topic's pool and published there, so that the outputs
 * are shared without copies too (transform chains across processes).
 *
 * The output topic's set has one image per transform image (image i is the
 * output of the transform's image i), all in one buffer per slot, rows
 * aligned to 256 bytes: PX_OUT_RGBA8 is published as ABGR8888 (bytes R, G,
 * B, A), PX_OUT_BGRA8 as ARGB8888 and PX_OUT_GRAY8 as R8. A float tensor has
 * no pixel format: PX_OUT_FLOAT32_PLANAR is refused (-ENOTSUP).
 *
 * Where the output goes, per slot of the pool, made for every slot at
 * creation (so that no later frame allocates) and reused: the slot's
 * dma-buf imported into the device (GBM, dma-heap… pools on a device that
 * imports dma-bufs), else the slot's CPU mapping
 * imported as host memory (memfd pools; lavapipe). Both write the slot in
 * place. Where neither works, the transform writes its own buffer and the
 * CPU copies it into the slot: logged as a warning and counted (copies).
 *
 * Fences: where the device exports sync_files from semaphores
 * (VK_KHR_external_semaphore_fd), a set is published as soon as its
 * dispatch is submitted, with the sync_file as its acquire fence (subscribers
 * wait for it; see PX_SUBSCRIBER_KEEP_FENCES); else it is published after
 * the device finished. Either way px_transform_publisher_process() returns
 * only after the device is done reading the input frame, which the caller
 * may then release.
 */
struct px_transform_publisher;

/*
 * Creates the output topic and the transform. `transform`: the transform;
 * its format must be RGBA8, BGRA8 or GRAY8, and its output_size,
 * output_buffer, output_image and every image's out_offset, out_stride and
 * out_plane_stride must be 0 (the output topic's layout sets them).
 * `publisher`: the output topic, as for px_publisher_create(); its `layout`
 * and `external` must be NULL (the layout is made from the transform).
 * Both are extensible and read during the call only. Returns 0 and `*out`,
 * or the errors of px_publisher_create() and px_transform_create(); -EINVAL
 * for params as above (logged), -ENOTSUP for a float output or an allocator
 * that splits the set into several buffers (logged).
 */
PX_API int px_transform_publisher_create_sized(size_t transform_size, size_t publisher_size,
					       struct px_vk *vk,
					       const struct px_transform_params *transform,
					       const struct px_publisher_params *publisher,
					       struct px_transform_publisher **out);
#define px_transform_publisher_create(...)                                                         \
	px_transform_publisher_create_sized(sizeof(struct px_transform_params),                    \
					    sizeof(struct px_publisher_params), __VA_ARGS__)

/* Waits for the device, then destroys the transform and the output topic
 * (its subscribers see the stream end). NULL is a no-op. */
PX_API void px_transform_publisher_destroy(struct px_transform_publisher *tp);

/* The output topic's publisher, for px_publisher_get_fd(),
 * px_publisher_dispatch() (call it when its fd is readable: subscribers
 * connect and release there) and statistics. Do not acquire, publish or
 * destroy through it. */
PX_API struct px_publisher *px_transform_publisher_get_publisher(struct px_transform_publisher *tp);

/*
 * Transforms `frame` into a free slot of the output topic and publishes it
 * (see above). Each output image carries the timestamp and sequence number
 * of its source image. Waits up to `timeout_ms` (0: not at all; -1: forever)
 * for a free slot, serving subscribers meanwhile. Returns 0, or:
 * -EAGAIN   no slot freed in time (reliable subscribers behind): the frame
 *           is not transformed; counted in stats.dropped;
 * the errors of px_transform_submit() and px_transform_wait() (the slot is
 * then given back unpublished, unless it was published with its fence);
 * -ENOMEM, -EIO.
 * The frame is not kept: release it after the call.
 */
PX_API int px_transform_publisher_process(struct px_transform_publisher *tp,
					  const struct px_frame *frame, int timeout_ms);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_transform_publisher_stats {
	uint64_t published; /* sets published */
	uint64_t fenced;    /* of those, published with a fence before the device finished */
	uint64_t dropped;   /* sets not transformed: no free slot in time */
	uint64_t copies;    /* CPU copies of an output into its slot (no import) */
	uint64_t copy_bytes;
	uint64_t output_imports;       /* slots imported for the device to write */
	enum px_import_path output_path; /* how the last output was written */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_transform_publisher_get_stats_sized(size_t stats_size,
						  const struct px_transform_publisher *tp,
						  struct px_transform_publisher_stats *stats);
#define px_transform_publisher_get_stats(...)                                                      \
	px_transform_publisher_get_stats_sized(sizeof(struct px_transform_publisher_stats),        \
					       __VA_ARGS__)

/*
 * Resize by a factor: sets im->out_width and im->out_height to the size of
 * the image's crop of `src` after its rotation (90 and 270 swap the sides;
 * any angle: the canvas above), times `factor`, rounded to the nearest
 * pixel and at least 1. Use the source layout the transform will read (the
 * subscriber's, px_subscriber_get_layout()). Returns 0, or -EINVAL (NULL
 * arguments, a factor outside (0, 64], a crop outside `src`, or a result
 * above 16384 pixels), leaving `im` as it was. Thread-safe.
 */
PX_API int px_transform_image_scale(struct px_transform_image *im,
				    const struct px_image_layout *src, double factor);

/* Bytes per pixel of an output format (per plane for FLOAT32_PLANAR), 0 for
 * an unknown one. Thread-safe. */
PX_API uint32_t px_out_format_bpp(enum px_out_format format);

#ifdef __cplusplus
}
#endif

#endif

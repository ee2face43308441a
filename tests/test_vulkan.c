/* SPDX-License-Identifier: MIT */
/*
 * Vulkan import and fused transforms, on whatever device px_vk_create()
 * picks (lavapipe on machines without a GPU), with the validation layer on:
 * any validation error fails the test.
 *
 * - Every op × every source format × every output format against the CPU
 *   reference (tests/transform_ref.c, double precision) on random images at
 *   odd sizes, each output poisoned twice with different bytes, so that an
 *   unwritten pixel fails; bytes outside the images' outputs must keep the
 *   poison.
 *   Tolerances: exact for nearest (crop, flips, 90° rotations, nearest
 *   resize) from RGB and grey sources to RGBA/BGRA; ≤ 1 LSB for bilinear,
 *   for YUV sources (float32 against double at rounding ties) and GRAY8
 *   output; ≤ 2 LSB for bicubic and area. float32 outputs, in units of an
 *   LSB of the 0…255 value: ≤ 0.001 where bytes are exact, else ≤ 0.25
 *   (float32 sample positions: 2.4e-4 pixel at 4096 pixels).
 * - Random batches of 1 and 6 images of mixed formats, each with its own
 *   parameters, in one dispatch; a 2×2 mosaic; an N×C×H×W tensor; a mosaic
 *   written into the application's VkImage (RGBA8, BGRA8, R8 storage images,
 *   read back by a copy), margins poisoned.
 * - Errors: a too-small output, a crop outside its image, a missing image,
 *   an unreadable format, a second submission before the wait; the imports'
 *   -EINVAL, -ENODATA and -ENOTSUP; an acquire fence that never signals
 *   (-ETIMEDOUT after 10 s; not with --quick); a transform publisher whose
 *   reliable subscriber takes nothing (-EAGAIN); adopted devices without
 *   the extensions asked for, and a validation layer that is missing
 *   (-ENOTSUP).
 * - Paths: host-memory import of page-aligned mappings, the upload path for
 *   others (counted as copies); no allocation and no import after warm-up.
 * - A publisher in another process, 1,000 frames of a memfd pool: exactly one
 *   import per (slot, image), and every 97th frame checked.
 *
 * Command line (tests/px_test.h): --quick (smaller, fewer); SUITE… runs only
 * the suites named (--list lists them; the publisher's, "pubsub", always
 * runs: it makes the device); --allocator=NAME makes the publisher's pool
 * with that allocator (the vm tier: "auto", dma-bufs on vgem);
 * --require-path=NAME requires the publisher's frames to be imported by that
 * path. --source=NAME makes the hand-made frames' buffers with that
 * allocator (dma-bufs: udmabuf in the vm13 tier) instead of anonymous
 * memory, but for the misaligned ones of the upload path; with
 * --read-vkimages the transforms of the suites that check outputs read
 * their sources as VkImages (PX_TRANSFORM_READ_VKIMAGES), and each such
 * suite must import VkImages and no buffers; where the device cannot, the
 * test is skipped, or fails with --require-vkimage.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "core/allocator.h"
#include "px_testutil.h"
#include "px_vktestutil.h"
#include "transform_ref.h"

#define PX_MIN(a, b) ((a) < (b) ? (a) : (b))

static bool quick;
static enum px_allocator_type allocator = PX_ALLOCATOR_MEMFD;
static int require_path = -1;
static uint64_t rng = 0x2545f4914f6cdd1dull;
/* --source: the allocator of the hand-made frames, NULL: anonymous
 * memory. */
static const struct px_allocator_ops *src_ops;
static void *src_priv;
/* --read-vkimages: the flags of the transforms that check outputs. */
static uint32_t tf_flags;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)((rng >> 16) % n) : 0;
}

static const char *fmt_name(uint32_t fourcc)
{
	static char buf[8][16];
	static int k;
	k = (k + 1) % 8;
	return px_format_name(fourcc, buf[k], sizeof(buf[k]));
}

static const char *out_name(enum px_out_format f)
{
	static const char *n[] = {"RGBA8", "BGRA8", "GRAY8", "F32-planar"};
	return n[f];
}

/* ---- hand-made frames: page-aligned anonymous mappings */

struct src {
	struct px_set_layout layout;
	struct px_frame_buffer bufs[PX_MAX_BUFFERS];
	uint8_t *maps[PX_MAX_BUFFERS];
	size_t map_sizes[PX_MAX_BUFFERS];
	struct px_buffer allocated[PX_MAX_BUFFERS]; /* from src_ops, where n_allocated */
	uint32_t n_allocated;
	/* The buffers wrapped (px_frame_wrap()). Tests set fields of it that a
	 * publisher would (valid_mask, slot, acquire_fence) to try importers. */
	struct px_frame *frame;
};

static void src_fill(struct src *s)
{
	for (uint32_t b = 0; b < s->layout.n_buffers; b++) {
		uint8_t *p = (uint8_t *)s->bufs[b].data;
		px_dmabuf_sync(s->bufs[b].fd, true, true);
		for (uint64_t i = 0; i < s->bufs[b].size; i++)
			p[i] = (uint8_t)rnd(256);
		px_dmabuf_sync(s->bufs[b].fd, false, true);
	}
}

/* The buffers of `s` from src_ops. */
static void src_alloc(struct src *s)
{
	char why[200];
	struct px_set_layout asked = s->layout;
	for (uint32_t b = 0; b < PX_MAX_BUFFERS; b++)
		s->allocated[b] = (struct px_buffer){.fd = -1};
	int ret = src_ops->alloc_slot(src_priv, &s->layout, true, s->allocated, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "FAIL: %s: %s (%s)\n", src_ops->name, why, px_strerror(ret));
		exit(1);
	}
	REQUIRE(px_layout_equal(&asked, &s->layout));
	s->n_allocated = s->layout.n_buffers;
	for (uint32_t b = 0; b < s->layout.n_buffers; b++) {
		REQUIRE(s->allocated[b].data);
		s->bufs[b] = (struct px_frame_buffer){s->allocated[b].fd, s->layout.buffer_sizes[b],
						      s->allocated[b].data};
	}
}

/* `misalign`: bytes by which the data pointers miss page alignment (forces
 * the upload path). */
/* (Re)makes s->frame of s's layout and buffers, as a pool of its own. */
static void src_wrap(struct src *s)
{
	px_frame_release(s->frame);
	s->frame = NULL;
	REQUIRE_OK(px_frame_wrap(&(struct px_frame_desc){.layout = &s->layout,
							 .buffers = s->bufs,
							 .dmabuf = s->n_allocated && src_ops->dmabuf},
				 &s->frame));
}

static void src_init(struct src *s, uint32_t n, const struct px_image_desc *d, uint32_t align,
		     enum px_packing packing, uint32_t misalign)
{
	memset(s, 0, sizeof(*s));
	REQUIRE_OK(px_layout_init_packed(&s->layout, n, d, align, packing));
	if (src_ops && !misalign)
		src_alloc(s);
	for (uint32_t b = 0; !s->n_allocated && b < s->layout.n_buffers; b++) {
		size_t size = s->layout.buffer_sizes[b] + misalign;
		s->maps[b] =
		    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		REQUIRE(s->maps[b] != MAP_FAILED);
		s->map_sizes[b] = size;
		s->bufs[b] =
		    (struct px_frame_buffer){-1, s->layout.buffer_sizes[b], s->maps[b] + misalign};
	}
	src_fill(s);
	src_wrap(s);
}

static void src_finish(struct src *s)
{
	px_frame_release(s->frame);
	s->frame = NULL;
	for (uint32_t b = 0; b < s->n_allocated; b++)
		src_ops->free_buffer(src_priv, &s->allocated[b]);
	for (uint32_t b = 0; !s->n_allocated && b < s->layout.n_buffers; b++)
		munmap(s->maps[b], s->map_sizes[b]);
}

static struct ref_source ref_src(const struct px_frame *f, uint32_t image)
{
	const struct px_image_layout *img = &f->layout->images[image];
	struct ref_source r = {.image = img};
	for (uint32_t p = 0; p < img->n_planes; p++)
		r.planes[p] =
		    (const uint8_t *)f->buffers[img->planes[p].buffer].data + img->planes[p].offset;
	return r;
}

static bool is_yuv(uint32_t fourcc)
{
	return fourcc == PX_FORMAT_YUYV || fourcc == PX_FORMAT_UYVY || fourcc == PX_FORMAT_NV12;
}

/* ---- outputs: placement, poison, comparison */

/* Lays the images' outputs one after another in the output buffer, with
 * random padding in strides and between images. Returns the bytes needed. */
static uint64_t place(struct px_transform_image *ims, uint32_t n, enum px_out_format f)
{
	uint32_t bpp = px_out_format_bpp(f);
	uint64_t cursor = rnd(3) * 4;
	for (uint32_t i = 0; i < n; i++) {
		struct px_transform_image *im = &ims[i];
		if (bpp == 1)
			cursor += rnd(4);
		im->out_offset = cursor;
		im->out_stride = im->out_width * bpp + (bpp == 1 ? rnd(5) : 4 * rnd(3));
		uint64_t plane =
		    (uint64_t)im->out_stride * (im->out_height - 1) + (uint64_t)im->out_width * bpp;
		if (f == PX_OUT_FLOAT32_PLANAR) {
			im->out_plane_stride = (plane + 3) / 4 * 4 + 4 * rnd(3);
			plane += 2 * im->out_plane_stride;
		}
		cursor += plane;
		cursor = (cursor + 3) / 4 * 4;
	}
	return cursor + 4 * rnd(3);
}

/* Largest error allowed, in LSB. */
static int tolerance(const struct px_transform_image *im, uint32_t fourcc, enum px_out_format f)
{
	if (im->filter == PX_FILTER_BICUBIC || im->filter == PX_FILTER_AREA)
		return 2;
	if (im->filter == PX_FILTER_BILINEAR || is_yuv(fourcc) || f == PX_OUT_GRAY8)
		return 1;
	return 0;
}

struct result {
	int max_err;	 /* LSB (byte outputs) */
	double bad;	 /* fraction of pixels beyond the tolerance */
	double max_ferr; /* float outputs, in LSB/std units */
	bool fail;
};

/* Compares the image's output with the reference. */
static double *reference(const struct px_frame *frame, const struct px_transform_image *im)
{
	struct ref_source rs = ref_src(frame, im->src_image);
	double *rgb = malloc(sizeof(double) * 3 * im->out_width * im->out_height);
	REQUIRE(rgb);
	ref_transform(&rs, im, rgb);
	return rgb;
}

/* Compares the image's output with the reference `ref` (NULL: computed here). */
static struct result compare_ref(const struct px_frame *frame,
				 const struct px_transform_image *given, enum px_out_format f,
				 const uint8_t *out, const char *what, const double *ref)
{
	struct result res = {0};
	/* The defaults of 0 strides, as the header states them. */
	struct px_transform_image copy = *given, *im = &copy;
	if (!im->out_stride)
		im->out_stride = im->out_width * px_out_format_bpp(f);
	if (!im->out_plane_stride)
		im->out_plane_stride = (uint64_t)im->out_stride * im->out_height;
	const struct px_image_layout *img = &frame->layout->images[im->src_image];
	double *own = ref ? NULL : reference(frame, im);
	const double *rgb = ref ? ref : own;
	int tol = tolerance(im, img->fourcc, f);
	double k[3];
	ref_luma(im->matrix, k);
	/* Any angle, nearest: a point within float32's error of a rounding
	 * boundary may pick the neighbouring pixel. */
	double allowed =
	    im->rotation == PX_ROTATE_ANY && im->filter == PX_FILTER_NEAREST ? 0.02 : 0;
	int reported = allowed ? 5 : 0; /* details only where none may differ */
	uint64_t n_bad = 0;
	for (uint32_t y = 0; y < im->out_height; y++) {
		for (uint32_t x = 0; x < im->out_width; x++) {
			const double *c = rgb + 3 * ((size_t)y * im->out_width + x);
			bool bad = false;
			const uint8_t *row = out + im->out_offset + (size_t)y * im->out_stride;
			int exp[4], got[4], nc = 4;
			switch (f) {
			case PX_OUT_RGBA8:
			case PX_OUT_BGRA8: {
				unsigned r = ref_u8(c[0]), g = ref_u8(c[1]), b = ref_u8(c[2]);
				exp[0] = (int)(f == PX_OUT_RGBA8 ? r : b);
				exp[1] = (int)g;
				exp[2] = (int)(f == PX_OUT_RGBA8 ? b : r);
				exp[3] = 255;
				for (int i = 0; i < 4; i++)
					got[i] = row[4 * x + (uint32_t)i];
				break;
			}
			case PX_OUT_GRAY8:
				nc = 1;
				exp[0] = (int)ref_u8(k[0] * c[0] + k[1] * c[1] + k[2] * c[2]);
				got[0] = row[x];
				break;
			case PX_OUT_FLOAT32_PLANAR: {
				nc = 0;
				for (int ch = 0; ch < 3; ch++) {
					float v;
					memcpy(&v, row + 4 * x + (size_t)ch * im->out_plane_stride,
					       sizeof(v));
					double std = im->std[ch] != 0 ? im->std[ch] : 1;
					double e = (c[ch] / 255.0 - im->mean[ch]) / std;
					/* in LSB of the 0…255 value */
					double err = fabs(v - e) * std * 255.0;
					if (!(err <= res.max_ferr))
						res.max_ferr = isnan(err) ? 1e9 : err;
					/* float32 positions: 2.4e-4 pixel at 4096 */
					double ftol = tol ? 0.25 : 0.001;
					if (!(err <= ftol)) {
						bad = true;
						if (reported++ < 5)
							fprintf(stderr,
								"%s: (%u, %u) channel %d: %g, "
								"expected %g\n",
								what, x, y, ch, (double)v, e);
					}
				}
				break;
			}
			}
			for (int i = 0; i < nc; i++) {
				int err = abs(got[i] - exp[i]);
				if (err > res.max_err)
					res.max_err = err;
				if (err > tol) {
					bad = true;
					if (reported++ < 5)
						fprintf(stderr,
							"%s: (%u, %u) channel %d: %d, expected %d "
							"(tolerance %d)\n",
							what, x, y, i, got[i], exp[i], tol);
				}
			}
			n_bad += bad;
		}
	}
	res.bad = (double)n_bad / ((double)im->out_width * im->out_height);
	if (res.bad > allowed) {
		res.fail = true;
		fprintf(stderr,
			"%s: %.3f %% of the pixels beyond the tolerance (%.1f %% allowed)\n", what,
			res.bad * 100, allowed * 100);
	}
	free(own);
	return res;
}

static struct result compare(const struct px_frame *frame, const struct px_transform_image *im,
			     enum px_out_format f, const uint8_t *out, const char *what)
{
	return compare_ref(frame, im, f, out, what, NULL);
}

/* Bytes of the output the images write. */
static void coverage(const struct px_transform_image *ims, uint32_t n, enum px_out_format f,
		     uint8_t *mask)
{
	uint32_t bpp = px_out_format_bpp(f);
	uint32_t planes = f == PX_OUT_FLOAT32_PLANAR ? 3 : 1;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t p = 0; p < planes; p++)
			for (uint32_t y = 0; y < ims[i].out_height; y++)
				memset(mask + ims[i].out_offset + p * ims[i].out_plane_stride +
					   (size_t)y * ims[i].out_stride,
				       1, (size_t)ims[i].out_width * bpp);
}

static struct px_vk *vk;

/* Runs one transform over `frame` with two poisons and checks everything.
 * `results` (may be NULL) receives each image's result. */
static void run_check(const struct px_frame *frame, struct px_transform_image *ims, uint32_t n,
		      enum px_out_format f, const char *what, struct result *results)
{
	uint64_t need = place(ims, n, f);
	struct px_transform_params tp = {
	    .n_images = n, .images = ims, .format = f, .output_size = need, .flags = tf_flags};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	uint8_t *out;
	uint64_t size;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, &size));
	REQUIRE_EQ(size, need);
	uint8_t *mask = calloc(1, size);
	REQUIRE(mask);
	coverage(ims, n, f, mask);
	bool fail = false;
	double *refs[PX_MAX_IMAGES];
	for (uint32_t i = 0; i < n; i++)
		refs[i] = reference(frame, &ims[i]);
	static const uint8_t poisons[] = {0xa5, 0x5a};
	for (int k = 0; k < 2; k++) {
		memset(out, poisons[k], size);
		REQUIRE_OK(px_transform_run(t, frame));
		for (uint64_t i = 0; i < size; i++) {
			if (!mask[i] && out[i] != poisons[k]) {
				fprintf(stderr, "%s: byte %llu outside every image was written\n",
					what, (unsigned long long)i);
				fail = true;
				break;
			}
		}
		for (uint32_t i = 0; i < n; i++) {
			char w[200];
			snprintf(w, sizeof(w),
				 "%s, image %u (%s %ux%u crop %u,%u %ux%u rot %g "
				 "flip %u filter %u -> %ux%u %s%s)",
				 what, i, fmt_name(frame->layout->images[ims[i].src_image].fourcc),
				 frame->layout->images[ims[i].src_image].width,
				 frame->layout->images[ims[i].src_image].height, ims[i].crop_x,
				 ims[i].crop_y, ims[i].crop_width, ims[i].crop_height,
				 ims[i].rotation == PX_ROTATE_ANY ? (double)ims[i].angle
								  : ims[i].rotation * 90.0,
				 ims[i].flip, ims[i].filter, ims[i].out_width, ims[i].out_height,
				 out_name(f), ims[i].full_range ? " full" : "");
			struct result r = compare_ref(frame, &ims[i], f, out, w, refs[i]);
			fail |= r.fail;
			if (results && k == 1)
				results[i] = r;
		}
	}
	free(mask);
	for (uint32_t i = 0; i < n; i++)
		free(refs[i]);
	px_transform_destroy(t);
	if (fail) {
		fprintf(stderr, "%s: FAILED\n", what);
		exit(1);
	}
}

/* ---- every op × every format */

static const uint32_t all_formats[] = {
    PX_FORMAT_XRGB8888, PX_FORMAT_ARGB8888, PX_FORMAT_XBGR8888, PX_FORMAT_ABGR8888,
    PX_FORMAT_RGB888,	PX_FORMAT_BGR888,   PX_FORMAT_R8,	PX_FORMAT_YUYV,
    PX_FORMAT_UYVY,	PX_FORMAT_NV12,
};

enum op {
	OP_COPY,
	OP_CROP,
	OP_ROT90,
	OP_ROT180,
	OP_ROT270,
	OP_FLIPH,
	OP_FLIPV,
	OP_NEAREST,
	OP_BILINEAR_DOWN,
	OP_BILINEAR_UP,
	OP_BICUBIC,
	OP_AREA,
	OP_CHAIN,
	OP_ANY,
	OP_ANY_NEAREST,
	N_OPS
};
static const char *op_names[N_OPS] = {"copy",	 "crop",   "rot90",   "rot180",	   "rot270",
				      "flip-h",	 "flip-v", "nearest", "bilinear↓", "bilinear↑",
				      "bicubic", "area↓",  "chain",   "30°+bil",   "-47°+nn"};

static struct px_transform_image op_image(enum op op, uint32_t src, uint32_t w, uint32_t h)
{
	struct px_transform_image im = {.src_image = src, .out_width = w, .out_height = h};
	switch (op) {
	case OP_COPY:
		break;
	case OP_CROP:
		im.crop_x = w / 5 + 1;
		im.crop_y = h / 7;
		im.crop_width = im.out_width = w - w / 5 - 1 - w / 9;
		im.crop_height = im.out_height = h - h / 7 - h / 6;
		break;
	case OP_ROT90:
	case OP_ROT270:
		im.rotation = op == OP_ROT90 ? PX_ROTATE_90 : PX_ROTATE_270;
		im.out_width = h;
		im.out_height = w;
		break;
	case OP_ROT180:
		im.rotation = PX_ROTATE_180;
		break;
	case OP_FLIPH:
		im.flip = PX_FLIP_H;
		break;
	case OP_FLIPV:
		im.flip = PX_FLIP_V;
		break;
	case OP_NEAREST:
		im.out_width = w * 3 / 5 + 1;
		im.out_height = h * 4 / 3 + 1;
		break;
	case OP_BILINEAR_DOWN:
		im.filter = PX_FILTER_BILINEAR;
		im.out_width = w / 2 + 1;
		im.out_height = h / 3 + 1;
		break;
	case OP_BILINEAR_UP:
		im.filter = PX_FILTER_BILINEAR;
		im.out_width = w * 2 - 1;
		im.out_height = h * 3 / 2 + 1;
		break;
	case OP_BICUBIC:
		im.filter = PX_FILTER_BICUBIC;
		im.out_width = w * 3 / 4 + 1;
		im.out_height = h * 5 / 4 + 1;
		break;
	case OP_AREA:
		im.filter = PX_FILTER_AREA;
		im.out_width = w / 3 + 1;
		im.out_height = h * 2 / 5 + 1;
		break;
	case OP_CHAIN: /* crop → 90° → flip h → bilinear down */
		im.crop_x = 3;
		im.crop_y = 1;
		im.crop_width = w - 5;
		im.crop_height = h - 2;
		im.rotation = PX_ROTATE_90;
		im.flip = PX_FLIP_H;
		im.filter = PX_FILTER_BILINEAR;
		im.out_width = (h - 2) * 2 / 3;
		im.out_height = (w - 5) / 2;
		break;
	case OP_ANY: /* 30°, bilinear, a green border, down to 3/4 */
		im.rotation = PX_ROTATE_ANY;
		im.angle = 30;
		im.border[0] = 10, im.border[1] = 200, im.border[2] = 30;
		im.filter = PX_FILTER_BILINEAR;
		im.out_width = w * 3 / 4 + 1;
		im.out_height = h * 3 / 4 + 1;
		break;
	case OP_ANY_NEAREST:
		im.rotation = PX_ROTATE_ANY;
		im.angle = -47;
		im.border[0] = 255;
		im.out_width = w;
		im.out_height = h;
		break;
	case N_OPS:
		break;
	}
	im.matrix = (op & 1) ? PX_MATRIX_BT709 : PX_MATRIX_BT601;
	im.full_range = (op % 3) == 0;
	im.mean[0] = 0.485f, im.mean[1] = 0.456f, im.mean[2] = 0.406f;
	im.std[0] = 0.229f, im.std[1] = 0.224f, im.std[2] = 0.225f;
	return im;
}

/* matrix[format][out][op]: the largest error seen, -1 not run. */
static int matrix_err[PX_ARRAY_LEN(all_formats)][4][N_OPS];

static void matrix_suite(void)
{
	uint32_t w = quick ? 61 : 133, h = quick ? 37 : 71;
	for (size_t fi = 0; fi < PX_ARRAY_LEN(all_formats); fi++) {
		struct px_image_desc d[] = {{all_formats[fi], w, h}};
		struct src s;
		src_init(&s, 1, d, 1 + 63 * (fi & 1), PX_PACK_PER_IMAGE, 0);
		for (int f = 0; f < 4; f++) {
			/* Quick (valgrind, where compiling each pipeline takes
			 * seconds): one output format per source format, every
			 * output format still met. */
			if (quick && f != (int)(fi % 4)) {
				for (int op = 0; op < N_OPS; op++)
					matrix_err[fi][f][op] = -1;
				continue;
			}
			struct px_transform_image ims[N_OPS];
			for (int op = 0; op < N_OPS; op++)
				ims[op] = op_image((enum op)op, 0, w, h);
			struct result res[N_OPS];
			char what[64];
			snprintf(what, sizeof(what), "matrix %s -> %s", fmt_name(all_formats[fi]),
				 out_name((enum px_out_format)f));
			run_check(s.frame, ims, N_OPS, (enum px_out_format)f, what, res);
			for (int op = 0; op < N_OPS; op++)
				matrix_err[fi][f][op] = f == PX_OUT_FLOAT32_PLANAR
							    ? (int)ceil(res[op].max_ferr * 100)
							    : res[op].max_err;
		}
		src_finish(&s);
	}
	printf("op x format matrix (%ux%u random sources; all passed): largest error in LSB "
	       "per output RGBA8/BGRA8/GRAY8, and for F32 in 1/100 LSB ('-': not run in quick "
	       "mode)\n%-10s",
	       w, h, "");
	for (int op = 0; op < N_OPS; op++)
		printf(" %9s", op_names[op]);
	printf("\n");
	for (size_t fi = 0; fi < PX_ARRAY_LEN(all_formats); fi++) {
		printf("%-10s", fmt_name(all_formats[fi]));
		for (int op = 0; op < N_OPS; op++) {
			char cell[4][12];
			for (int f = 0; f < 4; f++)
				if (matrix_err[fi][f][op] < 0)
					snprintf(cell[f], sizeof(cell[f]), "-");
				else
					snprintf(cell[f], sizeof(cell[f]), "%d",
						 matrix_err[fi][f][op]);
			printf("   %s/%s/%s/%s", cell[0], cell[1], cell[2], cell[3]);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* ---- odd sizes and random batches */

static struct px_transform_image random_image(const struct px_image_layout *img, uint32_t src)
{
	struct px_transform_image im = {.src_image = src};
	if (rnd(3)) {
		im.crop_width = 1 + rnd(img->width);
		im.crop_height = 1 + rnd(img->height);
		im.crop_x = rnd(img->width - im.crop_width + 1);
		im.crop_y = rnd(img->height - im.crop_height + 1);
	}
	im.rotation = (enum px_rotation)rnd(5);
	im.angle = (float)rnd(36000) / 100.0f - 180.0f;
	for (int c = 0; c < 3; c++)
		im.border[c] = (float)rnd(256);
	im.flip = rnd(4);
	im.filter = (enum px_filter)rnd(4);
	if (im.rotation == PX_ROTATE_ANY && im.filter == PX_FILTER_AREA)
		im.filter = PX_FILTER_BILINEAR;
	im.matrix = (enum px_color_matrix)rnd(2);
	im.full_range = rnd(2);
	uint32_t cw = im.crop_width ? im.crop_width : img->width;
	uint32_t ch = im.crop_height ? im.crop_height : img->height;
	/* Sometimes the exact size, else random, up or down. */
	bool swap = im.rotation & 1;
	uint32_t rw = swap ? ch : cw, rh = swap ? cw : ch;
	if (rnd(4) == 0) {
		im.out_width = PX_MIN(rw, 300u);
		im.out_height = PX_MIN(rh, 300u);
	} else {
		im.out_width = 1 + rnd(PX_MIN(2 * rw + 2, 90u));
		im.out_height = 1 + rnd(PX_MIN(2 * rh + 2, 90u));
	}
	for (int c = 0; c < 3; c++) {
		im.mean[c] = (float)rnd(1000) / 1000.0f;
		im.std[c] = 0.1f + (float)rnd(1000) / 1000.0f;
	}
	return im;
}

static void odd_sizes_suite(void)
{
	static const struct {
		uint32_t w, h;
	} sizes[] = {{1, 1}, {2, 1}, {1, 3}, {4097, 3}, {3, 517}, {333, 171}, {17, 13}};
	int runs = 0;
	for (size_t si = 0; si < PX_ARRAY_LEN(sizes); si++) {
		if (quick && sizes[si].w * sizes[si].h > 5000)
			continue;
		for (size_t fi = 0; fi < PX_ARRAY_LEN(all_formats); fi++) {
			struct px_image_desc d[] = {{all_formats[fi], sizes[si].w, sizes[si].h}};
			struct src s;
			src_init(&s, 1, d, 1, PX_PACK_PER_IMAGE, 0);
			struct px_transform_image ims[5];
			/* Every filter and rotation, with random parameters
			 * otherwise: the pipelines stay those of the matrix
			 * (compiling one takes seconds under valgrind). */
			for (int i = 0; i < 5; i++) {
				ims[i] = random_image(&s.layout.images[0], 0);
				ims[i].filter = (enum px_filter)(i % 4);
				ims[i].rotation = (enum px_rotation)(4 - i);
			}
			char what[64];
			snprintf(what, sizeof(what), "odd size %s %ux%u", fmt_name(all_formats[fi]),
				 sizes[si].w, sizes[si].h);
			enum px_out_format f = (enum px_out_format)(quick ? fi % 4 : rnd(4));
			run_check(s.frame, ims, 5, f, what, NULL);
			runs++;
			src_finish(&s);
		}
	}
	printf(
	    "odd sizes: 1x1, 2x1, 1x3, 4097x3, 3x517, 333x171, 17x13%s in every format, "
	    "5 random transforms each (every filter and rotation): %d sets, all within tolerance\n",
	    quick ? " (quick: the small ones)" : "", runs);
}

static void batch_suite(void)
{
	int rounds = quick ? 3 : 12;
	for (int r = 0; r < rounds; r++) {
		for (uint32_t n = 1; n <= 6; n += 5) {
			struct px_image_desc d[6];
			for (uint32_t i = 0; i < n; i++)
				d[i] = (struct px_image_desc){
				    all_formats[rnd(PX_ARRAY_LEN(all_formats))], 1 + rnd(150),
				    1 + rnd(90)};
			struct src s;
			enum px_packing pack = rnd(2) ? PX_PACK_BATCH : PX_PACK_PER_IMAGE;
			src_init(&s, n, d, 1u << rnd(7), pack, 0);
			struct px_transform_image ims[6];
			for (uint32_t i = 0; i < n; i++)
				ims[i] = random_image(&s.layout.images[i], i);
			enum px_out_format f = (enum px_out_format)rnd(4);
			char what[64];
			snprintf(what, sizeof(what), "batch of %u (%s), round %d", n,
				 pack == PX_PACK_BATCH ? "one buffer" : "a buffer each", r);
			run_check(s.frame, ims, n, f, what, NULL);
			src_finish(&s);
		}
	}
	printf("batches: %d rounds of 1 and of 6 images, random formats, sizes, packings and "
	       "per-image parameters, one dispatch each: all within tolerance\n",
	       rounds);
}

/* 4 cameras as one 2×2 mosaic, 6 as an N×C×H×W tensor: each one dispatch. */
static void mosaic_tensor_suite(void)
{
	struct px_image_desc d[6] = {{PX_FORMAT_YUYV, 160, 100},  {PX_FORMAT_NV12, 98, 62},
				     {PX_FORMAT_XRGB8888, 65, 9}, {PX_FORMAT_R8, 333, 171},
				     {PX_FORMAT_BGR888, 17, 13},  {PX_FORMAT_UYVY, 40, 30}};
	struct src s;
	src_init(&s, 6, d, 64, PX_PACK_BATCH, 0);
	const uint32_t tw = 64, th = 48;
	struct px_transform_image ims[6];
	for (uint32_t i = 0; i < 4; i++) {
		ims[i] = (struct px_transform_image){
		    .src_image = i,
		    .out_width = tw,
		    .out_height = th,
		    .filter = PX_FILTER_BILINEAR,
		    .out_offset = (uint64_t)(i / 2) * th * tw * 2 * 4 + (i % 2) * tw * 4,
		    .out_stride = tw * 2 * 4};
	}
	struct px_transform_params tp = {.n_images = 4,
					 .images = ims,
					 .format = PX_OUT_RGBA8,
					 .output_size = tw * th * 16,
					 .flags = tf_flags};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	uint8_t *out;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	memset(out, 0x5a, tw * th * 16);
	REQUIRE_OK(px_transform_run(t, s.frame));
	for (uint32_t i = 0; i < 4; i++) {
		struct result r = compare(s.frame, &ims[i], PX_OUT_RGBA8, out, "mosaic");
		REQUIRE(!r.fail);
	}
	px_transform_destroy(t);

	/* The tensor: image n at n·3·H·W floats, planes H·W floats apart. */
	const uint32_t H = 40, W = 56;
	for (uint32_t i = 0; i < 6; i++) {
		ims[i] = (struct px_transform_image){.src_image = 5 - i,
						     .out_width = W,
						     .out_height = H,
						     .filter = i & 1 ? PX_FILTER_AREA
								     : PX_FILTER_BILINEAR,
						     .rotation = (enum px_rotation)(i % 4),
						     .out_offset = (uint64_t)i * 3 * H * W * 4,
						     .out_stride = W * 4,
						     .out_plane_stride = (uint64_t)H * W * 4,
						     .mean = {0.485f, 0.456f, 0.406f},
						     .std = {0.229f, 0.224f, 0.225f}};
	}
	tp = (struct px_transform_params){.n_images = 6,
					  .images = ims,
					  .format = PX_OUT_FLOAT32_PLANAR,
					  .output_size = 6ull * 3 * H * W * 4,
					  .flags = tf_flags};
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	memset(out, 0xff, tp.output_size); /* NaNs */
	REQUIRE_OK(px_transform_run(t, s.frame));
	for (uint32_t i = 0; i < 6; i++) {
		struct result r = compare(s.frame, &ims[i], PX_OUT_FLOAT32_PLANAR, out, "tensor");
		REQUIRE(!r.fail);
	}
	px_transform_destroy(t);
	src_finish(&s);
	printf("mosaic: 4 images (YUYV, NV12, XRGB8888, R8) into one 128x96 RGBA8 2x2 mosaic; "
	       "tensor: 6 images into one 6x3x40x56 float32 tensor, mean/std normalised: "
	       "within tolerance\n");
}

/* ---- the application's VkImage as the output */

struct vk_target {
	struct px_test_cmd cmd; /* on the test's px_vk */
	VkImage image;
	VkDeviceMemory memory;
	VkImageView view;
	VkBuffer readback;
	VkDeviceMemory readback_memory;
	uint8_t *map;
};

static uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags flags)
{
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(px_vk_get_physical_device(vk), &mp);
	for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
		if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & flags) == flags)
			return i;
	fprintf(stderr, "no memory type 0x%x with flags 0x%x\n", bits, flags);
	exit(1);
}

/* Records a barrier moving the image from layout `from` to `to`. */
static void target_layout(struct vk_target *tg, VkImageLayout from, VkImageLayout to,
			  VkPipelineStageFlags src_stage, VkAccessFlags src_access,
			  VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
	VkImageMemoryBarrier ib = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
				   .srcAccessMask = src_access,
				   .dstAccessMask = dst_access,
				   .oldLayout = from,
				   .newLayout = to,
				   .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
				   .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
				   .image = tg->image,
				   .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
	vkCmdPipelineBarrier(tg->cmd.cb, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &ib);
}

/* An optimally tiled w × h image of `format` in VK_IMAGE_LAYOUT_GENERAL,
 * and a host-visible buffer to read it back. */
static void target_init(struct vk_target *tg, VkFormat format, uint32_t w, uint32_t h, uint32_t bpp)
{
	memset(tg, 0, sizeof(*tg));
	px_test_cmd_init(&tg->cmd, vk);
	VkDevice dev = tg->cmd.dev;

	VkImageCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
				 .imageType = VK_IMAGE_TYPE_2D,
				 .format = format,
				 .extent = {w, h, 1},
				 .mipLevels = 1,
				 .arrayLayers = 1,
				 .samples = VK_SAMPLE_COUNT_1_BIT,
				 .tiling = VK_IMAGE_TILING_OPTIMAL,
				 .usage = VK_IMAGE_USAGE_STORAGE_BIT |
					  VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
					  VK_IMAGE_USAGE_TRANSFER_DST_BIT,
				 .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
	REQUIRE_EQ(vkCreateImage(dev, &ici, NULL, &tg->image), VK_SUCCESS);
	VkMemoryRequirements mr;
	vkGetImageMemoryRequirements(dev, tg->image, &mr);
	VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				    .allocationSize = mr.size,
				    .memoryTypeIndex = memory_type(mr.memoryTypeBits, 0)};
	REQUIRE_EQ(vkAllocateMemory(dev, &mai, NULL, &tg->memory), VK_SUCCESS);
	REQUIRE_EQ(vkBindImageMemory(dev, tg->image, tg->memory, 0), VK_SUCCESS);
	VkImageViewCreateInfo vci = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
				     .image = tg->image,
				     .viewType = VK_IMAGE_VIEW_TYPE_2D,
				     .format = format,
				     .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
	REQUIRE_EQ(vkCreateImageView(dev, &vci, NULL, &tg->view), VK_SUCCESS);

	VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				  .size = (VkDeviceSize)w * h * bpp,
				  .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
	REQUIRE_EQ(vkCreateBuffer(dev, &bci, NULL, &tg->readback), VK_SUCCESS);
	vkGetBufferMemoryRequirements(dev, tg->readback, &mr);
	mai.allocationSize = mr.size;
	mai.memoryTypeIndex =
	    memory_type(mr.memoryTypeBits,
			VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
	REQUIRE_EQ(vkAllocateMemory(dev, &mai, NULL, &tg->readback_memory), VK_SUCCESS);
	REQUIRE_EQ(vkBindBufferMemory(dev, tg->readback, tg->readback_memory, 0), VK_SUCCESS);
	REQUIRE_EQ(
	    vkMapMemory(dev, tg->readback_memory, 0, VK_WHOLE_SIZE, 0, (void **)&tg->map),
	    VK_SUCCESS);

	px_test_cmd_begin(&tg->cmd);
	target_layout(tg, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_GENERAL,
		      VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
		      VK_ACCESS_TRANSFER_WRITE_BIT);
	px_test_cmd_submit(&tg->cmd);
}

/* Fills the image with `poison` in every byte. */
static void target_poison(struct vk_target *tg, uint8_t poison)
{
	px_test_cmd_begin(&tg->cmd);
	float v = poison / 255.0f;
	VkClearColorValue c = {.float32 = {v, v, v, v}};
	VkImageSubresourceRange r = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
	vkCmdClearColorImage(tg->cmd.cb, tg->image, VK_IMAGE_LAYOUT_GENERAL, &c, 1, &r);
	/* The transform's dispatch comes after, in a later submission. */
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
			      .dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT};
	vkCmdPipelineBarrier(tg->cmd.cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
			     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
	px_test_cmd_submit(&tg->cmd);
}

/* Copies the image into tg->map, rows packed. The transform's submission
 * ended with a barrier for later device work. */
static void target_read(struct vk_target *tg, uint32_t w, uint32_t h)
{
	px_test_cmd_begin(&tg->cmd);
	target_layout(tg, VK_IMAGE_LAYOUT_GENERAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
		      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
		      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
	VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
				    .imageExtent = {w, h, 1}};
	vkCmdCopyImageToBuffer(tg->cmd.cb, tg->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
			       tg->readback, 1, &region);
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
			      .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
	vkCmdPipelineBarrier(tg->cmd.cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
			     VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
	/* Back to the layout the next clear and dispatch use. */
	target_layout(tg, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_IMAGE_LAYOUT_GENERAL,
		      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT,
		      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
	px_test_cmd_submit(&tg->cmd);
}

static void target_finish(struct vk_target *tg)
{
	VkDevice dev = tg->cmd.dev;
	vkDestroyBuffer(dev, tg->readback, NULL);
	vkFreeMemory(dev, tg->readback_memory, NULL);
	vkDestroyImageView(dev, tg->view, NULL);
	vkDestroyImage(dev, tg->image, NULL);
	vkFreeMemory(dev, tg->memory, NULL);
	px_test_cmd_finish(&tg->cmd);
}

static void image_suite(void)
{
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	if (!info.image_output) {
		/* lavapipe has the feature: only another device may lack it. */
		REQUIRE(!info.software);
		printf("image outputs: SKIPPED: %s lacks shaderStorageImageWriteWithoutFormat\n",
		       info.device_name);
		return;
	}
	/* Random numbers of their own: the later suites draw what they drew
	 * before this one existed (the same transforms, the same run time). */
	uint64_t saved_rng = rng;
	rng ^= 0x6a09e667f3bcc909ull;
	struct px_image_desc d[4] = {{PX_FORMAT_YUYV, 160, 100},
				     {PX_FORMAT_NV12, 98, 62},
				     {PX_FORMAT_XRGB8888, 65, 9},
				     {PX_FORMAT_R8, 333, 171}};
	struct src s;
	src_init(&s, 4, d, 64, PX_PACK_BATCH, 0);
	/* A 2 × 2 mosaic of different sizes with a margin that must keep the
	 * poison. */
	const uint32_t tw = 61, th = 37, W = 2 * tw + 7, H = 2 * th + 5;
	static const struct {
		enum px_out_format f;
		VkFormat vf;
	} fmts[] = {{PX_OUT_RGBA8, VK_FORMAT_R8G8B8A8_UNORM},
		    {PX_OUT_BGRA8, VK_FORMAT_B8G8R8A8_UNORM},
		    {PX_OUT_GRAY8, VK_FORMAT_R8_UNORM}};
	for (size_t k = 0; k < PX_ARRAY_LEN(fmts); k++) {
		enum px_out_format f = fmts[k].f;
		uint32_t bpp = px_out_format_bpp(f);
		struct px_transform_image ims[4];
		for (uint32_t i = 0; i < 4; i++) {
			ims[i] = random_image(&s.layout.images[i], i);
			ims[i].out_width = tw - 2 * (i & 1);
			ims[i].out_height = th - (i >> 1);
			ims[i].out_offset = 0;
			ims[i].out_stride = 0;
			ims[i].out_plane_stride = 0;
			ims[i].out_x = 3 + (i % 2) * (tw + 1);
			ims[i].out_y = 2 + (i / 2) * (th + 1);
		}
		struct vk_target tg;
		target_init(&tg, fmts[k].vf, W, H, bpp);
		struct px_transform_params tp = {
		    .n_images = 4,
		    .images = ims,
		    .format = f,
		    .output_image =
			&(struct px_transform_output_image){
			    .view = tg.view, .format = fmts[k].vf, .width = W, .height = H},
		    .flags = tf_flags};
		struct px_transform *t;
		REQUIRE_OK(px_transform_create(vk, &tp, &t));
		void *data;
		VkBuffer buf;
		uint64_t size;
		REQUIRE_OK(px_transform_get_output(t, &data, &buf, &size));
		REQUIRE(!data && !buf && !size);
		/* Where each rectangle lies in the packed readback. */
		uint8_t *mask = calloc(1, (size_t)W * H * bpp);
		REQUIRE(mask);
		struct px_transform_image at[4];
		for (uint32_t i = 0; i < 4; i++) {
			at[i] = ims[i];
			at[i].out_x = at[i].out_y = 0;
			at[i].out_offset = ((uint64_t)ims[i].out_y * W + ims[i].out_x) * bpp;
			at[i].out_stride = W * bpp;
		}
		coverage(at, 4, f, mask);
		bool fail = false;
		static const uint8_t poisons[] = {0xa5, 0x5a};
		for (int pk = 0; pk < 2; pk++) {
			target_poison(&tg, poisons[pk]);
			REQUIRE_OK(px_transform_run(t, s.frame));
			target_read(&tg, W, H);
			for (size_t b = 0; b < (size_t)W * H * bpp; b++) {
				if (!mask[b] && tg.map[b] != poisons[pk]) {
					fprintf(stderr,
						"image %s: byte %zu (pixel %zu, %zu) outside "
						"every rectangle was written\n",
						out_name(f), b, b / bpp % W, b / bpp / W);
					fail = true;
					break;
				}
			}
			for (uint32_t i = 0; i < 4; i++) {
				char w[120];
				snprintf(w, sizeof(w),
					 "image %s, rectangle %u (%s, %ux%u at %u,%u)", out_name(f),
					 i, fmt_name(d[i].fourcc), ims[i].out_width,
					 ims[i].out_height, ims[i].out_x, ims[i].out_y);
				fail |= compare(s.frame, &at[i], f, tg.map, w).fail;
			}
		}
		free(mask);
		px_transform_destroy(t);
		target_finish(&tg);
		REQUIRE(!fail);
	}

	/* Refusals. */
	struct vk_target tg;
	target_init(&tg, VK_FORMAT_R8G8B8A8_UNORM, 16, 16, 4);
	struct px_transform_image im = {.out_width = 16, .out_height = 16};
	struct px_transform_output_image oi = {
	    .view = tg.view, .format = VK_FORMAT_R8G8B8A8_UNORM, .width = 16, .height = 16};
	struct px_transform_params tp = {
	    .n_images = 1, .images = &im, .format = PX_OUT_RGBA8, .output_image = &oi};
	struct px_transform *t = NULL;
	im.out_x = 1; /* one column beyond */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -ENOSPC);
	im.out_x = 0;
	im.out_height = 17;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -ENOSPC);
	im.out_height = 16;
	im.out_offset = 4; /* buffers only */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	im.out_offset = 0;
	tp.format = PX_OUT_BGRA8; /* not the view's format */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	tp.format = PX_OUT_FLOAT32_PLANAR;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -ENOTSUP);
	tp.format = PX_OUT_RGBA8;
	tp.output_size = 1024; /* a buffer's */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	tp.output_size = 0;
	oi.view = VK_NULL_HANDLE; /* an output image needs its view */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	tp.output_image = NULL; /* a buffer output does not take out_x */
	im.out_y = 2;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	REQUIRE(!t);
	target_finish(&tg);
	src_finish(&s);
	rng = saved_rng;
	printf("image outputs: 4 images (YUYV, NV12, XRGB8888, R8; random crops, rotations, "
	       "flips, filters) into one %ux%u R8G8B8A8, B8G8R8A8 and R8 storage image each, "
	       "rectangles at (x, y), twice poisoned: within tolerance, margins untouched; "
	       "outside the image -ENOSPC, float32 -ENOTSUP, wrong view format, offsets or "
	       "a buffer size -EINVAL\n",
	       W, H);
}

/* ---- a few outputs worked out by hand, independent of the reference */

static void known_suite(void)
{
	/* 3×2 XBGR8888 (bytes R G B X), pixel value = its number in R:
	 *   1 2 3
	 *   4 5 6
	 * 90° clockwise: 2×3, rows (4 1) (5 2) (6 3); then flip-h: (1 4) (2 5) (3 6). */
	struct px_image_desc d[] = {{PX_FORMAT_XBGR8888, 3, 2}, {PX_FORMAT_YUYV, 8, 1}};
	struct src s;
	src_init(&s, 2, d, 1, PX_PACK_PER_IMAGE, 0);
	uint8_t *px = (uint8_t *)s.bufs[0].data;
	px_dmabuf_sync(s.bufs[0].fd, true, true);
	for (int i = 0; i < 6; i++)
		px[4 * i] = (uint8_t)(i + 1), px[4 * i + 1] = 0, px[4 * i + 2] = 200;
	px_dmabuf_sync(s.bufs[0].fd, false, true);
	/* YUYV pixels: white, black (limited); BT.601 red (Y 81, U 90, V 240);
	 * BT.709 red (Y 63, U 102, V 240): pairs share U and V. */
	static const uint8_t yuyv[] = {235, 128, 16, 128, 81,  90,  81, 240,
				       63,  102, 63, 240, 255, 128, 0,	128};
	px_dmabuf_sync(s.bufs[1].fd, true, true);
	memcpy((void *)s.bufs[1].data, yuyv, sizeof(yuyv));
	px_dmabuf_sync(s.bufs[1].fd, false, true);
	struct px_transform_image ims[5] = {
	    {.out_width = 2, .out_height = 3, .rotation = PX_ROTATE_90},
	    {.out_width = 2,
	     .out_height = 3,
	     .rotation = PX_ROTATE_90,
	     .flip = PX_FLIP_H,
	     .out_offset = 24},
	    {.out_width = 3,
	     .out_height = 2,
	     .rotation = PX_ROTATE_270,
	     .crop_x = 1,
	     .crop_width = 2,
	     .crop_height = 3 - 1,
	     .out_offset = 48},
	    {.src_image = 1, .out_width = 8, .out_height = 1, .out_offset = 72},
	    {.src_image = 1,
	     .out_width = 8,
	     .out_height = 1,
	     .out_offset = 104,
	     .matrix = PX_MATRIX_BT709,
	     .full_range = true},
	};
	ims[2].out_width = 2, ims[2].out_height = 2;
	struct px_transform_params tp = {
	    .n_images = 5, .images = ims, .format = PX_OUT_RGBA8, .flags = tf_flags};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	uint8_t *out;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	REQUIRE_OK(px_transform_run(t, s.frame));
	static const uint8_t rot90[] = {4, 1, 5, 2, 6, 3}, rot90h[] = {1, 4, 2, 5, 3, 6};
	/* 270° of the crop (2 3 / 5 6): rows (3 6) (2 5). */
	static const uint8_t rot270[] = {3, 6, 2, 5};
	for (int i = 0; i < 6; i++) {
		REQUIRE_EQ(out[4 * i], rot90[i]);
		REQUIRE_EQ(out[4 * i + 2], 200);
		REQUIRE_EQ(out[4 * i + 3], 255);
		REQUIRE_EQ(out[24 + 4 * i], rot90h[i]);
	}
	for (int i = 0; i < 4; i++)
		REQUIRE_EQ(out[48 + 4 * i], rot270[i]);
	const uint8_t *y = out + 72;
	REQUIRE(y[0] == 255 && y[1] == 255 && y[2] == 255); /* white */
	REQUIRE(y[4] == 0 && y[5] == 0 && y[6] == 0);	    /* black */
	for (int p = 2; p <= 3; p++)			    /* BT.601 red */
		REQUIRE(y[4 * p] >= 253 && y[4 * p + 1] <= 2 && y[4 * p + 2] <= 2);
	y = out + 104;					    /* BT.709, full range */
	REQUIRE(y[0] == 235 && y[1] == 235 && y[2] == 235); /* Y 235 full: grey 235 */
	REQUIRE(y[4] == 16 && y[5] == 16 && y[6] == 16);
	REQUIRE(y[24] == 255 && y[25] == 255 && y[26] == 255);
	REQUIRE(y[28] == 0 && y[29] == 0 && y[30] == 0);
	px_transform_destroy(t);

	/* Any angle at 90°, nearest, is the exact 90° rotation; at 0°, bilinear,
	 * the identity. */
	ims[0] = (struct px_transform_image){
	    .out_width = 2, .out_height = 3, .rotation = PX_ROTATE_ANY, .angle = 90};
	ims[1] = (struct px_transform_image){.out_width = 3,
					     .out_height = 2,
					     .rotation = PX_ROTATE_ANY,
					     .filter = PX_FILTER_BILINEAR,
					     .out_offset = 24};
	tp.n_images = 2;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	REQUIRE_OK(px_transform_run(t, s.frame));
	for (int i = 0; i < 6; i++) {
		REQUIRE_EQ(out[4 * i], rot90[i]);
		REQUIRE_EQ(out[24 + 4 * i], i + 1);
	}
	px_transform_destroy(t);

	/* BT.709 limited: its red. */
	ims[0] = (struct px_transform_image){
	    .src_image = 1, .out_width = 8, .out_height = 1, .matrix = PX_MATRIX_BT709};
	tp.n_images = 1;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	REQUIRE_OK(px_transform_run(t, s.frame));
	for (int p = 4; p <= 5; p++)
		REQUIRE(out[4 * p] >= 253 && out[4 * p + 1] <= 2 && out[4 * p + 2] <= 2);
	px_transform_destroy(t);
	src_finish(&s);
	printf("by hand: 90/270 rotations, flip, crop exact; YUV white, black, BT.601 and "
	       "BT.709 red, full range as expected\n");
}

/* ---- contexts: adopted objects, device choice, validation by environment */

static void context_suite(void)
{
	/* The application's own instance and device, adopted: pixshare uses
	 * them and leaves them alive. */
	const char *exts[] = {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME};
	struct px_vk_info own;
	REQUIRE_OK(px_vk_get_info(vk, &own));
	struct px_test_app_device app;
	px_test_app_device_init(&app, exts, own.host_import ? 1 : 0);
	struct px_vk_params ap = {.instance = app.instance,
				  .physical_device = app.phys,
				  .device = app.device,
				  .queue_family = app.family,
				  .enabled_extensions = exts,
				  .n_enabled_extensions = own.host_import ? 1 : 0};
	struct px_vk *adopted;
	REQUIRE_OK(px_vk_create(&ap, &adopted));
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(adopted, &info));
	REQUIRE(info.adopted);
	REQUIRE(px_vk_get_device(adopted) == app.device);
	REQUIRE_EQ(info.host_import, own.host_import);
	struct px_image_desc d[] = {{PX_FORMAT_NV12, 46, 30}};
	struct src s;
	src_init(&s, 1, d, 4, PX_PACK_PER_IMAGE, 0);
	struct px_vk *saved = vk;
	vk = adopted;
	struct px_transform_image im = {
	    .out_width = 23, .out_height = 15, .filter = PX_FILTER_AREA};
	run_check(s.frame, &im, 1, PX_OUT_GRAY8, "adopted device", NULL);
	/* Without enabled_features, the device was not said to write images
	 * without a format: image outputs are refused before the view is used. */
	REQUIRE(!info.image_output);
	struct px_transform_params itp = {.n_images = 1,
					  .images = &im,
					  .format = PX_OUT_GRAY8,
					  .output_image = &(struct px_transform_output_image){
					      .view = (VkImageView)(uintptr_t)1, /* never used */
					      .format = VK_FORMAT_R8_UNORM,
					      .width = 23,
					      .height = 15}};
	struct px_transform *it = NULL;
	REQUIRE_EQ(px_transform_create(adopted, &itp, &it), -ENOTSUP);
	REQUIRE(!it);
	/* Nor was VK_KHR_external_memory_fd enabled: no pool can be exported. */
	struct px_vk_pool *vp = (void *)1;
	REQUIRE_EQ(px_vk_pool_create(adopted, &s.layout, 3, &vp), -ENOTSUP);
	vk = saved;
	px_vk_destroy(adopted);
	/* The same device adopted with no extension named, zero-copy
	 * required: neither import extension, refused. */
	struct px_vk_params zp = ap;
	zp.n_enabled_extensions = 0;
	zp.flags = PX_VK_REQUIRE_ZERO_COPY;
	adopted = (void *)1;
	REQUIRE_EQ(px_vk_create(&zp, &adopted), -ENOTSUP);
	REQUIRE(!adopted);
	REQUIRE(vkDeviceWaitIdle(app.device) == VK_SUCCESS); /* still the application's */
	px_test_app_device_finish(&app);
	src_finish(&s);

	/* Half an adoption is refused. */
	ap.device = VK_NULL_HANDLE;
	REQUIRE_EQ(px_vk_create(&ap, &adopted), -EINVAL);
	/* A DRM node no device has. */
	struct px_vk_params np = {.drm_device = makedev(226, 250)};
	REQUIRE_EQ(px_vk_create(&np, &adopted), -ENODEV);
	/* The device of a deviceUUID (a Vulkan export's): this one's, and one
	 * no device has, required or preferred. */
	np = (struct px_vk_params){.device_uuid = own.device_uuid};
	REQUIRE_OK(px_vk_create(&np, &adopted));
	REQUIRE_OK(px_vk_get_info(adopted, &info));
	REQUIRE(!memcmp(info.device_uuid, own.device_uuid, VK_UUID_SIZE));
	REQUIRE(strstr(info.why, "deviceUUID"));
	px_vk_destroy(adopted);
	uint8_t other[VK_UUID_SIZE];
	memcpy(other, own.device_uuid, VK_UUID_SIZE);
	other[VK_UUID_SIZE - 1] ^= 0x5a;
	np = (struct px_vk_params){.device_uuid = other};
	REQUIRE_EQ(px_vk_create(&np, &adopted), -ENODEV);
	np.drm_device = makedev(226, 250);
	np.flags = PX_VK_POOL_DEVICE_PREFERRED;
	REQUIRE_OK(px_vk_create(&np, &adopted));
	REQUIRE_OK(px_vk_get_info(adopted, &info));
	REQUIRE(!strcmp(info.device_name, own.device_name));
	REQUIRE(!strncmp(info.why, "none is the pool's device", 25));
	px_vk_destroy(adopted);
	/* Validation asked for where the loader finds no validation layer
	 * (VK_LAYER_PATH replaces its search path for explicit layers). */
	const char *layer_path = getenv("VK_LAYER_PATH");
	char *saved_path = layer_path ? strdup(layer_path) : NULL;
	setenv("VK_LAYER_PATH", "/nonexistent", 1);
	np = (struct px_vk_params){.validation = true};
	REQUIRE_EQ(px_vk_create(&np, &adopted), -ENOTSUP);
	if (saved_path)
		setenv("VK_LAYER_PATH", saved_path, 1);
	else
		unsetenv("VK_LAYER_PATH");
	free(saved_path);
	/* Validation asked for by the environment; zero-copy required. */
	setenv("PIXSHARE_VK_VALIDATION", "1", 1);
	np = (struct px_vk_params){.flags = PX_VK_REQUIRE_ZERO_COPY};
	int ret = px_vk_create(&np, &adopted);
	unsetenv("PIXSHARE_VK_VALIDATION");
	if (own.host_import || own.dmabuf_import) {
		REQUIRE_OK(ret);
		REQUIRE_OK(px_vk_get_info(adopted, &info));
		REQUIRE(info.validation);
		px_vk_destroy(adopted);
	} else {
		REQUIRE_EQ(ret, -ENOTSUP);
	}
	printf("contexts: adopted instance and device used and left alive (image outputs refused: "
	       "-ENOTSUP without the feature); half an adoption "
	       "-EINVAL; DRM node 226:250 -ENODEV; own deviceUUID picked, another -ENODEV, or "
	       "the default choice where only preferred; no validation layer -ENOTSUP; "
	       "zero-copy required without an import extension -ENOTSUP, and a pool without "
	       "VK_KHR_external_memory_fd -ENOTSUP; PIXSHARE_VK_VALIDATION=1 honoured\n");
}

/* ---- errors */

/* px_vk_import()'s and px_vk_import_vkimage()'s refusals, each as the header
 * documents it. */
static void import_errors(void)
{
	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 16, 8}, {PX_FORMAT_R8, 8, 8}};
	struct src s;
	src_init(&s, 2, d, 1, PX_PACK_PER_IMAGE, 0);
	struct px_vk_image vi;
	struct px_vk_vkimage vm;
	REQUIRE_EQ(px_vk_import(NULL, s.frame, 0, &vi), -EINVAL);
	REQUIRE_EQ(px_vk_import(vk, NULL, 0, &vi), -EINVAL);
	REQUIRE_EQ(px_vk_import(vk, s.frame, 0, NULL), -EINVAL);
	REQUIRE_EQ(px_vk_import(vk, s.frame, 2, &vi), -EINVAL);
	REQUIRE_EQ(px_vk_import_vkimage(vk, s.frame, 2, &vm), -EINVAL);
	REQUIRE_EQ(px_vk_import_vkimage(vk, s.frame, 0, NULL), -EINVAL);
	s.frame->valid_mask = 2;
	REQUIRE_EQ(px_vk_import(vk, s.frame, 0, &vi), -ENODATA);
	REQUIRE_EQ(px_vk_import_vkimage(vk, s.frame, 0, &vm), -ENODATA);
	s.frame->valid_mask = 3;
	REQUIRE_OK(px_vk_import(vk, s.frame, 1, &vi));

	/* A frame of another layout under the pool_id of the first: a pool's
	 * layout never changes. */
	struct px_image_desc d2[] = {{PX_FORMAT_XRGB8888, 8, 8}, {PX_FORMAT_R8, 8, 8}};
	struct src other;
	src_init(&other, 2, d2, 1, PX_PACK_PER_IMAGE, 0);
	uint64_t own_id = other.frame->pool_id;
	other.frame->pool_id = s.frame->pool_id;
	REQUIRE_EQ(px_vk_import(vk, other.frame, 0, &vi), -EINVAL);
	other.frame->pool_id = own_id;
	px_vk_forget_pool(vk, s.frame->pool_id);
	src_finish(&other);

	/* Buffers with neither a CPU mapping nor a dma-buf (a memfd the
	 * application did not map, and no Vulkan export's description): no
	 * path can take them. */
	int fd = memfd_create("import-errors", MFD_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE_OK(ftruncate(fd, (off_t)s.layout.buffer_sizes[0]));
	struct px_frame_buffer b = {fd, s.layout.buffer_sizes[0], NULL};
	struct px_set_layout one;
	REQUIRE_OK(px_layout_init_packed(&one, 1, d, 1, PX_PACK_PER_IMAGE));
	struct px_frame *f;
	REQUIRE_OK(px_frame_wrap(&(struct px_frame_desc){.layout = &one, .buffers = &b}, &f));
	close(fd);
	REQUIRE_EQ(px_vk_import(vk, f, 0, &vi), -ENOTSUP);
	px_vk_forget_pool(vk, f->pool_id);
	px_frame_release(f);
	src_finish(&s);
	printf("errors: imports: NULL arguments, an image beyond the set, another layout in one "
	       "pool -EINVAL; a missing image -ENODATA (buffers and VkImages); no mapping and no "
	       "dma-buf -ENOTSUP\n");
}

/* A transform whose acquire fence never signals fails after 10 s
 * (-ETIMEDOUT). (px_transform_wait()'s -ETIMEDOUT: test_vkfence, where the
 * device waits for a pending fence.) The fence is the read end of an empty pipe: never readable, as
 * a fence that never signals is to the CPU wait, which is the path of a fence that is no sync_file
 * (a device imports only sync_files as semaphores). */
static void timeout_errors(void)
{
	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 16, 8}};
	struct src s;
	src_init(&s, 1, d, 1, PX_PACK_PER_IMAGE, 0);
	struct px_transform_image im = {.out_width = 16, .out_height = 8};
	struct px_transform_params tp = {.n_images = 1, .images = &im, .format = PX_OUT_RGBA8};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	int pipefd[2];
	REQUIRE_OK(pipe2(pipefd, O_CLOEXEC));
	if (!quick) {
		s.frame->acquire_fence = pipefd[0];
		uint64_t t0 = px_now_ns();
		REQUIRE_EQ(px_transform_submit(t, s.frame), -ETIMEDOUT);
		double waited = (double)(px_now_ns() - t0) / 1e9;
		REQUIRE(waited >= 9.9 && waited < 30);
		s.frame->acquire_fence = -1;
		printf("errors: an acquire fence that never signals: -ETIMEDOUT after %.1f s\n",
		       waited);
	}
	close(pipefd[0]);
	close(pipefd[1]);

	px_transform_destroy(t);
	src_finish(&s);
}

/* A reliable subscriber that takes no frame: the transform publisher's
 * slots run out, and px_transform_publisher_process() gives up (-EAGAIN),
 * counting the set as dropped. */
struct idle_subscriber {
	atomic_int state; /* 0 connecting, 1 connected, 2 told to go */
};

static void *idle_subscriber_main(void *arg)
{
	struct idle_subscriber *is = arg;
	struct px_subscriber *sub;
	REQUIRE_OK(px_subscriber_create(
	    &(struct px_subscriber_params){.topic = "vulkan-errors-tp",
					   .qos = PX_QOS_RELIABLE,
					   .max_leases = 1,
					   .connect_timeout_ms = 20000,
					   .flags = PX_SUBSCRIBER_NO_RECONNECT},
	    &sub));
	atomic_store(&is->state, 1);
	while (atomic_load(&is->state) != 2)
		usleep(1000);
	px_subscriber_destroy(sub);
	return NULL;
}

static void publisher_errors(void)
{
	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 16, 8}};
	struct src s;
	src_init(&s, 1, d, 1, PX_PACK_PER_IMAGE, 0);
	struct px_transform_image im = {.out_width = 16, .out_height = 8};
	struct px_transform_params tp = {.n_images = 1, .images = &im, .format = PX_OUT_RGBA8};
	struct px_transform_publisher *p;
	REQUIRE_OK(px_transform_publisher_create(
	    vk, &tp,
	    &(struct px_publisher_params){.topic = "vulkan-errors-tp",
					  .allocator = PX_ALLOCATOR_MEMFD,
					  .max_subscribers = 1,
					  .max_leases = 1},
	    &p));
	struct px_publisher *pub = px_transform_publisher_get_publisher(p);
	struct idle_subscriber is = {0};
	pthread_t th;
	REQUIRE_OK(pthread_create(&th, NULL, idle_subscriber_main, &is));
	px_test_wait_subscribers_tries(pub, 1, 2000);
	for (int i = 0; i < 2000 && atomic_load(&is.state) != 1; i++)
		REQUIRE(px_publisher_dispatch(pub, 10) >= 0);
	REQUIRE_EQ(atomic_load(&is.state), 1);
	uint32_t pool = px_publisher_get_pool_size(pub);
	int ret = 0;
	uint32_t published = 0;
	while (published <= pool && (ret = px_transform_publisher_process(p, s.frame, 0)) == 0)
		published++;
	REQUIRE_EQ(ret, -EAGAIN);
	REQUIRE(published >= 1 && published <= pool);
	REQUIRE_EQ(px_transform_publisher_process(p, s.frame, 100), -EAGAIN);
	struct px_transform_publisher_stats st;
	REQUIRE_OK(px_transform_publisher_get_stats(p, &st));
	REQUIRE_EQ(st.published, published);
	REQUIRE_EQ(st.dropped, 2);
	atomic_store(&is.state, 2);
	REQUIRE_OK(pthread_join(th, NULL));
	px_transform_publisher_destroy(p);
	src_finish(&s);
	printf("errors: a reliable subscriber that takes nothing: %u of %u slots published, "
	       "then -EAGAIN (at once and after 100 ms), 2 counted as dropped\n",
	       published, pool);
}

static void error_suite(void)
{
	import_errors();
	timeout_errors();
	publisher_errors();

	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 40, 30}, {PX_FORMAT_R16, 8, 8}};
	struct src s;
	src_init(&s, 2, d, 1, PX_PACK_PER_IMAGE, 0);
	struct px_transform *t = NULL;
	struct px_transform_image im = {.out_width = 40, .out_height = 30};
	struct px_transform_params tp = {
	    .n_images = 1, .images = &im, .format = PX_OUT_RGBA8, .output_size = 40 * 30 * 4 - 1};
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -ENOSPC);
	REQUIRE(!t);
	tp.output_size = 0;
	im.out_stride = 40 * 4 - 4;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	im.out_stride = 0;
	im.out_offset = 2; /* RGBA8 needs 4-byte alignment */
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	im.out_offset = 0;
	im.out_width = 0;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	im.out_width = 40;
	REQUIRE_EQ(px_transform_create(NULL, &tp, &t), -EINVAL);

	/* A crop outside the image: refused at the first frame. */
	im.crop_x = 1;
	im.crop_width = 40;
	im.crop_height = 30;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_EQ(px_transform_run(t, s.frame), -EINVAL);
	px_transform_destroy(t);
	/* A missing image, an unreadable format, an image beyond the set. */
	im = (struct px_transform_image){.out_width = 8, .out_height = 8};
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	s.frame->valid_mask = 2;
	REQUIRE_EQ(px_transform_run(t, s.frame), -ENODATA);
	s.frame->valid_mask = 3;
	REQUIRE_OK(px_transform_submit(t, s.frame));
	REQUIRE_EQ(px_transform_submit(t, s.frame), -EBUSY);
	REQUIRE_OK(px_transform_wait(t, -1));
	REQUIRE_OK(px_transform_wait(t, -1));
	px_transform_destroy(t);
	im.src_image = 1;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_EQ(px_transform_run(t, s.frame), -ENOTSUP);
	px_transform_destroy(t);
	im.src_image = 2;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	REQUIRE_EQ(px_transform_run(t, s.frame), -EINVAL);
	px_transform_destroy(t);
	px_transform_destroy(NULL);
	/* A tiled layout is read as a VkImage, which only a dma-buf with its
	 * explicit modifier makes; so are all images where asked. */
	im.src_image = 0;
	tp.flags = 1u << 31;
	REQUIRE_EQ(px_transform_create(vk, &tp, &t), -EINVAL);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	tp.flags = PX_TRANSFORM_READ_VKIMAGES;
	int ret = px_transform_create(vk, &tp, &t);
	REQUIRE_EQ(ret, info.vkimage_transforms ? 0 : -ENOTSUP);
	if (!ret) {
		REQUIRE_EQ(px_transform_run(t, s.frame), s.frame->dmabuf ? 0 : -ENOTSUP);
		px_transform_destroy(t);
	}
	tp.flags = 0;
	if (!s.frame->dmabuf) {
		s.layout.images[0].modifier = 0x0100000000000001ull; /* I915_FORMAT_MOD_X_TILED */
		src_wrap(&s); /* the new layout, as a new pool */
		REQUIRE_OK(px_transform_create(vk, &tp, &t));
		REQUIRE_EQ(px_transform_run(t, s.frame), -ENOTSUP);
		px_transform_destroy(t);
	}
	src_finish(&s);
	printf("errors: output too small -ENOSPC; short stride, misaligned offset, size 0 "
	       "-EINVAL; crop outside -EINVAL; missing image -ENODATA; R16 -ENOTSUP; second "
	       "submit -EBUSY; unknown flags -EINVAL; VkImage reads %s; a tiled layout "
	       "without dma-bufs -ENOTSUP\n",
	       info.vkimage_transforms ? "of dma-bufs only" : "refused by this device");
}

/* ---- paths, caching, allocations */

static void path_suite(void)
{
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	struct px_image_desc d[] = {{PX_FORMAT_YUYV, 64, 48}, {PX_FORMAT_NV12, 30, 20}};
	struct px_transform_image ims[2] = {
	    {.src_image = 0, .out_width = 32, .out_height = 24, .filter = PX_FILTER_BILINEAR},
	    {.src_image = 1,
	     .out_width = 30,
	     .out_height = 20,
	     .rotation = PX_ROTATE_180,
	     .out_offset = 32 * 24 * 4}};
	for (int misalign = 0; misalign <= 64; misalign += 64) {
		struct src s;
		src_init(&s, 2, d, 16, PX_PACK_PER_IMAGE, (uint32_t)misalign);
		struct px_vk_stats st0, st1, st2;
		REQUIRE_OK(px_vk_get_stats(vk, &st0));
		struct px_vk_image vi;
		REQUIRE_OK(px_vk_import(vk, s.frame, 0, &vi));
		/* The test's own memory, anonymous and writable: host memory on
		 * every driver that imports host memory (NVIDIA's too), if
		 * aligned. */
		enum px_import_path expect =
		    info.host_import && !misalign ? PX_IMPORT_HOST_MEMORY : PX_IMPORT_UPLOAD;
		REQUIRE_EQ(vi.path, expect);
		REQUIRE_EQ(vi.n_planes, 1);
		REQUIRE(vi.planes[0].buffer);
		/* Transforms read what the import sees, on either path. */
		char what[64];
		snprintf(what, sizeof(what), "%s path", px_import_path_name(expect));
		run_check(s.frame, ims, 2, PX_OUT_RGBA8, what, NULL);
		REQUIRE_OK(px_vk_get_stats(vk, &st1));
		/* Warm: more frames make no allocation and no import. */
		struct px_transform_params tp = {
		    .n_images = 2, .images = ims, .format = PX_OUT_RGBA8};
		struct px_transform *t;
		REQUIRE_OK(px_transform_create(vk, &tp, &t));
		REQUIRE_OK(px_transform_run(t, s.frame));
		REQUIRE_OK(px_vk_get_stats(vk, &st1));
		int n = quick ? 20 : 200;
		for (int i = 0; i < n; i++) {
			s.frame->slot = (uint32_t)i % 3;
			if (i < 3 && i) {
				REQUIRE_OK(px_transform_run(t, s.frame));
				REQUIRE_OK(px_vk_get_stats(vk, &st1));
				continue;
			}
			REQUIRE_OK(px_transform_run(t, s.frame));
		}
		REQUIRE_OK(px_vk_get_stats(vk, &st2));
		REQUIRE_EQ(st2.allocations, st1.allocations);
		REQUIRE_EQ(st2.imports, st1.imports);
		REQUIRE_EQ(st2.buffer_imports, st1.buffer_imports);
		REQUIRE_EQ(st2.imports - st0.imports, 3 * 2); /* 3 slots × 2 images */
		REQUIRE_EQ(st2.last_path, expect);
		if (expect == PX_IMPORT_UPLOAD) {
			REQUIRE(st2.copies - st1.copies >= (uint64_t)(n - 3) * 2);
			REQUIRE_EQ(st2.host_imports, st0.host_imports);
		} else {
			REQUIRE_EQ(st2.copies, st0.copies);
			REQUIRE_EQ(st2.host_imports - st0.host_imports, 3 * 2);
		}
		printf("%s path: %d frames from 3 slots: %llu imports, %llu buffer imports, "
		       "%llu copies, %llu allocations after warm-up\n",
		       px_import_path_name(expect), n,
		       (unsigned long long)(st2.imports - st0.imports),
		       (unsigned long long)(st2.buffer_imports - st0.buffer_imports),
		       (unsigned long long)(st2.copies - st0.copies),
		       (unsigned long long)(st2.allocations - st1.allocations));
		/* Forgetting the pool drops its imports; the transform makes its
		 * descriptor sets again, on the new buffers, and still reads right. */
		px_vk_forget_pool(vk, s.frame->pool_id);
		px_vk_forget_pool(vk, s.frame->pool_id); /* no-op */
		px_vk_forget_pool(NULL, 1);
		REQUIRE_OK(px_vk_get_stats(vk, &st1));
		REQUIRE_EQ(st1.cached, 0);
		REQUIRE_EQ(st1.evictions, st2.evictions + 1);
		src_fill(&s);
		REQUIRE_OK(px_transform_run(t, s.frame));
		uint8_t *out;
		REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
		for (uint32_t i = 0; i < 2; i++)
			REQUIRE(
			    !compare(s.frame, &ims[i], PX_OUT_RGBA8, out, "after forget").fail);
		REQUIRE_OK(px_vk_get_stats(vk, &st2));
		REQUIRE_EQ(st2.imports, st1.imports + 2);
		px_transform_destroy(t);
		src_finish(&s);
	}
}

/* An acquire fence: on the device where sync_files import as semaphores,
 * else waited for here. An eventfd stands for a signalled sync_file
 * (both poll readable); it is no sync_file, so it is never imported as a
 * semaphore (some drivers would take it) and the CPU wait is what this
 * checks. test_vkfence runs real sync_files (vgem's, in the vm tier). */
static void fence_suite(void)
{
	struct px_image_desc d[] = {{PX_FORMAT_ABGR8888, 20, 10}};
	struct src s;
	src_init(&s, 1, d, 1, PX_PACK_PER_IMAGE, 0);
	int efd = eventfd(1, EFD_CLOEXEC);
	REQUIRE(efd >= 0);
	s.frame->acquire_fence = efd;
	struct px_vk_stats st0, st1;
	REQUIRE_OK(px_vk_get_stats(vk, &st0));
	struct px_transform_image im = {.out_width = 20, .out_height = 10};
	run_check(s.frame, &im, 1, PX_OUT_BGRA8, "with an acquire fence", NULL);
	REQUIRE_OK(px_vk_get_stats(vk, &st1));
	REQUIRE_EQ(st1.fence_waits - st0.fence_waits, 2);
	REQUIRE_EQ(st1.fence_waits_cpu - st0.fence_waits_cpu, 2);
	close(efd);
	src_finish(&s);
	printf("acquire fence: waited for on the CPU (not a sync_file)\n");
}

/* ---- 1,000 frames from a publisher in another process */

static const char *topic = "vk-cache";

static int publisher_main(void *arg)
{
	const struct px_set_layout *layout = arg;
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = topic,
					 .layout = layout,
					 .allocator = allocator,
					 .writable_dmabufs = px_test_opt("writable-dmabufs") != NULL,
					 .pool_size = 4,
					 .max_subscribers = 1,
					 .max_leases = 1};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	const struct px_set_layout *l = px_publisher_get_layout(pub);
	int frames = quick ? 100 : 1000;
	px_test_wait_subscribers_tries(pub, 1, 30000);
	for (int n = 0; n < frames; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 120000, &slot));
		for (uint32_t i = 0; i < l->n_images; i++) {
			const struct px_image_layout *img = &l->images[i];
			for (uint32_t p = 0; p < img->n_planes; p++) {
				uint8_t *plane = px_slot_plane(slot, i, p);
				uint64_t row = px_image_row_bytes(img, p);
				for (uint32_t y = 0; y < px_image_plane_rows(img, p); y++)
					for (uint64_t x = 0; x < row; x++)
						plane[(size_t)y * img->planes[p].stride + x] =
						    (uint8_t)rnd(256);
			}
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	}
	px_test_serve_until_released(pub, 3000);
	px_publisher_destroy(pub);
	return 0;
}

static void pubsub_suite(const struct px_vk_params *vp)
{
	px_test_dir();
	struct px_image_desc d[] = {{PX_FORMAT_YUYV, 64, 48}, {PX_FORMAT_XRGB8888, 33, 17}};
	struct px_set_layout layout;
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 64, PX_PACK_PER_IMAGE));
	/* The publisher is forked before Vulkan starts threads here. */
	pid_t pid = px_test_fork(publisher_main, &layout);
	int ret = px_vk_create(vp, &vk);
	if (ret == -ENODEV) {
		kill(pid, SIGKILL);
		px_test_wait(pid, 10000);
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	}
	REQUIRE_OK(ret);
	struct px_transform_image ims[2] = {{.src_image = 0, .out_width = 64, .out_height = 48},
					    {.src_image = 1,
					     .out_width = 17,
					     .out_height = 33,
					     .rotation = PX_ROTATE_90,
					     .out_offset = 64 * 48 * 4}};
	struct px_transform_params tp = {.n_images = 2, .images = ims, .format = PX_OUT_RGBA8};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	uint8_t *out;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	/* Subscribed once the slow part (the pipeline's compilation; minutes
	 * under valgrind) is done: the publisher waits for frames' release. */
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = topic,
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 60000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	uint64_t t0 = px_now_ns();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_vk_stats st0, st;
	REQUIRE_OK(px_vk_get_stats(vk, &st0));
	bool seen[PX_MAX_SLOTS] = {false};
	uint32_t slots = 0;
	uint64_t frames = 0, checked = 0, allocs_warm = 0;
	bool dmabuf = false;
	struct px_topic_info ti;
	struct px_frame *f;
	while ((ret = px_subscriber_receive(sub, &f, 30000)) == 0) {
		if (!frames)
			REQUIRE_OK(px_subscriber_get_topic_info(sub, &ti));
		dmabuf = f->dmabuf;
		if (!seen[f->slot]) {
			seen[f->slot] = true;
			slots++;
		}
		REQUIRE_OK(px_transform_run(t, f));
		if (frames % 97 == 0) {
			for (uint32_t i = 0; i < 2; i++)
				REQUIRE(!compare(f, &ims[i], PX_OUT_RGBA8, out, "pubsub").fail);
			checked++;
		}
		/* Released only after the device is done with it (run waited). */
		px_frame_release(f);
		frames++;
		REQUIRE_OK(px_vk_get_stats(vk, &st));
		if (frames == 50)
			allocs_warm = st.allocations;
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(frames, quick ? 100 : 1000);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("pubsub: %llu frames of 2 images from %u slots (%s, %s, another process): %llu "
	       "imports, %llu cache hits, %llu copies, last path %s, %llu allocations after "
	       "frame 50; %llu frames checked\n",
	       (unsigned long long)frames, slots, px_allocator_name(ti.allocator),
	       dmabuf ? "dma-bufs" : "memfds", (unsigned long long)(st.imports - st0.imports),
	       (unsigned long long)(st.cache_hits - st0.cache_hits),
	       (unsigned long long)(st.copies - st0.copies), px_import_path_name(st.last_path),
	       (unsigned long long)(st.allocations - allocs_warm), (unsigned long long)checked);
	/* Exactly one import per (slot, image), however many frames. */
	REQUIRE(slots >= 2 && slots <= 4);
	REQUIRE_EQ(st.imports - st0.imports, slots * 2);
	REQUIRE_EQ(st.cache_hits - st0.cache_hits, (frames - slots) * 2);
	REQUIRE_EQ(st.allocations, allocs_warm);
	REQUIRE_EQ(st.cached, slots * 2);
	/* The subscriber's count of paths: every image of every frame. */
	struct px_subscriber_stats ss;
	REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	px_test_require_imported_by(&ss, st.last_path, frames * 2);
	REQUIRE(require_path < 0 || st.last_path == (enum px_import_path)require_path);
	px_transform_destroy(t);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(pid, 120000), 0);
	printf("  (pubsub: %.1f s, %.2f ms per frame)\n", (double)(px_now_ns() - t0) / 1e9,
	       (double)(px_now_ns() - t0) / 1e6 / (double)frames);
}

int main(int argc, char **argv)
{
	/* `checks`: its transforms check outputs, with tf_flags. */
	static const struct {
		const char *name;
		void (*fn)(void);
		bool checks;
	} suites[] = {
	    {"known", known_suite, true},
	    {"contexts", context_suite, false},
	    {"image outputs", image_suite, true},
	    {"errors", error_suite, false},
	    {"paths", path_suite, false},
	    {"fence", fence_suite, false},
	    {"mosaic/tensor", mosaic_tensor_suite, true},
	    {"odd sizes", odd_sizes_suite, true},
	    {"batches", batch_suite, true},
	    {"matrix", matrix_suite, true},
	};
	/* The publisher's suite, "pubsub", always runs (it makes the device):
	 * naming it alone runs only it. */
	const char *names[PX_ARRAY_LEN(suites) + 1] = {"pubsub"};
	for (size_t i = 0; i < PX_ARRAY_LEN(suites); i++)
		names[i + 1] = suites[i].name;
	px_test_args(argc, argv, names, PX_ARRAY_LEN(names));
	const char *only = px_test_only();
	quick = px_test_opt("quick") != NULL;
	px_log_set_handler(px_test_log, NULL, PX_LOG_INFO);
	const char *a = px_test_opt("allocator");
	if (a)
		REQUIRE_OK(px_allocator_from_name(a, &allocator));
	require_path = px_test_required_path();
	const char *source = px_test_opt("source");
	if (source) {
		enum px_allocator_type type;
		char why[200];
		REQUIRE_OK(px_allocator_from_name(source, &type));
		REQUIRE((src_ops = px_allocator_ops(type)));
		int ret = src_ops->open(NULL, 0, &src_priv, why, sizeof(why));
		if (ret == -ENOENT || ret == -ENOTSUP || ret == -ENODEV)
			SKIP("--source=%s: %s (the vm13 tier has udmabuf)", source, why);
		REQUIRE_OK(ret);
	}
	if (px_test_opt("read-vkimages"))
		tf_flags = PX_TRANSFORM_READ_VKIMAGES;
	px_test_vk_driver_present();
	/* A fixed seed, so that a failure repeats; --seed=N tries others. */
	if (px_test_opt("seed"))
		rng = strtoull(px_test_opt("seed"), NULL, 0) | 1;
	printf("seed 0x%llx\n", (unsigned long long)rng);
	int fds = px_test_count_fds();
	struct px_vk_params vp = {.validation = true};

	px_vk_destroy(NULL);
	pubsub_suite(&vp);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	printf("Vulkan: %s (%s), %s; validation %s; dma-buf import %s, host import %s "
	       "(alignment %llu), sync_file semaphores %s\n",
	       info.device_name, info.software ? "CPU" : "GPU", info.why,
	       info.validation ? "on" : "off", info.dmabuf_import ? "yes" : "no",
	       info.host_import ? "yes" : "no", (unsigned long long)info.host_pointer_alignment,
	       info.semaphore_sync_fd ? "yes" : "no");
	REQUIRE(info.validation);
	if (source)
		printf("hand-made frames: %s buffers (%s)%s\n", src_ops->name,
		       src_ops->dmabuf ? "dma-bufs" : "not dma-bufs",
		       tf_flags ? "; transforms read them as VkImages" : "");
	if (tf_flags && !info.vkimage_transforms) {
		px_vk_destroy(vk);
		if (px_test_opt("require-vkimage")) {
			fprintf(stderr,
				"FAIL: %s cannot read frames as VkImages "
				"(--require-vkimage)\n",
				info.device_name);
			return 1;
		}
		SKIP("%s cannot read frames as VkImages (no VK_EXT_image_drm_format_modifier, no "
		     "dma-buf import or no shaderSampledImageArrayDynamicIndexing)",
		     info.device_name);
	}
	fflush(stdout);

	for (size_t i = 0; i < PX_ARRAY_LEN(suites); i++) {
		if (only && !px_test_in_list(only, suites[i].name))
			continue;
		uint64_t t0 = px_now_ns();
		struct px_vk_stats st0, st1;
		REQUIRE_OK(px_vk_get_stats(vk, &st0));
		suites[i].fn();
		REQUIRE_OK(px_vk_get_stats(vk, &st1));
		printf("  (%s: %.1f s", suites[i].name, (double)(px_now_ns() - t0) / 1e9);
		if (tf_flags && suites[i].checks) {
			/* Every source read through VkImages, none as buffers. */
			REQUIRE(st1.vkimage_imports > st0.vkimage_imports);
			REQUIRE_EQ(st1.buffer_imports, st0.buffer_imports);
			printf("; %llu VkImages imported, no buffer",
			       (unsigned long long)(st1.vkimage_imports - st0.vkimage_imports));
		}
		printf(")\n");
		fflush(stdout);
	}

	struct px_vk_stats st;
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("validation: %llu errors, %llu warnings\n", (unsigned long long)st.validation_errors,
	       (unsigned long long)st.validation_warnings);
	REQUIRE_EQ(st.validation_errors, 0);
	px_vk_destroy(vk);
	REQUIRE_EQ(px_test_count_fds(), fds);
	if (src_ops)
		src_ops->close(src_priv);
	/* Every message named its object (the refusals above log many). */
	REQUIRE_EQ(px_test_pointer_logs, 0);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * px_image_write() and px_image_read(): every pair of formats both ways, on
 * random pixels, at odd sizes, with strides above the packed ones on both
 * sides and padding that must stay untouched. Same formats must come back
 * byte for byte; conversions are compared with a reference written here
 * from the definitions in image.h, in double precision, within ±1 (and
 * exactly for swizzles, alpha and X bytes). Then the error cases, which must
 * leave the destination alone.
 *
 *     test_image_io [--list] [TEST…]
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdbool.h>

#include <pixshare/image.h>

#include "px_test.h"

#define POISON 0xa5
#define GUARD 64

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- Images with guards and padding */

struct img {
	struct px_image_layout l; /* strides resolved; buffer and offset unused */
	uint8_t *planes[PX_MAX_PLANES];
	struct px_cpu_image cpu; /* the same image, as the application describes it */
	uint8_t *mem;
	size_t size;
};

static const struct px_format_info *info_of(uint32_t fourcc)
{
	const struct px_format_info *f = px_format_get_info(fourcc);
	REQUIRE(f);
	return f;
}

/*
 * An image in one allocation with GUARD bytes before and after, every byte
 * POISON. `packed`: strides exactly the rows (and, for the application's
 * description, strides 0); else 1 to 40 bytes more. `contiguous`: the
 * description's planes after plane 0 are NULL.
 */
static void img_make(struct img *im, uint32_t fourcc, uint32_t w, uint32_t h, bool packed,
		     bool contiguous)
{
	const struct px_format_info *f = info_of(fourcc);
	memset(im, 0, sizeof(*im));
	im->l = (struct px_image_layout){.fourcc = fourcc, .width = w, .height = h,
					 .n_planes = f->n_planes, .modifier = PX_MODIFIER_LINEAR};
	size_t offs[PX_MAX_PLANES], at = GUARD;
	for (uint32_t p = 0; p < f->n_planes; p++) {
		uint64_t row = px_image_row_bytes(&im->l, p);
		im->l.planes[p].stride = (uint32_t)row + (packed ? 0 : 1 + (uint32_t)(rng() % 40));
		offs[p] = at;
		at += (size_t)im->l.planes[p].stride * px_image_plane_rows(&im->l, p);
	}
	im->size = at + GUARD;
	im->mem = malloc(im->size);
	REQUIRE(im->mem);
	memset(im->mem, POISON, im->size);
	im->cpu = (struct px_cpu_image){.fourcc = fourcc, .width = w, .height = h};
	for (uint32_t p = 0; p < f->n_planes; p++) {
		im->planes[p] = im->mem + offs[p];
		im->cpu.strides[p] = packed ? 0 : im->l.planes[p].stride;
		im->cpu.planes[p] = p && contiguous ? NULL : im->planes[p];
	}
}

static void img_free(struct img *im)
{
	free(im->mem);
	im->mem = NULL;
}

/* Random bytes in every pixel row (padding stays POISON). */
static void img_randomize(struct img *im)
{
	const struct px_format_info *f = info_of(im->l.fourcc);
	for (uint32_t p = 0; p < f->n_planes; p++)
		for (uint32_t y = 0; y < px_image_plane_rows(&im->l, p); y++) {
			uint8_t *row = im->planes[p] + (size_t)y * im->l.planes[p].stride;
			for (uint64_t i = 0; i < px_image_row_bytes(&im->l, p); i++)
				row[i] = (uint8_t)rng();
		}
}

static uint8_t *img_row(const struct img *im, uint32_t p, uint32_t y)
{
	return im->planes[p] + (size_t)y * im->l.planes[p].stride;
}

/* Bytes outside the pixel rows that are not POISON. */
static size_t img_damage(const struct img *im)
{
	const struct px_format_info *f = info_of(im->l.fourcc);
	size_t bad = 0;
	for (size_t i = 0; i < GUARD; i++)
		bad += (im->mem[i] != POISON) + (im->mem[im->size - 1 - i] != POISON);
	for (uint32_t p = 0; p < f->n_planes; p++)
		for (uint32_t y = 0; y < px_image_plane_rows(&im->l, p); y++) {
			uint8_t *row = img_row(im, p, y);
			for (uint64_t i = px_image_row_bytes(&im->l, p); i < im->l.planes[p].stride;
			     i++)
				bad += row[i] != POISON;
		}
	return bad;
}

/* Whether every byte of the image, pixels included, is POISON. */
static bool img_untouched(const struct img *im)
{
	for (size_t i = 0; i < im->size; i++)
		if (im->mem[i] != POISON)
			return false;
	return true;
}

static char last_log[512];

static void log_fn(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* ---- The reference: image.h's definitions, in double precision */

enum kind { RGB, YUV, OTHER };

/* Byte offsets of R, G, B, A in a pixel (−1: none); grey: R8 or R16. From
 * the DRM format definitions (layout.h), not from the library's code. */
static const struct rgb_format {
	uint32_t fourcc;
	int bpp, r, g, b, a;
	bool x; /* the fourth byte is X, written 255 */
} rgb_formats[] = {
	{PX_FORMAT_XRGB8888, 4, 2, 1, 0, -1, true}, {PX_FORMAT_ARGB8888, 4, 2, 1, 0, 3, false},
	{PX_FORMAT_XBGR8888, 4, 0, 1, 2, -1, true}, {PX_FORMAT_ABGR8888, 4, 0, 1, 2, 3, false},
	{PX_FORMAT_RGB888, 3, 2, 1, 0, -1, false},  {PX_FORMAT_BGR888, 3, 0, 1, 2, -1, false},
	{PX_FORMAT_R8, 1, 0, 0, 0, -1, false},	    {PX_FORMAT_R16, 2, 0, 0, 0, -1, false},
};

static const struct rgb_format *rgb_format(uint32_t fourcc)
{
	for (size_t i = 0; i < PX_ARRAY_LEN(rgb_formats); i++)
		if (rgb_formats[i].fourcc == fourcc)
			return &rgb_formats[i];
	return NULL;
}

static enum kind kind_of(uint32_t fourcc)
{
	if (rgb_format(fourcc))
		return RGB;
	if (fourcc == PX_FORMAT_YUYV || fourcc == PX_FORMAT_UYVY || fourcc == PX_FORMAT_NV12)
		return YUV;
	return OTHER;
}

static bool converted(uint32_t from, uint32_t to)
{
	return from == to || (kind_of(from) == RGB && kind_of(to) != OTHER) ||
	       (kind_of(from) == YUV && kind_of(to) == RGB);
}

struct matrix {
	double kr, kb;
	bool full;
};

static struct matrix matrix_of(uint32_t flags)
{
	bool bt709 = flags & PX_IMAGE_BT709;
	return (struct matrix){bt709 ? 0.2126 : 0.299, bt709 ? 0.0722 : 0.114,
			       (flags & PX_IMAGE_FULL_RANGE) != 0};
}

static double clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

static int round8(double v)
{
	return (int)floor(clamp255(v) + 0.5);
}

/* Pixel (x, y) of an RGB-kind image as R, G, B, A (0…255; R16 as v / 257 rounded). */
static void ref_get_rgb(const struct img *im, uint32_t x, uint32_t y, double rgba[4])
{
	const struct rgb_format *f = rgb_format(im->l.fourcc);
	const uint8_t *s = img_row(im, 0, y) + (size_t)x * (size_t)f->bpp;
	if (f->fourcc == PX_FORMAT_R16) {
		double v = floor((s[0] | s[1] << 8) / 257.0 + 0.5);
		rgba[0] = rgba[1] = rgba[2] = v;
	} else {
		rgba[0] = s[f->r];
		rgba[1] = s[f->g];
		rgba[2] = s[f->b];
	}
	rgba[3] = f->a >= 0 ? s[f->a] : 255;
}

/* Y, U, V of pixel (x, y) of a YUV image: its own Y, its block's chroma. */
static void ref_get_yuv(const struct img *im, uint32_t x, uint32_t y, double yuv[3])
{
	const uint8_t *r = img_row(im, 0, y);
	switch (im->l.fourcc) {
	case PX_FORMAT_YUYV: /* Y0 U Y1 V */
		yuv[0] = r[x / 2 * 4 + x % 2 * 2];
		yuv[1] = r[x / 2 * 4 + 1];
		yuv[2] = r[x / 2 * 4 + 3];
		break;
	case PX_FORMAT_UYVY: /* U Y0 V Y1 */
		yuv[0] = r[x / 2 * 4 + 1 + x % 2 * 2];
		yuv[1] = r[x / 2 * 4];
		yuv[2] = r[x / 2 * 4 + 2];
		break;
	default: /* NV12 */
		yuv[0] = r[x];
		yuv[1] = img_row(im, 1, y / 2)[x / 2 * 2];
		yuv[2] = img_row(im, 1, y / 2)[x / 2 * 2 + 1];
		break;
	}
}

static double luma(struct matrix m, const double rgb[3])
{
	return m.kr * rgb[0] + (1 - m.kr - m.kb) * rgb[1] + m.kb * rgb[2];
}

static void rgb_to_yuv(struct matrix m, const double rgb[3], double yuv[3])
{
	double y = luma(m, rgb), cb = (rgb[2] - y) / (2 - 2 * m.kb),
	       cr = (rgb[0] - y) / (2 - 2 * m.kr);
	double ys = m.full ? 1 : 219.0 / 255, cs = m.full ? 1 : 224.0 / 255;
	yuv[0] = (m.full ? 0 : 16) + ys * y;
	yuv[1] = 128 + cs * cb;
	yuv[2] = 128 + cs * cr;
}

/* transform.h's formulas; clamped, not rounded. */
static void yuv_to_rgb(struct matrix m, const double yuv[3], double rgb[3])
{
	double y = m.full ? yuv[0] : (yuv[0] - 16) * 255 / 219;
	double u = (yuv[1] - 128) * (m.full ? 1 : 255.0 / 224);
	double v = (yuv[2] - 128) * (m.full ? 1 : 255.0 / 224);
	double r = y + 2 * (1 - m.kr) * v, b = y + 2 * (1 - m.kb) * u;
	double g = (y - m.kr * r - m.kb * b) / (1 - m.kr - m.kb);
	rgb[0] = clamp255(r);
	rgb[1] = clamp255(g);
	rgb[2] = clamp255(b);
}

/* Pixel (x, y) of any source as RGBA. */
static void ref_rgba(const struct img *src, struct matrix m, uint32_t x, uint32_t y,
		     double rgba[4])
{
	if (kind_of(src->l.fourcc) == RGB) {
		ref_get_rgb(src, x, y, rgba);
		return;
	}
	double yuv[3];
	ref_get_yuv(src, x, y, yuv);
	yuv_to_rgb(m, yuv, rgba);
	rgba[3] = 255;
}

/* Whether expect() keeps its findings to itself. */
static bool quiet;

/* What a comparison found. */
struct diff {
	size_t bytes, off_by_one, wrong;
};

static void expect(struct diff *d, uint8_t got, int want, int tolerance, const char *what,
		   uint32_t x, uint32_t y)
{
	int e = abs((int)got - want);
	d->bytes++;
	d->off_by_one += e == 1;
	if (e > tolerance) {
		if (d->wrong++ < 5 && !quiet)
			fprintf(stderr, "  %s at (%u, %u): got %u, expected %d ± %d\n", what, x, y,
				got, want, tolerance);
	}
}

/* Compares `dst` with the reference conversion of `src`. */
static struct diff compare(const struct img *src, const struct img *dst, uint32_t flags)
{
	struct diff d = {0};
	struct matrix m = matrix_of(flags), grey = {m.kr, m.kb, true};
	uint32_t w = dst->l.width, h = dst->l.height;
	const struct rgb_format *df = rgb_format(dst->l.fourcc);
	const struct px_format_info *fi = info_of(dst->l.fourcc);

	if (src->l.fourcc == dst->l.fourcc) {
		for (uint32_t p = 0; p < fi->n_planes; p++)
			for (uint32_t y = 0; y < px_image_plane_rows(&dst->l, p); y++)
				for (uint64_t i = 0; i < px_image_row_bytes(&dst->l, p); i++)
					expect(&d, img_row(dst, p, y)[i], img_row(src, p, y)[i],
					       0, "byte", (uint32_t)i, y);
		return d;
	}
	if (df) {
		bool exact = kind_of(src->l.fourcc) == RGB;
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				const uint8_t *o = img_row(dst, 0, y) + (size_t)x * (size_t)df->bpp;
				double rgba[4];
				ref_rgba(src, m, x, y, rgba);
				if (df->fourcc == PX_FORMAT_R8 || df->fourcc == PX_FORMAT_R16) {
					int l = round8(luma(grey, rgba));
					/* grey from grey is the grey itself */
					int tol = rgba[0] == rgba[1] && rgba[1] == rgba[2] && exact
							  ? 0
							  : 1;
					expect(&d, o[0], l, tol, "grey", x, y);
					if (df->fourcc == PX_FORMAT_R16)
						REQUIRE(o[1] == o[0]); /* × 257 */
					continue;
				}
				/* Swizzles are exact; from YUV ±1. */
				expect(&d, o[df->r], round8(rgba[0]), !exact, "R", x, y);
				expect(&d, o[df->g], round8(rgba[1]), !exact, "G", x, y);
				expect(&d, o[df->b], round8(rgba[2]), !exact, "B", x, y);
				if (df->a >= 0)
					expect(&d, o[df->a], round8(rgba[3]), 0, "A", x, y);
				if (df->x)
					expect(&d, o[3], 255, 0, "X", x, y);
			}
		return d;
	}

	/* RGB to YUV: Y per pixel; chroma of the mean RGB of the pixels a sample
	 * covers; YUYV's pixel after an odd width's last repeats it. */
	bool nv12 = dst->l.fourcc == PX_FORMAT_NV12;
	uint32_t bh = nv12 ? 2 : 1;
	for (uint32_t by = 0; by < h; by += bh)
		for (uint32_t bx = 0; bx < w; bx += 2) {
			double sum[3] = {0}, n = 0, ys[2][2] = {{0}};
			for (uint32_t y = by; y < by + bh && y < h; y++)
				for (uint32_t x = bx; x < bx + 2; x++) {
					double rgba[4], yuv[3];
					ref_rgba(src, m, x < w ? x : w - 1, y, rgba);
					rgb_to_yuv(m, rgba, yuv);
					ys[y - by][x - bx] = yuv[0];
					if (x >= w)
						continue;
					for (int c = 0; c < 3; c++)
						sum[c] += rgba[c];
					n++;
				}
			double mean[3] = {sum[0] / n, sum[1] / n, sum[2] / n}, yuv[3];
			rgb_to_yuv(m, mean, yuv);
			if (nv12) {
				for (uint32_t y = by; y < by + 2 && y < h; y++)
					for (uint32_t x = bx; x < bx + 2 && x < w; x++)
						expect(&d, img_row(dst, 0, y)[x],
						       round8(ys[y - by][x - bx]), 1, "Y", x, y);
				const uint8_t *c = img_row(dst, 1, by / 2) + bx;
				expect(&d, c[0], round8(yuv[1]), 1, "U", bx, by);
				expect(&d, c[1], round8(yuv[2]), 1, "V", bx, by);
				continue;
			}
			/* offsets of Y0, U, Y1, V */
			static const int yuyv[4] = {0, 1, 2, 3}, uyvy[4] = {1, 0, 3, 2};
			const int *at = dst->l.fourcc == PX_FORMAT_YUYV ? yuyv : uyvy;
			const uint8_t *o = img_row(dst, 0, by) + bx * 2;
			expect(&d, o[at[0]], round8(ys[0][0]), 1, "Y0", bx, by);
			expect(&d, o[at[2]], round8(ys[0][1]), 1, "Y1", bx, by);
			expect(&d, o[at[1]], round8(yuv[1]), 1, "U", bx, by);
			expect(&d, o[at[3]], round8(yuv[2]), 1, "V", bx, by);
		}
	return d;
}

/* ---- Tests */

static const uint32_t sizes[][2] = {
	{1, 1}, {2, 1}, {1, 2}, {3, 3}, {33, 17}, {64, 9}, {257, 3}, {600, 2}, {513, 5},
};

static size_t n_formats(uint32_t *formats)
{
	size_t n = px_format_list(formats, 32);
	REQUIRE(n >= 12 && n <= 32);
	return n;
}

/* Totals of one kind of conversion. */
struct totals {
	size_t runs, bytes, off_by_one;
};

/*
 * One pair, one size, one way: a random source converted into a poisoned
 * destination, one side being the "slot" (a layout with padded strides) and
 * the other the application's image (packed or padded, planes given or
 * contiguous). `write`: px_image_write(), the application's image the source.
 */
static void run_pair(uint32_t from, uint32_t to, uint32_t w, uint32_t h, uint32_t flags,
		     bool write, struct totals *t)
{
	struct img src, dst;
	bool packed = rng() % 2, contiguous = rng() % 2;
	char a[16], b[16];
	/* The slot side always has padding; the application's side may be packed. */
	img_make(&src, from, w, h, write ? packed : false, contiguous);
	img_make(&dst, to, w, h, write ? false : packed, contiguous);
	img_randomize(&src);

	int ret;
	if (write)
		ret = px_image_write(&dst.l, (void *const *)dst.planes, &src.cpu, flags);
	else
		ret = px_image_read(&src.l, (const void *const *)src.planes, &dst.cpu, flags);

	if (!converted(from, to)) {
		if (ret != -ENOTSUP || !img_untouched(&dst) || !strstr(last_log, "not converted")) {
			fprintf(stderr, "%s → %s %ux%u (%s): %d, expected -ENOTSUP and nothing written\n",
				px_format_name(from, a, sizeof(a)), px_format_name(to, b, sizeof(b)),
				w, h, write ? "write" : "read", ret);
			exit(1);
		}
		last_log[0] = '\0';
		goto out;
	}
	struct diff d = compare(&src, &dst, flags);
	size_t damage = img_damage(&dst);
	if (ret || d.wrong || damage) {
		fprintf(stderr,
			"%s → %s %ux%u flags 0x%x (%s, %s, %s): returned %d, %zu of %zu bytes "
			"wrong, %zu bytes of padding or guards written\n",
			px_format_name(from, a, sizeof(a)), px_format_name(to, b, sizeof(b)), w, h,
			flags, write ? "write" : "read", packed ? "packed" : "padded",
			contiguous ? "contiguous" : "planes", ret, d.wrong, d.bytes, damage);
		exit(1);
	}
	REQUIRE(d.bytes > 0);
	t->runs++;
	t->bytes += d.bytes;
	t->off_by_one += d.off_by_one;
out:
	img_free(&src);
	img_free(&dst);
}

static void test_pairs(void)
{
	uint32_t formats[32];
	size_t n = n_formats(formats);
	enum { SAME, RGB_RGB, RGB_YUV, YUV_RGB, YUV_GREY, N_KINDS };
	static const char *names[N_KINDS] = {"same format", "RGB to RGB", "RGB to YUV",
					     "YUV to RGB", "YUV to grey"};
	struct totals t[N_KINDS] = {{0}};
	size_t refused = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			for (size_t s = 0; s < PX_ARRAY_LEN(sizes); s++)
				for (uint32_t flags = 0; flags < 4; flags++)
					for (int write = 0; write < 2; write++) {
						uint32_t from = formats[i], to = formats[j];
						bool grey = to == PX_FORMAT_R8 || to == PX_FORMAT_R16;
						int k = from == to		 ? SAME
							: kind_of(to) == YUV   ? RGB_YUV
							: kind_of(from) != YUV ? RGB_RGB
							: grey		       ? YUV_GREY
									       : YUV_RGB;
						run_pair(from, to, sizes[s][0], sizes[s][1], flags,
							 write, &t[k]);
						refused += !converted(from, to);
					}
	for (int k = 0; k < N_KINDS; k++) {
		printf("%s: %zu runs, %zu bytes, %zu off by one (%.3f %%)\n", names[k], t[k].runs,
		       t[k].bytes, t[k].off_by_one, 100.0 * (double)t[k].off_by_one / (double)t[k].bytes);
		REQUIRE(t[k].runs > 0);
	}
	printf("refused as not converted: %zu runs\n", refused);
	REQUIRE(refused > 0);
	/* Copies are exact. In conversions ±1 is the exception, not the rule
	 * (a biased rounding would be off by one on about half the bytes): one
	 * byte in 200 at most; grey from YUV rounds twice (RGB, then its luma),
	 * so one in 4 there. */
	REQUIRE_EQ(t[SAME].off_by_one, 0);
	for (int k = RGB_RGB; k < N_KINDS; k++)
		REQUIRE(t[k].off_by_one * (k == YUV_GREY ? 4 : 200) < t[k].bytes);
}

/* The comparison itself finds a byte off by 2 and a written pad byte. */
static void test_self_check(void)
{
	struct img src, dst;
	img_make(&src, PX_FORMAT_XRGB8888, 33, 17, false, false);
	img_make(&dst, PX_FORMAT_NV12, 33, 17, false, false);
	img_randomize(&src);
	REQUIRE_OK(px_image_write(&dst.l, (void *const *)dst.planes, &src.cpu, 0));
	REQUIRE_EQ(compare(&src, &dst, 0).wrong, 0);
	/* BT.709 against a BT.601 reference is wrong somewhere; full range
	 * against limited likewise. */
	quiet = true;
	REQUIRE(compare(&src, &dst, PX_IMAGE_BT709).wrong > 0);
	REQUIRE(compare(&src, &dst, PX_IMAGE_FULL_RANGE).wrong > 0);
	quiet = false;
	uint8_t *c = img_row(&dst, 1, 8) + 16;
	*c = (uint8_t)(*c + 2);
	fprintf(stderr, "self-check: a byte off by 2 must be reported:\n");
	REQUIRE_EQ(compare(&src, &dst, 0).wrong, 1);
	REQUIRE_EQ(img_damage(&dst), 0);
	img_row(&dst, 1, 8)[px_image_row_bytes(&dst.l, 1)] = 0;
	REQUIRE_EQ(img_damage(&dst), 1);
	img_free(&src);
	img_free(&dst);
}

/* Values anyone can look up, so that the reference is not merely agreeing with itself. */
static void test_known_values(void)
{
	static const struct {
		uint8_t rgb[3];
		uint32_t flags;
		uint8_t yuv[3];
	} cases[] = {
		{{255, 255, 255}, 0, {235, 128, 128}},
		{{0, 0, 0}, 0, {16, 128, 128}},
		{{255, 0, 0}, 0, {81, 90, 240}},		    /* BT.601 red */
		{{255, 0, 0}, PX_IMAGE_BT709, {63, 102, 240}},	    /* BT.709 red */
		{{0, 0, 255}, PX_IMAGE_BT709, {32, 240, 118}},	    /* BT.709 blue */
		{{255, 255, 255}, PX_IMAGE_FULL_RANGE, {255, 128, 128}},
		{{0, 255, 0}, PX_IMAGE_FULL_RANGE, {150, 44, 21}}, /* JPEG green */
	};
	for (size_t i = 0; i < PX_ARRAY_LEN(cases); i++) {
		/* BGR888: bytes R, G, B. Two pixels, so that YUYV's chroma is theirs. */
		uint8_t rgb[6], yuyv[4] = {0}, back[6];
		memcpy(rgb, cases[i].rgb, 3);
		memcpy(rgb + 3, cases[i].rgb, 3);
		struct px_cpu_image in = {.fourcc = PX_FORMAT_BGR888, .width = 2, .height = 1,
					  .planes = {rgb}};
		struct px_image_layout l = {.fourcc = PX_FORMAT_YUYV, .width = 2, .height = 1,
					    .n_planes = 1, .planes = {{.stride = 4}}};
		void *planes[PX_MAX_PLANES] = {yuyv};
		REQUIRE_OK(px_image_write(&l, planes, &in, cases[i].flags));
		if (yuyv[0] != cases[i].yuv[0] || yuyv[2] != cases[i].yuv[0] ||
		    yuyv[1] != cases[i].yuv[1] || yuyv[3] != cases[i].yuv[2]) {
			fprintf(stderr, "case %zu: got Y %u U %u V %u, expected %u %u %u\n", i,
				yuyv[0], yuyv[1], yuyv[3], cases[i].yuv[0], cases[i].yuv[1],
				cases[i].yuv[2]);
			exit(1);
		}
		/* And back, within 2 of the colour (8-bit YUV loses a little). */
		struct px_cpu_image out = {.fourcc = PX_FORMAT_BGR888, .width = 2, .height = 1,
					   .planes = {back}};
		const void *cplanes[PX_MAX_PLANES] = {yuyv};
		REQUIRE_OK(px_image_read(&l, cplanes, &out, cases[i].flags));
		for (int c = 0; c < 6; c++)
			REQUIRE(abs(back[c] - rgb[c]) <= 2);
	}
	/* Grey: the luma of the matrix, full range; R16 × 257. */
	uint8_t red[3] = {0, 0, 255}, grey[2] = {0}; /* XBGR would be 4 bytes: RGB888 is B, G, R */
	struct px_cpu_image in = {.fourcc = PX_FORMAT_RGB888, .width = 1, .height = 1,
				  .planes = {red}};
	struct px_image_layout l = {.fourcc = PX_FORMAT_R16, .width = 1, .height = 1,
				    .n_planes = 1, .planes = {{.stride = 2}}};
	void *planes[PX_MAX_PLANES] = {grey};
	REQUIRE_OK(px_image_write(&l, planes, &in, 0));
	REQUIRE(grey[0] == 76 && grey[1] == 76); /* 0.299 × 255 */
	REQUIRE_OK(px_image_write(&l, planes, &in, PX_IMAGE_BT709));
	REQUIRE(grey[0] == 54 && grey[1] == 54); /* 0.2126 × 255 */
}

/* The application's planes: given one by one or one after another in one
 * buffer of px_cpu_image_size() bytes, with or without padding. */
static void test_cpu_planes(void)
{
	struct px_cpu_image c = {.fourcc = PX_FORMAT_NV12, .width = 33, .height = 17};
	REQUIRE_EQ(px_cpu_image_size(&c), 33 * 17 + 34 * 9);
	c.strides[0] = 40;
	c.strides[1] = 48;
	REQUIRE_EQ(px_cpu_image_size(&c), 40 * 17 + 48 * 9);
	c.strides[1] = 33; /* below the chroma row's 34 bytes */
	REQUIRE_EQ(px_cpu_image_size(&c), 0);
	REQUIRE_EQ(px_cpu_image_size(NULL), 0);
	struct px_cpu_image pairs = {.fourcc = PX_FORMAT_YUYV, .width = 3, .height = 2};
	REQUIRE_EQ(px_cpu_image_size(&pairs), 8 * 2);
	struct px_cpu_image mj = {.fourcc = PX_FORMAT_MJPEG, .width = 3, .height = 2};
	REQUIRE_EQ(px_cpu_image_size(&mj), 0);
	struct px_cpu_image zero = {.fourcc = PX_FORMAT_R8, .width = 0, .height = 2};
	REQUIRE_EQ(px_cpu_image_size(&zero), 0);

	/* One buffer, read into and written from, against planes given apart. */
	struct img slot, apart;
	img_make(&slot, PX_FORMAT_NV12, 33, 17, false, false);
	img_make(&apart, PX_FORMAT_NV12, 33, 17, false, false);
	img_randomize(&slot);
	uint8_t *one = malloc(40 * 17 + 48 * 9);
	REQUIRE(one);
	c = (struct px_cpu_image){.fourcc = PX_FORMAT_NV12, .width = 33, .height = 17,
				  .strides = {40, 48}, .planes = {one}};
	REQUIRE_OK(px_image_read(&slot.l, (const void *const *)slot.planes, &c, 0));
	for (uint32_t y = 0; y < 17; y++)
		REQUIRE(!memcmp(one + 40 * y, img_row(&slot, 0, y), 33));
	for (uint32_t y = 0; y < 9; y++)
		REQUIRE(!memcmp(one + 40 * 17 + 48 * y, img_row(&slot, 1, y), 34));
	REQUIRE_OK(px_image_write(&apart.l, (void *const *)apart.planes, &c, 0));
	REQUIRE_EQ(compare(&slot, &apart, 0).wrong, 0);
	REQUIRE_EQ(img_damage(&apart), 0);
	free(one);
	img_free(&slot);
	img_free(&apart);
}

/* One failing call: its errno, a logged reason, and nothing written. */
static void expect_fail(int ret, int want, const struct img *dst, int line)
{
	if (ret != want || !last_log[0] || (dst && !img_untouched(dst))) {
		fprintf(stderr, "line %d: returned %d, expected %d; logged \"%s\"%s\n", line, ret,
			want, last_log, dst && !img_untouched(dst) ? "; the destination written" : "");
		exit(1);
	}
	printf("  %d: %s\n", want, last_log);
	last_log[0] = '\0';
}

#define WRITE_FAILS(want, l, planes, src, flags) \
	expect_fail(px_image_write((l), (planes), (src), (flags)), (want), &dst, __LINE__)
#define READ_FAILS(want, l, planes, out, flags) \
	expect_fail(px_image_read((l), (planes), (out), (flags)), (want), NULL, __LINE__)

static void test_errors(void)
{
	struct img src, dst, out;
	img_make(&src, PX_FORMAT_XRGB8888, 33, 17, false, false);
	img_make(&dst, PX_FORMAT_NV12, 33, 17, false, false);
	img_make(&out, PX_FORMAT_XRGB8888, 33, 17, false, false);
	img_randomize(&src);
	void *const *dp = (void *const *)dst.planes;
	const void *const *sp = (const void *const *)dst.planes;
	struct px_image_layout l;
	struct px_cpu_image c;

	last_log[0] = '\0';
	printf("errors, and the reasons logged:\n");

	WRITE_FAILS(-EINVAL, NULL, dp, &src.cpu, 0);
	WRITE_FAILS(-EINVAL, &dst.l, NULL, &src.cpu, 0);
	WRITE_FAILS(-EINVAL, &dst.l, dp, NULL, 0);
	WRITE_FAILS(-EINVAL, &dst.l, dp, &src.cpu, 1u << 2);
	READ_FAILS(-EINVAL, NULL, sp, &out.cpu, 0);
	READ_FAILS(-EINVAL, &dst.l, NULL, &out.cpu, 0);
	READ_FAILS(-EINVAL, &dst.l, sp, NULL, 0);
	READ_FAILS(-EINVAL, &dst.l, sp, &out.cpu, 0x80000000u);

	/* The slot's layout. */
	l = dst.l;
	l.fourcc = PX_FOURCC('N', 'O', 'P', 'E');
	WRITE_FAILS(-EINVAL, &l, dp, &src.cpu, 0);
	l = dst.l;
	l.fourcc = PX_FORMAT_MJPEG;
	l.n_planes = 1;
	WRITE_FAILS(-ENOTSUP, &l, dp, &src.cpu, 0);
	l = dst.l;
	l.modifier = 0x0100000000000001ull; /* I915_FORMAT_MOD_X_TILED */
	WRITE_FAILS(-ENOTSUP, &l, dp, &src.cpu, 0);
	READ_FAILS(-ENOTSUP, &l, sp, &out.cpu, 0);
	l = dst.l;
	l.n_planes = 1;
	WRITE_FAILS(-EINVAL, &l, dp, &src.cpu, 0);
	l.n_planes = PX_MAX_PLANES + 1;
	WRITE_FAILS(-EINVAL, &l, dp, &src.cpu, 0);
	l = dst.l;
	l.planes[1].stride = 33; /* the chroma row is 34 bytes */
	WRITE_FAILS(-EINVAL, &l, dp, &src.cpu, 0);
	l = dst.l;
	l.width = 0;
	WRITE_FAILS(-EINVAL, &l, dp, &src.cpu, 0);
	void *no_chroma[PX_MAX_PLANES] = {dst.planes[0], NULL};
	WRITE_FAILS(-EINVAL, &dst.l, no_chroma, &src.cpu, 0);

	/* The application's image. */
	c = src.cpu;
	c.width = 32;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.height = 18;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.fourcc = 0;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.fourcc = PX_FORMAT_MJPEG;
	WRITE_FAILS(-ENOTSUP, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.strides[0] = 33 * 4 - 1;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.planes[0] = NULL;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.planes[1] = src.planes[0]; /* XRGB has one plane */
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);
	c = src.cpu;
	c.strides[3] = 4;
	WRITE_FAILS(-EINVAL, &dst.l, dp, &c, 0);

	/* Pairs not converted: YUV to YUV, P010 with anything else. */
	struct img yuyv, p010;
	img_make(&yuyv, PX_FORMAT_YUYV, 33, 17, false, false);
	img_make(&p010, PX_FORMAT_P010, 33, 17, false, false);
	WRITE_FAILS(-ENOTSUP, &dst.l, dp, &yuyv.cpu, 0);
	WRITE_FAILS(-ENOTSUP, &dst.l, dp, &p010.cpu, 0);
	READ_FAILS(-ENOTSUP, &p010.l, (const void *const *)p010.planes, &out.cpu, 0);
	REQUIRE(img_untouched(&out));
	img_free(&yuyv);
	img_free(&p010);

	/* An implicit modifier is taken as linear, as px_pattern_draw() does. */
	l = dst.l;
	l.modifier = PX_MODIFIER_INVALID;
	REQUIRE_OK(px_image_write(&l, dp, &src.cpu, 0));
	REQUIRE_EQ(compare(&src, &dst, 0).wrong, 0);
	REQUIRE_EQ(last_log[0], '\0');

	img_free(&src);
	img_free(&dst);
	img_free(&out);
}

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
	{"self-check", test_self_check}, {"known-values", test_known_values},
	{"pairs", test_pairs},		 {"cpu-planes", test_cpu_planes},
	{"errors", test_errors},
};

int main(int argc, char **argv)
{
	const char *names[PX_ARRAY_LEN(tests)];
	for (size_t i = 0; i < PX_ARRAY_LEN(tests); i++)
		names[i] = tests[i].name;
	px_test_args(argc, argv, names, PX_ARRAY_LEN(names));
	const char *only = px_test_only();
	/* Failures log their reason: the tests catch and check it. */
	px_log_set_handler(log_fn, NULL, PX_LOG_ERROR);
	for (size_t i = 0; i < PX_ARRAY_LEN(tests); i++) {
		if (only && !px_test_in_list(only, tests[i].name))
			continue;
		printf("== %s\n", tests[i].name);
		tests[i].run();
	}
	return 0;
}

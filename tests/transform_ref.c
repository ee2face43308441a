/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>

#include "transform_ref.h"

void ref_luma(enum px_color_matrix m, double k[3])
{
	k[0] = m == PX_MATRIX_BT709 ? 0.2126 : 0.299;
	k[2] = m == PX_MATRIX_BT709 ? 0.0722 : 0.114;
	k[1] = 1.0 - k[0] - k[2];
}

unsigned ref_u8(double v)
{
	double r = floor(v + 0.5);
	return r < 0 ? 0 : r > 255 ? 255 : (unsigned)r;
}

static double clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* BT.601 / BT.709, limited or full range, from the textbook definitions. */
static void yuv(const struct px_transform_image *im, double y, double u, double v, double rgb[3])
{
	double k[3];
	ref_luma(im->matrix, k);
	double yy, pb, pr;
	if (im->full_range) {
		yy = y;
		pb = u - 128;
		pr = v - 128;
	} else {
		yy = (y - 16) * 255.0 / 219.0;
		pb = (u - 128) * 255.0 / 224.0;
		pr = (v - 128) * 255.0 / 224.0;
	}
	double r = yy + 2 * (1 - k[0]) * pr;
	double b = yy + 2 * (1 - k[2]) * pb;
	double g = (yy - k[0] * r - k[2] * b) / k[1];
	rgb[0] = clamp255(r);
	rgb[1] = clamp255(g);
	rgb[2] = clamp255(b);
}

void ref_fetch(const struct ref_source *src, const struct px_transform_image *im, uint32_t x,
	       uint32_t y, double rgb[3])
{
	const struct px_image_layout *img = src->image;
	const uint8_t *row = src->planes[0] + (size_t)y * img->planes[0].stride;
	const uint8_t *p;
	switch (img->fourcc) {
	case PX_FORMAT_XRGB8888:
	case PX_FORMAT_ARGB8888: /* bytes B G R A */
		p = row + 4 * x;
		rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0];
		return;
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888: /* bytes R G B A */
		p = row + 4 * x;
		rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
		return;
	case PX_FORMAT_RGB888: /* bytes B G R */
		p = row + 3 * x;
		rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0];
		return;
	case PX_FORMAT_BGR888: /* bytes R G B */
		p = row + 3 * x;
		rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
		return;
	case PX_FORMAT_R8:
		rgb[0] = rgb[1] = rgb[2] = row[x];
		return;
	case PX_FORMAT_YUYV: /* Y0 U Y1 V */
		p = row + 4 * (x / 2);
		yuv(im, p[(x & 1) * 2], p[1], p[3], rgb);
		return;
	case PX_FORMAT_UYVY: /* U Y0 V Y1 */
		p = row + 4 * (x / 2);
		yuv(im, p[1 + (x & 1) * 2], p[0], p[2], rgb);
		return;
	case PX_FORMAT_NV12: {
		const uint8_t *c =
		    src->planes[1] + (size_t)(y / 2) * img->planes[1].stride + (x / 2) * 2;
		yuv(im, row[x], c[0], c[1], rgb);
		return;
	}
	}
	abort();
}

struct geo {
	long cx, cy, cw, ch; /* the crop */
	long rw, rh;	     /* the rotated crop */
	double cosa, sina;   /* PX_ROTATE_ANY */
};

/* The pixel (x, y) of the crop, clamped into it. */
static void crop_pixel(const struct ref_source *src, const struct px_transform_image *im,
		       const struct geo *g, long x, long y, double rgb[3])
{
	if (im->rotation == PX_ROTATE_ANY && (x < 0 || y < 0 || x >= g->cw || y >= g->ch)) {
		for (int k = 0; k < 3; k++)
			rgb[k] = im->border[k];
		return;
	}
	x = x < 0 ? 0 : x >= g->cw ? g->cw - 1 : x;
	y = y < 0 ? 0 : y >= g->ch ? g->ch - 1 : y;
	ref_fetch(src, im, (uint32_t)(g->cx + x), (uint32_t)(g->cy + y), rgb);
}

/* Rotated-and-flipped position → crop position (pixel centres at integers):
 * rotation clockwise, then the flip of the rotated image. */
static void to_crop(const struct px_transform_image *im, const struct geo *g, double rx, double ry,
		    double *cx, double *cy)
{
	if (im->flip & PX_FLIP_H)
		rx = (double)g->rw - 1 - rx;
	if (im->flip & PX_FLIP_V)
		ry = (double)g->rh - 1 - ry;
	switch (im->rotation) {
	case PX_ROTATE_0:
		*cx = rx, *cy = ry;
		break;
	case PX_ROTATE_90: /* the rotated top-left is the source's bottom-left */
		*cx = ry, *cy = (double)g->ch - 1 - rx;
		break;
	case PX_ROTATE_180:
		*cx = (double)g->cw - 1 - rx, *cy = (double)g->ch - 1 - ry;
		break;
	case PX_ROTATE_270:
		*cx = (double)g->cw - 1 - ry, *cy = rx;
		break;
	case PX_ROTATE_ANY: {
		/* Clockwise on screen (y down) by a: the crop point c shows at
		 * R(a)·(c − centre) + centre'; this is the inverse. */
		double dx = rx - (g->rw - 1) / 2.0, dy = ry - (g->rh - 1) / 2.0;
		*cx = dx * g->cosa + dy * g->sina + (g->cw - 1) / 2.0;
		*cy = -dx * g->sina + dy * g->cosa + (g->ch - 1) / 2.0;
		break;
	}
	}
}

static double cubic(double t)
{
	t = fabs(t);
	const double a = -0.5;
	if (t < 1)
		return ((a + 2) * t - (a + 3)) * t * t + 1;
	if (t < 2)
		return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
	return 0;
}

void ref_transform(const struct ref_source *src, const struct px_transform_image *im, double *rgb)
{
	const struct px_image_layout *img = src->image;
	struct geo g = {.cx = im->crop_width ? im->crop_x : 0,
			.cy = im->crop_height ? im->crop_y : 0,
			.cw = im->crop_width ? im->crop_width : img->width,
			.ch = im->crop_height ? im->crop_height : img->height};
	bool swap = im->rotation == PX_ROTATE_90 || im->rotation == PX_ROTATE_270;
	g.rw = swap ? g.ch : g.cw;
	g.rh = swap ? g.cw : g.ch;
	if (im->rotation == PX_ROTATE_ANY) {
		double a = im->angle * M_PI / 180.0;
		g.cosa = cos(a);
		g.sina = sin(a);
		g.rw = (long)ceil(g.cw * fabs(g.cosa) + g.ch * fabs(g.sina) - 1e-6);
		g.rh = (long)ceil(g.cw * fabs(g.sina) + g.ch * fabs(g.cosa) - 1e-6);
	}
	double sx = (double)g.rw / im->out_width, sy = (double)g.rh / im->out_height;

	for (uint32_t oy = 0; oy < im->out_height; oy++) {
		for (uint32_t ox = 0; ox < im->out_width; ox++) {
			double *out = rgb + 3 * ((size_t)oy * im->out_width + ox);
			double c[3] = {0, 0, 0}, px[3];
			switch (im->filter) {
			case PX_FILTER_NEAREST: {
				/* The pixel whose span holds the centre. */
				/* floor((o + 0.5)·rw/ow), exactly, in integers */
				long rx =
				    (long)((2 * ox + 1) * (uint64_t)g.rw / (2 * im->out_width));
				long ry =
				    (long)((2 * oy + 1) * (uint64_t)g.rh / (2 * im->out_height));
				double x, y;
				to_crop(im, &g, (double)rx, (double)ry, &x, &y);
				crop_pixel(src, im, &g, (long)floor(x + 0.5), (long)floor(y + 0.5),
					   c);
				break;
			}
			case PX_FILTER_BILINEAR:
			case PX_FILTER_BICUBIC: {
				double x, y;
				to_crop(im, &g, (ox + 0.5) * sx - 0.5, (oy + 0.5) * sy - 0.5, &x,
					&y);
				long ix = (long)floor(x), iy = (long)floor(y);
				double tx = x - ix, ty = y - iy;
				int lo = im->filter == PX_FILTER_BILINEAR ? 0 : -1;
				int hi = im->filter == PX_FILTER_BILINEAR ? 1 : 2;
				for (int dy = lo; dy <= hi; dy++) {
					double wy = im->filter == PX_FILTER_BILINEAR
							? (dy ? ty : 1 - ty)
							: cubic(ty - dy);
					for (int dx = lo; dx <= hi; dx++) {
						double wx = im->filter == PX_FILTER_BILINEAR
								? (dx ? tx : 1 - tx)
								: cubic(tx - dx);
						crop_pixel(src, im, &g, ix + dx, iy + dy, px);
						for (int k = 0; k < 3; k++)
							c[k] += wx * wy * px[k];
					}
				}
				break;
			}
			case PX_FILTER_AREA: {
				/* The footprint's corners, as pixel edges in the crop. */
				double x0, y0, x1, y1;
				to_crop(im, &g, ox * sx - 0.5, oy * sy - 0.5, &x0, &y0);
				to_crop(im, &g, (ox + 1) * sx - 0.5, (oy + 1) * sy - 0.5, &x1, &y1);
				double lx = fmin(x0, x1) + 0.5, hx = fmax(x0, x1) + 0.5;
				double ly = fmin(y0, y1) + 0.5, hy = fmax(y0, y1) + 0.5;
				double wsum = 0;
				for (long y = (long)floor(ly); y < hy; y++) {
					double wy = fmin(hy, y + 1.0) - fmax(ly, (double)y);
					if (wy <= 0)
						continue;
					for (long x = (long)floor(lx); x < hx; x++) {
						double wx = fmin(hx, x + 1.0) - fmax(lx, (double)x);
						if (wx <= 0)
							continue;
						crop_pixel(src, im, &g, x, y, px);
						for (int k = 0; k < 3; k++)
							c[k] += wx * wy * px[k];
						wsum += wx * wy;
					}
				}
				for (int k = 0; k < 3; k++)
					c[k] /= wsum;
				break;
			}
			}
			for (int k = 0; k < 3; k++)
				out[k] = clamp255(c[k]);
		}
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * pixshare view TOPIC: a window showing every image of a topic's sets, tiled,
 * as GL textures of pixshare's EGL importer in SDL's own EGL context.
 *
 * The subscriber is latest-QoS: the newest frame is shown, older ones are
 * released unseen, and the frame on screen is released once the next one has
 * been drawn (its GL fence signalled) and shown. While paused, new frames are
 * released at once, so the publisher is never held.
 *
 * px_egl uploads RGB and grey formats where the dma-buf path is impossible,
 * but not YUV. For YUYV, UYVY, NV12, YUV420 and YUV422 the viewer then uploads
 * the planes itself (packed 4:2:2 as RGBA8 texels of two pixels; NV12 as R8
 * and RG8; planar YUV as three R8) and
 * converts in its shaders (BT.601 limited range, as px_egl's external
 * textures): that is what a display without a DRM device (Xvfb, llvmpipe)
 * needs for YUV.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <SDL.h>

#include <EGL/egl.h>
#include <GLES3/gl3.h>
#include <GLES2/gl2ext.h>

#include <pixshare/egl.h>
#include <pixshare/pixshare.h>

#include "tools/image_write.h"
#include "tools/tool_util.h"
#include "tools/view.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
/* Longest wait for a frame between two looks at the window's events. */
#define POLL_MS 10
/* The overlay's font: 5×7 glyphs in 6×9 cells, drawn at twice the size. */
#define GLYPH_W 5
#define GLYPH_H 7
#define CELL_W 6
#define CELL_H 9
#define TEXT_SCALE 2
#define MAX_TEXT 96
/* Longest wait for the GPU to finish reading a frame before its release. */
#define FENCE_TIMEOUT_NS NS_PER_S

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Rows of a glyph, bit 4 the leftmost pixel. */
struct glyph {
	char c;
	uint8_t rows[GLYPH_H];
};

static const struct glyph font[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}},
};

/* The glyph of `c` (letters in capitals), NULL for a blank. */
static const struct glyph *find_glyph(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	for (size_t i = 0; i < ARRAY_SIZE(font); i++)
		if (font[i].c == c)
			return &font[i];
	return c == ' ' ? NULL : find_glyph('?');
}

/* How a tile's texture is sampled. */
enum tile_kind {
	TILE_NONE,     /* nothing to show (the image is absent from the frame) */
	TILE_RGB,      /* GL_TEXTURE_2D: (R, G, B) */
	TILE_GREY,     /* GL_TEXTURE_2D: (grey, 0, 0) */
	TILE_EXTERNAL, /* GL_TEXTURE_EXTERNAL_OES: RGB converted by the driver */
	TILE_YUYV,     /* the viewer's upload: RGBA8 texels of (Y0, U, Y1, V) */
	TILE_UYVY,     /* (U, Y0, V, Y1) */
	TILE_NV12,     /* R8 luma, RG8 chroma (`chroma`) */
	TILE_PLANAR,   /* R8 luma, U (`chroma`) and V (`chroma2`) planes: YUV420, YUV422 */
};

struct tile {
	enum tile_kind kind;
	GLuint texture, chroma, chroma2;
	uint32_t width, height; /* the image's */
};

enum program_kind { PROG_RGB, PROG_EXTERNAL, PROG_PACKED, PROG_NV12, PROG_PLANAR, PROG_COUNT };

struct program {
	GLuint id;
	GLint rect, tex, chroma, chroma2, grey, size, uyvy;
};

struct held {
	struct px_frame *frame;
	GLsync sync; /* after the frame's draw: its GPU reads are done */
	struct tile tiles[PX_MAX_IMAGES];
};

struct viewer {
	const struct view_options *o;
	SDL_Window *window;
	SDL_GLContext gl;
	struct px_egl *egl;
	struct px_subscriber *sub;
	struct program progs[PROG_COUNT];
	GLuint vbo;
	/* The viewer's own uploads of YUV: per image, its planes. */
	struct own_texture {
		GLuint id;
		uint32_t width, height;
	} own[PX_MAX_IMAGES][3];
	/* The last pool whose own uploads were announced (pool ids are not 0). */
	uint64_t told_pool;
	GLuint overlay;
	int overlay_w, overlay_h;
	char overlay_text[MAX_TEXT];
	struct held shown;
	int selected; /* 0: tiles; N: image N alone */
	bool paused;
	/* Counts for the summary. */
	uint64_t frames, paused_released, saves;
	uint64_t images_dmabuf, images_upload, images_own_upload;
	uint64_t first_ns, last_ns;
	struct samples latency;	 /* publish → swap, every frame shown */
	struct samples interval; /* the same, since the last tick */
	bool oom;
};

static const char vertex_src[] = "#version 100\n"
				 "attribute vec2 pos;\n"
				 "uniform vec4 rect;\n"
				 "varying vec2 uv;\n"
				 "void main() {\n"
				 "	uv = vec2(pos.x, 1.0 - pos.y);\n"
				 "	gl_Position = vec4(mix(rect.xy, rect.zw, pos), 0.0, 1.0);\n"
				 "}\n";

static const char rgb_src[] = "#version 100\n"
			      "precision mediump float;\n"
			      "uniform sampler2D tex;\n"
			      "uniform float grey;\n"
			      "varying vec2 uv;\n"
			      "void main() {\n"
			      "	vec3 c = texture2D(tex, uv).rgb;\n"
			      "	gl_FragColor = vec4(grey > 0.5 ? c.rrr : c, 1.0);\n"
			      "}\n";

static const char external_src[] = "#version 100\n"
				   "#extension GL_OES_EGL_image_external : require\n"
				   "precision mediump float;\n"
				   "uniform samplerExternalOES tex;\n"
				   "varying vec2 uv;\n"
				   "void main() {\n"
				   "	gl_FragColor = vec4(texture2D(tex, uv).rgb, 1.0);\n"
				   "}\n";

/* Packed 4:2:2: texel x/2 of the row holds the pixel pair (x even, x odd);
 * nearest sampling, BT.601 limited range. */
static const char packed_src[] =
    "#version 100\n"
    "precision highp float;\n"
    "uniform sampler2D tex;\n"
    "uniform vec2 size;\n" /* the image's width, and the texture's */
    "uniform float uyvy;\n"
    "varying vec2 uv;\n"
    "void main() {\n"
    "	float x = clamp(floor(uv.x * size.x), 0.0, size.x - 1.0);\n"
    "	float pair = floor(x * 0.5);\n"
    "	vec4 t = texture2D(tex, vec2((pair + 0.5) / size.y, uv.y));\n"
    "	bool odd = x - 2.0 * pair > 0.5;\n"
    "	vec4 p = uyvy > 0.5 ? t.grab : t;\n" /* (Y0, U, Y1, V) */
    "	float y = (odd ? p.b : p.r) * 255.0 - 16.0;\n"
    "	float u = p.g * 255.0 - 128.0, v = p.a * 255.0 - 128.0;\n"
    "	vec3 c = vec3(1.164 * y + 1.596 * v,\n"
    "		      1.164 * y - 0.392 * u - 0.813 * v,\n"
    "		      1.164 * y + 2.017 * u) / 255.0;\n"
    "	gl_FragColor = vec4(clamp(c, 0.0, 1.0), 1.0);\n"
    "}\n";

/* NV12: luma and chroma sampled nearest, BT.601 limited range. */
static const char nv12_src[] = "#version 100\n"
			       "precision mediump float;\n"
			       "uniform sampler2D tex;\n"
			       "uniform sampler2D chroma;\n"
			       "varying vec2 uv;\n"
			       "void main() {\n"
			       "	float y = texture2D(tex, uv).r * 255.0 - 16.0;\n"
			       "	vec2 c = texture2D(chroma, uv).rg * 255.0 - 128.0;\n"
			       "	vec3 rgb = vec3(1.164 * y + 1.596 * c.y,\n"
			       "			1.164 * y - 0.392 * c.x - 0.813 * c.y,\n"
			       "			1.164 * y + 2.017 * c.x) / 255.0;\n"
			       "	gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), 1.0);\n"
			       "}\n";

/* Planar YUV420 and YUV422: three R8 planes, BT.601 limited range as the
 * other YUV here (pixshare carries no range; see docs/design.md). */
static const char planar_src[] = "#version 100\n"
				 "precision mediump float;\n"
				 "uniform sampler2D tex;\n"
				 "uniform sampler2D chroma;\n"
				 "uniform sampler2D chroma2;\n"
				 "varying vec2 uv;\n"
				 "void main() {\n"
				 "	float y = texture2D(tex, uv).r * 255.0 - 16.0;\n"
				 "	float u = texture2D(chroma, uv).r * 255.0 - 128.0;\n"
				 "	float v = texture2D(chroma2, uv).r * 255.0 - 128.0;\n"
				 "	vec3 rgb = vec3(1.164 * y + 1.596 * v,\n"
				 "			1.164 * y - 0.392 * u - 0.813 * v,\n"
				 "			1.164 * y + 2.017 * u) / 255.0;\n"
				 "	gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), 1.0);\n"
				 "}\n";

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static GLuint compile(GLenum type, const char *src, const char *what)
{
	GLuint s = glCreateShader(type);
	GLint ok = 0;
	glShaderSource(s, 1, &src, NULL);
	glCompileShader(s);
	glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		char log[512] = "";
		glGetShaderInfoLog(s, sizeof(log), NULL, log);
		tool_error("the %s shader does not compile: %s", what, log);
		glDeleteShader(s);
		return 0;
	}
	return s;
}

static int make_program(struct program *p, const char *fragment, const char *what)
{
	GLuint vs = compile(GL_VERTEX_SHADER, vertex_src, what);
	GLuint fs = vs ? compile(GL_FRAGMENT_SHADER, fragment, what) : 0;
	GLint ok = 0;
	if (!fs) {
		glDeleteShader(vs);
		return -1;
	}
	p->id = glCreateProgram();
	glAttachShader(p->id, vs);
	glAttachShader(p->id, fs);
	glBindAttribLocation(p->id, 0, "pos");
	glLinkProgram(p->id);
	glDeleteShader(vs);
	glDeleteShader(fs);
	glGetProgramiv(p->id, GL_LINK_STATUS, &ok);
	if (!ok) {
		char log[512] = "";
		glGetProgramInfoLog(p->id, sizeof(log), NULL, log);
		tool_error("the %s shader does not link: %s", what, log);
		glDeleteProgram(p->id);
		p->id = 0;
		return -1;
	}
	p->rect = glGetUniformLocation(p->id, "rect");
	p->tex = glGetUniformLocation(p->id, "tex");
	p->chroma = glGetUniformLocation(p->id, "chroma");
	p->chroma2 = glGetUniformLocation(p->id, "chroma2");
	p->grey = glGetUniformLocation(p->id, "grey");
	p->size = glGetUniformLocation(p->id, "size");
	p->uyvy = glGetUniformLocation(p->id, "uyvy");
	return 0;
}

/* Made at start (the external-texture program only where
 * GL_OES_EGL_image_external is there), else when first needed. */
static struct program *get_program(struct viewer *v, enum program_kind k)
{
	static const char *const src[] = {rgb_src, external_src, packed_src, nv12_src,
					  planar_src};
	static const char *const names[] = {"RGB", "external-texture", "packed YUV", "NV12",
					    "planar YUV"};
	struct program *p = &v->progs[k];
	if (!p->id && make_program(p, src[k], names[k]))
		return NULL;
	return p;
}

/* Renders `text` into the overlay texture: white on black, one pixel per
 * font pixel (drawn at TEXT_SCALE). */
static void set_overlay(struct viewer *v, const char *text)
{
	static uint8_t pixels[CELL_H * CELL_W * MAX_TEXT * 4];
	size_t n = MIN(strlen(text), (size_t)MAX_TEXT - 1);
	int w = (int)n * CELL_W + 1, h = CELL_H;

	if (!strcmp(text, v->overlay_text) && v->overlay)
		return;
	memcpy(v->overlay_text, text, n);
	v->overlay_text[n] = '\0';
	memset(pixels, 0, (size_t)w * h * 4);
	for (size_t i = 0; i < n; i++) {
		const struct glyph *g = find_glyph(text[i]);
		for (int y = 0; g && y < GLYPH_H; y++)
			for (int x = 0; x < GLYPH_W; x++) {
				if (!(g->rows[y] & (0x10 >> x)))
					continue;
				uint8_t *p =
				    &pixels[((size_t)(y + 1) * w + i * CELL_W + 1 + x) * 4];
				p[0] = p[1] = p[2] = 0xff;
			}
	}
	for (int i = 0; i < w * h; i++)
		pixels[i * 4 + 3] = 0xff;
	if (!v->overlay) {
		glGenTextures(1, &v->overlay);
		glBindTexture(GL_TEXTURE_2D, v->overlay);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	}
	glBindTexture(GL_TEXTURE_2D, v->overlay);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
	glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
	v->overlay_w = w;
	v->overlay_h = h;
}

/* Uploads one plane of w × h texels of `bpp` bytes (1, 2 or 4) into `t`,
 * made or resized as needed. */
static int upload_plane(struct own_texture *t, GLenum internal, GLenum format, uint32_t bpp,
			uint32_t w, uint32_t h, const uint8_t *data, uint32_t stride)
{
	if (!t->id) {
		glGenTextures(1, &t->id);
		glBindTexture(GL_TEXTURE_2D, t->id);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
		glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	}
	glBindTexture(GL_TEXTURE_2D, t->id);
	if (t->width != w || t->height != h) {
		glTexImage2D(GL_TEXTURE_2D, 0, (GLint)internal, (GLsizei)w, (GLsizei)h, 0, format,
			     GL_UNSIGNED_BYTE, NULL);
		t->width = w;
		t->height = h;
	}
	/* Rows start where the stride says: one call where the stride is
	 * whole texels on the alignment GL asks, else a call per row. */
	glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
	if (stride % bpp == 0) {
		glPixelStorei(GL_UNPACK_ROW_LENGTH, (GLint)(stride / bpp));
		glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)w, (GLsizei)h, format,
				GL_UNSIGNED_BYTE, data);
	} else {
		glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
		for (uint32_t y = 0; y < h; y++)
			glTexSubImage2D(GL_TEXTURE_2D, 0, 0, (GLint)y, (GLsizei)w, 1, format,
					GL_UNSIGNED_BYTE, data + (size_t)y * stride);
	}
	glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
	GLenum err = glGetError();
	return err == GL_NO_ERROR ? 0 : (int)err;
}

/* The YUV formats the viewer uploads itself. */
static bool own_upload(uint32_t fourcc)
{
	return fourcc == PX_FORMAT_YUYV || fourcc == PX_FORMAT_UYVY || fourcc == PX_FORMAT_NV12 ||
	       fourcc == PX_FORMAT_YUV420 || fourcc == PX_FORMAT_YUV422;
}

/* Uploads a YUV image from its CPU mapping into the viewer's textures for
 * image `i`. */
static int upload_yuv(struct viewer *v, const struct px_frame *f, uint32_t i, struct tile *t)
{
	const struct px_image_layout *img = &f->layout->images[i];
	const uint8_t *luma = px_frame_plane(f, i, 0);
	const uint8_t *chroma = img->n_planes > 1 ? px_frame_plane(f, i, 1) : NULL;
	const uint8_t *chroma2 = img->n_planes > 2 ? px_frame_plane(f, i, 2) : NULL;
	uint32_t cw = (img->width + 1) / 2, ch = (img->height + 1) / 2;
	char name[16];
	int err;

	px_format_name(img->fourcc, name, sizeof(name));
	if (!luma || (img->n_planes > 1 && !chroma) || (img->n_planes > 2 && !chroma2)) {
		tool_error("image %u (%s): no CPU mapping here and no dma-buf import: "
			   "cannot show it",
			   i, name);
		return -ENOTSUP;
	}
	if (img->fourcc == PX_FORMAT_YUV420 || img->fourcc == PX_FORMAT_YUV422) {
		uint32_t rows = img->fourcc == PX_FORMAT_YUV420 ? ch : img->height;
		err = upload_plane(&v->own[i][0], GL_R8, GL_RED, 1, img->width, img->height, luma,
				   img->planes[0].stride);
		if (!err)
			err = upload_plane(&v->own[i][1], GL_R8, GL_RED, 1, cw, rows, chroma,
					   img->planes[1].stride);
		if (!err)
			err = upload_plane(&v->own[i][2], GL_R8, GL_RED, 1, cw, rows, chroma2,
					   img->planes[2].stride);
		t->kind = TILE_PLANAR;
		t->chroma = v->own[i][1].id;
		t->chroma2 = v->own[i][2].id;
	} else if (img->fourcc == PX_FORMAT_NV12) {
		err = upload_plane(&v->own[i][0], GL_R8, GL_RED, 1, img->width, img->height, luma,
				   img->planes[0].stride);
		if (!err)
			err = upload_plane(&v->own[i][1], GL_RG8, GL_RG, 2, cw, ch, chroma,
					   img->planes[1].stride);
		t->kind = TILE_NV12;
		t->chroma = v->own[i][1].id;
	} else {
		err = upload_plane(&v->own[i][0], GL_RGBA8, GL_RGBA, 4, cw, img->height, luma,
				   img->planes[0].stride);
		t->kind = img->fourcc == PX_FORMAT_UYVY ? TILE_UYVY : TILE_YUYV;
	}
	if (err) {
		tool_error("image %u (%s): uploading it: GL error 0x%x", i, name, (unsigned)err);
		return -EIO;
	}
	t->texture = v->own[i][0].id;
	v->images_own_upload++;
	return 0;
}

/* Makes textures of every image of `f` in `tiles`. */
static int import_frame(struct viewer *v, const struct px_frame *f, struct tile *tiles)
{
	for (uint32_t i = 0; i < f->layout->n_images; i++) {
		const struct px_image_layout *img = &f->layout->images[i];
		struct tile *t = &tiles[i];
		struct px_egl_texture tex;
		*t = (struct tile){.kind = TILE_NONE, .width = img->width, .height = img->height};
		if (!(f->valid_mask & (1u << i)))
			continue;
		tool_capture_begin();
		int ret = px_egl_import(v->egl, f, i, &tex);
		const char *why = tool_capture_end(ret);
		if (ret == -ENOTSUP && own_upload(img->fourcc)) {
			/* px_egl says why once per pool and image: the first
			 * image of a pool is said as ours. */
			if (v->told_pool != f->pool_id)
				fprintf(stderr,
					"view %s: px_egl cannot import image %u (%s): the viewer "
					"uploads YUV images itself, a copy per frame\n",
					v->o->topic, i, why);
			v->told_pool = f->pool_id;
			if ((ret = upload_yuv(v, f, i, t)))
				return ret;
			continue;
		}
		if (ret == -ENODATA)
			continue;
		if (ret) {
			tool_error("importing image %u: %s", i, why);
			return ret;
		}
		t->texture = tex.texture;
		if (tex.target == GL_TEXTURE_EXTERNAL_OES)
			t->kind = TILE_EXTERNAL;
		else if (img->fourcc == PX_FORMAT_R8 || img->fourcc == PX_FORMAT_R16)
			t->kind = TILE_GREY;
		else
			t->kind = TILE_RGB;
		if (tex.path == PX_IMPORT_DMABUF)
			v->images_dmabuf++;
		else
			v->images_upload++;
	}
	return 0;
}

/* Draws `texture` with program `p` into the window's pixel rectangle
 * (x, y from the top left, w × h) of a drawable of dw × dh. */
static void draw_quad(struct viewer *v, const struct program *p, GLenum target, GLuint texture,
		      float x, float y, float w, float h, int dw, int dh)
{
	glUseProgram(p->id);
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(target, texture);
	glUniform1i(p->tex, 0);
	glUniform4f(p->rect, 2 * x / (float)dw - 1, 1 - 2 * (y + h) / (float)dh,
		    2 * (x + w) / (float)dw - 1, 1 - 2 * y / (float)dh);
	glBindBuffer(GL_ARRAY_BUFFER, v->vbo);
	glEnableVertexAttribArray(0);
	glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, NULL);
	glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

static int draw_tile(struct viewer *v, const struct tile *t, float cx, float cy, float cw, float ch,
		     int dw, int dh)
{
	struct program *p;
	GLenum target = GL_TEXTURE_2D;

	if (t->kind == TILE_NONE || !t->width || !t->height)
		return 0;
	/* The largest rectangle of the image's aspect in the cell, centred. */
	float s = MIN(cw / (float)t->width, ch / (float)t->height);
	float w = floorf((float)t->width * s), h = floorf((float)t->height * s);
	float x = floorf(cx + (cw - w) / 2), y = floorf(cy + (ch - h) / 2);
	switch (t->kind) {
	case TILE_EXTERNAL:
		if (!(p = get_program(v, PROG_EXTERNAL)))
			return -1;
		target = GL_TEXTURE_EXTERNAL_OES;
		break;
	case TILE_YUYV:
	case TILE_UYVY:
		if (!(p = get_program(v, PROG_PACKED)))
			return -1;
		glUseProgram(p->id);
		glUniform2f(p->size, (float)t->width, (float)((t->width + 1) / 2));
		glUniform1f(p->uyvy, t->kind == TILE_UYVY ? 1.0f : 0.0f);
		break;
	case TILE_NV12:
	case TILE_PLANAR:
		if (!(p = get_program(v, t->kind == TILE_NV12 ? PROG_NV12 : PROG_PLANAR)))
			return -1;
		glUseProgram(p->id);
		glActiveTexture(GL_TEXTURE1);
		glBindTexture(GL_TEXTURE_2D, t->chroma);
		glUniform1i(p->chroma, 1);
		if (t->kind == TILE_PLANAR) {
			glActiveTexture(GL_TEXTURE2);
			glBindTexture(GL_TEXTURE_2D, t->chroma2);
			glUniform1i(p->chroma2, 2);
		}
		break;
	default:
		if (!(p = get_program(v, PROG_RGB)))
			return -1;
		glUseProgram(p->id);
		glUniform1f(p->grey, t->kind == TILE_GREY ? 1.0f : 0.0f);
		break;
	}
	draw_quad(v, p, target, t->texture, x, y, w, h, dw, dh);
	return 0;
}

/* The grid: ceil(sqrt(n)) columns, as many rows as needed. */
static void grid(uint32_t n, uint32_t *cols, uint32_t *rows)
{
	uint32_t c = 1;
	while (c * c < n)
		c++;
	*cols = c;
	*rows = (n + c - 1) / c;
}

/* Draws the frame held and the overlay; the frame's fence follows. */
static int draw(struct viewer *v)
{
	int dw, dh;
	SDL_GL_GetDrawableSize(v->window, &dw, &dh);
	glViewport(0, 0, dw, dh);
	glClearColor(0.1f, 0.1f, 0.1f, 1.0f);
	glClear(GL_COLOR_BUFFER_BIT);
	if (v->shown.frame) {
		uint32_t n = v->shown.frame->layout->n_images, cols, rows;
		if (v->selected && (uint32_t)v->selected <= n) {
			if (draw_tile(v, &v->shown.tiles[v->selected - 1], 0, 0, (float)dw,
				      (float)dh, dw, dh))
				return -1;
		} else {
			grid(n, &cols, &rows);
			float cw = (float)dw / (float)cols, ch = (float)dh / (float)rows;
			for (uint32_t i = 0; i < n; i++)
				if (draw_tile(v, &v->shown.tiles[i], (float)(i % cols) * cw,
					      (float)(i / cols) * ch, cw, ch, dw, dh))
					return -1;
		}
	}
	struct program *p = get_program(v, PROG_RGB);
	if (!p)
		return -1;
	glUseProgram(p->id);
	glUniform1f(p->grey, 0.0f);
	draw_quad(v, p, GL_TEXTURE_2D, v->overlay, 0, 0, (float)(v->overlay_w * TEXT_SCALE),
		  (float)(v->overlay_h * TEXT_SCALE), dw, dh);
	GLenum err = glGetError();
	if (err != GL_NO_ERROR) {
		tool_error("drawing: GL error 0x%x", err);
		return -1;
	}
	return 0;
}

/* Gives the held frame back once the GPU has read it. */
static void release_held(struct held *h)
{
	if (h->sync) {
		GLenum r = glClientWaitSync(h->sync, GL_SYNC_FLUSH_COMMANDS_BIT, FENCE_TIMEOUT_NS);
		if (r == GL_TIMEOUT_EXPIRED || r == GL_WAIT_FAILED)
			tool_error("frame %llu: the GPU did not finish reading it in 1 s; "
				   "released anyway",
				   (unsigned long long)h->frame->seq);
		glDeleteSync(h->sync);
	}
	px_frame_release(h->frame);
	*h = (struct held){0};
}

/* Draws, fences and swaps. */
static int present(struct viewer *v)
{
	if (draw(v))
		return -1;
	/* Fenced after every draw, redraws too: the frame goes back once the
	 * last of them has read it. */
	if (v->shown.frame) {
		if (v->shown.sync)
			glDeleteSync(v->shown.sync);
		v->shown.sync = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
	}
	SDL_GL_SwapWindow(v->window);
	return 0;
}

/* Writes every image of the frame shown as DIR/<topic>-<seq>-<image>.png. */
static int save_set(struct viewer *v)
{
	const struct px_frame *f = v->shown.frame;
	char path[4096], err[256];
	int ret;

	if (!f) {
		tool_error("nothing to save: no frame shown yet");
		return 0;
	}
	if ((ret = make_dirs(v->o->save_dir))) {
		tool_error("cannot create directory %s: %s", v->o->save_dir, px_strerror(ret));
		return ret;
	}
	for (uint32_t i = 0; i < f->layout->n_images; i++) {
		const void *planes[PX_MAX_PLANES] = {NULL};
		if (!(f->valid_mask & (1u << i)))
			continue;
		for (uint32_t p = 0; p < f->layout->images[i].n_planes; p++)
			planes[p] = px_frame_plane(f, i, p);
		if (!planes[0]) {
			tool_error("image %u: its buffers have no CPU mapping here: not saved", i);
			return -ENOTSUP;
		}
		snprintf(path, sizeof(path), "%s/%s-%llu-%u.png", v->o->save_dir, v->o->topic,
			 (unsigned long long)f->seq, i);
		err[0] = '\0';
		if ((ret = px_write_png(path, &f->layout->images[i], planes, err, sizeof(err)))) {
			remove(path); /* incomplete */
			tool_error("%s: %s", path, err[0] ? err : px_strerror(ret));
			return ret;
		}
		printf("saved %s\n", path);
	}
	v->saves++;
	return 0;
}

static uint64_t drops(const struct viewer *v)
{
	struct px_subscriber_stats ss;
	if (px_subscriber_get_stats(v->sub, &ss))
		return 0;
	return ss.dropped_publisher + ss.dropped_superseded;
}

/* The figures of the interval since the last tick: overlay, and stderr with
 * --log. */
static void tick(struct viewer *v, uint64_t frames, uint64_t ns)
{
	char text[MAX_TEXT], lat[32] = "-";
	double hz = ns ? (double)frames * 1e9 / (double)ns : 0;
	samples_sort(&v->interval);
	if (v->interval.n)
		snprintf(lat, sizeof(lat), "%.1f", ms(samples_percentile(&v->interval, 50)));
	uint64_t d = drops(v);
	if (v->o->log)
		fprintf(stderr, "view: %.1f Hz shown, latency p50 %s ms, drops %llu\n", hz, lat,
			(unsigned long long)d);
	snprintf(text, sizeof(text), "%.1f HZ  LATENCY %s MS  DROPS %llu%s", hz, lat,
		 (unsigned long long)d, v->paused ? "  PAUSED" : "");
	if (v->selected) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof(text) - n, "  IMAGE %d", v->selected);
	}
	set_overlay(v, text);
	v->interval.n = 0;
}

/* The window's events. Returns true to quit; sets `*redraw` when the picture
 * must be drawn again. */
static bool handle_events(struct viewer *v, bool *redraw)
{
	SDL_Event e;
	while (SDL_PollEvent(&e)) {
		if (e.type == SDL_QUIT)
			return true;
		if (e.type == SDL_WINDOWEVENT) {
			*redraw = true;
			continue;
		}
		if (e.type != SDL_KEYDOWN || e.key.repeat)
			continue;
		SDL_Keycode k = e.key.keysym.sym;
		uint32_t n = v->shown.frame ? v->shown.frame->layout->n_images : 0;
		if (k == SDLK_q)
			return true;
		if (k == SDLK_ESCAPE || k == SDLK_0) {
			v->selected = 0;
		} else if (k >= SDLK_1 && k <= SDLK_9) {
			int i = (int)(k - SDLK_0);
			if ((uint32_t)i <= n)
				v->selected = i;
			else
				fprintf(stderr, "view %s: no image %d: the set has %u\n",
					v->o->topic, i, n);
		} else if (k == SDLK_SPACE) {
			v->paused = !v->paused;
			fprintf(stderr, "view %s: %s\n", v->o->topic,
				v->paused ? "paused" : "resumed");
		} else if (k == SDLK_s) {
			save_set(v); /* a failure is said; the viewer goes on */
		} else {
			continue;
		}
		*redraw = true;
	}
	return false;
}

/* Shows a new frame. */
static int show(struct viewer *v, struct px_frame *f)
{
	struct held next = {.frame = f};
	if (import_frame(v, f, next.tiles)) {
		px_frame_release(f);
		return -1;
	}
	struct held prev = v->shown;
	v->shown = next;
	if (v->selected && (uint32_t)v->selected > f->layout->n_images)
		v->selected = 0;
	int ret = present(v);
	uint64_t now = px_now_ns();
	if (prev.frame)
		release_held(&prev);
	if (ret)
		return ret;
	if (!v->frames++)
		v->first_ns = now;
	v->last_ns = now;
	if (!f->replayed && now > f->publish_ns) {
		v->oom |= samples_add(&v->latency, now - f->publish_ns) < 0;
		v->oom |= samples_add(&v->interval, now - f->publish_ns) < 0;
	}
	if (v->o->save_after && v->frames == v->o->save_after && save_set(v))
		return -1;
	return 0;
}

static void print_summary(struct viewer *v, uint64_t start, struct rusage *ru0)
{
	struct px_subscriber_stats ss = {0};
	struct rusage ru;
	uint64_t wall = px_now_ns() - start;

	px_subscriber_get_stats(v->sub, &ss);
	printf("shown: %llu frames", (unsigned long long)v->frames);
	if (v->frames > 1 && v->last_ns > v->first_ns)
		printf(" in %.3f s (%.2f Hz)", ns_to_s(v->last_ns - v->first_ns),
		       (double)(v->frames - 1) * 1e9 / (double)(v->last_ns - v->first_ns));
	printf("\n");
	samples_sort(&v->latency);
	if (v->latency.n)
		printf("latency publish → swap: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       ms(samples_percentile(&v->latency, 50)),
		       ms(samples_percentile(&v->latency, 99)), ms(v->latency.v[v->latency.n - 1]));
	printf("drops: publisher %llu, superseded %llu; released unseen while paused %llu\n",
	       (unsigned long long)ss.dropped_publisher, (unsigned long long)ss.dropped_superseded,
	       (unsigned long long)v->paused_released);
	printf("import: %llu images by dma-buf, %llu by px_egl upload, %llu by the viewer's "
	       "upload (YUV, which px_egl does not upload)\n",
	       (unsigned long long)v->images_dmabuf, (unsigned long long)v->images_upload,
	       (unsigned long long)v->images_own_upload);
	if (!getrusage(RUSAGE_SELF, &ru)) {
		double user = (double)(ru.ru_utime.tv_sec - ru0->ru_utime.tv_sec) +
			      (double)(ru.ru_utime.tv_usec - ru0->ru_utime.tv_usec) / 1e6;
		double sys = (double)(ru.ru_stime.tv_sec - ru0->ru_stime.tv_sec) +
			     (double)(ru.ru_stime.tv_usec - ru0->ru_stime.tv_usec) / 1e6;
		printf("cpu: %.2f s user, %.2f s system in %.2f s: %.0f%% of one core\n", user, sys,
		       ns_to_s(wall), wall ? 100 * (user + sys) / ns_to_s(wall) : 0);
	}
	if (v->saves)
		printf("saved: %llu set%s\n", (unsigned long long)v->saves,
		       v->saves == 1 ? "" : "s");
}

/* SDL's window and EGL context, adopted by a px_egl. */
static int open_window(struct viewer *v)
{
	char title[256];
	struct px_egl_info info;

	SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_ES);
	SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
	SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
	SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
	snprintf(title, sizeof(title), "pixshare view %s", v->o->topic);
	v->window = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
				     (int)v->o->width, (int)v->o->height,
				     SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE);
	if (!v->window) {
		tool_error("SDL_CreateWindow: %s", SDL_GetError());
		return -1;
	}
	if (!(v->gl = SDL_GL_CreateContext(v->window))) {
		tool_error("no OpenGL ES 3.0 context through EGL: SDL_GL_CreateContext: %s",
			   SDL_GetError());
		return -1;
	}
	if (SDL_GL_MakeCurrent(v->window, v->gl)) {
		tool_error("SDL_GL_MakeCurrent: %s", SDL_GetError());
		return -1;
	}
	/* Where there is no vertical blank (Xvfb) this is refused: swaps then
	 * follow the frames. */
	SDL_GL_SetSwapInterval(1);
	struct px_egl_params ep = {
	    .display = eglGetCurrentDisplay(),
	    .context = eglGetCurrentContext(),
	};
	if (ep.display == EGL_NO_DISPLAY || ep.context == EGL_NO_CONTEXT) {
		tool_error("SDL's OpenGL context is not an EGL context (SDL video driver %s)",
			   SDL_GetCurrentVideoDriver());
		return -1;
	}
	tool_capture_begin();
	int ret = px_egl_create(&ep, &v->egl);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("pixshare's EGL importer refuses SDL's context: %s", why);
		return -1;
	}
	px_egl_get_info(v->egl, &info);
	fprintf(stderr,
		"view %s: SDL %s, EGL %s on %s (%s): dma-buf import %s, external textures %s\n",
		v->o->topic, SDL_GetCurrentVideoDriver(), eglQueryString(ep.display, EGL_VERSION),
		info.drm_node[0] ? info.drm_node : "no DRM device", info.renderer,
		info.dmabuf_import ? "yes" : "no", info.external_textures ? "yes" : "no");
	static const float quad[] = {0, 0, 1, 0, 0, 1, 1, 1};
	glGenBuffers(1, &v->vbo);
	glBindBuffer(GL_ARRAY_BUFFER, v->vbo);
	glBufferData(GL_ARRAY_BUFFER, sizeof(quad), quad, GL_STATIC_DRAW);
	/* Every shader that may be needed, now: a failure is said at once. */
	if (!get_program(v, PROG_RGB) || !get_program(v, PROG_PACKED) ||
	    !get_program(v, PROG_NV12) || !get_program(v, PROG_PLANAR) ||
	    (info.external_textures && !get_program(v, PROG_EXTERNAL)))
		return -1;
	set_overlay(v, "WAITING FOR A FRAME");
	return 0;
}

static void close_window(struct viewer *v)
{
	if (v->shown.frame)
		release_held(&v->shown);
	if (v->gl) {
		SDL_GL_MakeCurrent(v->window, v->gl);
		for (int k = 0; k < PROG_COUNT; k++)
			if (v->progs[k].id)
				glDeleteProgram(v->progs[k].id);
		for (int i = 0; i < PX_MAX_IMAGES; i++)
			for (int k = 0; k < 3; k++)
				if (v->own[i][k].id)
					glDeleteTextures(1, &v->own[i][k].id);
		if (v->overlay)
			glDeleteTextures(1, &v->overlay);
		if (v->vbo)
			glDeleteBuffers(1, &v->vbo);
	}
	px_egl_destroy(v->egl);
	if (v->gl)
		SDL_GL_DeleteContext(v->gl);
	if (v->window)
		SDL_DestroyWindow(v->window);
}

int view_run(const struct view_options *o)
{
	struct viewer v = {.o = o};
	struct rusage ru0 = {0};
	uint64_t start = px_now_ns();
	int status = EXIT_FAIL, ret = 0;
	bool ended = false, redraw = true;

	/* The tool's own handlers stop it at SIGINT and SIGTERM. */
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	/* An EGL context on X11 too (SDL's default there is GLX), for px_egl. */
	SDL_SetHint(SDL_HINT_VIDEO_X11_FORCE_EGL, "1");
	SDL_SetHint(SDL_HINT_OPENGL_ES_DRIVER, "1");
	/* The drivers of the displays named in the environment (Wayland, then
	 * X11), else a console (KMSDRM): SDL would otherwise try each in turn
	 * (Wayland's library complains on stderr) and settle for its offscreen
	 * driver, which shows nothing. SDL_VIDEODRIVER still rules. */
	const char *x11 = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
	const char *forced = getenv("SDL_VIDEODRIVER"), *drivers = NULL;
	if (!forced || !forced[0]) {
		bool has_x11 = x11 && x11[0], has_wl = wl && wl[0];
		drivers = has_wl    ? (has_x11 ? "wayland,x11" : "wayland")
			  : has_x11 ? "x11"
				    : "KMSDRM";
		SDL_SetHint(SDL_HINT_VIDEODRIVER, drivers);
	}
	if (SDL_Init(SDL_INIT_VIDEO)) {
		tool_error("no display: %s%s (SDL)",
			   drivers && !strcmp(drivers, "KMSDRM")
			       ? "DISPLAY and WAYLAND_DISPLAY are unset, and "
			       : "",
			   SDL_GetError());
		return EXIT_FAIL;
	}
	const char *driver = SDL_GetCurrentVideoDriver();
	if (driver && (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy")) &&
	    (!forced || strcmp(forced, driver))) {
		tool_error("no display: SDL found none but its %s driver (is DISPLAY or "
			   "WAYLAND_DISPLAY right?)",
			   driver);
		SDL_Quit();
		return EXIT_FAIL;
	}
	catch_stop_signals();
	if (subscribe(o->topic, PX_QOS_LATEST, 0, 0, o->wait_ns, &v.sub))
		goto out;
	if (open_window(&v))
		goto out;
	getrusage(RUSAGE_SELF, &ru0);

	start = px_now_ns();
	uint64_t next_tick = start + NS_PER_S, tick_start = start, tick_frames = 0;
	uint64_t end = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	for (;;) {
		if (handle_events(&v, &redraw) || stop_signal)
			break;
		if (!ended) {
			struct px_frame *f;
			ret = px_subscriber_receive(v.sub, &f, redraw ? 0 : POLL_MS);
			if (ret == 0 && v.paused) {
				px_frame_release(f);
				v.paused_released++;
			} else if (ret == 0) {
				if (show(&v, f))
					goto summary;
				redraw = false;
				tick_frames++;
				if (o->count && v.frames >= o->count)
					break;
			} else if (ret == -EPIPE) {
				/* The last frame stays on screen. */
				receive_end(ret);
				ended = true;
				ret = 0;
			} else if (ret != -ETIMEDOUT && ret != -EINTR) {
				break;
			}
		} else if (!redraw) {
			SDL_Delay(POLL_MS);
		}
		uint64_t now = px_now_ns();
		if (now >= next_tick) {
			tick(&v, tick_frames, now - tick_start);
			tick_frames = 0;
			tick_start = now;
			next_tick = now + NS_PER_S;
			redraw = true;
		}
		if (redraw) {
			if (present(&v))
				goto summary;
			redraw = false;
		}
		if (now >= end)
			break;
	}
	/* A timeout, a signal, the end of the stream (said already) end it
	 * normally. */
	if (ret && ret != -ETIMEDOUT && ret != -EINTR)
		ret = receive_end(ret);
	else
		ret = 0;
	if (v.oom)
		tool_error("out of memory: some latency samples are missing");
	if (!v.frames)
		tool_error("no frames received");
	else if (!ret)
		status = EXIT_SUCCESS;
summary:
	print_summary(&v, start, &ru0);
out:
	close_window(&v);
	px_subscriber_destroy(v.sub);
	samples_finish(&v.latency);
	samples_finish(&v.interval);
	SDL_Quit();
	return status;
}

#version 450
// SPDX-License-Identifier: MIT
//
// The fused transform (see include/pixshare/transform.h): per output pixel,
// crop -> rotate/flip -> resize -> colour conversion, reading the source as
// raw bytes so that every packed layout works. One dispatch per set:
// gl_WorkGroupID.z is the index of the transformed image.
//
// The parameter layout must match struct shader_image in gpu/vulkan_transform.c.
//
// Compiled four times: as is, writing bytes into a storage buffer, and with
// PX_OUT_IMAGE defined, writing texels into a storage image (the
// application's VkImage: R8G8B8A8, B8G8R8A8 or R8 UNORM, written without a
// format qualifier, so that one module serves every view format); each of
// those also with PX_IN_IMAGE defined, reading the source images as sampled
// images (VkImages imported with their DRM format modifiers, so that tiled
// layouts can be read) instead of raw bytes.

layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

// What the transform's images use, fixed per pipeline: a bit per source
// kind and per filter, and the output format. Software drivers (lavapipe)
// run every branch of a switch under a lane mask, so code for kinds and
// filters no image uses must not be there at all: the driver folds these
// constants and removes it.
layout(constant_id = 0) const uint KINDS = 0xffu;
layout(constant_id = 1) const uint FILTERS = 0xfu;
layout(constant_id = 2) const uint OUT_FMT = 0u;
layout(constant_id = 3) const uint ROTS = 0x1fu; // a bit per rotation (4: any angle)

bool is_rot(uint rot, uint r)
{
	return (ROTS & (1u << r)) != 0u && (ROTS == (1u << r) || rot == r);
}

// Source kinds (enum kind in gpu/vulkan_transform.c).
#define K_XRGB 0u // bytes B G R X
#define K_XBGR 1u // bytes R G B X
#define K_RGB24 2u // DRM RGB888: bytes B G R
#define K_BGR24 3u // DRM BGR888: bytes R G B
#define K_R8 4u
#define K_YUYV 5u
#define K_UYVY 6u
#define K_NV12 7u

#define F_NEAREST 0u
#define F_BILINEAR 1u
#define F_BICUBIC 2u
#define F_AREA 3u

#define O_RGBA 0u
#define O_BGRA 1u
#define O_GRAY 2u
#define O_F32 3u

struct Img {
	uint in_buf0, in_off0, in_stride0, in_buf1;
	uint in_off1, in_stride1, kind, pad0;
	uint crop_x, crop_y, crop_w, crop_h;
	uint rot, flip, filt, out_fmt;
	uint out_w, out_h, out_off, out_stride;
	uint out_plane, rot_w, rot_h, out_x;
	uint out_y, pad1, pad2, pad3;
	vec4 yuv;     // R = Y' + x*V', G = Y' - y*U' - z*V', B = Y' + w*U'
	vec4 range;   // Y' = (Y - x) * y, C' = (C - z) * w
	vec4 luma;    // Kr, Kg, Kb
	vec4 mean;
	vec4 inv_std;
	vec4 border;  // PX_ROTATE_ANY: RGB outside the crop
	vec4 rotm;    // PX_ROTATE_ANY: cos, sin of the angle
};

#ifdef PX_IN_IMAGE
#extension GL_EXT_samplerless_texture_functions : require
// One view per plane of each source image (N_TEXTURES), in formats whose
// channels are the bytes of a pixel in memory order, as UNORM: see
// read_formats[] in gpu/vulkan_image.c. in_buf0 and in_buf1 index it.
layout(set = 0, binding = 0) uniform texture2D intex[32];
#else
layout(std430, set = 0, binding = 0) readonly buffer In { uint d[]; } inb[16]; // N_INPUTS
#endif
#ifdef PX_OUT_IMAGE
layout(set = 0, binding = 1) writeonly uniform image2D outi;
#else
layout(std430, set = 0, binding = 1) buffer Out { uint d[]; } outb;
#endif
layout(std430, set = 0, binding = 2) readonly buffer Params { Img img[]; } prm;

#ifndef PX_IN_IMAGE
uint rd(uint b, uint off)
{
	return (inb[b].d[off >> 2] >> ((off & 3u) * 8u)) & 0xffu;
}
#endif

vec3 yuv_to_rgb(Img p, float y, float u, float v)
{
	float yy = (y - p.range.x) * p.range.y;
	float uu = (u - p.range.z) * p.range.w;
	float vv = (v - p.range.z) * p.range.w;
	vec3 c = vec3(yy + p.yuv.x * vv, yy - p.yuv.y * uu - p.yuv.z * vv, yy + p.yuv.w * uu);
	return clamp(c, 0.0, 255.0);
}

#ifndef PX_IN_IMAGE
// The 4 bytes at `off` as a little-endian word: one load when aligned.
uint word_at(uint b, uint off)
{
	if ((off & 3u) == 0u)
		return inb[b].d[off >> 2];
	return rd(b, off) | (rd(b, off + 1u) << 8) | (rd(b, off + 2u) << 16) |
	       (rd(b, off + 3u) << 24);
}
#endif

bool is_kind(Img p, uint k)
{
	return (KINDS & (1u << k)) != 0u && (KINDS == (1u << k) || p.kind == k);
}

bool is_filter(Img p, uint f)
{
	return (FILTERS & (1u << f)) != 0u && (FILTERS == (1u << f) || p.filt == f);
}

#ifdef PX_IN_IMAGE
// The bytes of texel `at` of view t, as 0…255: a UNORM8 channel is v / 255,
// which rounds back to v exactly.
vec4 texel(uint t, uint x, uint y)
{
	return floor(texelFetch(intex[t], ivec2(x, y), 0) * 255.0 + 0.5);
}

// The colour of source pixel (x, y), in source coordinates. The views:
// B8G8R8A8 for XRGB and R8G8B8A8 for XBGR (.rgb is R, G, B for both); R8 of
// three texels a pixel for RGB24 (bytes B G R) and BGR24 (R G B); R8 for
// grey and NV12's luma, R8G8 for its chroma; R8G8B8A8 of half the width for
// YUYV and UYVY (a texel per pair of pixels: Y0 U Y1 V, or U Y0 V Y1).
vec3 fetch(Img p, uint x, uint y)
{
	if (is_kind(p, K_XRGB) || is_kind(p, K_XBGR))
		return texel(p.in_buf0, x, y).rgb;
	if (is_kind(p, K_RGB24) || is_kind(p, K_BGR24)) {
		vec3 c = vec3(texel(p.in_buf0, 3u * x, y).r, texel(p.in_buf0, 3u * x + 1u, y).r,
			      texel(p.in_buf0, 3u * x + 2u, y).r);
		return is_kind(p, K_RGB24) ? c.bgr : c;
	}
	if (is_kind(p, K_R8))
		return vec3(texel(p.in_buf0, x, y).r);
	if (is_kind(p, K_YUYV)) {
		vec4 w = texel(p.in_buf0, x >> 1, y);
		return yuv_to_rgb(p, (x & 1u) != 0u ? w.b : w.r, w.g, w.a);
	}
	if (is_kind(p, K_UYVY)) {
		vec4 w = texel(p.in_buf0, x >> 1, y);
		return yuv_to_rgb(p, (x & 1u) != 0u ? w.a : w.g, w.r, w.b);
	}
	// K_NV12
	vec2 c = texel(p.in_buf1, x >> 1, y >> 1).rg;
	return yuv_to_rgb(p, texel(p.in_buf0, x, y).r, c.x, c.y);
}
#else
// The colour of source pixel (x, y), in source coordinates.
vec3 fetch(Img p, uint x, uint y)
{
	uint row = p.in_off0 + y * p.in_stride0;
	uint b = p.in_buf0;
	if (is_kind(p, K_XRGB)) {
		uint w = word_at(b, row + x * 4u);
		return vec3((w >> 16) & 0xffu, (w >> 8) & 0xffu, w & 0xffu);
	}
	if (is_kind(p, K_XBGR)) {
		uint w = word_at(b, row + x * 4u);
		return vec3(w & 0xffu, (w >> 8) & 0xffu, (w >> 16) & 0xffu);
	}
	if (is_kind(p, K_RGB24)) {
		uint o = row + x * 3u;
		return vec3(rd(b, o + 2u), rd(b, o + 1u), rd(b, o));
	}
	if (is_kind(p, K_BGR24)) {
		uint o = row + x * 3u;
		return vec3(rd(b, o), rd(b, o + 1u), rd(b, o + 2u));
	}
	if (is_kind(p, K_R8))
		return vec3(float(rd(b, row + x)));
	if (is_kind(p, K_YUYV)) {
		// bytes Y0 U Y1 V
		uint w = word_at(b, row + (x >> 1) * 4u);
		return yuv_to_rgb(p, float((w >> ((x & 1u) * 16u)) & 0xffu),
				  float((w >> 8) & 0xffu), float(w >> 24));
	}
	if (is_kind(p, K_UYVY)) {
		uint w = word_at(b, row + (x >> 1) * 4u);
		return yuv_to_rgb(p, float((w >> (8u + (x & 1u) * 16u)) & 0xffu),
				  float(w & 0xffu), float((w >> 16) & 0xffu));
	}
	// K_NV12
	uint c = p.in_off1 + (y >> 1) * p.in_stride1 + (x >> 1) * 2u;
	return yuv_to_rgb(p, float(rd(b, row + x)), float(rd(p.in_buf1, c)),
			  float(rd(p.in_buf1, c + 1u)));
}
#endif

// Crop pixel (clamped to the crop) to colour.
vec3 fetch_crop(Img p, int x, int y)
{
	if (is_rot(p.rot, 4u) && (x < 0 || y < 0 || x >= int(p.crop_w) || y >= int(p.crop_h)))
		return p.border.rgb;
	uint cx = uint(clamp(x, 0, int(p.crop_w) - 1));
	uint cy = uint(clamp(y, 0, int(p.crop_h) - 1));
	return fetch(p, p.crop_x + cx, p.crop_y + cy);
}

// Size of the rotated crop.
uvec2 rotated_size(Img p)
{
	if (is_rot(p.rot, 4u))
		return uvec2(p.rot_w, p.rot_h);
	return (p.rot & 1u) != 0u ? uvec2(p.crop_h, p.crop_w) : uvec2(p.crop_w, p.crop_h);
}

// A point of the rotated, flipped crop (pixel centres at integers) to the
// crop. Works for integer pixels and for continuous positions alike.
vec2 to_crop(Img p, vec2 r)
{
	vec2 rs = vec2(rotated_size(p));
	if ((p.flip & 1u) != 0u)
		r.x = rs.x - 1.0 - r.x;
	if ((p.flip & 2u) != 0u)
		r.y = rs.y - 1.0 - r.y;
	float cw = float(p.crop_w), ch = float(p.crop_h);
	if (is_rot(p.rot, 4u)) {
		// the inverse of the clockwise rotation (y down), about the centres
		vec2 d = r - (rs - 1.0) * 0.5;
		return vec2(d.x * p.rotm.x + d.y * p.rotm.y, d.y * p.rotm.x - d.x * p.rotm.y) +
		       (vec2(cw, ch) - 1.0) * 0.5;
	}
	if (is_rot(p.rot, 1u))
		return vec2(r.y, ch - 1.0 - r.x);
	if (is_rot(p.rot, 2u))
		return vec2(cw - 1.0 - r.x, ch - 1.0 - r.y);
	if (is_rot(p.rot, 3u))
		return vec2(cw - 1.0 - r.y, r.x);
	return r;
}

ivec2 to_crop_i(Img p, ivec2 r)
{
	if (is_rot(p.rot, 4u))
		return ivec2(floor(to_crop(p, vec2(r)) + 0.5));
	ivec2 rs = ivec2(rotated_size(p));
	if ((p.flip & 1u) != 0u)
		r.x = rs.x - 1 - r.x;
	if ((p.flip & 2u) != 0u)
		r.y = rs.y - 1 - r.y;
	int cw = int(p.crop_w), ch = int(p.crop_h);
	if (is_rot(p.rot, 1u))
		return ivec2(r.y, ch - 1 - r.x);
	if (is_rot(p.rot, 2u))
		return ivec2(cw - 1 - r.x, ch - 1 - r.y);
	if (is_rot(p.rot, 3u))
		return ivec2(cw - 1 - r.y, r.x);
	return r;
}

float cubic(float t)
{
	// Catmull-Rom, a = -0.5
	t = abs(t);
	if (t < 1.0)
		return (1.5 * t - 2.5) * t * t + 1.0;
	if (t < 2.0)
		return ((-0.5 * t + 2.5) * t - 4.0) * t + 2.0;
	return 0.0;
}

vec3 sample_pixel(Img p, uvec2 o)
{
	uvec2 rs = rotated_size(p);
	if (is_filter(p, F_NEAREST)) {
		// floor((o + 0.5) * rs / out), in integers: exact.
		uvec2 r = ((2u * o + 1u) * rs) / (2u * uvec2(p.out_w, p.out_h));
		ivec2 c = to_crop_i(p, ivec2(r));
		return fetch_crop(p, c.x, c.y);
	}
	vec2 scale = vec2(rs) / vec2(p.out_w, p.out_h);
	if (is_filter(p, F_AREA)) {
		vec2 a = vec2(o) * scale - 0.5, b = vec2(o + 1u) * scale - 0.5;
		vec2 ca = to_crop(p, a), cb = to_crop(p, b);
		// edges of the footprint in the crop, pixel edges at integers
		vec2 lo = min(ca, cb) + 0.5, hi = max(ca, cb) + 0.5;
		vec3 sum = vec3(0.0);
		float wsum = 0.0;
		for (int y = int(floor(lo.y)); float(y) < hi.y; y++) {
			float wy = min(hi.y, float(y + 1)) - max(lo.y, float(y));
			if (wy <= 0.0)
				continue;
			for (int x = int(floor(lo.x)); float(x) < hi.x; x++) {
				float wx = min(hi.x, float(x + 1)) - max(lo.x, float(x));
				if (wx <= 0.0)
					continue;
				sum += wx * wy * fetch_crop(p, x, y);
				wsum += wx * wy;
			}
		}
		return sum / wsum;
	}
	vec2 c = to_crop(p, (vec2(o) + 0.5) * scale - 0.5);
	vec2 f = floor(c);
	vec2 t = c - f;
	ivec2 i = ivec2(f);
	if (is_filter(p, F_BILINEAR)) {
		vec3 a = mix(fetch_crop(p, i.x, i.y), fetch_crop(p, i.x + 1, i.y), t.x);
		vec3 b = mix(fetch_crop(p, i.x, i.y + 1), fetch_crop(p, i.x + 1, i.y + 1), t.x);
		return mix(a, b, t.y);
	}
	vec3 sum = vec3(0.0);
	for (int dy = -1; dy <= 2; dy++) {
		float wy = cubic(t.y - float(dy));
		vec3 row = vec3(0.0);
		for (int dx = -1; dx <= 2; dx++)
			row += cubic(t.x - float(dx)) * fetch_crop(p, i.x + dx, i.y + dy);
		sum += wy * row;
	}
	return sum;
}

uint to_u8(float v)
{
	return uint(clamp(floor(v + 0.5), 0.0, 255.0));
}

void main()
{
	Img p = prm.img[gl_WorkGroupID.z];
	uvec2 o = gl_GlobalInvocationID.xy;
	if (o.x >= p.out_w || o.y >= p.out_h)
		return;
	vec3 c = clamp(sample_pixel(p, o), 0.0, 255.0);
#ifdef PX_OUT_IMAGE
	// The 8-bit values of the buffer path, as UNORM: v / 255 converts back
	// to v exactly. The view's format orders the channels in memory.
	ivec2 at = ivec2(p.out_x + o.x, p.out_y + o.y);
	if (OUT_FMT == O_GRAY)
		imageStore(outi, at, vec4(float(to_u8(dot(c, p.luma.xyz))) / 255.0, 0.0, 0.0, 1.0));
	else
		imageStore(outi, at,
			   vec4(float(to_u8(c.r)), float(to_u8(c.g)), float(to_u8(c.b)), 255.0) /
			       255.0);
#else
	uint row = p.out_off + o.y * p.out_stride;
	switch (OUT_FMT) {
	case O_RGBA:
		outb.d[(row + o.x * 4u) >> 2] =
		    to_u8(c.r) | (to_u8(c.g) << 8) | (to_u8(c.b) << 16) | 0xff000000u;
		break;
	case O_BGRA:
		outb.d[(row + o.x * 4u) >> 2] =
		    to_u8(c.b) | (to_u8(c.g) << 8) | (to_u8(c.r) << 16) | 0xff000000u;
		break;
	case O_GRAY: {
		uint off = row + o.x;
		uint sh = (off & 3u) * 8u;
		uint g = to_u8(dot(c, p.luma.xyz));
		// Neighbouring pixels share the word: change only this byte.
		atomicAnd(outb.d[off >> 2], ~(0xffu << sh));
		atomicOr(outb.d[off >> 2], g << sh);
		break;
	}
	default: { // O_F32
		vec3 n = (c / 255.0 - p.mean.xyz) * p.inv_std.xyz;
		uint off = row + o.x * 4u;
		outb.d[off >> 2] = floatBitsToUint(n.r);
		outb.d[(off + p.out_plane) >> 2] = floatBitsToUint(n.g);
		outb.d[(off + 2u * p.out_plane) >> 2] = floatBitsToUint(n.b);
		break;
	}
	}
#endif
}

/* SPDX-License-Identifier: MIT */
/*
 * Frames as OpenGL ES textures: subscribes to a topic, imports one image of
 * one frame into GL (zero-copy where the driver can read the dma-buf), draws
 * it offscreen with a small shader, and writes what was drawn to a PNG.
 *
 *     egl_import TOPIC OUT.png [--image N] [--device PATH]
 *
 * --device: a DRM card node (/dev/dri/card0) or "surfaceless"; by default
 * the first card where EGL works, else surfaceless. Prints the import path:
 * "dmabuf" (no copy) or "upload" (a copy: memfd pools, or buffers of
 * another device).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <GLES3/gl3.h>
#include <GLES2/gl2ext.h>
#include <pixshare/egl.h>
#include <pixshare/pixshare.h>

#include "tools/image_write.h"

/* One triangle covering the viewport; each pixel samples the texel at its own
 * centre. Grey formats sample (grey, 0, 0, 1): shown as grey. */
static const char *vertex_src = "#version 300 es\n"
				"void main() {\n"
				"  vec2 p = vec2(float((gl_VertexID & 1) * 4 - 1),\n"
				"                float((gl_VertexID & 2) * 2 - 1));\n"
				"  gl_Position = vec4(p, 0.0, 1.0);\n"
				"}\n";
static const char *fragment_src = "#version 300 es\n"
				  "%s" /* the external-texture extension, or nothing */
				  "precision highp float;\n"
				  "uniform highp %s tex;\n"
				  "uniform vec2 size;\n"
				  "uniform bool grey;\n"
				  "out vec4 color;\n"
				  "void main() {\n"
				  "  vec4 c = texture(tex, gl_FragCoord.xy / size);\n"
				  "  color = grey ? vec4(c.rrr, 1.0) : c;\n"
				  "}\n";

static GLuint compile(GLenum type, const char *src)
{
	GLuint s = glCreateShader(type);
	glShaderSource(s, 1, &src, NULL);
	glCompileShader(s);
	GLint ok;
	glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		char log[512];
		glGetShaderInfoLog(s, sizeof(log), NULL, log);
		fprintf(stderr, "shader: %s\n", log);
	}
	return s;
}

/* Draws the texture 1:1 into a w×h RGBA8 framebuffer and reads it back
 * (bytes R, G, B, A; row 0 is the image's first row). */
static int draw(const struct px_egl_texture *tex, uint32_t w, uint32_t h, bool grey, uint8_t *rgba)
{
	bool external = tex->target == GL_TEXTURE_EXTERNAL_OES;
	char fs[1024];
	snprintf(fs, sizeof(fs), fragment_src,
		 external ? "#extension GL_OES_EGL_image_external_essl3 : require\n" : "",
		 external ? "samplerExternalOES" : "sampler2D");
	GLuint prog = glCreateProgram();
	GLuint vs = compile(GL_VERTEX_SHADER, vertex_src), fsh = compile(GL_FRAGMENT_SHADER, fs);
	glAttachShader(prog, vs);
	glAttachShader(prog, fsh);
	glLinkProgram(prog);

	GLuint fbo, rb;
	glGenRenderbuffers(1, &rb);
	glBindRenderbuffer(GL_RENDERBUFFER, rb);
	glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, (GLsizei)w, (GLsizei)h);
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);

	glViewport(0, 0, (GLsizei)w, (GLsizei)h);
	glUseProgram(prog);
	glUniform2f(glGetUniformLocation(prog, "size"), (float)w, (float)h);
	glUniform1i(glGetUniformLocation(prog, "grey"), grey);
	glBindTexture(tex->target, tex->texture);
	glDrawArrays(GL_TRIANGLES, 0, 3);
	glPixelStorei(GL_PACK_ALIGNMENT, 1);
	glReadPixels(0, 0, (GLsizei)w, (GLsizei)h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
	GLenum err = glGetError();

	glDeleteFramebuffers(1, &fbo);
	glDeleteRenderbuffers(1, &rb);
	glDeleteProgram(prog);
	glDeleteShader(vs);
	glDeleteShader(fsh);
	if (err != GL_NO_ERROR)
		fprintf(stderr, "GL error 0x%x\n", err);
	return err == GL_NO_ERROR ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *topic = NULL, *out = NULL, *device = NULL;
	uint32_t image = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			device = argv[++i];
		else if (!topic)
			topic = argv[i];
		else if (!out)
			out = argv[i];
	}
	if (!topic || !out) {
		fprintf(stderr, "usage: egl_import TOPIC OUT.png [--image N] [--device PATH]\n");
		return 2;
	}

	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = topic, .connect_timeout_ms = 5000};
	int ret = px_subscriber_create(&sp, &sub);
	if (ret) {
		fprintf(stderr, "subscribe to %s: %s\n", topic, px_strerror(ret));
		return 1;
	}
	struct px_egl *egl;
	struct px_egl_params ep = {.drm_device = device};
	ret = px_egl_create(&ep, &egl);
	if (ret) {
		fprintf(stderr, "EGL: %s\n", px_strerror(ret));
		px_subscriber_destroy(sub);
		return 1;
	}

	struct px_frame *frame = NULL;
	struct px_egl_texture tex;
	uint8_t *rgba = NULL;
	ret = px_subscriber_receive(sub, &frame, 5000);
	if (ret) {
		fprintf(stderr, "receive: %s\n", px_strerror(ret));
		goto out;
	}
	if (image >= frame->layout->n_images) {
		fprintf(stderr, "the set has %u images\n", frame->layout->n_images);
		ret = -1;
		goto out;
	}
	const struct px_image_layout *img = &frame->layout->images[image];
	/* Made once per slot; later frames of the slot reuse it. */
	ret = px_egl_import(egl, frame, image, &tex);
	if (ret) {
		fprintf(stderr, "import: %s\n", px_strerror(ret));
		goto out;
	}
	rgba = malloc((size_t)img->width * img->height * 4);
	ret = -1;
	if (!rgba || px_egl_make_current(egl) ||
	    draw(&tex, img->width, img->height,
		 img->fourcc == PX_FORMAT_R8 || img->fourcc == PX_FORMAT_R16, rgba))
		goto out;
	/* glReadPixels waited for the GPU: the publisher may refill the slot. */
	px_frame_release(frame);
	frame = NULL;

	/* The readback as an image pixshare can write: bytes R, G, B, A. */
	struct px_image_layout png = {.fourcc = PX_FORMAT_ABGR8888,
				      .width = img->width,
				      .height = img->height,
				      .n_planes = 1,
				      .modifier = PX_MODIFIER_LINEAR,
				      .planes = {{.stride = img->width * 4}}};
	const void *planes[PX_MAX_PLANES] = {rgba};
	char err[256], name[16];
	ret = px_write_png(out, &png, planes, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	printf("%s: image %u, %ux%u %s, import path: %s\n", out, image, img->width, img->height,
	       px_format_name(img->fourcc, name, sizeof(name)), px_import_path_name(tex.path));
out:
	free(rgba);
	px_frame_release(frame);
	px_egl_destroy(egl);
	px_subscriber_destroy(sub);
	return ret ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * EGL import: frames as GL textures, by EGLImage from their dma-bufs where
 * the display's device can read them, else by upload from the CPU mapping.
 *
 * Two facts about Mesa's software drivers shape the dma-buf checks: under
 * kms_swrast a dma-buf exported by another device imports without error and
 * reads back black, and the EGL device platform crashes. So the dma-buf path
 * is taken only for buffers allocated on this display's DRM device, and the
 * displays made here are GBM (on a card node) or surfaceless.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES3/gl3.h>
#include <GLES2/gl2ext.h>
#include <gbm.h>

#include <pixshare/egl.h>
#include <pixshare/layout.h>

#include "core/allocator.h"
#include "core/util.h"

#ifndef EGL_DRM_RENDER_NODE_FILE_EXT
#define EGL_DRM_RENDER_NODE_FILE_EXT 0x3377
#endif

#define MAX_POOLS_LIMIT 64
/* How long an import waits on the CPU for a frame's acquire fence. */
#define FENCE_TIMEOUT_MS 10000

/* Extensions, matched as whole tokens; client, display, device and GL
 * extensions separately. */
struct exts {
	/* client */
	bool EXT_platform_base;
	bool KHR_platform_gbm;
	bool MESA_platform_gbm;
	bool MESA_platform_surfaceless;
	bool EXT_device_query;
	/* display */
	bool KHR_image_base;
	bool EXT_image_dma_buf_import;
	bool EXT_image_dma_buf_import_modifiers;
	bool KHR_no_config_context;
	bool MESA_configless_context;
	bool KHR_surfaceless_context;
	bool KHR_fence_sync;
	bool KHR_wait_sync;
	bool ANDROID_native_fence_sync;
	/* device */
	bool EXT_device_drm;
	bool EXT_device_drm_render_node;
	/* GL */
	bool OES_EGL_image;
	bool OES_EGL_image_external;
	bool EXT_texture_format_BGRA8888;
	bool EXT_texture_norm16;
};

/* clang-format off */
/* Entry points of optional extensions: NULL where the extension is missing. */
struct procs {
	PFNEGLGETPLATFORMDISPLAYEXTPROC eglGetPlatformDisplayEXT;      /* EXT_platform_base */
	PFNEGLCREATEIMAGEKHRPROC eglCreateImageKHR;                    /* KHR_image_base */
	PFNEGLDESTROYIMAGEKHRPROC eglDestroyImageKHR;                  /* KHR_image_base */
	PFNEGLQUERYDMABUFMODIFIERSEXTPROC eglQueryDmaBufModifiersEXT;  /* ..._modifiers */
	PFNEGLQUERYDISPLAYATTRIBEXTPROC eglQueryDisplayAttribEXT;      /* EXT_device_query */
	PFNEGLQUERYDEVICESTRINGEXTPROC eglQueryDeviceStringEXT;        /* EXT_device_query */
	PFNGLEGLIMAGETARGETTEXTURE2DOESPROC glEGLImageTargetTexture2DOES; /* OES_EGL_image */
	/* KHR_fence_sync + KHR_wait_sync + ANDROID_native_fence_sync, all or none */
	PFNEGLCREATESYNCKHRPROC eglCreateSyncKHR;
	PFNEGLDESTROYSYNCKHRPROC eglDestroySyncKHR;
	PFNEGLWAITSYNCKHRPROC eglWaitSyncKHR;
};
/* clang-format on */

/* One cached import: (pool, slot, image). */
struct entry {
	GLuint texture; /* 0: not imported yet */
	GLenum target;
	EGLImageKHR image; /* EGL_NO_IMAGE_KHR on the upload path */
	enum px_import_path path;
	uint32_t fourcc, width, height;
	int error; /* neither path could take it: the error, returned again */
};

struct pool {
	uint64_t id; /* 0: unused */
	uint64_t last_use;
	uint32_t n_images;
	uint32_t logged;       /* bit i: the path of image i was explained */
	struct entry *entries; /* PX_MAX_SLOTS × n_images */
};

struct px_egl {
	char name[96]; /* "egl N (renderer)": what its log messages start with */
	uint32_t id;
	EGLDisplay display;
	EGLContext context;
	EGLenum api;
	bool own_context;
	bool display_counted; /* initialized by pixshare: terminate at the last unref */
	const char *platform;
	int drm_fd; /* the card node of the GBM platform, else -1 */
	struct gbm_device *gbm;

	struct exts exts;
	struct procs procs;
	bool gles;
	int gl_major, gl_minor;
	char renderer[96];
	char drm_node[64];
	uint64_t device;
	bool software;

	struct pool *pools;
	uint32_t max_pools;
	uint64_t clock;
	struct px_egl_stats stats;
};

/* The calling thread's binding, saved while a call uses the context. */
struct binding {
	bool switched;
	EGLenum api;
	EGLDisplay display;
	EGLSurface draw, read;
	EGLContext context;
};

static const char *egl_error_name(EGLint err)
{
	switch (err) {
#define CASE(e)                                                                                    \
	case e:                                                                                    \
		return #e
		CASE(EGL_SUCCESS);
		CASE(EGL_NOT_INITIALIZED);
		CASE(EGL_BAD_ACCESS);
		CASE(EGL_BAD_ALLOC);
		CASE(EGL_BAD_ATTRIBUTE);
		CASE(EGL_BAD_CONFIG);
		CASE(EGL_BAD_CONTEXT);
		CASE(EGL_BAD_CURRENT_SURFACE);
		CASE(EGL_BAD_DISPLAY);
		CASE(EGL_BAD_MATCH);
		CASE(EGL_BAD_NATIVE_PIXMAP);
		CASE(EGL_BAD_NATIVE_WINDOW);
		CASE(EGL_BAD_PARAMETER);
		CASE(EGL_BAD_SURFACE);
		CASE(EGL_CONTEXT_LOST);
		CASE(EGL_BAD_DEVICE_EXT);
#undef CASE
	}
	return "EGL error";
}

static const char *gl_error_name(GLenum err)
{
	switch (err) {
	case GL_INVALID_ENUM:
		return "GL_INVALID_ENUM";
	case GL_INVALID_VALUE:
		return "GL_INVALID_VALUE";
	case GL_INVALID_OPERATION:
		return "GL_INVALID_OPERATION";
	case GL_OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY";
	case GL_INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION";
	}
	return "GL error";
}

static bool has_token(const char *list, const char *name)
{
	size_t len = strlen(name);
	while (list && *list) {
		list += strspn(list, " ");
		size_t n = strcspn(list, " ");
		if (n == len && !strncmp(list, name, len))
			return true;
		list += n;
	}
	return false;
}

/* Sets exts from an extension string; `table` pairs names with fields. */
struct ext_name {
	const char *name;
	size_t offset;
};
/* clang-format off */
#define EXT(n) {"EGL_" #n, offsetof(struct exts, n)}
#define GLEXT(n) {"GL_" #n, offsetof(struct exts, n)}

static const struct ext_name client_exts[] = {
	EXT(EXT_platform_base), EXT(KHR_platform_gbm), EXT(MESA_platform_gbm),
	EXT(MESA_platform_surfaceless), EXT(EXT_device_query),
};
static const struct ext_name display_exts[] = {
	EXT(KHR_image_base), EXT(EXT_image_dma_buf_import),
	EXT(EXT_image_dma_buf_import_modifiers), EXT(KHR_no_config_context),
	EXT(MESA_configless_context), EXT(KHR_surfaceless_context), EXT(KHR_fence_sync),
	EXT(KHR_wait_sync), EXT(ANDROID_native_fence_sync),
};
static const struct ext_name device_exts[] = {
	EXT(EXT_device_drm),
	EXT(EXT_device_drm_render_node),
};
static const struct ext_name gl_exts[] = {
	GLEXT(OES_EGL_image), GLEXT(OES_EGL_image_external), GLEXT(EXT_texture_format_BGRA8888),
	GLEXT(EXT_texture_norm16),
};
/* clang-format on */

static void match_exts(struct exts *exts, const struct ext_name *table, size_t n, const char *list)
{
	for (size_t i = 0; i < n; i++)
		if (has_token(list, table[i].name))
			*(bool *)((char *)exts + table[i].offset) = true;
}

/* ---- displays pixshare initialized, shared by the px_egl objects using them */

static pthread_mutex_t displays_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	EGLDisplay display;
	unsigned refs;
} displays[16];

/* Initializes `d` unless someone else already did. `*counted` tells whether
 * pixshare holds a reference (and so terminates it when the last goes).
 * eglInitialize does not count (EGL 1.5, 3.2): terminating a display that
 * another px_egl or the application uses would pull it from under them. */
static int display_ref(EGLDisplay d, bool *counted, EGLint *major, EGLint *minor, char *why,
		       size_t why_size)
{
	int ret = 0;
	*counted = false;
	pthread_mutex_lock(&displays_lock);
	size_t free_i = PX_ARRAY_SIZE(displays);
	for (size_t i = 0; i < PX_ARRAY_SIZE(displays); i++) {
		if (displays[i].display == d && displays[i].refs) {
			displays[i].refs++;
			*counted = true;
			eglInitialize(d, major, minor);
			goto out;
		}
		if (!displays[i].refs && free_i == PX_ARRAY_SIZE(displays))
			free_i = i;
	}
	bool initialized = eglQueryString(d, EGL_VENDOR) != NULL;
	if (!eglInitialize(d, major, minor)) {
		snprintf(why, why_size, "eglInitialize: %s", egl_error_name(eglGetError()));
		ret = -ENOTSUP;
		goto out;
	}
	if (!initialized && free_i < PX_ARRAY_SIZE(displays)) {
		displays[free_i].display = d;
		displays[free_i].refs = 1;
		*counted = true;
	}
out:
	pthread_mutex_unlock(&displays_lock);
	return ret;
}

static void display_unref(EGLDisplay d)
{
	pthread_mutex_lock(&displays_lock);
	for (size_t i = 0; i < PX_ARRAY_SIZE(displays); i++) {
		if (displays[i].display == d && displays[i].refs) {
			if (--displays[i].refs == 0) {
				eglTerminate(d);
				displays[i].display = EGL_NO_DISPLAY;
			}
			break;
		}
	}
	pthread_mutex_unlock(&displays_lock);
}

/* ---- the calling thread's binding */

static int bind_context(struct px_egl *egl, struct binding *b)
{
	b->switched = false;
	b->api = eglQueryAPI();
	if (b->api != egl->api)
		eglBindAPI(egl->api);
	b->context = eglGetCurrentContext();
	if (b->context == egl->context)
		return 0;
	b->display = eglGetCurrentDisplay();
	b->draw = eglGetCurrentSurface(EGL_DRAW);
	b->read = eglGetCurrentSurface(EGL_READ);
	if (!eglMakeCurrent(egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, egl->context)) {
		EGLint err = eglGetError();
		px_log_error("%s: eglMakeCurrent: %s%s", egl->name, egl_error_name(err),
			     err == EGL_BAD_ACCESS ? " (the context is current on another thread)"
						   : "");
		if (b->api != egl->api)
			eglBindAPI(b->api);
		return err == EGL_BAD_ACCESS ? -EBUSY : -EIO;
	}
	b->switched = true;
	return 0;
}

static void unbind_context(struct px_egl *egl, struct binding *b)
{
	if (b->switched) {
		if (b->context != EGL_NO_CONTEXT)
			eglMakeCurrent(b->display, b->draw, b->read, b->context);
		else
			eglMakeCurrent(egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
				       EGL_NO_CONTEXT);
	}
	if (b->api != egl->api)
		eglBindAPI(b->api);
}

/* ---- creation */

static void load_procs(struct px_egl *egl)
{
	struct procs *p = &egl->procs;
	const struct exts *e = &egl->exts;
#define LOAD(cond, name)                                                                           \
	if (cond)                                                                                  \
	p->name = (void *)eglGetProcAddress(#name)
	LOAD(e->KHR_image_base, eglCreateImageKHR);
	LOAD(e->KHR_image_base, eglDestroyImageKHR);
	LOAD(e->EXT_image_dma_buf_import_modifiers, eglQueryDmaBufModifiersEXT);
	LOAD(e->EXT_device_query, eglQueryDisplayAttribEXT);
	LOAD(e->EXT_device_query, eglQueryDeviceStringEXT);
	LOAD(e->OES_EGL_image, glEGLImageTargetTexture2DOES);
	bool native_fence = e->KHR_fence_sync && e->KHR_wait_sync && e->ANDROID_native_fence_sync;
	LOAD(native_fence, eglCreateSyncKHR);
	LOAD(native_fence, eglDestroySyncKHR);
	LOAD(native_fence, eglWaitSyncKHR);
#undef LOAD
	if (!p->eglCreateImageKHR || !p->eglDestroyImageKHR) {
		p->eglCreateImageKHR = NULL;
		p->eglDestroyImageKHR = NULL;
	}
	if (!p->eglCreateSyncKHR || !p->eglDestroySyncKHR || !p->eglWaitSyncKHR) {
		p->eglCreateSyncKHR = NULL;
		p->eglDestroySyncKHR = NULL;
		p->eglWaitSyncKHR = NULL;
	}
	if (!p->eglQueryDisplayAttribEXT || !p->eglQueryDeviceStringEXT) {
		p->eglQueryDisplayAttribEXT = NULL;
		p->eglQueryDeviceStringEXT = NULL;
	}
}

/* The display's DRM node, through EGL_EXT_device_query and EGL_EXT_device_drm
 * (or its render node), for displays not made on a card node here. */
static void query_device(struct px_egl *egl)
{
	if (!egl->procs.eglQueryDisplayAttribEXT) {
		px_log_info("%s: EGL_EXT_device_query is missing: the display's DRM device is "
			    "unknown",
			    egl->name);
		return;
	}
	EGLAttrib attr = 0;
	if (!egl->procs.eglQueryDisplayAttribEXT(egl->display, EGL_DEVICE_EXT, &attr) || !attr) {
		px_log_info("%s: eglQueryDisplayAttribEXT(EGL_DEVICE_EXT): %s", egl->name,
			    egl_error_name(eglGetError()));
		return;
	}
	EGLDeviceEXT dev = (EGLDeviceEXT)attr;
	match_exts(&egl->exts, device_exts, PX_ARRAY_SIZE(device_exts),
		   egl->procs.eglQueryDeviceStringEXT(dev, EGL_EXTENSIONS));
	const char *node = NULL;
	if (egl->exts.EXT_device_drm)
		node = egl->procs.eglQueryDeviceStringEXT(dev, EGL_DRM_DEVICE_FILE_EXT);
	if (!node && egl->exts.EXT_device_drm_render_node)
		node = egl->procs.eglQueryDeviceStringEXT(dev, EGL_DRM_RENDER_NODE_FILE_EXT);
	struct stat st;
	if (!node) {
		px_log_info("%s: the display has no DRM device (EGL_EXT_device_drm)", egl->name);
		return;
	}
	if (stat(node, &st) < 0 || !S_ISCHR(st.st_mode)) {
		px_log_info("%s: the display's DRM node %s: %s", egl->name, node, strerror(errno));
		return;
	}
	px_strlcpy(egl->drm_node, node, sizeof(egl->drm_node));
	egl->device = (uint64_t)st.st_rdev;
}

/* GL version, renderer and extensions; the context is current. */
static int query_gl(struct px_egl *egl)
{
	const char *version = (const char *)glGetString(GL_VERSION);
	const char *renderer = (const char *)glGetString(GL_RENDERER);
	if (!version) {
		px_log_error("%s: glGetString(GL_VERSION) failed", egl->name);
		return -EIO;
	}
	const char *es = strstr(version, "OpenGL ES ");
	egl->gles = es != NULL;
	if (sscanf(es ? es + 10 : version, "%d.%d", &egl->gl_major, &egl->gl_minor) != 2)
		egl->gl_major = egl->gl_minor = 0;
	px_strlcpy(egl->renderer, renderer ? renderer : "?", sizeof(egl->renderer));
	snprintf(egl->name, sizeof(egl->name), "egl %u (%.64s)", egl->id, egl->renderer);
	egl->software = strstr(egl->renderer, "llvmpipe") || strstr(egl->renderer, "softpipe") ||
			strstr(egl->renderer, "SwiftShader");
	if (egl->gl_major >= 3) {
		GLint n = 0;
		glGetIntegerv(GL_NUM_EXTENSIONS, &n);
		for (GLint i = 0; i < n; i++)
			match_exts(&egl->exts, gl_exts, PX_ARRAY_SIZE(gl_exts),
				   (const char *)glGetStringi(GL_EXTENSIONS, (GLuint)i));
	} else {
		match_exts(&egl->exts, gl_exts, PX_ARRAY_SIZE(gl_exts),
			   (const char *)glGetString(GL_EXTENSIONS));
	}
	return 0;
}

/* Initializes egl->display, makes the GLES 3 context. */
static int make_context(struct px_egl *egl, char *why, size_t why_size)
{
	EGLint major, minor;
	int ret = display_ref(egl->display, &egl->display_counted, &major, &minor, why, why_size);
	if (ret)
		return ret;
	match_exts(&egl->exts, display_exts, PX_ARRAY_SIZE(display_exts),
		   eglQueryString(egl->display, EGL_EXTENSIONS));
	if (!egl->exts.KHR_no_config_context && !egl->exts.MESA_configless_context) {
		snprintf(why, why_size, "EGL_KHR_no_config_context is missing");
		ret = -ENOTSUP;
		goto err_display;
	}
	if (!egl->exts.KHR_surfaceless_context) {
		snprintf(why, why_size, "EGL_KHR_surfaceless_context is missing");
		ret = -ENOTSUP;
		goto err_display;
	}
	EGLenum api = eglQueryAPI();
	if (!eglBindAPI(EGL_OPENGL_ES_API)) {
		snprintf(why, why_size, "eglBindAPI(EGL_OPENGL_ES_API): %s",
			 egl_error_name(eglGetError()));
		ret = -ENOTSUP;
		goto err_display;
	}
	/* EGL_CONTEXT_CLIENT_VERSION is EGL_CONTEXT_MAJOR_VERSION (1.5). */
	static const EGLint attribs[] = {EGL_CONTEXT_CLIENT_VERSION, 3, EGL_NONE};
	egl->context = eglCreateContext(egl->display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attribs);
	EGLint err = eglGetError();
	eglBindAPI(api);
	if (egl->context == EGL_NO_CONTEXT) {
		snprintf(why, why_size, "eglCreateContext(OpenGL ES 3, no config): %s",
			 egl_error_name(err));
		ret = err == EGL_BAD_ALLOC ? -ENOMEM : -ENOTSUP;
		goto err_display;
	}
	egl->api = EGL_OPENGL_ES_API;
	egl->own_context = true;
	return 0;

err_display:
	if (egl->display_counted)
		display_unref(egl->display);
	egl->display_counted = false;
	return ret;
}

static int open_gbm(struct px_egl *egl, const char *node, char *why, size_t why_size)
{
	if (!egl->exts.KHR_platform_gbm && !egl->exts.MESA_platform_gbm) {
		snprintf(why, why_size, "EGL_KHR_platform_gbm is missing");
		return -ENOTSUP;
	}
	int fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;
		snprintf(why, why_size, "%s: %s", node, strerror(errno));
		return ret;
	}
	struct gbm_device *gbm = gbm_create_device(fd);
	if (!gbm) {
		snprintf(why, why_size, "%s: gbm_create_device failed", node);
		close(fd);
		return -ENOTSUP;
	}
	/* EGL_PLATFORM_GBM_KHR and _MESA have the same value. */
	egl->display = egl->procs.eglGetPlatformDisplayEXT(EGL_PLATFORM_GBM_KHR, gbm, NULL);
	int ret;
	if (egl->display == EGL_NO_DISPLAY) {
		snprintf(why, why_size, "%s: eglGetPlatformDisplayEXT(GBM): %s", node,
			 egl_error_name(eglGetError()));
		ret = -ENOTSUP;
		goto err;
	}
	char sub[200];
	if ((ret = make_context(egl, sub, sizeof(sub)))) {
		snprintf(why, why_size, "%s: %s", node, sub);
		goto err;
	}
	struct stat st;
	fstat(fd, &st);
	egl->drm_fd = fd;
	egl->gbm = gbm;
	egl->device = (uint64_t)st.st_rdev;
	px_strlcpy(egl->drm_node, node, sizeof(egl->drm_node));
	egl->platform = "gbm";
	return 0;

err:
	egl->display = EGL_NO_DISPLAY;
	gbm_device_destroy(gbm);
	close(fd);
	return ret;
}

static int open_surfaceless(struct px_egl *egl, char *why, size_t why_size)
{
	if (!egl->exts.MESA_platform_surfaceless) {
		snprintf(why, why_size, "EGL_MESA_platform_surfaceless is missing");
		return -ENOTSUP;
	}
	egl->display = egl->procs.eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
							   EGL_DEFAULT_DISPLAY, NULL);
	if (egl->display == EGL_NO_DISPLAY) {
		snprintf(why, why_size, "eglGetPlatformDisplayEXT(surfaceless): %s",
			 egl_error_name(eglGetError()));
		return -ENOTSUP;
	}
	int ret = make_context(egl, why, why_size);
	if (ret) {
		egl->display = EGL_NO_DISPLAY;
		return ret;
	}
	egl->platform = "surfaceless";
	return 0;
}

static int open_display(struct px_egl *egl, const char *drm_device)
{
	char why[300] = "", tried[600] = "";
	int ret;

	match_exts(&egl->exts, client_exts, PX_ARRAY_SIZE(client_exts),
		   eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS));
	if (egl->exts.EXT_platform_base)
		egl->procs.eglGetPlatformDisplayEXT =
		    (void *)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!egl->procs.eglGetPlatformDisplayEXT) {
		px_log_error("%s: EGL_EXT_platform_base is missing", egl->name);
		return -ENOTSUP;
	}
	if (drm_device && !strcmp(drm_device, "surfaceless")) {
		ret = open_surfaceless(egl, why, sizeof(why));
	} else if (drm_device) {
		ret = open_gbm(egl, drm_device, why, sizeof(why));
	} else {
		int cards = 0;
		ret = -ENOENT;
		for (int i = 0; i < 16 && ret; i++) {
			char node[32];
			snprintf(node, sizeof(node), "/dev/dri/card%d", i);
			if (access(node, F_OK))
				continue;
			cards++;
			ret = open_gbm(egl, node, why, sizeof(why));
			if (ret)
				snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
					 "%s%s", cards > 1 ? "; " : "", why);
		}
		if (ret) {
			if (cards)
				px_log_info(
				    "%s: no DRM card works with GBM and EGL (%s): using the "
				    "surfaceless platform",
				    egl->name, tried);
			ret = open_surfaceless(egl, why, sizeof(why));
		}
	}
	if (ret)
		px_log_error("%s: no EGL display: %s", egl->name, why);
	return ret;
}

static int adopt(struct px_egl *egl, EGLDisplay display, EGLContext context)
{
	egl->display = display;
	egl->context = context;
	egl->platform = "adopted";
	match_exts(&egl->exts, client_exts, PX_ARRAY_SIZE(client_exts),
		   eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS));
	const char *exts = eglQueryString(display, EGL_EXTENSIONS);
	if (!exts) {
		px_log_error("%s: the application's display: %s", egl->name,
			     egl_error_name(eglGetError()));
		return -EINVAL;
	}
	match_exts(&egl->exts, display_exts, PX_ARRAY_SIZE(display_exts), exts);
	EGLint type = 0;
	if (!eglQueryContext(display, context, EGL_CONTEXT_CLIENT_TYPE, &type)) {
		px_log_error("%s: the application's context: %s", egl->name,
			     egl_error_name(eglGetError()));
		return -EINVAL;
	}
	if (type != EGL_OPENGL_ES_API && type != EGL_OPENGL_API) {
		px_log_error("%s: the application's context is neither OpenGL ES nor OpenGL",
			     egl->name);
		return -ENOTSUP;
	}
	egl->api = (EGLenum)type;
	return 0;
}

static int egl_create_impl(const struct px_egl_params *params, struct px_egl **out)
{
	static const struct px_egl_params defaults;
	if (!out)
		return -EINVAL;
	if (!params)
		params = &defaults;
	if ((params->display == EGL_NO_DISPLAY) != (params->context == EGL_NO_CONTEXT) ||
	    params->max_pools > MAX_POOLS_LIMIT) {
		px_log_error("egl: display and context must be given together, max_pools ≤ %d",
			     MAX_POOLS_LIMIT);
		return -EINVAL;
	}
	struct px_egl *egl = calloc(1, sizeof(*egl));
	if (!egl)
		return -ENOMEM;
	static _Atomic uint32_t counter;
	egl->id = atomic_fetch_add(&counter, 1) + 1;
	snprintf(egl->name, sizeof(egl->name), "egl %u", egl->id);
	egl->drm_fd = -1;
	egl->max_pools = params->max_pools ? params->max_pools : PX_EGL_DEFAULT_MAX_POOLS;
	egl->pools = calloc(egl->max_pools, sizeof(*egl->pools));
	int ret = -ENOMEM;
	if (!egl->pools)
		goto err_free;

	if (params->display != EGL_NO_DISPLAY)
		ret = adopt(egl, params->display, params->context);
	else
		ret = open_display(egl, params->drm_device);
	if (ret)
		goto err_free;
	load_procs(egl);
	if (!egl->device)
		query_device(egl);

	struct binding b;
	if ((ret = bind_context(egl, &b)))
		goto err_context;
	ret = query_gl(egl);
	unbind_context(egl, &b);
	if (ret)
		goto err_context;
	load_procs(egl); /* GL_OES_EGL_image is known now */

	px_log_info("%s: EGL %s on %s (%s, %s): dma-buf import %s%s", egl->name, egl->platform,
		    egl->drm_node[0] ? egl->drm_node : "no DRM device", egl->renderer,
		    egl->gles ? "OpenGL ES" : "OpenGL",
		    egl->exts.EXT_image_dma_buf_import ? "yes" : "no",
		    egl->exts.EXT_image_dma_buf_import_modifiers ? ", with modifiers" : "");
	*out = egl;
	return 0;

err_context:
	if (egl->own_context) {
		eglDestroyContext(egl->display, egl->context);
		if (egl->display_counted)
			display_unref(egl->display);
	}
	if (egl->gbm)
		gbm_device_destroy(egl->gbm);
	px_close(&egl->drm_fd);
err_free:
	free(egl->pools);
	free(egl);
	return ret;
}

PX_API int px_egl_create_sized(size_t size, const struct px_egl_params *params, struct px_egl **out)
{
	struct px_egl_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_egl_params, max_pools),
				    "px_egl_create: struct px_egl_params");
		if (ret)
			return ret;
	}
	return egl_create_impl(params ? &ours : NULL, out);
}

/* ---- the cache */

static void delete_entry(struct px_egl *egl, struct entry *e)
{
	if (e->texture) {
		glDeleteTextures(1, &e->texture);
		egl->stats.cached--;
	}
	if (e->image != EGL_NO_IMAGE_KHR)
		egl->procs.eglDestroyImageKHR(egl->display, e->image);
	memset(e, 0, sizeof(*e));
	e->image = EGL_NO_IMAGE_KHR;
}

/* The context is current. */
static void drop_pool(struct px_egl *egl, struct pool *p)
{
	for (uint32_t i = 0; i < PX_MAX_SLOTS * p->n_images; i++)
		delete_entry(egl, &p->entries[i]);
	free(p->entries);
	memset(p, 0, sizeof(*p));
	egl->stats.evictions++;
}

static struct pool *find_pool(struct px_egl *egl, uint64_t id)
{
	for (uint32_t i = 0; i < egl->max_pools; i++)
		if (egl->pools[i].id == id)
			return &egl->pools[i];
	return NULL;
}

/* A free pool, evicting the least recently used one if need be. The context
 * is current. */
static struct pool *new_pool(struct px_egl *egl, const struct px_frame *frame)
{
	struct pool *p = find_pool(egl, 0);
	if (!p) {
		p = &egl->pools[0];
		for (uint32_t i = 1; i < egl->max_pools; i++)
			if (egl->pools[i].last_use < p->last_use)
				p = &egl->pools[i];
		px_log_info("%s: more than %u pools: the imports of pool %llu are dropped",
			    egl->name, egl->max_pools, (unsigned long long)p->id);
		drop_pool(egl, p);
	}
	uint32_t n = frame->layout->n_images;
	p->entries = calloc((size_t)PX_MAX_SLOTS * n, sizeof(*p->entries));
	if (!p->entries)
		return NULL;
	for (uint32_t i = 0; i < PX_MAX_SLOTS * n; i++)
		p->entries[i].image = EGL_NO_IMAGE_KHR;
	p->id = frame->pool_id;
	p->n_images = n;
	p->logged = 0;
	return p;
}

/* ---- the dma-buf path */

static bool is_yuv(uint32_t fourcc)
{
	const struct px_format_info *fi = px_format_get_info(fourcc);
	return fi && fi->is_yuv;
}

static void device_name(uint64_t dev, char *buf, size_t size)
{
	snprintf(buf, size, "%u:%u", major((dev_t)dev), minor((dev_t)dev));
}

/* The sysfs device of a DRM node's dev_t. */
static bool sysfs_device(uint64_t dev, char *path)
{
	char link[80];
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/device", major((dev_t)dev),
		 minor((dev_t)dev));
	return realpath(link, path) != NULL;
}

/* One device may show as a card node and a render node: the same device when
 * their sysfs devices are. */
static bool same_device(uint64_t a, uint64_t b)
{
	char pa[PATH_MAX], pb[PATH_MAX];
	if (a == b)
		return true;
	return sysfs_device(a, pa) && sysfs_device(b, pb) && !strcmp(pa, pb);
}

/* Whether the dma-buf path may be tried for this image; if not, why (and how
 * loudly to say it). */
static bool dmabuf_possible(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
			    GLenum *target, char *why, size_t why_size, enum px_log_level *level)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	char name[16], a[16], b[16];
	px_format_name(img->fourcc, name, sizeof(name));
	*level = PX_LOG_INFO;
	*target = is_yuv(img->fourcc) ? GL_TEXTURE_EXTERNAL_OES : GL_TEXTURE_2D;

	if (!frame->dmabuf) {
		snprintf(why, why_size, "the pool is memfd, not dma-buf");
		return false;
	}
	for (uint32_t p = 0; p < img->n_planes; p++) {
		if (img->planes[p].offset > INT32_MAX || img->planes[p].stride > INT32_MAX) {
			snprintf(why, why_size, "plane %u: offset or stride beyond EGLint", p);
			return false;
		}
	}
	if (!egl->exts.EXT_image_dma_buf_import) {
		snprintf(why, why_size, "EGL_EXT_image_dma_buf_import is missing");
		return false;
	}
	if (!egl->procs.eglCreateImageKHR) {
		snprintf(why, why_size, "EGL_KHR_image_base is missing");
		return false;
	}
	if (!egl->procs.glEGLImageTargetTexture2DOES) {
		snprintf(why, why_size, "GL_OES_EGL_image is missing");
		return false;
	}
	if (frame->device) {
		device_name(frame->device, a, sizeof(a));
		if (!egl->device) {
			snprintf(why, why_size,
				 "the frame was allocated on DRM device %s and this "
				 "display's device is unknown (%s): its dma-bufs might read wrong",
				 a,
				 egl->procs.eglQueryDeviceStringEXT ? "no EGL_EXT_device_drm"
								    : "no EGL_EXT_device_query");
			*level = PX_LOG_WARN;
			return false;
		}
		if (!same_device(frame->device, egl->device)) {
			device_name(egl->device, b, sizeof(b));
			snprintf(why, why_size,
				 "the frame was allocated on DRM device %s and this "
				 "display renders on %s (%s): a foreign dma-buf may import and "
				 "still read wrong (black under kms_swrast)",
				 a, egl->drm_node, b);
			*level = PX_LOG_WARN;
			return false;
		}
	} else if (egl->software) {
		snprintf(why, why_size,
			 "dma-bufs of no DRM device (dma-heap, udmabuf) are foreign "
			 "to the software renderer %s, which cannot read them",
			 egl->renderer);
		return false;
	}
	if (*target == GL_TEXTURE_EXTERNAL_OES && !egl->exts.OES_EGL_image_external) {
		snprintf(why, why_size, "%s needs GL_OES_EGL_image_external", name);
		return false;
	}
	uint64_t mod = img->modifier;
	if (mod != PX_MODIFIER_INVALID && mod != PX_MODIFIER_LINEAR &&
	    !egl->exts.EXT_image_dma_buf_import_modifiers) {
		snprintf(why, why_size,
			 "modifier 0x%llx needs "
			 "EGL_EXT_image_dma_buf_import_modifiers",
			 (unsigned long long)mod);
		*level = PX_LOG_WARN;
		return false;
	}
	if (egl->procs.eglQueryDmaBufModifiersEXT) {
		EGLuint64KHR mods[64];
		EGLBoolean ext_only[64];
		EGLint n = 0;
		if (!egl->procs.eglQueryDmaBufModifiersEXT(egl->display, (EGLint)img->fourcc, 64,
							   mods, ext_only, &n)) {
			snprintf(why, why_size,
				 "%s cannot be imported here "
				 "(eglQueryDmaBufModifiersEXT: %s)",
				 name, egl_error_name(eglGetError()));
			return false;
		}
		if (mod != PX_MODIFIER_INVALID && n > 0) {
			EGLint i;
			for (i = 0; i < n && mods[i] != mod; i++)
				;
			if (i == n) {
				snprintf(why, why_size,
					 "%s with modifier 0x%llx cannot be imported "
					 "here",
					 name, (unsigned long long)mod);
				*level = PX_LOG_WARN;
				return false;
			}
			if (ext_only[i])
				*target = GL_TEXTURE_EXTERNAL_OES;
		}
		if (*target == GL_TEXTURE_EXTERNAL_OES && !egl->exts.OES_EGL_image_external) {
			snprintf(why, why_size,
				 "%s is external-only here and "
				 "GL_OES_EGL_image_external is missing",
				 name);
			return false;
		}
	}
	return true;
}

static void set_sampling(GLenum target)
{
	glTexParameteri(target, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
	glTexParameteri(target, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
	glTexParameteri(target, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(target, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

static GLenum binding_of(GLenum target)
{
	return target == GL_TEXTURE_EXTERNAL_OES ? GL_TEXTURE_BINDING_EXTERNAL_OES
						 : GL_TEXTURE_BINDING_2D;
}

static void drain_gl_errors(void)
{
	for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; i++)
		;
}

/* The context is current. */
static int import_dmabuf(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
			 GLenum target, struct entry *e, char *why, size_t why_size)
{
	static const EGLint fd_attr[] = {EGL_DMA_BUF_PLANE0_FD_EXT, EGL_DMA_BUF_PLANE1_FD_EXT,
					 EGL_DMA_BUF_PLANE2_FD_EXT, EGL_DMA_BUF_PLANE3_FD_EXT};
	static const EGLint offset_attr[] = {
	    EGL_DMA_BUF_PLANE0_OFFSET_EXT, EGL_DMA_BUF_PLANE1_OFFSET_EXT,
	    EGL_DMA_BUF_PLANE2_OFFSET_EXT, EGL_DMA_BUF_PLANE3_OFFSET_EXT};
	static const EGLint pitch_attr[] = {
	    EGL_DMA_BUF_PLANE0_PITCH_EXT, EGL_DMA_BUF_PLANE1_PITCH_EXT,
	    EGL_DMA_BUF_PLANE2_PITCH_EXT, EGL_DMA_BUF_PLANE3_PITCH_EXT};
	static const EGLint mod_lo_attr[] = {
	    EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT, EGL_DMA_BUF_PLANE1_MODIFIER_LO_EXT,
	    EGL_DMA_BUF_PLANE2_MODIFIER_LO_EXT, EGL_DMA_BUF_PLANE3_MODIFIER_LO_EXT};
	static const EGLint mod_hi_attr[] = {
	    EGL_DMA_BUF_PLANE0_MODIFIER_HI_EXT, EGL_DMA_BUF_PLANE1_MODIFIER_HI_EXT,
	    EGL_DMA_BUF_PLANE2_MODIFIER_HI_EXT, EGL_DMA_BUF_PLANE3_MODIFIER_HI_EXT};
	const struct px_image_layout *img = &frame->layout->images[image];
	bool with_modifier =
	    img->modifier != PX_MODIFIER_INVALID && egl->exts.EXT_image_dma_buf_import_modifiers;
	EGLint attribs[64];
	int k = 0;

	attribs[k++] = EGL_WIDTH;
	attribs[k++] = (EGLint)img->width;
	attribs[k++] = EGL_HEIGHT;
	attribs[k++] = (EGLint)img->height;
	attribs[k++] = EGL_LINUX_DRM_FOURCC_EXT;
	attribs[k++] = (EGLint)img->fourcc;
	for (uint32_t p = 0; p < img->n_planes; p++) {
		/* "The EGL implementation does not take ownership of the file
		 * descriptors" (EGL_EXT_image_dma_buf_import, issue 3). */
		attribs[k++] = fd_attr[p];
		attribs[k++] = frame->buffers[img->planes[p].buffer].fd;
		attribs[k++] = offset_attr[p];
		attribs[k++] = (EGLint)img->planes[p].offset;
		attribs[k++] = pitch_attr[p];
		attribs[k++] = (EGLint)img->planes[p].stride;
		if (with_modifier) {
			attribs[k++] = mod_lo_attr[p];
			attribs[k++] = (EGLint)(img->modifier & 0xffffffff);
			attribs[k++] = mod_hi_attr[p];
			attribs[k++] = (EGLint)(img->modifier >> 32);
		}
	}
	if (is_yuv(img->fourcc)) {
		/* The test pattern and cameras: BT.601, limited range. */
		attribs[k++] = EGL_YUV_COLOR_SPACE_HINT_EXT;
		attribs[k++] = EGL_ITU_REC601_EXT;
		attribs[k++] = EGL_SAMPLE_RANGE_HINT_EXT;
		attribs[k++] = EGL_YUV_NARROW_RANGE_EXT;
	}
	attribs[k++] = EGL_NONE;

	EGLImageKHR image_khr = egl->procs.eglCreateImageKHR(egl->display, EGL_NO_CONTEXT,
							     EGL_LINUX_DMA_BUF_EXT, NULL, attribs);
	if (image_khr == EGL_NO_IMAGE_KHR) {
		snprintf(why, why_size, "eglCreateImageKHR(EGL_LINUX_DMA_BUF_EXT): %s",
			 egl_error_name(eglGetError()));
		return -ENOTSUP;
	}
	GLint old = 0;
	GLuint tex = 0;
	drain_gl_errors();
	glGetIntegerv(binding_of(target), &old);
	glGenTextures(1, &tex);
	glBindTexture(target, tex);
	egl->procs.glEGLImageTargetTexture2DOES(target, image_khr);
	GLenum err = glGetError();
	if (err == GL_NO_ERROR)
		set_sampling(target);
	glBindTexture(target, (GLuint)old);
	if (err != GL_NO_ERROR) {
		snprintf(why, why_size, "glEGLImageTargetTexture2DOES(%s): %s",
			 target == GL_TEXTURE_2D ? "GL_TEXTURE_2D" : "GL_TEXTURE_EXTERNAL_OES",
			 gl_error_name(err));
		glDeleteTextures(1, &tex);
		egl->procs.eglDestroyImageKHR(egl->display, image_khr);
		return -ENOTSUP;
	}
	e->texture = tex;
	e->target = target;
	e->image = image_khr;
	e->path = PX_IMPORT_DMABUF;
	egl->stats.dmabuf_imports++;
	return 0;
}

/* ---- acquire fences */

/* A frame handed out with its acquire fence (PX_SUBSCRIBER_KEEP_FENCES) may
 * still be written: wait before anything reads it. On the GPU where EGL can
 * take the sync_file (EGL_ANDROID_native_fence_sync; the context is then
 * current), else on this thread, at most FENCE_TIMEOUT_MS. */
static int wait_acquire(struct px_egl *egl, const struct px_frame *frame, bool on_gpu)
{
	int fence = frame->acquire_fence;
	if (fence < 0)
		return 0;
	egl->stats.fence_waits++;
	if (on_gpu && egl->procs.eglCreateSyncKHR) {
		/* EGL owns the fd once the sync exists; the frame keeps its own. */
		int fd = fcntl(fence, F_DUPFD_CLOEXEC, 3);
		EGLint attribs[] = {EGL_SYNC_NATIVE_FENCE_FD_ANDROID, fd, EGL_NONE};
		EGLSyncKHR sync =
		    fd < 0 ? EGL_NO_SYNC_KHR
			   : egl->procs.eglCreateSyncKHR(egl->display,
							 EGL_SYNC_NATIVE_FENCE_ANDROID, attribs);
		if (sync != EGL_NO_SYNC_KHR) {
			EGLBoolean ok = egl->procs.eglWaitSyncKHR(egl->display, sync, 0);
			egl->procs.eglDestroySyncKHR(egl->display, sync);
			if (ok)
				return 0;
		} else if (fd >= 0) {
			close(fd);
		}
		px_log_info("%s: no GPU wait for the acquire fence (%s): waiting here", egl->name,
			    egl_error_name(eglGetError()));
	}
	uint64_t deadline = px_now_ns() + FENCE_TIMEOUT_MS * 1000000ull;
	for (;;) {
		struct pollfd p = {.fd = fence, .events = POLLIN};
		uint64_t now = px_now_ns();
		int ret = now < deadline ? poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) : 0;
		if (ret > 0)
			return 0;
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			px_log_error("%s: waiting for the acquire fence: %s", egl->name,
				     strerror(errno));
			return -errno;
		}
		px_log_error("%s: frame %llu: its acquire fence did not signal in %d ms", egl->name,
			     (unsigned long long)frame->seq, FENCE_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
}

/* Brackets the upload's CPU reads of a dma-buf (a no-op on memfds): the
 * subscriber does too, except with PX_SUBSCRIBER_KEEP_FENCES. */
static void cpu_read_access(const struct px_frame *frame, uint32_t image, bool start)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	px_dmabuf_sync(frame->buffers[img->planes[0].buffer].fd, start, false);
}

/* ---- the upload path */

struct upload_format {
	GLint internal;
	GLenum format, type;
	uint32_t bpp;
	GLint swizzle[4]; /* sampled R, G, B, A come from these */
};

/* How GL can take a format from memory, sampling as the dma-buf path would. */
static int upload_format(const struct px_egl *egl, uint32_t fourcc, struct upload_format *f,
			 char *why, size_t why_size)
{
	bool swizzle_ok = egl->gles
			      ? egl->gl_major >= 3
			      : egl->gl_major > 3 || (egl->gl_major == 3 && egl->gl_minor >= 3);
	bool bgra = !egl->gles || egl->exts.EXT_texture_format_BGRA8888;
	char name[16];

	*f = (struct upload_format){
	    GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE, 4, {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA}};
	if (!swizzle_ok) {
		snprintf(why, why_size, "the upload path needs OpenGL ES 3.0 or OpenGL 3.3");
		return -ENOTSUP;
	}
	switch (fourcc) {
	case PX_FORMAT_XBGR8888: /* bytes R, G, B, X */
	case PX_FORMAT_ABGR8888: /* bytes R, G, B, A */
		break;
	case PX_FORMAT_XRGB8888: /* bytes B, G, R, X */
	case PX_FORMAT_ARGB8888: /* bytes B, G, R, A */
		if (bgra) {
			/* GLES wants the unsized GL_BGRA_EXT as internal format too. */
			f->internal = egl->gles ? GL_BGRA_EXT : GL_RGBA8;
			f->format = GL_BGRA_EXT;
		} else {
			f->swizzle[0] = GL_BLUE;
			f->swizzle[2] = GL_RED;
		}
		break;
	case PX_FORMAT_BGR888: /* bytes R, G, B */
		*f = (struct upload_format){
		    GL_RGB8, GL_RGB, GL_UNSIGNED_BYTE, 3, {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA}};
		break;
	case PX_FORMAT_RGB888: /* bytes B, G, R */
		*f = (struct upload_format){
		    GL_RGB8, GL_RGB, GL_UNSIGNED_BYTE, 3, {GL_BLUE, GL_GREEN, GL_RED, GL_ALPHA}};
		break;
	case PX_FORMAT_R8:
		*f = (struct upload_format){
		    GL_R8, GL_RED, GL_UNSIGNED_BYTE, 1, {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA}};
		break;
	case PX_FORMAT_R16:
		if (egl->gles && !egl->exts.EXT_texture_norm16) {
			snprintf(why, why_size, "R16 needs GL_EXT_texture_norm16");
			return -ENOTSUP;
		}
		*f = (struct upload_format){GL_R16_EXT,
					    GL_RED,
					    GL_UNSIGNED_SHORT,
					    2,
					    {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA}};
		break;
	default:
		snprintf(why, why_size, "the upload path takes RGB and grey formats, not %s",
			 px_format_name(fourcc, name, sizeof(name)));
		return -ENOTSUP;
	}
	/* X formats sample alpha 1, as their dma-buf imports do. */
	if (fourcc == PX_FORMAT_XRGB8888 || fourcc == PX_FORMAT_XBGR8888)
		f->swizzle[3] = GL_ONE;
	return 0;
}

/* Unpack state pixshare changes, to be given back to the application. */
struct unpack_state {
	GLint buffer, row_length, alignment, skip_rows, skip_pixels, texture;
};

static void save_unpack(struct unpack_state *s)
{
	glGetIntegerv(GL_PIXEL_UNPACK_BUFFER_BINDING, &s->buffer);
	glGetIntegerv(GL_UNPACK_ROW_LENGTH, &s->row_length);
	glGetIntegerv(GL_UNPACK_ALIGNMENT, &s->alignment);
	glGetIntegerv(GL_UNPACK_SKIP_ROWS, &s->skip_rows);
	glGetIntegerv(GL_UNPACK_SKIP_PIXELS, &s->skip_pixels);
	glGetIntegerv(GL_TEXTURE_BINDING_2D, &s->texture);
	glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
	glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
	glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
}

static void restore_unpack(const struct unpack_state *s)
{
	glBindBuffer(GL_PIXEL_UNPACK_BUFFER, (GLuint)s->buffer);
	glPixelStorei(GL_UNPACK_ROW_LENGTH, s->row_length);
	glPixelStorei(GL_UNPACK_ALIGNMENT, s->alignment);
	glPixelStorei(GL_UNPACK_SKIP_ROWS, s->skip_rows);
	glPixelStorei(GL_UNPACK_SKIP_PIXELS, s->skip_pixels);
	glBindTexture(GL_TEXTURE_2D, (GLuint)s->texture);
}

/* The context is current. Makes the texture an upload-path entry. */
static int create_upload(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
			 struct entry *e, char *why, size_t why_size)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	struct upload_format f;
	int ret = upload_format(egl, img->fourcc, &f, why, why_size);
	if (ret)
		return ret;
	if (!px_frame_plane(frame, image, 0)) {
		snprintf(why, why_size, "the frame's buffer has no CPU mapping");
		return -ENOTSUP;
	}
	struct unpack_state s;
	GLuint tex = 0;
	drain_gl_errors();
	save_unpack(&s);
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glTexImage2D(GL_TEXTURE_2D, 0, f.internal, (GLsizei)img->width, (GLsizei)img->height, 0,
		     f.format, f.type, NULL);
	set_sampling(GL_TEXTURE_2D);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_R, f.swizzle[0]);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_G, f.swizzle[1]);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_B, f.swizzle[2]);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_A, f.swizzle[3]);
	GLenum err = glGetError();
	restore_unpack(&s);
	if (err != GL_NO_ERROR) {
		glDeleteTextures(1, &tex);
		snprintf(why, why_size, "glTexImage2D %ux%u: %s", img->width, img->height,
			 gl_error_name(err));
		return err == GL_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	e->texture = tex;
	e->target = GL_TEXTURE_2D;
	e->image = EGL_NO_IMAGE_KHR;
	e->path = PX_IMPORT_UPLOAD;
	return 0;
}

/* The context is current. Copies the image into its texture: one copy. */
static int upload(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
		  const struct entry *e)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	const uint8_t *data = px_frame_plane(frame, image, 0);
	struct upload_format f;
	char why[160];
	if (!data || upload_format(egl, img->fourcc, &f, why, sizeof(why)))
		return -EIO; /* the same frame layout took this path before */
	uint32_t stride = img->planes[0].stride;
	uint64_t row_bytes = (uint64_t)img->width * f.bpp;

	/* GL_UNPACK_ROW_LENGTH counts pixels, and rows start at multiples of
	 * GL_UNPACK_ALIGNMENT: a stride that is not a whole number of pixels
	 * still fits when alignment rounds the pixel rows up to it. */
	GLint alignment = stride % 8 == 0 ? 8 : stride % 4 == 0 ? 4 : stride % 2 == 0 ? 2 : 1;
	uint32_t row_pixels = stride / f.bpp;
	uint64_t aligned = ((uint64_t)row_pixels * f.bpp + (uint32_t)alignment - 1) /
			   (uint32_t)alignment * (uint32_t)alignment;
	bool whole = aligned == stride && row_pixels >= img->width;

	struct unpack_state s;
	drain_gl_errors();
	save_unpack(&s);
	glBindTexture(GL_TEXTURE_2D, e->texture);
	cpu_read_access(frame, image, true);
	if (whole) {
		glPixelStorei(GL_UNPACK_ALIGNMENT, alignment);
		glPixelStorei(GL_UNPACK_ROW_LENGTH, (GLint)row_pixels);
		glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)img->width, (GLsizei)img->height,
				f.format, f.type, data);
	} else {
		glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
		glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
		for (uint32_t y = 0; y < img->height; y++)
			glTexSubImage2D(GL_TEXTURE_2D, 0, 0, (GLint)y, (GLsizei)img->width, 1,
					f.format, f.type, data + (size_t)y * stride);
	}
	cpu_read_access(frame, image, false);
	GLenum err = glGetError();
	restore_unpack(&s);
	if (err != GL_NO_ERROR) {
		px_log_error("%s: glTexSubImage2D %ux%u: %s", egl->name, img->width, img->height,
			     gl_error_name(err));
		return err == GL_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	egl->stats.uploads++;
	egl->stats.upload_bytes += row_bytes * img->height;
	px_frame_account_copy(frame, row_bytes * img->height);
	return 0;
}

/* ---- the import */

/* A cache miss: makes the entry by the dma-buf path where possible, else the
 * upload path. The context is current. */
static int import_new(struct px_egl *egl, struct pool *pool, const struct px_frame *frame,
		      uint32_t image, struct entry *e)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	char why[400] = "", why_upload[200] = "", name[16];
	enum px_log_level level = PX_LOG_INFO;
	GLenum target;
	int ret = -ENOTSUP;

	bool first = !(pool->logged & (1u << image));
	px_format_name(img->fourcc, name, sizeof(name));
	if (dmabuf_possible(egl, frame, image, &target, why, sizeof(why), &level)) {
		ret = import_dmabuf(egl, frame, image, target, e, why, sizeof(why));
		level = PX_LOG_WARN;
	}
	if (ret == 0) {
		if (first)
			px_log_info("%s: pool %llu image %u (%s %ux%u): dma-buf import, no copy",
				    egl->name, (unsigned long long)pool->id, image, name,
				    img->width, img->height);
	} else {
		ret = create_upload(egl, frame, image, e, why_upload, sizeof(why_upload));
		if (ret && first)
			px_log_error("%s: pool %llu image %u (%s %ux%u): no dma-buf import (%s), "
				     "no upload (%s)",
				     egl->name, (unsigned long long)pool->id, image, name,
				     img->width, img->height, why, why_upload);
		else if (!ret && first)
			px_log(level,
			       "%s: pool %llu image %u (%s %ux%u): no dma-buf import: %s; "
			       "uploading from the CPU mapping, a copy per frame",
			       egl->name, (unsigned long long)pool->id, image, name, img->width,
			       img->height, why);
	}
	pool->logged |= 1u << image;
	if (ret) {
		e->error = ret;
		return ret;
	}
	e->fourcc = img->fourcc;
	e->width = img->width;
	e->height = img->height;
	egl->stats.imports++;
	egl->stats.cached++;
	return 0;
}

PX_API int px_egl_import(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
			 struct px_egl_texture *out)
{
	if (!egl || !frame || !out || !frame->layout || !frame->pool_id ||
	    image >= frame->layout->n_images || frame->slot >= PX_MAX_SLOTS)
		return -EINVAL;
	if (!(frame->valid_mask & (1u << image)))
		return -ENODATA;

	struct pool *pool = find_pool(egl, frame->pool_id);
	struct entry *e = NULL;
	int ret;
	if (pool) {
		if (image >= pool->n_images)
			return -EINVAL;
		pool->last_use = ++egl->clock;
		e = &pool->entries[frame->slot * pool->n_images + image];
		if (e->error)
			return e->error;
		/* A pool's layout never changes: one check, no EGL. */
		if (e->texture && (e->fourcc != frame->layout->images[image].fourcc ||
				   e->width != frame->layout->images[image].width ||
				   e->height != frame->layout->images[image].height))
			return -EINVAL;
		/* The zero-copy hit: no EGL or GL call, unless there is a
		 * fence to wait for on the GPU. */
		if (e->texture && e->path == PX_IMPORT_DMABUF &&
		    (frame->acquire_fence < 0 || !egl->procs.eglCreateSyncKHR)) {
			if ((ret = wait_acquire(egl, frame, false)))
				return ret;
			egl->stats.cache_hits++;
			px_frame_account_import(frame, e->path);
			*out = (struct px_egl_texture){e->texture, e->target, e->path};
			return 0;
		}
	}

	struct binding b;
	if ((ret = bind_context(egl, &b)))
		return ret;
	if (!pool) {
		if (!(pool = new_pool(egl, frame))) {
			ret = -ENOMEM;
			goto out;
		}
		pool->last_use = ++egl->clock;
		e = &pool->entries[frame->slot * pool->n_images + image];
	}
	if (e->texture) {
		egl->stats.cache_hits++;
	} else if ((ret = import_new(egl, pool, frame, image, e))) {
		goto out;
	}
	if ((ret = wait_acquire(egl, frame, e->path == PX_IMPORT_DMABUF)))
		goto out;
	if (e->path == PX_IMPORT_UPLOAD && (ret = upload(egl, frame, image, e)))
		goto out;
	px_frame_account_import(frame, e->path);
	*out = (struct px_egl_texture){e->texture, e->target, e->path};
out:
	unbind_context(egl, &b);
	return ret;
}

PX_API void px_egl_forget_pool(struct px_egl *egl, uint64_t pool_id)
{
	if (!egl || !pool_id)
		return;
	struct pool *p = find_pool(egl, pool_id);
	struct binding b;
	if (!p || bind_context(egl, &b))
		return;
	drop_pool(egl, p);
	unbind_context(egl, &b);
}

PX_API void px_egl_destroy(struct px_egl *egl)
{
	if (!egl)
		return;
	struct binding b;
	bool bound = bind_context(egl, &b) == 0;
	for (uint32_t i = 0; i < egl->max_pools; i++) {
		struct pool *p = &egl->pools[i];
		if (!p->id)
			continue;
		if (!bound) {
			/* Without the context the textures cannot be deleted;
			 * the EGLImages can. */
			for (uint32_t k = 0; k < PX_MAX_SLOTS * p->n_images; k++)
				p->entries[k].texture = 0;
		}
		drop_pool(egl, p);
	}
	if (bound)
		unbind_context(egl, &b);
	if (egl->own_context) {
		/* Not current anywhere now, unless the application bound it
		 * with px_egl_make_current(): then unbind it from this thread. */
		if (eglGetCurrentContext() == egl->context)
			eglMakeCurrent(egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
				       EGL_NO_CONTEXT);
		eglDestroyContext(egl->display, egl->context);
		if (egl->display_counted)
			display_unref(egl->display);
	}
	if (egl->gbm)
		gbm_device_destroy(egl->gbm);
	px_close(&egl->drm_fd);
	free(egl->pools);
	free(egl);
}

PX_API EGLDisplay px_egl_get_display(const struct px_egl *egl)
{
	return egl ? egl->display : EGL_NO_DISPLAY;
}

PX_API EGLContext px_egl_get_context(const struct px_egl *egl)
{
	return egl ? egl->context : EGL_NO_CONTEXT;
}

PX_API int px_egl_make_current(struct px_egl *egl)
{
	if (!egl)
		return -EINVAL;
	if (!eglBindAPI(egl->api))
		return -EIO;
	if (eglGetCurrentContext() == egl->context)
		return 0;
	if (!eglMakeCurrent(egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, egl->context)) {
		EGLint err = eglGetError();
		px_log_error("%s: eglMakeCurrent: %s", egl->name, egl_error_name(err));
		return err == EGL_BAD_ACCESS ? -EBUSY : -EIO;
	}
	return 0;
}

static int egl_get_info_impl(const struct px_egl *egl, struct px_egl_info *info)
{
	if (!egl || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->platform = egl->platform;
	px_strlcpy(info->drm_node, egl->drm_node, sizeof(info->drm_node));
	info->device = egl->device;
	px_strlcpy(info->renderer, egl->renderer, sizeof(info->renderer));
	info->dmabuf_import = egl->exts.EXT_image_dma_buf_import && egl->procs.eglCreateImageKHR &&
			      egl->procs.glEGLImageTargetTexture2DOES;
	info->modifiers = egl->exts.EXT_image_dma_buf_import_modifiers;
	info->external_textures = egl->exts.OES_EGL_image_external;
	info->gpu_fence_wait = egl->procs.eglCreateSyncKHR != NULL;
	info->software = egl->software;
	return 0;
}

PX_API int px_egl_get_info_sized(size_t size, const struct px_egl *egl, struct px_egl_info *info)
{
	struct px_egl_info ours;
	if (!info)
		return -EINVAL;
	int ret = egl_get_info_impl(egl, &ours);
	if (ret)
		return ret;
	return px_abi_out(info, size, PX_SIZE_THROUGH(struct px_egl_info, software), &ours,
			  sizeof(ours), "px_egl_get_info: struct px_egl_info");
}

static int egl_get_stats_impl(const struct px_egl *egl, struct px_egl_stats *stats)
{
	if (!egl || !stats)
		return -EINVAL;
	*stats = egl->stats;
	return 0;
}

PX_API int px_egl_get_stats_sized(size_t size, const struct px_egl *egl, struct px_egl_stats *stats)
{
	struct px_egl_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = egl_get_stats_impl(egl, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size, PX_SIZE_THROUGH(struct px_egl_stats, cached), &ours,
			  sizeof(ours), "px_egl_get_stats: struct px_egl_stats");
}

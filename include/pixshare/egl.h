/* SPDX-License-Identifier: MIT */
/*
 * pixshare — frames as OpenGL ES textures, through EGL.
 *
 * A px_egl imports the images of received frames into an EGL context as GL
 * textures:
 *
 *     struct px_egl *egl;
 *     px_egl_create(NULL, &egl);          // its own display and GLES 3 context
 *     ...
 *     px_subscriber_receive(sub, &frame, -1);
 *     struct px_egl_texture tex;
 *     px_egl_import(egl, frame, 0, &tex); // image 0 of the frame
 *     px_egl_make_current(egl);
 *     ... draw with tex.texture on tex.target ...
 *     px_frame_release(frame);            // after the GPU has read it (glFinish,
 *                                         // or a fence the application waits on)
 *
 * Two paths, reported per import (see <pixshare/import.h>):
 * - dma-buf (zero-copy): an EGLImage made from the frame's dma-buf planes
 *   (EGL_EXT_image_dma_buf_import, with EGL_EXT_image_dma_buf_import_modifiers
 *   where the layout has an explicit modifier), bound to a texture. Taken only
 *   when the buffers are dma-bufs allocated on the DRM device this display
 *   renders on (px_frame.device): a dma-buf of another device may import
 *   without error and still read back black (Mesa's kms_swrast does this),
 *   and the library will not claim success it cannot check.
 * - upload (a copy per import): glTexSubImage2D from the frame's read-only
 *   CPU mapping, for memfd pools, foreign devices, and drivers without dma-buf
 *   import. RGB and grey formats only. The reason is logged once per pool
 *   and image; every upload is counted in px_egl_stats.
 *
 * Imports are cached per (frame->pool_id, frame->slot, image): the EGLImage
 * and texture are made on the first import and reused every frame after. A
 * cached dma-buf import makes no EGL or GL call at all (unless it waits for an
 * acquire fence on the GPU, below); a cached upload re-uploads into the same
 * texture. The cache holds the textures of at most
 * `max_pools` pools; a frame of a new pool beyond that evicts the least
 * recently used pool. A subscriber makes a new pool on each (re)connection.
 *
 * Textures:
 * - GL_TEXTURE_2D for RGB and grey formats: sampling gives (R, G, B, A) in
 *   colour order whatever the byte order of the format; X formats sample
 *   alpha 1; R8 and R16 sample (grey, 0, 0, 1).
 * - GL_TEXTURE_EXTERNAL_OES for YUV formats (YUYV, UYVY, NV12, P010), which
 *   the driver converts to RGB as BT.601 limited range
 *   (needs GL_OES_EGL_image_external; shaders use samplerExternalOES).
 * Filters are GL_LINEAR, wrapping GL_CLAMP_TO_EDGE. The application may
 * change sampling parameters, but must not delete a texture or respecify
 * its storage: it belongs to the px_egl and stays valid until its pool is
 * forgotten or evicted, or the px_egl is destroyed.
 *
 * Acquire fences: a frame handed out early with its fence
 * (PX_SUBSCRIBER_KEEP_FENCES, px_frame.acquire_fence) is waited for by the
 * import: on the GPU where EGL takes sync_files (EGL_KHR_fence_sync,
 * EGL_KHR_wait_sync, EGL_ANDROID_native_fence_sync: eglWaitSyncKHR in the
 * px_egl's context), else on the calling thread, up to 10 s. Without that
 * flag the subscriber has waited already.
 *
 * EGL never takes ownership of the frame's fds (EGL_EXT_image_dma_buf_import,
 * issue 3); pixshare neither closes nor duplicates them. An EGLImage keeps
 * its dma-buf's memory alive until its pool leaves the cache.
 *
 * The calling thread's EGL binding: every px_egl call that needs GL makes
 * the px_egl's context current for the duration of the call (if it is not
 * already current on this thread) and restores the previous binding and
 * bound API before returning. It fails with -EBUSY if the context is current
 * on another thread. px_egl_make_current() binds it for the application.
 *
 * Thread safety: a px_egl is not thread-safe; use it from one thread at a
 * time. Different px_egl objects are independent.
 *
 * Link with pixshare and include this header explicitly: <pixshare/pixshare.h>
 * does not, so that programs without EGL need no EGL headers.
 */
#ifndef PIXSHARE_EGL_H
#define PIXSHARE_EGL_H

#include <EGL/egl.h>
#include <GLES2/gl2.h>

#include <pixshare/common.h>
#include <pixshare/import.h>
#include <pixshare/subscriber.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_egl;

/* Default of px_egl_params.max_pools. */
#define PX_EGL_DEFAULT_MAX_POOLS 8

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_egl_params {
	/*
	 * Where pixshare makes its own display, when `display` and `context`
	 * are NULL:
	 * - a DRM card node ("/dev/dri/card1"): the GBM platform
	 *   (EGL_PLATFORM_GBM_KHR on gbm_create_device() of the node); fails
	 *   if that does not work;
	 * - "surfaceless": the surfaceless platform
	 *   (EGL_PLATFORM_SURFACELESS_MESA; Mesa picks the device, or none);
	 * - NULL: the first /dev/dri/card* where GBM and EGL work, else
	 *   surfaceless (the reason is logged at PX_LOG_INFO).
	 * The EGL device platform is never used (it crashes Mesa's kms_swrast).
	 * Copied; only needs to live for the call.
	 */
	const char *drm_device;
	/*
	 * The application's display and context, to be used instead: both
	 * non-NULL (or both NULL). The display must be initialized; the
	 * context must be an OpenGL ES 3 (or OpenGL 3.3) context of it, not
	 * current on another thread during px_egl calls, and usable with
	 * EGL_NO_SURFACE (EGL_KHR_surfaceless_context) unless the
	 * application keeps it current on the calling thread. pixshare never
	 * destroys or terminates them; they must outlive the px_egl.
	 */
	EGLDisplay display;
	EGLContext context;
	/* Pools whose imports are cached at once; 0 for
	 * PX_EGL_DEFAULT_MAX_POOLS. At most 64. */
	uint32_t max_pools;
};

/*
 * Creates an importer. `params` may be NULL: all defaults.
 * Without an application context, makes a GLES 3 context without a config
 * (EGL_KHR_no_config_context) that needs no surface
 * (EGL_KHR_surfaceless_context).
 * Returns 0 and the importer in `*out` (the caller's, for px_egl_destroy()),
 * or -EINVAL (bad params), -ENOENT (no such device), -ENOTSUP (a required
 * EGL extension or platform is missing; its name is logged), -ENOMEM, -EBUSY
 * (the adopted context is current on another thread), -EIO (another EGL
 * failure, logged with EGL's error name). The calling thread's EGL binding
 * is unchanged on return.
 */
PX_API int px_egl_create_sized(size_t params_size, const struct px_egl_params *params,
			       struct px_egl **out);
#define px_egl_create(...) px_egl_create_sized(sizeof(struct px_egl_params), __VA_ARGS__)

/*
 * Deletes every cached texture and EGLImage, then, if pixshare made them, the
 * context, the display (terminated when no other px_egl uses it and it was
 * not initialized by someone else), the GBM device and the DRM fd. Needs the
 * context not to be current on another thread. NULL is a no-op.
 */
PX_API void px_egl_destroy(struct px_egl *egl);

/* The display and context in use (the application's if adopted). Owned by
 * the px_egl unless adopted. */
PX_API EGLDisplay px_egl_get_display(const struct px_egl *egl);
PX_API EGLContext px_egl_get_context(const struct px_egl *egl);

/*
 * Makes the px_egl's context current on the calling thread with no surface
 * (binds EGL_OPENGL_ES_API or the adopted context's API), for the
 * application to draw with imported textures. Returns 0, -EBUSY (current on
 * another thread) or -EIO (logged).
 */
PX_API int px_egl_make_current(struct px_egl *egl);

/* What the importer runs on. */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_egl_info {
	const char *platform;	/* "gbm", "surfaceless" or "adopted"; static */
	char drm_node[64];	/* the display's DRM node, "" if none or unknown */
	uint64_t device;	/* its dev_t, 0 if none or unknown */
	char renderer[96];	/* GL_RENDERER */
	bool dmabuf_import;	/* the dma-buf path exists (EGL and GL extensions) */
	bool modifiers;		/* EGL_EXT_image_dma_buf_import_modifiers */
	bool external_textures; /* GL_OES_EGL_image_external: YUV dma-bufs */
	bool gpu_fence_wait;	/* acquire fences are waited for on the GPU */
	bool software;		/* a software renderer (llvmpipe, softpipe) */
};

/* Fills `info`. Returns 0 or -EINVAL. No EGL call. */
PX_API int px_egl_get_info_sized(size_t info_size, const struct px_egl *egl,
				 struct px_egl_info *info);
#define px_egl_get_info(...) px_egl_get_info_sized(sizeof(struct px_egl_info), __VA_ARGS__)

/* An imported image. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_egl_texture {
	GLuint texture;		  /* the px_egl's; see "Textures" above */
	GLenum target;		  /* GL_TEXTURE_2D or GL_TEXTURE_EXTERNAL_OES */
	enum px_import_path path; /* PX_IMPORT_DMABUF or PX_IMPORT_UPLOAD */
};

/*
 * Imports image `image` of `frame` (a frame the caller holds) and writes the
 * texture to `out`. On the dma-buf path the texture shows the frame's buffer
 * itself: sample it before releasing the frame, and finish the GPU's reads
 * (glFinish or a fence) before px_frame_release(), since the publisher will
 * then refill the buffer. On the upload path the pixels are copied now.
 * A frame with an acquire fence is waited for first (see above).
 * Returns 0, or:
 * -EINVAL   NULL arguments, image out of range, a frame without a pool;
 * -ENODATA  the image is not present in this frame (valid_mask);
 * -ETIMEDOUT the frame's acquire fence did not signal in 10 s (logged);
 * -ENOTSUP  neither path can take the image (e.g. YUV where the dma-buf
 *           path is impossible, R16 without GL_EXT_texture_norm16); logged;
 * -EBUSY    the context is current on another thread;
 * -ENOMEM, -EIO (a GL error, logged).
 * `frame` is not kept. Not thread-safe (see above).
 */
PX_API int px_egl_import(struct px_egl *egl, const struct px_frame *frame, uint32_t image,
			 struct px_egl_texture *out);

/* Deletes the cached imports of a pool (textures returned for it become
 * invalid), e.g. when the application knows it will not see that pool_id
 * again. An unknown pool_id or a NULL egl is a no-op. */
PX_API void px_egl_forget_pool(struct px_egl *egl, uint64_t pool_id);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_egl_stats {
	uint64_t imports;	 /* cache misses: textures made */
	uint64_t dmabuf_imports; /* of those, EGLImages made from dma-bufs */
	uint64_t cache_hits;	 /* px_egl_import() calls served from the cache */
	uint64_t uploads;	 /* CPU copies into a texture: one per upload-path import */
	uint64_t upload_bytes;	 /* pixel bytes copied by those */
	uint64_t evictions;	 /* pools dropped from the cache, forgotten ones included */
	uint64_t fence_waits;	 /* imports that waited for a frame's acquire fence */
	uint32_t cached;	 /* textures held now */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_egl_get_stats_sized(size_t stats_size, const struct px_egl *egl,
				  struct px_egl_stats *stats);
#define px_egl_get_stats(...) px_egl_get_stats_sized(sizeof(struct px_egl_stats), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Helpers for tests that drive vivid (the virtual V4L2 camera) and find the
 * DRM card of the guest tier: devices by driver and capability, controls by
 * name. Header-only; include after px_test.h.
 */
#ifndef PX_TEST_VIVID_H
#define PX_TEST_VIVID_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/videodev2.h>
#include <xf86drm.h>

#include "px_test.h"

/* Whether `path` is a vivid device with any of the capabilities `caps`. */
static inline bool px_vivid_is(const char *path, uint32_t caps)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	struct v4l2_capability cap = {0};
	bool ok = ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 &&
		  !strcmp((const char *)cap.driver, "vivid") && (cap.device_caps & caps);
	close(fd);
	return ok;
}

/* The n-th /dev/video* that is vivid with capability `caps`, into `out`. */
static inline bool px_vivid_find(int n, uint32_t caps, char *out, size_t size)
{
	for (int i = 0; i < 64; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/video%d", i);
		if (px_vivid_is(path, caps) && n-- == 0) {
			snprintf(out, size, "%s", path);
			return true;
		}
	}
	return false;
}

/* The control named `name` of type `type`: 0, or -ENOENT. */
static inline int px_vivid_find_ctrl(int fd, const char *name, uint32_t type,
				     struct v4l2_queryctrl *out)
{
	struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
	for (; ioctl(fd, VIDIOC_QUERYCTRL, &q) == 0; q.id |= V4L2_CTRL_FLAG_NEXT_CTRL)
		if (!strcmp((const char *)q.name, name) && q.type == type) {
			*out = q;
			return 0;
		}
	return -ENOENT;
}

/* Sets control `id` to `value`: 0 or -errno. */
static inline int px_vivid_set(int fd, uint32_t id, int value)
{
	struct v4l2_control c = {.id = id, .value = value};
	return ioctl(fd, VIDIOC_S_CTRL, &c) ? -errno : 0;
}

/* Sets menu control `name` to its item named `item`: 0, or -ENOENT (no such
 * control or item). The setting itself must succeed. */
static inline int px_vivid_set_menu(int fd, const char *name, const char *item)
{
	struct v4l2_queryctrl q;
	if (px_vivid_find_ctrl(fd, name, V4L2_CTRL_TYPE_MENU, &q))
		return -ENOENT;
	for (int i = q.minimum; i <= q.maximum; i++) {
		struct v4l2_querymenu m = {.id = q.id, .index = (uint32_t)i};
		if (ioctl(fd, VIDIOC_QUERYMENU, &m) == 0 && !strcmp((const char *)m.name, item)) {
			REQUIRE_OK(px_vivid_set(fd, q.id, i));
			return 0;
		}
	}
	return -ENOENT;
}

/* Sets integer control `name`: 0, -ENOENT, or -errno. */
static inline int px_vivid_set_int(int fd, const char *name, int value)
{
	struct v4l2_queryctrl q;
	if (px_vivid_find_ctrl(fd, name, V4L2_CTRL_TYPE_INTEGER, &q))
		return -ENOENT;
	return px_vivid_set(fd, q.id, value);
}

/* Presses button control `name`: 0, -ENOENT, or -errno. */
static inline int px_vivid_press(int fd, const char *name)
{
	struct v4l2_queryctrl q;
	if (px_vivid_find_ctrl(fd, name, V4L2_CTRL_TYPE_BUTTON, &q))
		return -ENOENT;
	return px_vivid_set(fd, q.id, 1);
}

/* A DRM card for dumb buffers, into `out`: vgem where there is one; else,
 * unless `vgem_only`, the first card. */
static inline bool px_test_find_card(char *out, size_t size, bool vgem_only)
{
	out[0] = '\0';
	for (int i = 0; i < 16; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		bool is_vgem = v && !strcmp(v->name, "vgem");
		drmFreeVersion(v);
		close(fd);
		if (is_vgem || (!vgem_only && !out[0]))
			snprintf(out, size, "%s", path);
		if (is_vgem)
			break;
	}
	return out[0] != '\0';
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * pixshare view TOPIC: the command's work, once pixshare.c has parsed its
 * command line. Built only with SDL2 (PX_HAVE_SDL2) and the EGL importer.
 * Returns the tool's exit status and prints its own errors, one line each.
 * Private to the tool.
 */
#ifndef PX_TOOLS_VIEW_H
#define PX_TOOLS_VIEW_H

#include <stdbool.h>
#include <stdint.h>

struct view_options {
	const char *topic;
	uint64_t count;		/* frames shown before the viewer ends; 0: no limit */
	uint64_t duration_ns;	/* 0: no limit */
	uint64_t wait_ns;	/* for the topic to appear */
	uint32_t width, height; /* the window's size at first */
	uint64_t save_after;	/* save the set shown as the N-th frame; 0: only on 's' */
	const char *save_dir;	/* where sets are saved */
	bool log;		/* the overlay's figures on stderr once per second */
};

int view_run(const struct view_options *o);

#endif

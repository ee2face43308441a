/* SPDX-License-Identifier: MIT */
/*
 * pixshare record, play and info FILE: the commands' work, once pixshare.c
 * has parsed their command lines. Each returns the tool's exit status
 * (EXIT_SUCCESS, EXIT_FAIL) and prints its own errors, one line each.
 * Private to the tool.
 */
#ifndef PX_TOOLS_RECORD_H
#define PX_TOOLS_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include <pixshare/pixshare.h>

struct record_options {
	const char *topic, *path;
	uint64_t count;	      /* frames; 0: no limit */
	uint64_t duration_ns; /* 0: no limit */
	uint64_t wait_ns;     /* for the topic to appear */
	enum px_qos qos;
	uint32_t queue_depth;
	bool force, quiet;
};

struct play_options {
	const char *path, *topic;
	double rate; /* speed factor: publish-time deltas are divided by it */
	bool loop, quiet;
	uint64_t start; /* index of the first frame */
	uint64_t count; /* frames to publish; 0: the recording (once, or forever with loop) */
	enum px_allocator_type allocator;
	uint32_t wait_subscribers; /* before the first frame */
	/* Not 0: publish a layout packed per image with rows aligned to this
	 * (a power of two), not the recorded one; images copied row by row. */
	uint32_t row_align;
};

int record_run(const struct record_options *o);
int play_run(const struct play_options *o);
/* `info FILE`; with `frames`, a line per frame with a hash of its bytes. */
int recording_info(const char *path, bool frames);

#endif

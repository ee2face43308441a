/* SPDX-License-Identifier: MIT */
/*
 * One memcpy() of a set in bench_compare, in the publisher's process: what a
 * transport that copies each set once would pay for the copy alone. The
 * delay recorded is the copy's time; no other process is involved.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/compare/compare.h"

static int publisher(struct cmp_ctx *c)
{
	uint8_t *src = malloc(c->p->set_bytes), *dst = malloc(c->p->set_bytes);
	if (!src || !dst) {
		free(src);
		free(dst);
		return cmp_fail(c, "out of memory");
	}
	/* Both buffers exist before the first set. */
	memset(dst, 0, c->p->set_bytes);
	uint8_t *images[CMP_MAX_IMAGES];
	for (uint32_t i = 0; i < c->p->n_images; i++)
		images[i] = src + i * c->p->image_bytes;
	cmp_pub_begin(c);
	while (cmp_pub_next(c)) {
		cmp_camera_write(c, images, c->p->n_images);
		memcpy(dst, src, c->p->set_bytes);
		struct cmp_header h;
		memcpy(&h, dst + (c->p->n_images - 1) * c->p->image_bytes, sizeof(h));
		cmp_record_delay(c, h.seq, h.publish_ns);
		cmp_pub_sent(c);
	}
	cmp_pub_end(c);
	free(src);
	free(dst);
	return 0;
}

const struct cmp_transport cmp_memcpy = {
    .name = "memcpy",
    .settings = "one memcpy() of the set within the publisher's process; no subscriber "
		"process",
    .in_process = true,
    .publisher = publisher,
};

/* SPDX-License-Identifier: MIT */
/*
 * The smallest complete subscriber: receives frames, checks their pixels
 * against the test pattern, and prints what it saw.
 *
 *     subscriber [TOPIC [FRAMES]]     (defaults: "example", 100)
 */
#include <stdio.h>
#include <stdlib.h>

#include <pixshare/pixshare.h>

int main(int argc, char **argv)
{
	const char *topic = argc > 1 ? argv[1] : "example";
	unsigned long wanted = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;

	struct px_subscriber *sub;
	struct px_subscriber_params params = {
		.topic = topic,
		.qos = PX_QOS_LATEST,
		.connect_timeout_ms = 5000, /* wait for the publisher to appear */
	};
	int ret = px_subscriber_create(&params, &sub);
	if (ret) {
		fprintf(stderr, "subscriber: %s\n", px_strerror(ret));
		return 1;
	}

	unsigned long frames = 0, bad = 0;
	while (frames < wanted) {
		struct px_frame *frame;
		ret = px_subscriber_receive(sub, &frame, 2000);
		if (ret) {
			fprintf(stderr, "receive: %s\n", px_strerror(ret));
			break;
		}
		/* The pixels are the publisher's buffers, mapped read-only. */
		for (uint32_t i = 0; i < frame->layout->n_images; i++) {
			const void *planes[PX_MAX_PLANES] = {px_frame_plane(frame, i, 0),
							     px_frame_plane(frame, i, 1)};
			struct px_pattern_params p = {.frame = frame->seq, .image_index = i,
						      .timestamp_ns = frame->images[i].timestamp_ns};
			if (px_pattern_verify(&frame->layout->images[i], planes, &p, NULL, 0))
				bad++;
		}
		frames++;
		px_frame_release(frame); /* the publisher may reuse the slot now */
	}

	struct px_subscriber_stats st;
	px_subscriber_get_stats(sub, &st);
	printf("%lu frames, %lu bad images, %llu dropped, mean latency %.1f us\n", frames, bad,
	       (unsigned long long)(st.dropped_publisher + st.dropped_superseded),
	       st.received ? (double)st.latency_sum_ns / (double)st.received / 1000.0 : 0.0);
	px_subscriber_destroy(sub);
	return ret || bad || !frames ? 1 : 0;
}

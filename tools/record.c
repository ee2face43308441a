/* SPDX-License-Identifier: MIT */
/*
 * pixshare record, play and info FILE (see docs/recording.md).
 *
 * record copies every frame from its CPU mapping into the file with one
 * writev() (the buffers as they lie, nothing converted); play reads each
 * record straight into a slot of its own pool where the layouts match, and
 * publishes it at the recorded publish time's offset from the first frame,
 * divided by --rate, with the recorded per-image metadata.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/record.h"
#include "tools/recording.h"
#include "tools/tool_util.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
/* Longest wait between two looks at the stop flag. */
#define MAX_WAIT_NS (200 * NS_PER_MS)
/* A frame published later than this after its time counts as late. */
#define LATE_NS NS_PER_MS
/* Further behind than this, play starts its clock afresh instead of
 * publishing a burst. */
#define BEHIND_NS NS_PER_S
/* The interval after the last frame of a loop when the recording has one
 * frame: 30 Hz. */
#define DEFAULT_PERIOD_NS (NS_PER_S / 30)
/* Longest wait at the end for frames still queued for subscribers. */
/* Chunks that info --frames hashes. */
#define HASH_CHUNK (4u << 20)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static double mb(uint64_t bytes)
{
	return (double)bytes / 1e6;
}

int record_run(const struct record_options *o)
{
	struct px_subscriber *sub = NULL;
	struct rec_writer w = {.fd = -1};
	struct rec_header h;
	struct px_topic_info info;
	struct samples writes = {0};
	struct drops d = {0};
	struct stat st;
	char summary[256];
	int ret, status = EXIT_FAIL;
	bool failed = false, oom = false;

	/* Before subscribing, so that a mistake costs no wait; the create
	 * below (O_EXCL) still refuses a file that appeared since. */
	if (!o->force && lstat(o->path, &st) == 0) {
		tool_error("%s exists (use --force to overwrite it)", o->path);
		return EXIT_FAIL;
	}
	catch_stop_signals();
	if (subscribe(o->topic, o->qos, o->queue_depth, 0, o->wait_ns, &sub))
		return EXIT_FAIL;
	const struct px_set_layout *layout = px_subscriber_get_layout(sub);
	if (!layout || px_subscriber_get_topic_info(sub, &info)) {
		tool_error("'%s': the publisher left before the first frame", o->topic);
		goto out;
	}
	if (info.unmapped) {
		tool_error("'%s': the pool's buffers have no CPU mapping here (device memory): "
			   "nothing to record",
			   o->topic);
		goto out;
	}
	memset(&h, 0, sizeof(h));
	struct timespec now_rt;
	clock_gettime(CLOCK_REALTIME, &now_rt);
	h.start_realtime_ns = (uint64_t)now_rt.tv_sec * NS_PER_S + (uint64_t)now_rt.tv_nsec;
	h.flags = info.dmabuf ? REC_DMABUF : 0;
	const char *alloc = px_allocator_name(info.allocator);
	snprintf(h.allocator, sizeof(h.allocator), "%s", alloc ? alloc : "unknown");
	snprintf(h.topic, sizeof(h.topic), "%s", o->topic);
	snprintf(h.description, sizeof(h.description), "%s", info.description);
	h.layout = *layout;
	if (rec_writer_open(&w, o->path, o->force, &h))
		goto out;
	if (!o->quiet)
		fprintf(stderr, "record %s: %s, %s, to %s\n", o->topic,
			layout_summary(layout, summary, sizeof(summary)), h.allocator, o->path);

	uint64_t frames = 0, first_ns = 0, last_ns = 0, start = px_now_ns();
	uint64_t tick = start + NS_PER_S, tick_bytes = w.offset, header_bytes = w.offset;
	uint64_t end = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	for (;;) {
		struct px_frame *f;
		ret = wait_frame(sub, MIN(tick, end), &f);
		if (ret == 0) {
			drops_count(&d, f);
			uint64_t t0 = px_now_ns();
			ret = rec_writer_frame(&w, f);
			px_frame_release(f);
			if (ret) {
				failed = true;
				break;
			}
			last_ns = px_now_ns();
			oom |= samples_add(&writes, last_ns - t0) < 0;
			if (!frames++)
				first_ns = t0;
			if (o->count && frames >= o->count)
				break;
		} else if (ret != -ETIMEDOUT) {
			break;
		}
		uint64_t now = px_now_ns();
		if (now >= tick) {
			struct px_subscriber_stats ss;
			px_subscriber_get_stats(sub, &ss);
			if (!o->quiet)
				fprintf(stderr,
					"record %s: %llu frames, %.1f MB, %.1f MB/s, drops: "
					"publisher %llu, superseded %llu, sequence gaps %llu\n",
					o->topic, (unsigned long long)frames,
					mb(w.offset - header_bytes),
					mb(w.offset - tick_bytes) / ns_to_s(now - tick + NS_PER_S),
					(unsigned long long)ss.dropped_publisher,
					(unsigned long long)ss.dropped_superseded,
					(unsigned long long)d.gaps);
			tick_bytes = w.offset;
			tick = now + NS_PER_S;
		}
		if (now >= end)
			break;
	}
	if (!failed)
		ret = o->count && frames >= o->count ? 0 : receive_end(ret);
	uint64_t bytes = w.offset - header_bytes;
	if (failed) {
		rec_writer_close(&w);
	} else if (rec_writer_finish(&w)) {
		failed = true;
	}
	if (oom)
		tool_error("out of memory: some samples are missing");
	double secs = frames ? ns_to_s(last_ns - first_ns) : 0;
	printf("recorded: %llu frames, %llu bytes (%.1f MB) in %.3f s to %s%s\n",
	       (unsigned long long)frames, (unsigned long long)bytes, mb(bytes), secs, o->path,
	       failed ? " (no index: the recording failed)" : "");
	if (secs > 0)
		printf("sustained: %.1f MB/s, %.2f frames/s (first frame received to last "
		       "written)\n",
		       mb(bytes) / secs, (double)(frames - 1) / secs);
	samples_sort(&writes);
	if (writes.n)
		printf("write per frame: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       (double)samples_percentile(&writes, 50) / 1e6,
		       (double)samples_percentile(&writes, 99) / 1e6,
		       (double)writes.v[writes.n - 1] / 1e6);
	drops_print(&d, sub);
	samples_finish(&writes);
	if (!frames && !failed && !ret)
		tool_error("no frames received");
	else if (!failed && !ret)
		status = EXIT_SUCCESS;
out:
	rec_writer_close(&w);
	px_subscriber_destroy(sub);
	return status;
}

/* Serves subscribers until `t` (CLOCK_MONOTONIC) or a stop signal. */
static int serve_until(struct px_publisher *pub, uint64_t t)
{
	for (;;) {
		uint64_t now = px_now_ns();
		if (stop_signal || now >= t)
			return 0;
		int ret = px_publisher_dispatch_until(pub, MIN(t, now + MAX_WAIT_NS));
		if (ret < 0) {
			tool_error("dispatch: %s", px_strerror(ret));
			return ret;
		}
	}
}

/* Where the layouts differ (an allocator that chose its own strides): each
 * image copied from the record's bytes in `data` row by row, compressed ones
 * by their bytes. */
static int convert_frame(const struct px_set_layout *from, const uint8_t *data,
			 const struct rec_frame *f, const struct px_slot *slot)
{
	const struct px_set_layout *to = slot->layout;
	uint64_t start[PX_MAX_BUFFERS], pos = 0;

	for (uint32_t b = 0; b < from->n_buffers; b++) {
		start[b] = pos;
		pos += f->lengths[b];
	}
	for (uint32_t i = 0; i < from->n_images; i++) {
		const struct px_image_layout *img = &from->images[i];
		if (!(f->valid_mask & (1u << i)))
			continue;
		const struct px_format_info *fi = px_format_get_info(img->fourcc);
		if (fi && fi->compressed) {
			const struct px_image_layout *dst = &to->images[i];
			uint64_t room =
			    to->buffer_sizes[dst->planes[0].buffer] - dst->planes[0].offset;
			if (f->images[i].bytes > room) {
				tool_error("frame %llu image %u: %llu bytes, more than the %llu "
					   "of this pool",
					   (unsigned long long)f->seq, i,
					   (unsigned long long)f->images[i].bytes,
					   (unsigned long long)room);
				return -ENOSPC;
			}
			memcpy(px_slot_plane(slot, i, 0),
			       data + start[img->planes[0].buffer] + img->planes[0].offset,
			       f->images[i].bytes);
			continue;
		}
		struct px_cpu_image src = {
		    .fourcc = img->fourcc, .width = img->width, .height = img->height};
		void *planes[PX_MAX_PLANES] = {NULL};
		for (uint32_t p = 0; p < img->n_planes; p++) {
			src.strides[p] = img->planes[p].stride;
			src.planes[p] =
			    (void *)(data + start[img->planes[p].buffer] + img->planes[p].offset);
			planes[p] = px_slot_plane(slot, i, p);
		}
		tool_capture_begin();
		int ret = px_image_write(&to->images[i], planes, &src, 0);
		const char *why = tool_capture_end(ret);
		if (ret) {
			tool_error("frame %llu image %u: %s", (unsigned long long)f->seq, i, why);
			return ret;
		}
	}
	return 0;
}

/* Reads frame `f`'s bytes into `slot`: straight into its buffers where the
 * layouts are the same, else through `scratch`. */
static int fill_slot(struct rec_reader *r, const struct rec_frame *f, const struct px_slot *slot,
		     bool same, uint8_t *scratch)
{
	const struct px_set_layout *l = &r->hdr.layout;
	uint64_t pos = f->data_offset, total = 0;
	int ret;

	if (!same) {
		for (uint32_t b = 0; b < l->n_buffers; b++)
			total += f->lengths[b];
		if ((ret = rec_reader_pread(r, scratch, total, pos)))
			return ret;
		return convert_frame(l, scratch, f, slot);
	}
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		if (f->lengths[b] &&
		    (ret = rec_reader_pread(r, slot->buffers[b].data, f->lengths[b], pos)))
			return ret;
		pos += f->lengths[b];
	}
	return 0;
}

int play_run(const struct play_options *o)
{
	struct rec_reader r = {.fd = -1};
	struct px_publisher *pub = NULL;
	uint8_t *scratch = NULL;
	char summary[256], description[64];
	int ret, status = EXIT_FAIL;

	if (rec_reader_open(&r, o->path))
		return EXIT_FAIL;
	if (!r.n_frames) {
		tool_error("%s: no whole frame to play", o->path);
		goto out;
	}
	if (o->start >= r.n_frames) {
		tool_error("--start %llu: %s has %llu frame%s (0 to %llu)",
			   (unsigned long long)o->start, o->path, (unsigned long long)r.n_frames,
			   r.n_frames == 1 ? "" : "s", (unsigned long long)(r.n_frames - 1));
		goto out;
	}
	struct px_set_layout packed;
	if (o->row_align) {
		struct px_image_desc descs[PX_MAX_IMAGES];
		for (uint32_t i = 0; i < r.hdr.layout.n_images; i++) {
			const struct px_image_layout *img = &r.hdr.layout.images[i];
			const struct px_format_info *fi = px_format_get_info(img->fourcc);
			if (fi && fi->compressed) {
				tool_error(
				    "--row-align: image %u is compressed (%s): it has no rows", i,
				    fi->name);
				goto out;
			}
			descs[i] = (struct px_image_desc){img->fourcc, img->width, img->height};
		}
		tool_capture_begin();
		ret = px_layout_init_packed(&packed, r.hdr.layout.n_images, descs, o->row_align,
					    PX_PACK_PER_IMAGE);
		const char *why = tool_capture_end(ret);
		if (ret) {
			tool_error("--row-align: %s", why);
			goto out;
		}
	}
	const char *base = strrchr(o->path, '/');
	snprintf(description, sizeof(description), "pixshare play %s", base ? base + 1 : o->path);
	struct px_publisher_params params = {
	    .topic = o->topic,
	    .dir = topic_dir,
	    .layout = o->row_align ? &packed : &r.hdr.layout,
	    .allocator = o->allocator,
	    .description = description,
	};
	tool_capture_begin();
	ret = px_publisher_create(&params, &pub);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("cannot publish '%s': %s", o->topic, why);
		goto out;
	}
	if (!px_publisher_is_mapped(pub)) {
		tool_error("'%s': the pool's buffers (%s) have no CPU mapping: the recording "
			   "cannot be copied into them",
			   o->topic, px_allocator_name(px_publisher_get_allocator(pub)));
		goto out;
	}
	const struct px_set_layout *layout = px_publisher_get_layout(pub);
	bool same = px_layout_equal(layout, &r.hdr.layout);
	if (!same && !(scratch = malloc(px_layout_slot_bytes(&r.hdr.layout)))) {
		tool_error("out of memory");
		goto out;
	}
	catch_stop_signals();
	if (!o->quiet)
		fprintf(stderr, "play %s: pid %d, %s: %llu frames of %s, %s%s, at %gx%s\n",
			o->topic, (int)getpid(), o->path, (unsigned long long)r.n_frames,
			layout_summary(layout, summary, sizeof(summary)),
			px_allocator_name(px_publisher_get_allocator(pub)),
			same ? "" : " (its own strides: copied row by row)", o->rate,
			o->loop ? ", looping" : "");

	ret = 0;
	while (o->wait_subscribers && !stop_signal) {
		struct px_publisher_stats st;
		px_publisher_get_stats(pub, &st);
		if (st.n_subscribers >= o->wait_subscribers)
			break;
		if ((ret = serve_until(pub, px_now_ns() + 10 * NS_PER_MS)))
			goto out;
	}

	uint64_t n = r.n_frames, i = o->start, published = 0, loops = 0, late = 0, restarts = 0;
	uint64_t max_late = 0, bytes = 0, tick_bytes = 0, tick_frames = 0;
	uint64_t base_ns = r.index[o->start].publish_ns, shift = 0, prev_rel = 0;
	uint64_t span =
	    r.index[n - 1].publish_ns > base_ns ? r.index[n - 1].publish_ns - base_ns : 0;
	/* A loop starts again one mean interval after its last frame. */
	uint64_t period = n - o->start > 1 ? span / (n - o->start - 1) : DEFAULT_PERIOD_NS;
	uint64_t t0 = px_now_ns(), first_ns = 0, last_ns = 0, tick = t0 + NS_PER_S;
	while (!stop_signal && (!o->count || published < o->count)) {
		if (i == n) {
			if (!o->loop)
				break;
			shift += span + period;
			i = o->start;
			loops++;
		}
		struct rec_frame f;
		if ((ret = rec_reader_frame(&r, i, &f)))
			break;
		struct px_slot *slot;
		while ((ret = px_publisher_acquire(pub, 200, &slot)) == -EAGAIN && !stop_signal)
			;
		if (ret == -EAGAIN) {
			ret = 0; /* stopped */
			break;
		}
		if (ret) {
			tool_error("acquire: %s", px_strerror(ret));
			break;
		}
		if ((ret = fill_slot(&r, &f, slot, same, scratch))) {
			px_publisher_cancel(pub, slot);
			break;
		}
		uint64_t rel = f.publish_ns > base_ns ? f.publish_ns - base_ns : 0;
		rel = (uint64_t)((double)(rel + shift) / o->rate);
		rel = MAX(rel, prev_rel); /* never back in time */
		prev_rel = rel;
		if (!published)
			t0 = px_now_ns() - rel; /* the clock starts with the first frame ready */
		if ((ret = serve_until(pub, t0 + rel)) || stop_signal) {
			px_publisher_cancel(pub, slot);
			break;
		}
		struct px_publish_info pi = {.valid_mask = f.valid_mask};
		memcpy(pi.images, f.images, sizeof(pi.images));
		tool_capture_begin();
		ret = px_publisher_publish(pub, slot, &pi);
		why = tool_capture_end(ret);
		if (ret) {
			tool_error("publish: %s", why);
			break;
		}
		uint64_t now = px_now_ns(), behind = now - (t0 + rel);
		if (behind > LATE_NS)
			late++;
		max_late = MAX(max_late, behind);
		if (behind > BEHIND_NS) {
			t0 += behind;
			restarts++;
		}
		if (!published++)
			first_ns = now;
		last_ns = now;
		for (uint32_t b = 0; b < r.hdr.layout.n_buffers; b++)
			bytes += f.lengths[b];
		i++;
		if (now >= tick) {
			struct px_publisher_stats st;
			px_publisher_get_stats(pub, &st);
			double dt = ns_to_s(now - tick + NS_PER_S);
			if (!o->quiet)
				fprintf(
				    stderr,
				    "play %s: %llu frames, %.1f Hz, %.1f MB/s, %u subscriber%s, "
				    "%llu late\n",
				    o->topic, (unsigned long long)published,
				    (double)(published - tick_frames) / dt,
				    mb(bytes - tick_bytes) / dt, st.n_subscribers,
				    st.n_subscribers == 1 ? "" : "s", (unsigned long long)late);
			tick = now + NS_PER_S;
			tick_bytes = bytes;
			tick_frames = published;
		}
	}
	if (ret == 0 && stop_signal && !o->quiet)
		fprintf(stderr, "play %s: stopped by signal %d\n", o->topic, (int)stop_signal);
	struct drain undelivered;
	publisher_drain(pub, ret ? 0 : DRAIN_NS, &undelivered);
	/* Read the releases still queued: a Unix socket closed with unread
	 * data resets its peer, which then loses the END message. */
	px_publisher_dispatch(pub, 0);
	struct px_publisher_stats st;
	px_publisher_get_stats(pub, &st);
	printf("played: %llu frames", (unsigned long long)published);
	if (published > 1 && last_ns > first_ns)
		printf(" in %.3f s (%.2f Hz)", ns_to_s(last_ns - first_ns),
		       (double)(published - 1) * 1e9 / (double)(last_ns - first_ns));
	printf(", %llu bytes (%.1f MB), from frame %llu of %s, %llu loop%s\n",
	       (unsigned long long)bytes, mb(bytes), (unsigned long long)o->start, o->path,
	       (unsigned long long)loops, loops == 1 ? "" : "s");
	printf("late: %llu frames more than 1 ms after their time (max %.3f ms), %llu restarts "
	       "of the clock\n",
	       (unsigned long long)late, (double)max_late / 1e6, (unsigned long long)restarts);
	printf("acquire waits: %llu, subscribers: %llu in all\n",
	       (unsigned long long)st.acquire_waits, (unsigned long long)st.subscribers_total);
	print_undelivered(&undelivered);
	if (!ret)
		status = EXIT_SUCCESS;
out:
	px_publisher_destroy(pub);
	free(scratch);
	rec_reader_close(&r);
	return status;
}

/* A 64-bit hash of bytes, for comparing recordings (not cryptographic):
 * FNV-1a's multiply over 8-byte words, then bytes. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	const uint64_t prime = 0x100000001b3ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * prime;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * prime;
	return h;
}

static int hash_frame(struct rec_reader *r, const struct rec_frame *f, uint8_t *buf, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ull, pos = f->data_offset,
		 left = f->size - (f->data_offset - f->offset);
	while (left) {
		size_t n = (size_t)MIN(left, (uint64_t)HASH_CHUNK);
		int ret = rec_reader_pread(r, buf, n, pos);
		if (ret)
			return ret;
		h = hash_bytes(h, buf, n);
		pos += n;
		left -= n;
	}
	*out = h;
	return 0;
}

static void print_frame_line(uint64_t i, const struct rec_frame *f, uint32_t n_images,
			     uint64_t hash)
{
	printf("frame %llu seq %llu publish_ns %llu valid 0x%x dropped %u hash %016llx ts",
	       (unsigned long long)i, (unsigned long long)f->seq, (unsigned long long)f->publish_ns,
	       f->valid_mask, f->dropped_before, (unsigned long long)hash);
	for (uint32_t k = 0; k < n_images; k++)
		printf("%c%llu", k ? ',' : ' ', (unsigned long long)f->images[k].timestamp_ns);
	printf(" seqs");
	for (uint32_t k = 0; k < n_images; k++)
		printf("%c%llu", k ? ',' : ' ', (unsigned long long)f->images[k].sequence);
	printf(" bytes");
	for (uint32_t k = 0; k < n_images; k++)
		printf("%c%llu", k ? ',' : ' ', (unsigned long long)f->images[k].bytes);
	printf("\n");
}

int recording_info(const char *path, bool frames)
{
	struct rec_reader r = {.fd = -1};
	uint8_t *buf = NULL;
	char bytes_s[64], when[64];
	int status = EXIT_FAIL;

	if (rec_reader_open(&r, path))
		return EXIT_FAIL;
	if (frames && !(buf = malloc(HASH_CHUNK))) {
		tool_error("out of memory");
		goto out;
	}
	/* Every record read and checked, for the counts below. */
	uint64_t data = 0, gaps = 0, dropped = 0, first_seq = 0, last_seq = 0;
	for (uint64_t i = 0; i < r.n_frames; i++) {
		struct rec_frame f;
		uint64_t hash = 0;
		if (rec_reader_frame(&r, i, &f) || (frames && hash_frame(&r, &f, buf, &hash)))
			goto out;
		data += f.size - (f.data_offset - f.offset);
		dropped += f.dropped_before;
		if (i && f.seq > last_seq + 1)
			gaps += f.seq - last_seq - 1;
		if (!i)
			first_seq = f.seq;
		last_seq = f.seq;
		if (frames)
			print_frame_line(i, &f, r.hdr.layout.n_images, hash);
	}
	if (frames) {
		status = EXIT_SUCCESS;
		goto out;
	}

	const struct px_set_layout *l = &r.hdr.layout;
	time_t t = (time_t)(r.hdr.start_realtime_ns / NS_PER_S);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(when, sizeof(when), "?");
	printf("recording:   %s (%s)\n", path, bytes_name(r.file_size, bytes_s, sizeof(bytes_s)));
	printf("format:      pixshare recording, version %u\n", r.hdr.version);
	printf("topic:       %s, published by \"%s\"\n", r.hdr.topic, r.hdr.description);
	printf("allocator:   %s (%s)\n", r.hdr.allocator,
	       r.hdr.flags & REC_DMABUF ? "dma-buf" : "not dma-buf");
	printf("started:     %s\n", when);
	printf("layout:      %u image%s in %u buffer%s, %s a set\n", l->n_images,
	       l->n_images == 1 ? "" : "s", l->n_buffers, l->n_buffers == 1 ? "" : "s",
	       bytes_name(px_layout_slot_bytes(l), bytes_s, sizeof(bytes_s)));
	print_layout(stdout, l, "  ");
	printf("frames:      %llu", (unsigned long long)r.n_frames);
	if (r.n_frames)
		printf(" (sequence %llu to %llu, %llu missing, %llu dropped by the publisher)",
		       (unsigned long long)first_seq, (unsigned long long)last_seq,
		       (unsigned long long)gaps, (unsigned long long)dropped);
	printf("\n");
	uint64_t span = r.n_frames > 1 && r.index[r.n_frames - 1].publish_ns > r.index[0].publish_ns
			    ? r.index[r.n_frames - 1].publish_ns - r.index[0].publish_ns
			    : 0;
	if (span)
		printf("duration:    %.3f s (first to last publish), %.2f Hz on average\n",
		       ns_to_s(span), (double)(r.n_frames - 1) / ns_to_s(span));
	else
		printf("duration:    0 s\n");
	printf("image bytes: %s", bytes_name(data, bytes_s, sizeof(bytes_s)));
	if (span)
		printf(", %.1f MB/s", mb(data) / ns_to_s(span));
	printf("\n");
	if (r.has_index)
		printf("index:       yes (%llu frames)\n", (unsigned long long)r.n_frames);
	else if (r.corrupt)
		printf("index:       none: unreadable after %llu whole frame%s (%llu bytes that "
		       "are no frame record follow)\n",
		       (unsigned long long)r.n_frames, r.n_frames == 1 ? "" : "s",
		       (unsigned long long)r.tail_bytes);
	else if (r.tail_bytes)
		printf("index:       none: cut short after %llu whole frame%s (%llu bytes of an "
		       "unfinished record follow)\n",
		       (unsigned long long)r.n_frames, r.n_frames == 1 ? "" : "s",
		       (unsigned long long)r.tail_bytes);
	else
		printf("index:       none: cut short after %llu whole frame%s (the recorder did "
		       "not finish)\n",
		       (unsigned long long)r.n_frames, r.n_frames == 1 ? "" : "s");
	status = EXIT_SUCCESS;
out:
	free(buf);
	rec_reader_close(&r);
	return status;
}

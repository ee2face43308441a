/* SPDX-License-Identifier: MIT */
/*
 * The recording file: encoding and decoding (see docs/recording.md for the
 * bytes). Integers are little-endian whatever the CPU; every length read is
 * checked against the file's size and the header's layout before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tools/recording.h"
#include "tools/tool_util.h"

#define REC_MAGIC "PXRECORD"
#define TRAILER_MAGIC "PXRECEND"
#define FRAME_TAG 0x52465850u	/* "PXFR" */
#define INDEX_TAG 0x58495850u	/* "PXIX" */
#define TRAILER_TAG 0x52545850u /* "PXTR" */

/* Fixed parts, in bytes. */
#define HEADER_FIXED 200
#define HEADER_IMAGE 88 /* per image: 24 + 4 planes × 16 */
#define FRAME_FIXED 48
#define FRAME_IMAGE 24
#define INDEX_FIXED 16
#define INDEX_ENTRY 16
#define TRAILER_SIZE 32
/* Most bytes of one record's fixed part: 16 images, 64 buffers. */
#define FRAME_HEAD_MAX (FRAME_FIXED + FRAME_IMAGE * PX_MAX_IMAGES + 8 * PX_MAX_BUFFERS)

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t header_size(uint32_t n_images, uint32_t n_buffers)
{
	return HEADER_FIXED + 8ull * n_buffers + (uint64_t)HEADER_IMAGE * n_images;
}

static uint64_t frame_head_size(const struct px_set_layout *l)
{
	return FRAME_FIXED + (uint64_t)FRAME_IMAGE * l->n_images + 8ull * l->n_buffers;
}

static bool is_compressed(uint32_t fourcc)
{
	const struct px_format_info *fi = px_format_get_info(fourcc);
	return fi && fi->compressed;
}

/* The bytes of buffer `b` a frame keeps: the whole buffer if any raw image
 * lies in it, else up to the end of its compressed images' bytes (0 when
 * none is present). */
static uint64_t kept_length(const struct px_set_layout *l, uint32_t b, uint32_t valid_mask,
			    const struct px_image_info *images)
{
	uint64_t len = 0;
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		for (uint32_t p = 0; p < img->n_planes; p++) {
			if (img->planes[p].buffer != b)
				continue;
			if (!is_compressed(img->fourcc))
				return l->buffer_sizes[b];
			if ((valid_mask & (1u << i)) &&
			    img->planes[p].offset + images[i].bytes > len)
				len = img->planes[p].offset + images[i].bytes;
		}
	}
	return len;
}

/* write() all of `iov`, through short writes and EINTR. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static int write_bytes(struct rec_writer *w, const void *p, size_t len)
{
	struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
	int ret = write_all(w->fd, &iov, 1);
	if (ret) {
		tool_error("writing %s: %s", w->path, strerror(-ret));
		return ret;
	}
	w->offset += len;
	return 0;
}

static void put_string(uint8_t *p, const char *s, size_t size)
{
	size_t len = strnlen(s, size - 1);
	memcpy(p, s, len);
}

int rec_writer_open(struct rec_writer *w, const char *path, bool force, const struct rec_header *h)
{
	const struct px_set_layout *l = &h->layout;
	uint8_t buf[HEADER_FIXED + 8 * PX_MAX_BUFFERS + HEADER_IMAGE * PX_MAX_IMAGES];

	memset(w, 0, sizeof(*w));
	w->path = path;
	w->layout = *l;
	w->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0666);
	if (w->fd < 0) {
		int ret = -errno;
		if (ret == -EEXIST)
			tool_error("%s exists (use --force to overwrite it)", path);
		else
			tool_error("cannot create %s: %s", path, strerror(-ret));
		return ret;
	}
	uint64_t size = header_size(l->n_images, l->n_buffers);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, REC_MAGIC, 8);
	put32(buf + 8, REC_VERSION);
	put32(buf + 12, (uint32_t)size);
	put32(buf + 16, l->n_images);
	put32(buf + 20, l->n_buffers);
	put32(buf + 24, h->flags);
	put64(buf + 32, h->start_realtime_ns);
	put_string(buf + 40, h->allocator, sizeof(h->allocator));
	put_string(buf + 56, h->topic, sizeof(h->topic));
	put_string(buf + 136, h->description, sizeof(h->description));
	uint8_t *p = buf + HEADER_FIXED;
	for (uint32_t b = 0; b < l->n_buffers; b++, p += 8)
		put64(p, l->buffer_sizes[b]);
	for (uint32_t i = 0; i < l->n_images; i++, p += HEADER_IMAGE) {
		const struct px_image_layout *img = &l->images[i];
		put32(p, img->fourcc);
		put32(p + 4, img->width);
		put32(p + 8, img->height);
		put32(p + 12, img->n_planes);
		put64(p + 16, img->modifier);
		for (uint32_t k = 0; k < img->n_planes; k++) {
			put32(p + 24 + 16 * k, img->planes[k].buffer);
			put32(p + 28 + 16 * k, img->planes[k].stride);
			put64(p + 32 + 16 * k, img->planes[k].offset);
		}
	}
	int ret = write_bytes(w, buf, size);
	if (ret)
		rec_writer_close(w);
	return ret;
}

int rec_writer_frame(struct rec_writer *w, const struct px_frame *f)
{
	const struct px_set_layout *l = &w->layout;
	uint8_t head[FRAME_HEAD_MAX];
	struct iovec iov[1 + PX_MAX_BUFFERS];
	int n = 1;

	if (!px_layout_equal(f->layout, l)) {
		tool_error("frame %llu: the layout changed while recording",
			   (unsigned long long)f->seq);
		return -EPROTO;
	}
	if (w->n == w->cap) {
		uint64_t cap = w->cap ? w->cap * 2 : 1024;
		struct rec_entry *v = realloc(w->index, cap * sizeof(*v));
		if (!v) {
			tool_error("out of memory");
			return -ENOMEM;
		}
		w->index = v;
		w->cap = cap;
	}
	uint64_t size = frame_head_size(l);
	memset(head, 0, sizeof(head));
	put32(head, FRAME_TAG);
	put32(head + 4, f->valid_mask);
	put64(head + 16, f->seq);
	put64(head + 24, f->publish_ns);
	put64(head + 32, f->receive_ns);
	put32(head + 40, f->dropped_before);
	uint8_t *p = head + FRAME_FIXED;
	for (uint32_t i = 0; i < l->n_images; i++, p += FRAME_IMAGE) {
		put64(p, f->images[i].timestamp_ns);
		put64(p + 8, f->images[i].sequence);
		put64(p + 16, f->images[i].bytes);
	}
	for (uint32_t b = 0; b < l->n_buffers; b++, p += 8) {
		uint64_t len = kept_length(l, b, f->valid_mask, f->images);
		if (len > f->buffers[b].size) {
			tool_error("frame %llu: buffer %u holds %llu bytes, not %llu",
				   (unsigned long long)f->seq, b,
				   (unsigned long long)f->buffers[b].size, (unsigned long long)len);
			return -EPROTO;
		}
		if (len && !f->buffers[b].data) {
			tool_error("frame %llu: buffer %u has no CPU mapping here (device "
				   "memory): nothing to record",
				   (unsigned long long)f->seq, b);
			return -ENODATA;
		}
		put64(p, len);
		size += len;
		if (len)
			iov[n++] =
			    (struct iovec){.iov_base = (void *)f->buffers[b].data, .iov_len = len};
	}
	put64(head + 8, size);
	iov[0] = (struct iovec){.iov_base = head, .iov_len = frame_head_size(l)};
	int ret = write_all(w->fd, iov, n);
	if (ret) {
		tool_error("writing %s: %s", w->path, strerror(-ret));
		return ret;
	}
	w->index[w->n++] = (struct rec_entry){.offset = w->offset, .publish_ns = f->publish_ns};
	w->offset += size;
	return 0;
}

int rec_writer_finish(struct rec_writer *w)
{
	uint8_t fixed[INDEX_FIXED], trailer[TRAILER_SIZE];
	uint8_t *entries = NULL;
	int ret = 0;

	if (w->n && !(entries = malloc(w->n * INDEX_ENTRY))) {
		tool_error("out of memory");
		ret = -ENOMEM;
		goto out;
	}
	uint64_t index_offset = w->offset;
	memset(fixed, 0, sizeof(fixed));
	put32(fixed, INDEX_TAG);
	put64(fixed + 8, w->n);
	for (uint64_t i = 0; i < w->n; i++) {
		put64(entries + i * INDEX_ENTRY, w->index[i].offset);
		put64(entries + i * INDEX_ENTRY + 8, w->index[i].publish_ns);
	}
	memset(trailer, 0, sizeof(trailer));
	put32(trailer, TRAILER_TAG);
	put64(trailer + 8, index_offset);
	put64(trailer + 16, w->n);
	memcpy(trailer + 24, TRAILER_MAGIC, 8);
	if ((ret = write_bytes(w, fixed, sizeof(fixed))) ||
	    (w->n && (ret = write_bytes(w, entries, w->n * INDEX_ENTRY))) ||
	    (ret = write_bytes(w, trailer, sizeof(trailer))))
		goto out;
	if (close(w->fd) < 0) {
		ret = -errno;
		tool_error("closing %s: %s", w->path, strerror(-ret));
	}
	w->fd = -1;
out:
	free(entries);
	rec_writer_close(w);
	return ret;
}

void rec_writer_close(struct rec_writer *w)
{
	if (w->fd >= 0 && w->path)
		close(w->fd);
	w->fd = -1;
	free(w->index);
	w->index = NULL;
	w->n = w->cap = 0;
}

int rec_reader_pread(struct rec_reader *r, void *dst, uint64_t len, uint64_t offset)
{
	uint8_t *p = dst;
	while (len) {
		ssize_t n = pread(r->fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;
			tool_error("reading %s: %s", r->path, strerror(-ret));
			return ret;
		}
		if (n == 0) {
			tool_error("reading %s: it ends at byte %llu, before what its records say",
				   r->path, (unsigned long long)offset);
			return -EIO;
		}
		p += n;
		len -= (uint64_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

/* A string field: NUL-terminated within its size. */
static int get_string(char *dst, const uint8_t *p, size_t size)
{
	if (!memchr(p, '\0', size))
		return -EINVAL;
	memcpy(dst, p, size);
	return 0;
}

static int read_header(struct rec_reader *r)
{
	uint8_t buf[HEADER_FIXED + 8 * PX_MAX_BUFFERS + HEADER_IMAGE * PX_MAX_IMAGES];
	struct rec_header *h = &r->hdr;
	struct px_set_layout *l = &h->layout;
	char why[256];

	memset(buf, 0, sizeof(buf));
	uint64_t have = r->file_size < sizeof(buf) ? r->file_size : sizeof(buf);
	int ret = rec_reader_pread(r, buf, have, 0);
	if (ret)
		return ret;
	if (have < 16 || memcmp(buf, REC_MAGIC, 8)) {
		if (have >= 8 && !memcmp(buf, REC_MAGIC, 8)) {
			tool_error("%s: cut short in its header (%llu bytes)", r->path,
				   (unsigned long long)have);
			return -EIO;
		}
		tool_error("%s: not a pixshare recording (no %s signature)", r->path, REC_MAGIC);
		return -EINVAL;
	}
	h->version = get32(buf + 8);
	if (h->version != REC_VERSION) {
		tool_error("%s: format version %u; this pixshare reads version %u", r->path,
			   h->version, REC_VERSION);
		return -ENOTSUP;
	}
	if (have < HEADER_FIXED) {
		tool_error("%s: cut short in its header (%llu of %u bytes)", r->path,
			   (unsigned long long)have, HEADER_FIXED);
		return -EIO;
	}
	memset(l, 0, sizeof(*l));
	l->n_images = get32(buf + 16);
	l->n_buffers = get32(buf + 20);
	if (l->n_images < 1 || l->n_images > PX_MAX_IMAGES || l->n_buffers < 1 ||
	    l->n_buffers > PX_MAX_BUFFERS) {
		tool_error("%s: bad header: %u images in %u buffers", r->path, l->n_images,
			   l->n_buffers);
		return -EINVAL;
	}
	h->size = header_size(l->n_images, l->n_buffers);
	if (get32(buf + 12) != h->size) {
		tool_error("%s: bad header: %u bytes for %u images in %u buffers, not %llu",
			   r->path, get32(buf + 12), l->n_images, l->n_buffers,
			   (unsigned long long)h->size);
		return -EINVAL;
	}
	if (r->file_size < h->size) {
		tool_error("%s: cut short in its header (%llu of %llu bytes)", r->path,
			   (unsigned long long)r->file_size, (unsigned long long)h->size);
		return -EIO;
	}
	h->flags = get32(buf + 24);
	h->start_realtime_ns = get64(buf + 32);
	if (get_string(h->allocator, buf + 40, sizeof(h->allocator)) ||
	    get_string(h->topic, buf + 56, sizeof(h->topic)) ||
	    get_string(h->description, buf + 136, sizeof(h->description))) {
		tool_error("%s: bad header: a name without its terminating NUL", r->path);
		return -EINVAL;
	}
	const uint8_t *p = buf + HEADER_FIXED;
	for (uint32_t b = 0; b < l->n_buffers; b++, p += 8)
		l->buffer_sizes[b] = get64(p);
	for (uint32_t i = 0; i < l->n_images; i++, p += HEADER_IMAGE) {
		struct px_image_layout *img = &l->images[i];
		img->fourcc = get32(p);
		img->width = get32(p + 4);
		img->height = get32(p + 8);
		img->n_planes = get32(p + 12);
		img->modifier = get64(p + 16);
		if (img->n_planes > PX_MAX_PLANES) {
			tool_error("%s: bad header: image %u has %u planes", r->path, i,
				   img->n_planes);
			return -EINVAL;
		}
		for (uint32_t k = 0; k < img->n_planes; k++) {
			img->planes[k].buffer = get32(p + 24 + 16 * k);
			img->planes[k].stride = get32(p + 28 + 16 * k);
			img->planes[k].offset = get64(p + 32 + 16 * k);
		}
	}
	tool_capture_begin();
	ret = px_layout_validate(l, why, sizeof(why));
	tool_capture_end(0);
	if (ret) {
		tool_error("%s: bad layout in its header: %s", r->path, why);
		return -EINVAL;
	}
	return 0;
}

/* Decodes a record's fixed part (`head`, frame_head_size() bytes) at
 * `offset`, checking it against the layout; the bytes it says follow are
 * not checked against the file here. 0 or -EINVAL (with `why`). */
static int decode_frame(const struct rec_reader *r, const uint8_t *head, uint64_t offset,
			struct rec_frame *f, char *why, size_t why_size)
{
	const struct px_set_layout *l = &r->hdr.layout;
	uint32_t all = (1u << l->n_images) - 1;

	memset(f, 0, sizeof(*f));
	if (get32(head) != FRAME_TAG) {
		snprintf(why, why_size, "no frame record at byte %llu", (unsigned long long)offset);
		return -EINVAL;
	}
	f->offset = offset;
	f->valid_mask = get32(head + 4);
	f->size = get64(head + 8);
	f->seq = get64(head + 16);
	f->publish_ns = get64(head + 24);
	f->receive_ns = get64(head + 32);
	f->dropped_before = get32(head + 40);
	if (f->valid_mask & ~all) {
		snprintf(why, why_size, "frame at byte %llu: valid mask 0x%x for %u images",
			 (unsigned long long)offset, f->valid_mask, l->n_images);
		return -EINVAL;
	}
	const uint8_t *p = head + FRAME_FIXED;
	for (uint32_t i = 0; i < l->n_images; i++, p += FRAME_IMAGE) {
		f->images[i].timestamp_ns = get64(p);
		f->images[i].sequence = get64(p + 8);
		f->images[i].bytes = get64(p + 16);
		const struct px_image_layout *img = &l->images[i];
		uint64_t room = is_compressed(img->fourcc)
				    ? l->buffer_sizes[img->planes[0].buffer] - img->planes[0].offset
				    : 0;
		bool present = f->valid_mask & (1u << i);
		uint64_t bytes = f->images[i].bytes;
		if (room && present ? bytes < 1 || bytes > room : bytes != 0) {
			snprintf(why, why_size, "frame at byte %llu: image %u: %llu bytes",
				 (unsigned long long)offset, i, (unsigned long long)bytes);
			return -EINVAL;
		}
	}
	uint64_t size = frame_head_size(l);
	f->data_offset = offset + size;
	for (uint32_t b = 0; b < l->n_buffers; b++, p += 8) {
		f->lengths[b] = get64(p);
		if (f->lengths[b] != kept_length(l, b, f->valid_mask, f->images)) {
			snprintf(why, why_size,
				 "frame at byte %llu: %llu bytes of buffer %u, not %llu",
				 (unsigned long long)offset, (unsigned long long)f->lengths[b], b,
				 (unsigned long long)kept_length(l, b, f->valid_mask, f->images));
			return -EINVAL;
		}
		if (__builtin_add_overflow(size, f->lengths[b], &size)) {
			snprintf(why, why_size, "frame at byte %llu: its buffers overflow",
				 (unsigned long long)offset);
			return -EINVAL;
		}
	}
	if (f->size != size) {
		snprintf(why, why_size, "frame at byte %llu: record of %llu bytes, not %llu",
			 (unsigned long long)offset, (unsigned long long)f->size,
			 (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

static int add_entry(struct rec_reader *r, uint64_t *cap, uint64_t offset, uint64_t publish_ns)
{
	if (r->n_frames == *cap) {
		uint64_t n = *cap ? *cap * 2 : 1024;
		struct rec_entry *v = realloc(r->index, n * sizeof(*v));
		if (!v) {
			tool_error("out of memory");
			return -ENOMEM;
		}
		r->index = v;
		*cap = n;
	}
	r->index[r->n_frames++] = (struct rec_entry){offset, publish_ns};
	return 0;
}

/* No index: the records from the start, as far as they are whole. */
static int scan(struct rec_reader *r)
{
	uint8_t head[FRAME_HEAD_MAX];
	uint64_t head_size = frame_head_size(&r->hdr.layout);
	uint64_t offset = r->hdr.size, cap = 0;
	struct rec_frame f;
	char why[160];
	int ret;

	while (offset + head_size <= r->file_size) {
		if ((ret = rec_reader_pread(r, head, head_size, offset)))
			return ret;
		if (get32(head) == INDEX_TAG)
			break; /* an index being written */
		if (decode_frame(r, head, offset, &f, why, sizeof(why))) {
			r->corrupt = true;
			break;
		}
		if (f.size > r->file_size - offset)
			break; /* cut short */
		if ((ret = add_entry(r, &cap, offset, f.publish_ns)))
			return ret;
		offset += f.size;
	}
	r->frames_end = offset;
	r->tail_bytes = r->file_size - offset;
	return 0;
}

/* The index, where the trailer locates a sound one: 1 if found, 0 if not. */
static int read_index(struct rec_reader *r)
{
	uint8_t trailer[TRAILER_SIZE], fixed[INDEX_FIXED];

	if (r->file_size < r->hdr.size + INDEX_FIXED + TRAILER_SIZE)
		return 0;
	int ret = rec_reader_pread(r, trailer, TRAILER_SIZE, r->file_size - TRAILER_SIZE);
	if (ret)
		return ret;
	if (get32(trailer) != TRAILER_TAG || memcmp(trailer + 24, TRAILER_MAGIC, 8))
		return 0;
	uint64_t index_offset = get64(trailer + 8), n = get64(trailer + 16);
	uint64_t room = r->file_size - TRAILER_SIZE;
	if (index_offset < r->hdr.size || index_offset > room - INDEX_FIXED ||
	    n > (room - index_offset - INDEX_FIXED) / INDEX_ENTRY ||
	    index_offset + INDEX_FIXED + n * INDEX_ENTRY != room)
		return 0;
	if ((ret = rec_reader_pread(r, fixed, INDEX_FIXED, index_offset)))
		return ret;
	if (get32(fixed) != INDEX_TAG || get64(fixed + 8) != n)
		return 0;
	uint8_t *entries = malloc(n ? n * INDEX_ENTRY : 1);
	struct rec_entry *index = malloc(n ? n * sizeof(*index) : 1);
	if (!entries || !index) {
		free(entries);
		free(index);
		tool_error("out of memory");
		return -ENOMEM;
	}
	if (n &&
	    (ret = rec_reader_pread(r, entries, n * INDEX_ENTRY, index_offset + INDEX_FIXED))) {
		free(entries);
		free(index);
		return ret;
	}
	/* The first record follows the header; each later one lies after the
	 * one before and before the index. Their sizes are checked as they are
	 * read (rec_reader_frame()). */
	uint64_t min = r->hdr.size, head = frame_head_size(&r->hdr.layout);
	for (uint64_t i = 0; i < n; i++) {
		index[i].offset = get64(entries + i * INDEX_ENTRY);
		index[i].publish_ns = get64(entries + i * INDEX_ENTRY + 8);
		if ((i == 0 && index[i].offset != min) || index[i].offset < min ||
		    index[i].offset > index_offset - head) {
			free(entries);
			free(index);
			return 0;
		}
		min = index[i].offset + head;
	}
	free(entries);
	r->index = index;
	r->n_frames = n;
	r->frames_end = index_offset;
	r->has_index = true;
	return 1;
}

int rec_reader_open(struct rec_reader *r, const char *path)
{
	struct stat st;
	int ret;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		ret = -errno;
		tool_error("cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(r->fd, &st) < 0) {
		ret = -errno;
		tool_error("%s: %s", path, strerror(-ret));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		tool_error("%s: not a regular file", path);
		goto fail;
	}
	r->file_size = (uint64_t)st.st_size;
	if ((ret = read_header(r)))
		goto fail;
	if ((ret = read_index(r)) < 0)
		goto fail;
	if (ret == 0 && (ret = scan(r)))
		goto fail;
	return 0;
fail:
	rec_reader_close(r);
	return ret;
}

int rec_reader_frame(struct rec_reader *r, uint64_t i, struct rec_frame *f)
{
	uint8_t head[FRAME_HEAD_MAX];
	uint64_t head_size = frame_head_size(&r->hdr.layout);
	char why[160];
	int ret;

	if (i >= r->n_frames)
		return -EINVAL;
	uint64_t offset = r->index[i].offset;
	uint64_t end = i + 1 < r->n_frames ? r->index[i + 1].offset : r->frames_end;
	if ((ret = rec_reader_pread(r, head, head_size, offset)))
		return ret;
	if (decode_frame(r, head, offset, f, why, sizeof(why))) {
		tool_error("%s: %s", r->path, why);
		return -EINVAL;
	}
	if (f->size > end - offset) {
		tool_error("%s: frame %llu at byte %llu: %llu bytes, past the next record", r->path,
			   (unsigned long long)i, (unsigned long long)offset,
			   (unsigned long long)f->size);
		return -EINVAL;
	}
	return 0;
}

void rec_reader_close(struct rec_reader *r)
{
	if (r->fd >= 0 && r->path)
		close(r->fd);
	r->fd = -1;
	free(r->index);
	r->index = NULL;
	r->n_frames = 0;
}

bool rec_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

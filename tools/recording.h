/* SPDX-License-Identifier: MIT */
/*
 * The pixshare recording file (docs/recording.md): a header with the set's
 * layout, one record per frame with its metadata and the bytes of its
 * buffers, and an index with a trailer that locates it. Written by
 * `pixshare record`, read by `pixshare play` and `pixshare info FILE`.
 * Private to the tool, not part of the library.
 *
 * Every function that fails prints one line through tool_error(), naming the
 * file, and returns a negative errno. Every fd is CLOEXEC and closed by
 * rec_writer_close() / rec_reader_close() (no-ops on zeroed structs). Not
 * thread-safe: one thread per writer or reader.
 */
#ifndef PX_TOOLS_RECORDING_H
#define PX_TOOLS_RECORDING_H

#include <stdbool.h>
#include <stdint.h>

#include <pixshare/pixshare.h>

#define REC_VERSION 1
/* Header flags. */
#define REC_DMABUF (1u << 0) /* the recorded pool was dma-bufs */

/* The file's header, as read or to be written. */
struct rec_header {
	uint32_t version;
	uint32_t flags;		    /* REC_* */
	uint64_t start_realtime_ns; /* CLOCK_REALTIME when recording began */
	char allocator[16];	    /* the recorded pool's allocator, NUL-terminated */
	char topic[80];
	char description[64];
	struct px_set_layout layout;
	uint64_t size; /* bytes on file (read only): the first record follows */
};

/* One frame record, without its image bytes. */
struct rec_frame {
	uint64_t offset; /* of the record in the file */
	uint64_t size;	 /* of the whole record */
	uint64_t seq, publish_ns, receive_ns;
	uint32_t valid_mask, dropped_before;
	struct px_image_info images[PX_MAX_IMAGES];
	/* Bytes kept of each buffer: its whole size, or for a buffer that
	 * holds only compressed images, up to the end of their bytes. */
	uint64_t lengths[PX_MAX_BUFFERS];
	uint64_t data_offset; /* in the file: buffer 0's bytes, then 1's … */
};

/* Where each frame is. */
struct rec_entry {
	uint64_t offset, publish_ns;
};

struct rec_writer {
	int fd; /* -1: none */
	const char *path;
	struct px_set_layout layout;
	uint64_t offset; /* bytes written */
	struct rec_entry *index;
	uint64_t n, cap;
};

/*
 * Creates `path` (O_EXCL unless `force`, which truncates an existing file)
 * and writes the header. 0 or a negative errno (said).
 */
int rec_writer_open(struct rec_writer *w, const char *path, bool force, const struct rec_header *h);
/* Appends one frame, read from its CPU mapping: one writev(). Its layout
 * must be the header's. 0 or a negative errno (said). */
int rec_writer_frame(struct rec_writer *w, const struct px_frame *f);
/* Writes the index and the trailer and closes the file: 0 or a negative
 * errno (said). The writer is closed either way. */
int rec_writer_finish(struct rec_writer *w);
/* Closes without an index (after a failure). */
void rec_writer_close(struct rec_writer *w);

struct rec_reader {
	int fd; /* -1: none */
	const char *path;
	uint64_t file_size;
	struct rec_header hdr;
	struct rec_entry *index; /* n_frames entries */
	uint64_t n_frames;
	bool has_index; /* the trailer and index were found and sound */
	/* Without an index: the file ends after the last whole frame by
	 * `tail_bytes` bytes that are no whole record (a frame cut short, or
	 * an index being written), `corrupt` if they do not even start like
	 * one. */
	uint64_t frames_end, tail_bytes;
	bool corrupt;
};

/*
 * Opens a recording and reads its header, then its index, or where there is
 * none (a recorder that was killed) finds the whole frames by reading the
 * records from the start. 0 or a negative errno (said: not a recording, a
 * version this tool does not read, a header cut short, …).
 */
int rec_reader_open(struct rec_reader *r, const char *path);
/* Reads and checks frame `i`'s record (not its bytes). 0 or a negative errno
 * (said). */
int rec_reader_frame(struct rec_reader *r, uint64_t i, struct rec_frame *f);
/* Reads `len` bytes at `offset` of the file into `dst`. 0 or a negative
 * errno (said; -EIO for a file that ended). */
int rec_reader_pread(struct rec_reader *r, void *dst, uint64_t len, uint64_t offset);
void rec_reader_close(struct rec_reader *r);

/* Whether `path` names an existing regular file (what `info` reads as a
 * recording rather than a topic). */
bool rec_is_file(const char *path);

#endif

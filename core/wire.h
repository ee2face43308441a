/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between a publisher and its subscribers.
 *
 * One SOCK_SEQPACKET connection per subscriber; one message per packet. Both
 * ends run on the same host, so fields are in native byte order. Every message
 * starts with px_wire_header; its `length` must equal the packet's length and
 * the fixed size of its type. Receivers validate every field before use and
 * close the connection on the first malformed message.
 *
 *   subscriber                     publisher
 *   HELLO            ------------>
 *                    <------------ WELCOME (layout, pool, Vulkan export) | REFUSE (errno, text)
 *                    <------------ BUFFERS (fds first..first+count-1, SCM_RIGHTS)
 *   BUFFERS_ACK(next) ------------>   ... until next == pool_size × n_buffers
 *                    <------------ FRAME (slot, seq, times, mask)
 *                    <------------ FRAME (…, optional sync_file: wait before reading)
 *   RELEASE(slot,seq) ------------>   (optional sync_file: the slot is busy until it signals)
 *                    <------------ END (reason) before the publisher goes away
 *
 * A HELLO with PX_HELLO_QUERY asks only for WELCOME and STATS, after which the
 * publisher closes the connection.
 */
#ifndef PX_CORE_WIRE_H
#define PX_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <pixshare/layout.h>
#include <pixshare/publisher.h>

#define PX_WIRE_MAGIC 0x53584950u /* "PIXS" */
#define PX_WIRE_VERSION 4u /* 2: WELCOME carries a Vulkan export; 3: READ_ONLY; 4: GROW, SHRINK */
/* Most fds in one BUFFERS message (well under the kernel's SCM_MAX_FD). */
#define PX_WIRE_MAX_FDS 32
/* Room a receiver's fd array needs (more than accepted, to see an excess). */
#define PX_WIRE_FD_ROOM (PX_WIRE_MAX_FDS + 8)
/* Largest message of any type; a packet longer than this is malformed. */
#define PX_WIRE_MAX_SIZE 4096

enum px_wire_type {
	PX_MSG_HELLO = 1,
	PX_MSG_WELCOME = 2,
	PX_MSG_BUFFERS = 3,
	PX_MSG_BUFFERS_ACK = 4,
	PX_MSG_FRAME = 5,
	PX_MSG_RELEASE = 6,
	PX_MSG_END = 7,
	PX_MSG_REFUSE = 8,
	PX_MSG_STATS = 9,
	PX_MSG_GROW = 10,
	PX_MSG_SHRINK = 11,
};

struct px_wire_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length; /* of the whole message, header included */
	uint32_t flags;  /* per type; unknown bits are an error */
};

#define PX_HELLO_QUERY (1u << 0)

struct px_wire_hello {
	struct px_wire_header hdr;
	uint32_t qos;         /* enum px_qos */
	uint32_t queue_depth; /* PX_QOS_QUEUE: 1..PX_MAX_SLOTS, else 0 */
	uint32_t max_leases;  /* 0: the publisher's limit */
	uint32_t reserved;    /* 0 */
	char name[32];        /* NUL-terminated within the array */
};

struct px_wire_plane {
	uint32_t buffer;
	uint32_t stride;
	uint64_t offset;
};

struct px_wire_image {
	uint32_t fourcc;
	uint32_t width;
	uint32_t height;
	uint32_t n_planes;
	uint64_t modifier;
	struct px_wire_plane planes[PX_MAX_PLANES];
};

struct px_wire_layout {
	uint32_t n_images;
	uint32_t n_buffers;
	uint64_t buffer_sizes[PX_MAX_BUFFERS];
	struct px_wire_image images[PX_MAX_IMAGES];
};

/* WELCOME flags. */
#define PX_WELCOME_DMABUF (1u << 0) /* the buffers are dma-bufs */
#define PX_WELCOME_VULKAN (1u << 1) /* `vulkan` describes a Vulkan opaque-fd export */
/* The publisher has no CPU mapping of its buffers (device memory): do not map
 * them. With PX_WELCOME_DMABUF or PX_WELCOME_VULKAN only (else nothing could
 * read them). */
#define PX_WELCOME_UNMAPPED (1u << 2)
/* Every fd subscribers receive is read-only for them: dma-bufs opened
 * O_RDONLY, memfds sealed against writes (px_fd_read_only()). Subscribers
 * check it of each fd. */
#define PX_WELCOME_READ_ONLY (1u << 3)

/* struct px_vulkan_export on the wire; all 0 without PX_WELCOME_VULKAN. */
struct px_wire_vulkan {
	uint8_t device_uuid[16];
	uint8_t driver_uuid[16];
	uint32_t memory_type;  /* < 32 */
	uint32_t buffer_usage; /* not 0 */
	uint32_t dedicated;    /* 0 or 1 */
	uint32_t reserved;     /* 0 */
	/* Per buffer; 0 from layout.n_buffers on. */
	uint64_t allocation_size[PX_MAX_BUFFERS];
	uint64_t offset[PX_MAX_BUFFERS];
	uint64_t buffer_size[PX_MAX_BUFFERS];
};

struct px_wire_welcome {
	struct px_wire_header hdr; /* flags: PX_WELCOME_* */
	uint32_t pool_size;        /* 1..PX_MAX_SLOTS */
	uint32_t max_leases;       /* granted: 1..PX_MAX_LEASES */
	uint32_t allocator;        /* enum px_allocator_type, not AUTO */
	int32_t pid;
	uint64_t session;          /* random per publisher instance */
	uint64_t device;           /* dev_t of the DRM device allocated on, or 0 */
	char description[64];      /* NUL-terminated within the array */
	struct px_wire_layout layout;
	struct px_wire_vulkan vulkan;
};

struct px_wire_buffers {
	struct px_wire_header hdr;
	uint32_t first; /* index of the first fd: slot × n_buffers + buffer */
	uint32_t count; /* fds attached: 1..PX_WIRE_MAX_FDS */
};

struct px_wire_buffers_ack {
	struct px_wire_header hdr;
	uint32_t next; /* fds received so far */
	uint32_t reserved;
};

/* GROW (BUFFERS with the new slots' fds follow) and SHRINK (the slots from
 * pool_size on are retired): the pool's new size. */
struct px_wire_resize {
	struct px_wire_header hdr;
	uint32_t pool_size;
	uint32_t reserved;
};

struct px_wire_frame_image {
	uint64_t timestamp_ns;
	uint64_t sequence;
	uint64_t bytes; /* compressed images: the frame's bytes; else 0 */
};

/* FRAME flags. */
#define PX_FRAME_FENCE (1u << 0)  /* one sync_file attached: wait before reading */
#define PX_FRAME_REPLAY (1u << 1) /* published before the subscriber joined */

struct px_wire_frame {
	struct px_wire_header hdr;
	uint32_t slot;
	uint32_t valid_mask;
	uint64_t seq;
	uint64_t publish_ns;
	uint32_t dropped_before;
	uint32_t n_images;
	struct px_wire_frame_image images[PX_MAX_IMAGES];
};

/* RELEASE flags. */
#define PX_RELEASE_FENCE (1u << 0) /* one sync_file attached: the slot is in use until it signals  \
				    */

struct px_wire_release {
	struct px_wire_header hdr;
	uint32_t slot;
	uint32_t reserved;
	uint64_t seq;
};

/* END (the stream ends) and REFUSE (HELLO refused) share a shape. */
struct px_wire_end {
	struct px_wire_header hdr;
	int32_t error; /* negative errno, or 0 for a normal end */
	uint32_t reserved;
	char text[120]; /* NUL-terminated within the array */
};

struct px_wire_stats {
	struct px_wire_header hdr;
	uint64_t published;
	uint64_t acquire_waits;
	uint64_t acquire_timeouts;
	uint64_t subscribers_total;
	uint64_t refused;
	uint64_t protocol_errors;
	uint64_t uptime_ns;
	uint64_t rate_mhz; /* publish rate in millihertz */
	uint32_t n_subscribers;
	uint32_t free_slots;
};

/* Fills a header for a message of `type` and `length` bytes. */
void px_wire_header_init(struct px_wire_header *hdr, enum px_wire_type type, uint32_t length,
			 uint32_t flags);

/*
 * Sends one message with optional fds, without blocking and without SIGPIPE.
 * Returns 0, -EAGAIN if the socket is full, or another negative errno.
 */
int px_wire_send(int sock, const void *msg, size_t len, const int *fds, int n_fds);

/*
 * Receives one message into `buf` (PX_WIRE_MAX_SIZE bytes) with up to
 * `max_fds` fds (received CLOEXEC into `fds`, which has PX_WIRE_FD_ROOM
 * entries; count in `*n_fds`). Returns the
 * message length, 0 on orderly hang-up (or a packet of 0 bytes, which reads
 * the same), -EAGAIN if nothing is pending, -EMSGSIZE for a message longer
 * than PX_WIRE_MAX_SIZE, -ETOOMANYREFS for more than `max_fds` fds, -EBADMSG
 * for control data other than SCM_RIGHTS, or another negative errno. Unless
 * it returns a length, every fd received is closed and `*n_fds` is 0.
 * Does not validate the contents.
 */
int px_wire_recv(int sock, void *buf, int *fds, int max_fds, int *n_fds);

/* Messages one recvmmsg() of px_wire_recv_next() takes at most. */
#define PX_WIRE_BATCH 8

/* Messages received together, handed out one at a time. About 34 KB: a
 * reader allocates one and keeps it. Zeroed, it is empty. */
struct px_wire_batch {
	unsigned count, next; /* received, handed out */
	bool drained;	      /* the last refill emptied the socket's queue */
	struct mmsghdr hdrs[PX_WIRE_BATCH];
	struct iovec iov[PX_WIRE_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int) * PX_WIRE_FD_ROOM)];
		struct cmsghdr align;
	} ctrl[PX_WIRE_BATCH];
	_Alignas(16) unsigned char data[PX_WIRE_BATCH][PX_WIRE_MAX_SIZE];
};

/*
 * The next message of `sock`, as px_wire_recv() receives it (the same
 * returns; `*buf` points into the batch until the next call), from up to
 * PX_WIRE_BATCH messages that one recvmmsg() took when the batch was empty.
 * A refill that took fewer emptied the socket's queue: once its messages are
 * taken, the next call returns -EAGAIN without a system call (and the one
 * after refills), so that reading what is pending costs one system call, not
 * a last one that finds nothing; what comes meanwhile leaves the socket
 * readable for the caller's next wait. Messages not taken must be dropped
 * (px_wire_batch_drop()) before the batch reads another socket.
 */
int px_wire_recv_next(int sock, struct px_wire_batch *b, const void **buf, int *fds, int max_fds,
		      int *n_fds);

/* Closes the fds of the messages not taken and empties the batch. */
void px_wire_batch_drop(struct px_wire_batch *b);

/*
 * Validates a received message: header magic, version, type, length equal to
 * the packet length and to the type's size, known flags, and every field of
 * the type's body. `expect_fds` is the number of fds that came with it: only
 * BUFFERS carries fds (exactly `count`). Returns 0, or -EPROTO with the reason
 * in `why`.
 */
int px_wire_validate(const void *buf, size_t len, int n_fds, char *why, size_t why_size);

/* Converts between a layout and its wire form. decode validates fully
 * (px_layout_validate) and fails with -EPROTO and a reason. */
void px_wire_encode_layout(struct px_wire_layout *w, const struct px_set_layout *l);
int px_wire_decode_layout(const struct px_wire_layout *w, struct px_set_layout *l, char *why,
			  size_t why_size);

/*
 * Checks a Vulkan export against the layout of its pool: memory type and
 * usage, and per buffer of the layout an allocation, a VkBuffer no larger,
 * an offset at or before every plane of the buffer, and the VkBuffer
 * reaching the layout's buffer size. Returns 0 or -EINVAL with the reason.
 */
int px_vulkan_export_check(const struct px_vulkan_export *v, const struct px_set_layout *l,
			   char *why, size_t why_size);

/* Converts between a Vulkan export and its wire form. decode checks it
 * (px_vulkan_export_check(), and zeroes past the layout's buffers) and fails
 * with -EPROTO and a reason. */
void px_wire_encode_vulkan(struct px_wire_vulkan *w, const struct px_vulkan_export *v,
			   uint32_t n_buffers);
int px_wire_decode_vulkan(const struct px_wire_vulkan *w, const struct px_set_layout *l,
			  struct px_vulkan_export *v, char *why, size_t why_size);

/* Size in bytes of a message of this type, or 0 for an unknown type. */
size_t px_wire_size(uint16_t type);

#endif

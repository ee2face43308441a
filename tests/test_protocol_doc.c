/* SPDX-License-Identifier: MIT */
/*
 * docs/protocol.md against core/wire.h, so that the two cannot drift: the
 * document's `constants` block, its table of message types (value and size)
 * and every field table (a "Struct: `name`, N bytes." line followed by rows
 * "| offset | size | `field` | ...") must match the constants, sizeof and
 * offsetof here. The first mismatch fails the test, named.
 *
 * Usage: test_protocol_doc [path/to/protocol.md]
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>

#include <pixshare/pixshare.h>

#include "core/wire.h"
#include "px_test.h"

#ifndef PX_SOURCE_DIR
#error "PX_SOURCE_DIR must name the source tree"
#endif

static const char *doc_path;
static unsigned line_no;

static void PX_PRINTF(1, 2) fail(const char *fmt, ...)
{
	va_list ap;
	if (line_no)
		fprintf(stderr, "%s:%u: ", doc_path, line_no);
	else
		fprintf(stderr, "%s: ", doc_path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

struct constant {
	const char *name;
	uint64_t value;
	bool seen;
};

#define C(x) {#x, (uint64_t)(x), false}
static struct constant constants[] = {
    C(PX_WIRE_MAGIC),	      C(PX_WIRE_VERSION),      C(PX_WIRE_MAX_FDS),
    C(PX_WIRE_FD_ROOM),	      C(PX_WIRE_MAX_SIZE),     C(PX_HELLO_QUERY),
    C(PX_WELCOME_DMABUF),     C(PX_WELCOME_VULKAN),    C(PX_WELCOME_UNMAPPED),
    C(PX_WELCOME_READ_ONLY),  C(PX_FRAME_FENCE),       C(PX_FRAME_REPLAY),
    C(PX_RELEASE_FENCE),      C(PX_MAX_IMAGES),	       C(PX_MAX_PLANES),
    C(PX_MAX_BUFFERS),	      C(PX_MAX_SLOTS),	       C(PX_MAX_LEASES),
    C(PX_MAX_SUBSCRIBERS),    C(PX_TOPIC_MAX),	       C(PX_QOS_LATEST),
    C(PX_QOS_QUEUE),	      C(PX_QOS_RELIABLE),      C(PX_ALLOCATOR_AUTO),
    C(PX_ALLOCATOR_MEMFD),    C(PX_ALLOCATOR_GBM),     C(PX_ALLOCATOR_DUMB),
    C(PX_ALLOCATOR_DMA_HEAP), C(PX_ALLOCATOR_UDMABUF), C(PX_ALLOCATOR_EXTERNAL),
};
#undef C

struct message {
	const char *name;
	uint16_t type;
	size_t size;
	bool seen;
};

#define M(x, s) {#x, x, sizeof(struct s), false}
static struct message messages[] = {
	M(PX_MSG_HELLO, px_wire_hello),
	M(PX_MSG_WELCOME, px_wire_welcome),
	M(PX_MSG_BUFFERS, px_wire_buffers),
	M(PX_MSG_BUFFERS_ACK, px_wire_buffers_ack),
	M(PX_MSG_FRAME, px_wire_frame),
	M(PX_MSG_RELEASE, px_wire_release),
	M(PX_MSG_END, px_wire_end),
	M(PX_MSG_REFUSE, px_wire_end),
	M(PX_MSG_STATS, px_wire_stats),
	M(PX_MSG_GROW, px_wire_resize),
	M(PX_MSG_SHRINK, px_wire_resize),
};
#undef M

struct field {
	const char *strct, *name;
	size_t offset, size;
	bool seen;
};

#define F(s, f) {#s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f), false}
static struct field fields[] = {
	F(px_wire_header, magic),
	F(px_wire_header, version),
	F(px_wire_header, type),
	F(px_wire_header, length),
	F(px_wire_header, flags),
	F(px_wire_hello, hdr),
	F(px_wire_hello, qos),
	F(px_wire_hello, queue_depth),
	F(px_wire_hello, max_leases),
	F(px_wire_hello, reserved),
	F(px_wire_hello, name),
	F(px_wire_welcome, hdr),
	F(px_wire_welcome, pool_size),
	F(px_wire_welcome, max_leases),
	F(px_wire_welcome, allocator),
	F(px_wire_welcome, pid),
	F(px_wire_welcome, session),
	F(px_wire_welcome, device),
	F(px_wire_welcome, description),
	F(px_wire_welcome, layout),
	F(px_wire_welcome, vulkan),
	F(px_wire_layout, n_images),
	F(px_wire_layout, n_buffers),
	F(px_wire_layout, buffer_sizes),
	F(px_wire_layout, images),
	F(px_wire_image, fourcc),
	F(px_wire_image, width),
	F(px_wire_image, height),
	F(px_wire_image, n_planes),
	F(px_wire_image, modifier),
	F(px_wire_image, planes),
	F(px_wire_plane, buffer),
	F(px_wire_plane, stride),
	F(px_wire_plane, offset),
	F(px_wire_vulkan, device_uuid),
	F(px_wire_vulkan, driver_uuid),
	F(px_wire_vulkan, memory_type),
	F(px_wire_vulkan, buffer_usage),
	F(px_wire_vulkan, dedicated),
	F(px_wire_vulkan, reserved),
	F(px_wire_vulkan, allocation_size),
	F(px_wire_vulkan, offset),
	F(px_wire_vulkan, buffer_size),
	F(px_wire_end, hdr),
	F(px_wire_end, error),
	F(px_wire_end, reserved),
	F(px_wire_end, text),
	F(px_wire_buffers, hdr),
	F(px_wire_buffers, first),
	F(px_wire_buffers, count),
	F(px_wire_buffers_ack, hdr),
	F(px_wire_buffers_ack, next),
	F(px_wire_buffers_ack, reserved),
	F(px_wire_frame, hdr),
	F(px_wire_frame, slot),
	F(px_wire_frame, valid_mask),
	F(px_wire_frame, seq),
	F(px_wire_frame, publish_ns),
	F(px_wire_frame, dropped_before),
	F(px_wire_frame, n_images),
	F(px_wire_frame, images),
	F(px_wire_frame_image, timestamp_ns),
	F(px_wire_frame_image, sequence),
	F(px_wire_frame_image, bytes),
	F(px_wire_release, hdr),
	F(px_wire_release, slot),
	F(px_wire_release, reserved),
	F(px_wire_release, seq),
	F(px_wire_stats, hdr),
	F(px_wire_stats, published),
	F(px_wire_stats, acquire_waits),
	F(px_wire_stats, acquire_timeouts),
	F(px_wire_stats, subscribers_total),
	F(px_wire_stats, refused),
	F(px_wire_stats, protocol_errors),
	F(px_wire_stats, uptime_ns),
	F(px_wire_stats, rate_mhz),
	F(px_wire_stats, n_subscribers),
	F(px_wire_stats, free_slots),
	F(px_wire_resize, hdr),
	F(px_wire_resize, pool_size),
	F(px_wire_resize, reserved),
};
#undef F

struct strct {
	const char *name;
	size_t size;
	bool seen;
};

#define S(s) {#s, sizeof(struct s), false}
static struct strct structs[] = {
	S(px_wire_header),	S(px_wire_hello),	  S(px_wire_welcome),
	S(px_wire_layout),	S(px_wire_image),	  S(px_wire_plane),
	S(px_wire_vulkan),	S(px_wire_end),		  S(px_wire_buffers),
	S(px_wire_buffers_ack), S(px_wire_frame),	  S(px_wire_frame_image),
	S(px_wire_release),	S(px_wire_stats),	  S(px_wire_resize),
};
#undef S

/* Parses an unsigned number (decimal or 0x hex) at *p, skipping blanks around
 * it; false if there is none. */
static bool parse_number(const char **p, uint64_t *out)
{
	char *end;
	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	*out = strtoull(*p, &end, 0);
	if (errno)
		return false;
	*p = end;
	while (**p == ' ' || **p == '\t')
		(*p)++;
	return true;
}

/* Copies the text between the next pair of backticks at or after *p into
 * `out`; false if there is none before the next '|'. */
static bool parse_ticked(const char **p, char *out, size_t size)
{
	const char *a = strchr(*p, '`');
	const char *bar = strchr(*p, '|');
	if (!a || (bar && bar < a))
		return false;
	const char *b = strchr(a + 1, '`');
	if (!b || (size_t)(b - a - 1) >= size)
		return false;
	memcpy(out, a + 1, (size_t)(b - a - 1));
	out[b - a - 1] = '\0';
	*p = b + 1;
	return true;
}

static void check_constant(const char *line)
{
	char name[64];
	size_t n = strcspn(line, " =");
	if (!n || n >= sizeof(name))
		fail("constants: malformed line '%s'", line);
	memcpy(name, line, n);
	name[n] = '\0';
	const char *p = line + n;
	while (*p == ' ')
		p++;
	uint64_t value;
	if (*p++ != '=' || !parse_number(&p, &value) || *p)
		fail("constants: malformed line '%s'", line);
	for (size_t i = 0; i < PX_ARRAY_LEN(constants); i++) {
		struct constant *c = &constants[i];
		if (strcmp(c->name, name))
			continue;
		if (c->seen)
			fail("constants: %s given twice", name);
		if (c->value != value)
			fail("%s = %" PRIu64 " (0x%" PRIx64 ") in the document; wire.h says %" PRIu64
			     " (0x%" PRIx64 ")",
			     name, value, value, c->value, c->value);
		c->seen = true;
		return;
	}
	fail("constants: %s is not a constant this test knows", name);
}

/* "| `PX_MSG_X` | type | size | ..." */
static void check_message(const char *line)
{
	char name[64];
	const char *p = line + 1;
	uint64_t type, size;
	if (!parse_ticked(&p, name, sizeof(name)) || *(p = p + strspn(p, " ")) != '|')
		fail("message table: malformed row '%s'", line);
	p++;
	if (!parse_number(&p, &type) || *p++ != '|' || !parse_number(&p, &size) || *p != '|')
		fail("message table: malformed row '%s'", line);
	for (size_t i = 0; i < PX_ARRAY_LEN(messages); i++) {
		struct message *m = &messages[i];
		if (strcmp(m->name, name))
			continue;
		if (m->seen)
			fail("message table: %s given twice", name);
		if (m->type != type)
			fail("%s has type %" PRIu64 " in the document; wire.h says %u", name, type,
			     m->type);
		if (m->size != size)
			fail("%s is %" PRIu64 " bytes in the document; its struct is %zu", name,
			     size, m->size);
		if (px_wire_size((uint16_t)type) != size)
			fail("%s is %" PRIu64 " bytes in the document; px_wire_size(%" PRIu64
			     ") says %zu",
			     name, size, type, px_wire_size((uint16_t)type));
		m->seen = true;
		return;
	}
	fail("message table: %s is not a message type this test knows", name);
}

static struct strct *current;
static size_t next_offset;

static void end_struct(void)
{
	if (current && next_offset != current->size)
		fail("struct %s: the document's fields cover %zu bytes; the struct has %zu",
		     current->name, next_offset, current->size);
	current = NULL;
}

/* "Struct: `name`, N bytes." */
static void begin_struct(const char *line)
{
	char name[64];
	const char *p = line;
	uint64_t size;
	end_struct();
	if (!parse_ticked(&p, name, sizeof(name)) || *p++ != ',' || !parse_number(&p, &size) ||
	    strncmp(p, "bytes", 5))
		fail("malformed struct line '%s'", line);
	for (size_t i = 0; i < PX_ARRAY_LEN(structs); i++) {
		struct strct *s = &structs[i];
		if (strcmp(s->name, name))
			continue;
		if (s->seen)
			fail("struct %s described twice", name);
		if (s->size != size)
			fail("struct %s is %" PRIu64 " bytes in the document; sizeof says %zu", name,
			     size, s->size);
		s->seen = true;
		current = s;
		next_offset = 0;
		return;
	}
	fail("struct %s is not a wire struct this test knows", name);
}

/* "| offset | size | `field` | ..." inside a struct's table. */
static void check_field(const char *line)
{
	char name[64];
	const char *p = line + 1;
	uint64_t offset, size;
	if (!parse_number(&p, &offset) || *p++ != '|' || !parse_number(&p, &size) ||
	    *p++ != '|' || !parse_ticked(&p, name, sizeof(name)))
		fail("struct %s: malformed field row '%s'", current->name, line);
	for (size_t i = 0; i < PX_ARRAY_LEN(fields); i++) {
		struct field *f = &fields[i];
		if (strcmp(f->strct, current->name) || strcmp(f->name, name))
			continue;
		if (f->seen)
			fail("%s.%s given twice", f->strct, name);
		if (f->offset != offset)
			fail("%s.%s at offset %" PRIu64 " in the document; offsetof says %zu",
			     f->strct, name, offset, f->offset);
		if (f->size != size)
			fail("%s.%s of %" PRIu64 " bytes in the document; sizeof says %zu", f->strct,
			     name, size, f->size);
		if (offset != next_offset)
			fail("%s.%s at offset %" PRIu64 "; the field before it ends at %zu",
			     f->strct, name, offset, next_offset);
		next_offset = offset + size;
		f->seen = true;
		return;
	}
	fail("%s.%s is not a field this test knows", current->name, name);
}

int main(int argc, char **argv)
{
	doc_path = argc > 1 ? argv[1] : PX_SOURCE_DIR "/docs/protocol.md";
	FILE *f = fopen(doc_path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", doc_path, strerror(errno));
		return 1;
	}

	char line[1024];
	bool in_constants = false, in_fence = false, in_table = false;
	while (fgets(line, sizeof(line), f)) {
		line_no++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "```", 3)) {
			if (in_constants)
				in_constants = false;
			else if (!strcmp(line, "```constants"))
				in_constants = true;
			in_fence = !in_fence;
			continue;
		}
		if (in_constants) {
			if (line[0])
				check_constant(line);
			continue;
		}
		if (in_fence)
			continue;
		if (!strncmp(line, "| `PX_MSG_", 10)) {
			check_message(line);
			continue;
		}
		if (!strncmp(line, "Struct: ", 8)) {
			begin_struct(line);
			in_table = false;
			continue;
		}
		if (current) {
			/* The table follows its struct line, after blank lines;
			 * any other line after the table ends it. */
			if (line[0] == '|') {
				if (!in_table) {
					in_table = true; /* the heading row */
					continue;
				}
				if (!strncmp(line, "|--", 3) || !strncmp(line, "|:", 2) ||
				    !strncmp(line, "|-", 2))
					continue;
				check_field(line);
			} else if (line[0] || in_table) {
				end_struct();
				in_table = false;
			}
		}
	}
	end_struct();
	fclose(f);
	line_no = 0;

	for (size_t i = 0; i < PX_ARRAY_LEN(constants); i++)
		if (!constants[i].seen)
			fail("the constants block lacks %s", constants[i].name);
	for (size_t i = 0; i < PX_ARRAY_LEN(messages); i++)
		if (!messages[i].seen)
			fail("the message table lacks %s", messages[i].name);
	for (size_t i = 0; i < PX_ARRAY_LEN(structs); i++)
		if (!structs[i].seen)
			fail("no \"Struct: `%s`\" table", structs[i].name);
	for (size_t i = 0; i < PX_ARRAY_LEN(fields); i++)
		if (!fields[i].seen)
			fail("the table of %s lacks `%s`", fields[i].strct, fields[i].name);
	/* A message type that wire.c knows and this test does not. */
	for (uint32_t t = 0; t <= UINT16_MAX; t++) {
		if (!px_wire_size((uint16_t)t))
			continue;
		bool known = false;
		for (size_t i = 0; i < PX_ARRAY_LEN(messages); i++)
			known |= messages[i].type == t;
		if (!known)
			fail("px_wire_size() knows message type %u, which the document and this "
			     "test do not",
			     t);
	}
	printf("%s matches core/wire.h: %zu constants, %zu message types, %zu structs, %zu "
	       "fields\n",
	       doc_path, PX_ARRAY_LEN(constants), PX_ARRAY_LEN(messages), PX_ARRAY_LEN(structs),
	       PX_ARRAY_LEN(fields));
	return 0;
}

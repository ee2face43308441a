/* SPDX-License-Identifier: MIT */
/*
 * pixshare: the command-line tool. Lists and inspects topics, measures their
 * rate and latency, publishes and checks the test pattern, and saves frames.
 *
 * Results go to stdout; progress, warnings and errors to stderr. Every error
 * is one line, "pixshare: COMMAND: what went wrong", and a non-zero exit
 * status: 2 for a bad command line, 1 for a failure while running.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include <pixshare/pixshare.h>
#ifdef PX_HAVE_VULKAN
#include <pixshare/transform.h>
#endif

#include "tools/decode.h"
#include "tools/image_write.h"
#include "tools/record.h"
#include "tools/recording.h"
#include "tools/ros_bridge_help.h"
#include "tools/tool_util.h"
#ifdef PX_HAVE_SDL2
#include "tools/view.h"
#endif

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define NS_PER_US 1000.0
#define QUERY_TIMEOUT_MS 1000
/* Longest wait between two looks at the stop flag. */
#define MAX_WAIT_MS 200
/* Mismatches of sub-test --verify that are described one by one. */
#define MAX_MISMATCH_REPORTS 5
/* Subscribers pub-test remembers for its summary. */
#define MAX_TRACKED 128

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Long options have no short form, except -h. */
enum {
	OPT_END = -1,  /* no more options */
	OPT_HELP = -2, /* --help was printed */
	OPT_BAD = -3,  /* a usage error was printed */
	OPT_DIR = 256,
	OPT_WAIT,
	OPT_SPIN_US,
	OPT_WINDOW,
	OPT_DURATION,
	OPT_COUNT,
	OPT_QOS,
	OPT_SIZE,
	OPT_FORMAT,
	OPT_IMAGES,
	OPT_RATE,
	OPT_ALLOCATOR,
	OPT_DEVICE,
	OPT_POOL,
	OPT_MIN_SLOTS,
	OPT_MAX_SUBSCRIBERS,
	OPT_QUIET,
	OPT_VERIFY,
	OPT_IO,
	OPT_ALLOC_DEVICE,
	OPT_SYNC_TOLERANCE,
	OPT_PARTIAL,
	OPT_V4L2_FORMAT,
	OPT_CROP,
	OPT_ROTATE,
	OPT_FLIP,
	OPT_RESIZE,
	OPT_SCALE,
	OPT_FILTER,
	OPT_MATRIX,
	OPT_RANGE,
	OPT_OUT_FORMAT,
	OPT_SAVE_PNG,
	OPT_VERSION,
	OPT_FROM,
	OPT_ALLOW_UID,
	OPT_ALLOW_GID,
	OPT_PUBLISHER_UID,
	OPT_RELEASE_TIMEOUT,
	OPT_STALL,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_FORCE,
	OPT_LOOP,
	OPT_START,
	OPT_WAIT_SUBSCRIBERS,
	OPT_FRAMES,
	OPT_ROW_ALIGN,
	OPT_DECODE,
	OPT_LOG,
	OPT_SAVE_AFTER,
	OPT_SAVE_DIR,
};

/* clang-format off */
#define COMMON_OPTIONS \
	{"dir", required_argument, NULL, OPT_DIR}, {"help", no_argument, NULL, 'h'}
/* clang-format on */
#define COMMON_HELP                                                                                \
	"  --dir DIR            directory of the topics (default: $PIXSHARE_DIR, else\n"           \
	"                       $XDG_RUNTIME_DIR/pixshare, else /tmp/pixshare-UID)\n"              \
	"  -h, --help           show this help\n"
#define WAIT_HELP                                                                                  \
	"  --wait S             wait up to S seconds for the topic to appear (default: fail\n"     \
	"                       at once)\n"
#define QOS_HELP "  --qos QOS            latest (default), queue:N or reliable\n"
/* A publisher's deadlines for its subscribers; `stall` is the default policy. */
/* clang-format off */
#define DEADLINE_OPTIONS \
	{"release-timeout", required_argument, NULL, OPT_RELEASE_TIMEOUT}, \
	{"stall", required_argument, NULL, OPT_STALL}, \
	{"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT}
/* clang-format on */
#define DEADLINE_HELP(stall)                                                                       \
	"  --release-timeout MS a subscriber holding a frame longer is stalled: logged,\n"         \
	"                       counted (default 5000)\n"                                          \
	"  --stall POLICY       what then: log, reliable (disconnect stalled reliable\n"           \
	"                       subscribers, which hold the publisher up) or all\n"                \
	"                       (default " stall ")\n"                                             \
	"  --handshake-timeout MS\n"                                                               \
	"                       close connections that have not subscribed by then\n"              \
	"                       (default 5000)\n"

/* Parses the DEADLINE_OPTIONS into `p`: 1 if `c` is one, 0 if not, -1 for a
 * bad value (said). */
static int parse_deadline_option(int c, const char *arg, struct px_publisher_params *p)
{
	static const char *const policies[] = {[PX_STALL_LOG] = "log",
					       [PX_STALL_DISCONNECT_RELIABLE] = "reliable",
					       [PX_STALL_DISCONNECT] = "all"};
	switch (c) {
	case OPT_RELEASE_TIMEOUT:
		return parse_u32("--release-timeout", arg, 1, 3600000, &p->release_timeout_ms) ? -1
											       : 1;
	case OPT_HANDSHAKE_TIMEOUT:
		return parse_u32("--handshake-timeout", arg, 1, 3600000, &p->handshake_timeout_ms)
			   ? -1
			   : 1;
	case OPT_STALL:
		for (size_t i = 0; i < ARRAY_SIZE(policies); i++)
			if (!strcmp(arg, policies[i])) {
				p->stall_policy = (enum px_stall_policy)i;
				return 1;
			}
		tool_error("--stall: unknown policy '%s'; use log, reliable or all", arg);
		return -1;
	}
	return 0;
}

struct command {
	const char *name;
	int (*run)(const struct command *cmd, int argc, char **argv);
	const char *args;    /* what follows the name in a synopsis */
	const char *brief;   /* one line for the list of commands */
	const char *summary; /* a paragraph for the command's help */
	const char *help;    /* the options, one per line */
};

static void print_help(const struct command *cmd)
{
	printf("usage: pixshare %s [OPTIONS]%s%s\n\n%s\n\noptions:\n%s%s", cmd->name,
	       cmd->args[0] ? " " : "", cmd->args, cmd->summary, cmd->help, COMMON_HELP);
}

/*
 * getopt_long for a subcommand, which handles --dir, --help and errors itself.
 * Returns the next option of the command's own, or OPT_END, OPT_HELP, OPT_BAD.
 */
static int next_option(const struct command *cmd, int argc, char **argv, const struct option *opts)
{
	for (;;) {
		int c = getopt_long(argc, argv, ":h", opts, NULL);
		switch (c) {
		case OPT_DIR:
			if (!optarg[0]) {
				tool_error("--dir: empty directory name");
				return OPT_BAD;
			}
			topic_dir = optarg;
			continue;
		case 'h':
			print_help(cmd);
			return OPT_HELP;
		case '?':
			if (optopt)
				tool_error("unknown option '-%c' (see 'pixshare %s --help')",
					   optopt, cmd->name);
			else
				tool_error("unknown option '%s' (see 'pixshare %s --help')",
					   argv[optind - 1], cmd->name);
			return OPT_BAD;
		case ':':
			tool_error("option '%s' needs a value", argv[optind - 1]);
			return OPT_BAD;
		default:
			return c < 0 ? OPT_END : c;
		}
	}
}

/* Exit status for next_option's end: 0 after --help, else a usage error. */
static int option_exit(int c)
{
	return c == OPT_HELP ? EXIT_SUCCESS : EXIT_USAGE;
}

/* Takes exactly `n` positional arguments, named `names` in messages. */
static int take_args(const struct command *cmd, int argc, char **argv, const char *const names[],
		     int n, const char **out)
{
	if (argc - optind < n) {
		tool_error("missing %s (see 'pixshare %s --help')", names[argc - optind],
			   cmd->name);
		return -1;
	}
	if (argc - optind > n) {
		tool_error("unexpected argument '%s' (see 'pixshare %s --help')", argv[optind + n],
			   cmd->name);
		return -1;
	}
	for (int i = 0; i < n; i++)
		out[i] = argv[optind + i];
	return 0;
}

/* What px_topic_query() tells of a topic. */
struct topic_state {
	struct px_topic_info info;
	struct px_set_layout layout;
	struct px_publisher_stats stats;
	uint64_t uptime_ns;
};

static int query_topic(const char *topic, struct topic_state *q)
{
	return px_topic_query(topic_dir, topic, QUERY_TIMEOUT_MS, &q->info, &q->layout, &q->stats,
			      &q->uptime_ns);
}

struct topic_row {
	char *name;
	int ret;
	char why[160];
	struct topic_state q;
};

struct topic_rows {
	struct topic_row *v;
	size_t n, cap;
	bool failed;
};

static void add_topic(void *userdata, const char *topic)
{
	struct topic_rows *rows = userdata;
	if (rows->failed)
		return;
	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 16;
		struct topic_row *v = realloc(rows->v, cap * sizeof(*v));
		if (!v) {
			rows->failed = true;
			return;
		}
		rows->v = v;
		rows->cap = cap;
	}
	struct topic_row *r = &rows->v[rows->n];
	memset(r, 0, sizeof(*r));
	if (!(r->name = strdup(topic))) {
		rows->failed = true;
		return;
	}
	rows->n++;
}

static int compare_rows(const void *a, const void *b)
{
	return strcmp(((const struct topic_row *)a)->name, ((const struct topic_row *)b)->name);
}

static void print_topic_row(const struct topic_row *r, int name_w, int layout_w)
{
	char layout[256], rate[32];

	print_padded(stdout, r->name, name_w + 2);
	if (r->ret == -ENOENT) {
		printf("stale  (no publisher: a socket left behind)\n");
		return;
	}
	if (r->ret) {
		printf("error  %s\n", r->why);
		return;
	}
	const struct topic_state *q = &r->q;
	snprintf(rate, sizeof(rate), "%.1f Hz", q->stats.rate_hz);
	printf("live   ");
	print_padded(stdout, layout_summary(&q->layout, layout, sizeof(layout)), layout_w + 2);
	const char *alloc = px_allocator_name(q->info.allocator);
	printf("%-5u %-10s %-7s %-5u %-10s %-8d %s\n", q->info.pool_size, alloc ? alloc : "?",
	       q->info.dmabuf ? "yes" : "no", q->stats.n_subscribers, rate,
	       (int)q->info.publisher_pid, q->info.description);
}

static int cmd_list(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {COMMON_OPTIONS, {0}};
	struct topic_rows rows = {0};
	char dir[256], layout[256];
	int c, status = EXIT_SUCCESS;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0)
		;
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, NULL, 0, NULL))
		return EXIT_USAGE;

	int ret = px_topic_list(topic_dir, add_topic, &rows);
	if (ret == -ENOENT) {
		printf("no topics in %s (the directory does not exist)\n",
		       dir_name(dir, sizeof(dir)));
		return EXIT_SUCCESS;
	}
	if (ret < 0 || rows.failed) {
		tool_error("listing %s: %s", dir_name(dir, sizeof(dir)),
			   px_strerror(ret < 0 ? ret : -ENOMEM));
		status = EXIT_FAIL;
		goto out;
	}
	if (!rows.n) {
		printf("no topics in %s\n", dir_name(dir, sizeof(dir)));
		goto out;
	}
	qsort(rows.v, rows.n, sizeof(*rows.v), compare_rows);
	int name_w = (int)strlen("TOPIC"), layout_w = (int)strlen("LAYOUT");
	for (size_t i = 0; i < rows.n; i++) {
		struct topic_row *r = &rows.v[i];
		tool_capture_begin();
		r->ret = query_topic(r->name, &r->q);
		snprintf(r->why, sizeof(r->why), "%s", tool_capture_end(r->ret));
		if (text_width(r->name) > name_w)
			name_w = text_width(r->name);
		if (!r->ret)
			layout_w =
			    MAX(layout_w,
				text_width(layout_summary(&r->q.layout, layout, sizeof(layout))));
	}
	print_padded(stdout, "TOPIC", name_w + 2);
	printf("STATE  ");
	print_padded(stdout, "LAYOUT", layout_w + 2);
	printf("%-5s %-10s %-7s %-5s %-10s %-8s %s\n", "POOL", "ALLOCATOR", "DMA-BUF", "SUBS",
	       "RATE", "PID", "DESCRIPTION");
	for (size_t i = 0; i < rows.n; i++)
		print_topic_row(&rows.v[i], name_w, layout_w);

out:
	for (size_t i = 0; i < rows.n; i++)
		free(rows.v[i].name);
	free(rows.v);
	return status;
}

static int cmd_info(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"frames", no_argument, NULL, OPT_FRAMES},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	struct topic_state q;
	const char *topic;
	char bytes[64];
	bool frames = false;
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0)
		if (c == OPT_FRAMES)
			frames = true;
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &topic))
		return EXIT_USAGE;
	/* An existing regular file (a path, or a file of that name here) is a
	 * recording; anything else a topic. */
	if (rec_is_file(topic))
		return recording_info(topic, frames);
	if (frames) {
		tool_error("--frames: for a recording FILE only ('%s' is no file)", topic);
		return EXIT_USAGE;
	}

	tool_capture_begin();
	int ret = query_topic(topic, &q);
	const char *why = tool_capture_end(ret);
	if (ret == -ENOENT) {
		topic_not_found(topic);
		return EXIT_FAIL;
	}
	if (ret) {
		tool_error("cannot query '%s': %s", topic, why);
		return EXIT_FAIL;
	}

	const struct px_publisher_stats *st = &q.stats;
	const char *alloc = px_allocator_name(q.info.allocator);
	printf("topic:       %s\n", topic);
	printf("publisher:   pid %d, \"%s\"\n", (int)q.info.publisher_pid, q.info.description);
	printf("uptime:      %.1f s\n", ns_to_s(q.uptime_ns));
	printf("allocator:   %s (%s%s%s)\n", alloc ? alloc : "unknown",
	       q.info.dmabuf ? "dma-buf" : "not dma-buf",
	       q.info.vulkan_export ? ", a Vulkan device's opaque-fd export" : "",
	       q.info.unmapped ? ", unmapped: device memory, no CPU view" : "");
	printf("access:      subscribers %s\n",
	       q.info.read_only ? "read only (their fds cannot write into the frames)"
				: "can write into the frames (this allocator's fds are read-write)");
	printf("pool:        %u slots of %s, up to %u leases per subscriber\n", q.info.pool_size,
	       bytes_name(px_layout_slot_bytes(&q.layout), bytes, sizeof(bytes)),
	       q.info.max_leases);
	printf("layout:      %u image%s in %u buffer%s\n", q.layout.n_images,
	       q.layout.n_images == 1 ? "" : "s", q.layout.n_buffers,
	       q.layout.n_buffers == 1 ? "" : "s");
	print_layout(stdout, &q.layout, "  ");
	printf("stats:\n");
	printf("  published:       %llu frames\n", (unsigned long long)st->published);
	printf("  rate:            %.2f Hz\n", st->rate_hz);
	printf("  subscribers:     %u now, %llu in all\n", st->n_subscribers,
	       (unsigned long long)st->subscribers_total);
	printf("  refused:         %llu\n", (unsigned long long)st->refused);
	printf("  protocol errors: %llu\n", (unsigned long long)st->protocol_errors);
	printf("  free slots:      %u of %u\n", st->free_slots, q.info.pool_size);
	printf("  acquire waits:   %llu (timeouts %llu)\n", (unsigned long long)st->acquire_waits,
	       (unsigned long long)st->acquire_timeouts);
	return EXIT_SUCCESS;
}

/* hz: intervals between frames in a ring of `window` entries. */
struct intervals {
	uint64_t *v;
	uint32_t window, n, next;
};

static void print_rate(const struct intervals *iv, const struct drops *d,
		       const struct px_subscriber *sub)
{
	double sum = 0, sq = 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	for (uint32_t i = 0; i < iv->n; i++) {
		sum += (double)iv->v[i];
		lo = MIN(lo, iv->v[i]);
		hi = MAX(hi, iv->v[i]);
	}
	double mean = sum / iv->n;
	for (uint32_t i = 0; i < iv->n; i++)
		sq += ((double)iv->v[i] - mean) * ((double)iv->v[i] - mean);
	printf("average rate: %.3f Hz  min: %.3f ms  max: %.3f ms  std dev: %.3f ms  window: %u  ",
	       1e9 / mean, (double)lo / 1e6, (double)hi / 1e6, sqrt(sq / iv->n) / 1e6, iv->n);
	drops_print(d, sub);
}

static int cmd_hz(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"window", required_argument, NULL, OPT_WINDOW},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	struct intervals iv = {.window = 10000};
	struct drops d = {0};
	struct px_subscriber *sub;
	uint64_t duration = 0, wait = 0, frames = 0, first_ns = 0, last_ns = 0;
	uint32_t new_frames = 0;
	const char *topic;
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_WINDOW && parse_u32("--window", optarg, 1, 1000000, &iv.window)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)))
			return EXIT_USAGE;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &topic))
		return EXIT_USAGE;
	if (!(iv.v = calloc(iv.window, sizeof(*iv.v)))) {
		tool_error("out of memory");
		return EXIT_FAIL;
	}
	catch_stop_signals();
	if (subscribe(topic, PX_QOS_LATEST, 0, 0, wait, &sub)) {
		free(iv.v);
		return EXIT_FAIL;
	}

	uint64_t start = px_now_ns(), tick = start + NS_PER_S;
	uint64_t end = duration ? start + duration : UINT64_MAX;
	for (;;) {
		struct px_frame *f;
		ret = wait_frame(sub, MIN(tick, end), &f);
		if (ret == 0) {
			drops_count(&d, f);
			/* The frame the publisher kept for newcomers came before
			 * we did: it starts no interval. */
			if (!f->replayed) {
				if (last_ns) {
					iv.v[iv.next] = f->receive_ns - last_ns;
					iv.next = (iv.next + 1) % iv.window;
					if (iv.n < iv.window)
						iv.n++;
				} else {
					first_ns = f->receive_ns;
				}
				last_ns = f->receive_ns;
				frames++;
				new_frames++;
			}
			px_frame_release(f);
		} else if (ret != -ETIMEDOUT) {
			break;
		}
		uint64_t now = px_now_ns();
		if (now >= tick) {
			if (new_frames && iv.n)
				print_rate(&iv, &d, sub);
			else
				printf("no new frames\n");
			new_frames = 0;
			tick += NS_PER_S;
		}
		if (now >= end)
			break;
	}
	ret = receive_end(ret);
	printf("summary: %llu frames", (unsigned long long)frames);
	if (frames > 1 && last_ns > first_ns)
		printf(" in %.3f s, %.3f Hz", ns_to_s(last_ns - first_ns),
		       (double)(frames - 1) * 1e9 / (double)(last_ns - first_ns));
	printf("\n");
	drops_print(&d, sub);
	px_subscriber_destroy(sub);
	free(iv.v);
	if (!frames && !ret)
		tool_error("no frames received");
	return ret || !frames ? EXIT_FAIL : EXIT_SUCCESS;
}

/* --from: when each set of the source topic was published, by sequence. */
#define FROM_RING 512
struct from {
	struct px_subscriber *sub;
	struct {
		uint64_t seq, publish_ns;
	} ring[FROM_RING];
	struct samples lat;
	uint64_t unmatched;
};

/* Takes every set the source topic has delivered. */
static void from_drain(struct from *fr)
{
	struct px_frame *g;
	while (px_subscriber_receive(fr->sub, &g, 0) == 0) {
		uint64_t seq = g->images[0].sequence;
		if (g->valid_mask & 1) {
			fr->ring[seq % FROM_RING].seq = seq;
			fr->ring[seq % FROM_RING].publish_ns = g->publish_ns;
		}
		px_frame_release(g);
	}
}

/* The source's publish time of the set a received frame came from. */
static void from_match(struct from *fr, const struct px_frame *f, bool *oom)
{
	from_drain(fr);
	uint64_t seq = f->images[0].sequence;
	uint64_t published = fr->ring[seq % FROM_RING].publish_ns;
	if ((f->valid_mask & 1) && fr->ring[seq % FROM_RING].seq == seq && published &&
	    published <= f->receive_ns)
		*oom |= samples_add(&fr->lat, f->receive_ns - published) < 0;
	else
		fr->unmatched++;
}

static int cmd_delay(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"qos", required_argument, NULL, OPT_QOS},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"spin-us", required_argument, NULL, OPT_SPIN_US},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	struct samples lat = {0}, pixel_lat = {0}, ts_lat = {0};
	enum px_qos qos = PX_QOS_LATEST;
	struct drops d = {0};
	struct px_subscriber *sub;
	uint64_t duration = 0, wait = 0, frames = 0;
	uint32_t depth = 0;
	const char *topic, *from_topic = NULL;
	static struct from fr; /* large: not on the stack */
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if (c == OPT_FROM)
			from_topic = optarg;
		if ((c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_QOS && parse_qos("--qos", optarg, &qos, &depth)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)) ||
		    (c == OPT_SPIN_US &&
		     parse_u32("--spin-us", optarg, 0, PX_MAX_SPIN_US, &subscriber_spin_us)))
			return EXIT_USAGE;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &topic))
		return EXIT_USAGE;
	if (subscriber_spin_us && from_topic) {
		tool_error("--spin-us and --from: the source is read between waits, which a "
			   "spin would hold up; use one");
		return EXIT_USAGE;
	}
	catch_stop_signals();
	/* The source first, so that its sets are known when their results come. */
	if (from_topic && subscribe(from_topic, PX_QOS_LATEST, 0, 0, wait, &fr.sub))
		return EXIT_FAIL;
	if (subscribe(topic, qos, depth, 0, wait, &sub)) {
		px_subscriber_destroy(fr.sub);
		return EXIT_FAIL;
	}

	uint64_t start = px_now_ns(), end = duration ? start + duration : UINT64_MAX;
	bool oom = false;
	struct px_frame *f;
	for (;;) {
		/* With --from, the source's sets are taken every 2 ms, before a
		 * newer one replaces them (it is subscribed to as latest). */
		uint64_t until = end;
		if (fr.sub) {
			from_drain(&fr);
			until = MIN(end, px_now_ns() + 2 * NS_PER_MS);
		}
		ret = wait_frame(sub, until, &f);
		if (ret == -ETIMEDOUT && until < end)
			continue;
		if (ret)
			break;
		struct px_pattern_params pp;
		const void *planes[PX_MAX_PLANES] = {NULL};

		drops_count(&d, f);
		frames++;
		/* Only frames published after we subscribed: the one the
		 * publisher kept for newcomers waited for us. */
		if (!f->replayed) {
			oom |= samples_add(&lat, f->receive_ns - f->publish_ns) < 0;
			/* The image's own timestamp: its capture, kept through
			 * every stage that republishes it (transforms). */
			uint64_t ts = f->images[0].timestamp_ns;
			if ((f->valid_mask & 1) && ts && ts <= f->receive_ns)
				oom |= samples_add(&ts_lat, f->receive_ns - ts) < 0;
			if (fr.sub)
				from_match(&fr, f, &oom);
			for (uint32_t p = 0; p < f->layout->images[0].n_planes; p++)
				planes[p] = px_frame_plane(f, 0, p);
			if ((f->valid_mask & 1) &&
			    px_pattern_decode(&f->layout->images[0], planes, &pp) == 0 &&
			    f->receive_ns >= pp.timestamp_ns)
				oom |= samples_add(&pixel_lat, f->receive_ns - pp.timestamp_ns) < 0;
		}
		px_frame_release(f);
	}
	ret = receive_end(ret);
	if (oom)
		tool_error("out of memory: some samples are missing");

	printf("topic: %s (qos %s)\n", topic, px_qos_name(qos));
	printf("frames: %llu\n", (unsigned long long)frames);
	print_latencies("latency publish → receive", &lat);
	if (ts_lat.n)
		print_latencies("latency image timestamp → receive (capture, through every "
				"stage that kept it)",
				&ts_lat);
	else
		printf("image timestamp: none to measure from\n");
	if (fr.sub) {
		char what[160];
		snprintf(what, sizeof(what),
			 "latency %s publish → %s receive (the same sequence number)", from_topic,
			 topic);
		print_latencies(what, &fr.lat);
		printf("%s: %llu frames without their %s set (not delivered to this "
		       "subscriber of it)\n",
		       from_topic, (unsigned long long)fr.unmatched, from_topic);
		samples_finish(&fr.lat);
		px_subscriber_destroy(fr.sub);
	}
	if (pixel_lat.n) {
		printf("pixel timestamp: available in %zu of %zu frames\n", pixel_lat.n, lat.n);
		print_latencies("latency capture → receive (pixel timestamp)", &pixel_lat);
	} else {
		printf("pixel timestamp: not available (image 0 carries no test-pattern code "
		       "band)\n");
	}
	drops_print(&d, sub);
	struct px_subscriber_stats st;
	if (subscriber_spin_us && px_subscriber_get_stats(sub, &st) == 0)
		printf("busy-poll (%u µs): %llu frames caught spinning, %llu spins missed, "
		       "%.1f µs spun a frame\n",
		       subscriber_spin_us, (unsigned long long)st.spin_caught,
		       (unsigned long long)st.spin_missed,
		       frames ? (double)st.spin_ns / 1e3 / (double)frames : 0.0);
	px_subscriber_destroy(sub);
	bool none = lat.n == 0;
	samples_finish(&lat);
	samples_finish(&pixel_lat);
	samples_finish(&ts_lat);
	if (none && !ret)
		tool_error(frames ? "no frame was published while measuring"
				  : "no frames received");
	return ret || none ? EXIT_FAIL : EXIT_SUCCESS;
}

/* What pub-test knows of one subscriber, kept after it leaves. */
struct tracked {
	struct px_subscriber_info info;
	bool present;
};

struct tracker {
	struct tracked v[MAX_TRACKED];
	uint32_t n;
	uint64_t untracked; /* subscribers beyond MAX_TRACKED */
};

/* Refreshes the tracker from the publisher's subscriber list. The library
 * gives subscribers no identity: one is taken for a known entry of the same
 * pid, name and QoS whose counters are not ahead of its own, else it is new. */
static void track_subscribers(struct tracker *t, const struct px_publisher *pub)
{
	struct px_subscriber_info info;

	for (uint32_t i = 0; i < t->n; i++)
		t->v[i].present = false;
	for (uint32_t i = 0; px_publisher_get_subscriber(pub, i, &info) == 0; i++) {
		struct tracked *e = NULL;
		for (uint32_t j = 0; j < t->n && !e; j++) {
			struct tracked *o = &t->v[j];
			if (!o->present && o->info.pid == info.pid &&
			    !strcmp(o->info.name, info.name) && o->info.qos == info.qos &&
			    o->info.delivered <= info.delivered &&
			    o->info.released <= info.released)
				e = o;
		}
		if (!e && t->n < MAX_TRACKED)
			e = &t->v[t->n++];
		else if (!e)
			t->untracked++;
		if (e) {
			e->info = info;
			e->present = true;
		}
	}
}

static void print_tracked(const struct tracker *t)
{
	char qos[24];

	printf("subscribers: %u\n", t->n);
	for (uint32_t i = 0; i < t->n; i++) {
		const struct px_subscriber_info *s = &t->v[i].info;
		if (s->qos == PX_QOS_QUEUE)
			snprintf(qos, sizeof(qos), "queue:%u", s->queue_depth);
		else
			snprintf(qos, sizeof(qos), "%s", px_qos_name(s->qos));
		printf("  pid %d \"%s\" (%s, %s): delivered %llu, released %llu, dropped %llu "
		       "(replaced %llu, queue full %llu)\n",
		       (int)s->pid, s->name, qos, t->v[i].present ? "connected" : "left",
		       (unsigned long long)s->delivered, (unsigned long long)s->released,
		       (unsigned long long)(s->dropped_replaced + s->dropped_queue),
		       (unsigned long long)s->dropped_replaced,
		       (unsigned long long)s->dropped_queue);
	}
	if (t->untracked)
		printf("  (%llu more not tracked)\n", (unsigned long long)t->untracked);
}

/* Serves subscribers until `t` (CLOCK_MONOTONIC) or a stop signal, waking
 * only for their work or at the deadline. */
static int wait_until(struct px_publisher *pub, uint64_t t, struct tracker *tracker)
{
	for (;;) {
		uint64_t now = px_now_ns();
		if (stop_signal || now >= t)
			return 0;
		/* Bounded, so that a stop signal is seen promptly. */
		uint64_t until = MIN(t, now + (uint64_t)MAX_WAIT_MS * NS_PER_MS);
		int ret = px_publisher_dispatch_until(pub, until);
		if (ret < 0) {
			tool_error("dispatch: %s", px_strerror(ret));
			return ret;
		}
		/* Subscribers that come and go between two frames. */
		if (ret > 0)
			track_subscribers(tracker, pub);
	}
}

/* Draws frame `seq` into every image of a slot, seen as `draw` (the slot
 * itself, or a view of its memory that the publisher does not map), and
 * publishes it; the time the drawing took into `draw_ns` (the images'
 * timestamp is taken before it, as the code band carries it). */
static int publish_pattern(struct px_publisher *pub, struct px_slot *slot,
			   const struct px_slot *draw, uint64_t seq, uint64_t *draw_ns)
{
	const struct px_set_layout *layout = draw->layout;
	struct px_publish_info info;
	uint64_t ts = px_now_ns();

	memset(&info, 0, sizeof(info));
	for (uint32_t i = 0; i < layout->n_images; i++) {
		void *planes[PX_MAX_PLANES] = {NULL};
		struct px_pattern_params pp = {.frame = seq, .image_index = i, .timestamp_ns = ts};
		for (uint32_t p = 0; p < layout->images[i].n_planes; p++)
			planes[p] = px_slot_plane(draw, i, p);
		tool_capture_begin();
		int ret = px_pattern_draw(&layout->images[i], planes, &pp);
		const char *why = tool_capture_end(ret);
		if (ret) {
			tool_error("drawing image %u: %s", i, why);
			px_publisher_cancel(pub, slot);
			return ret;
		}
		info.images[i].timestamp_ns = ts;
		info.images[i].sequence = seq;
	}
	*draw_ns = px_now_ns() - ts;
	return px_publisher_publish(pub, slot, &info);
}

/* pub-test --allocator vulkan: a pool that a Vulkan device allocated and
 * exported (px_vk_pool), published as an external pool. */
struct vk_export {
#ifdef PX_HAVE_VULKAN
	struct px_vk *vk;
	struct px_vk_pool *pool;
#endif
	struct px_external_pool ext;
	const struct px_set_layout *layout; /* the fds' */
	const char *type;		    /* "dma-buf", "opaque fd" */
	/* Slots the publisher does not map (the device's own opaque fds):
	 * the pool's memory as vkMapMemory shows it, per slot, for drawing. */
	struct px_buffer views[PX_MAX_SLOTS][PX_MAX_BUFFERS];
	struct px_set_layout vk_layout; /* the VkBuffers'; no images: no views */
};

/* The slot to draw into: `slot`, or where the publisher maps nothing, a
 * view of the same memory through Vulkan. */
static const struct px_slot *vk_export_view(const struct vk_export *e, const struct px_slot *slot,
					    struct px_slot *view)
{
	if (!e->vk_layout.n_images)
		return slot;
	*view = (struct px_slot){.index = slot->index,
				 .n_buffers = slot->n_buffers,
				 .buffers = e->views[slot->index],
				 .layout = &e->vk_layout};
	return view;
}

static void vk_export_close(struct vk_export *e)
{
#ifdef PX_HAVE_VULKAN
	px_vk_pool_destroy(e->pool);
	px_vk_destroy(e->vk);
#endif
	memset(e, 0, sizeof(*e));
}

static int vk_export_open(struct vk_export *e, const struct px_set_layout *layout,
			  uint32_t n_slots)
{
	memset(e, 0, sizeof(*e));
#ifdef PX_HAVE_VULKAN
	tool_capture_begin();
	int ret = px_vk_create(NULL, &e->vk);
	if (!ret)
		ret = px_vk_pool_create(e->vk, layout, n_slots, &e->pool);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("--allocator vulkan: %s", why);
		vk_export_close(e);
		return ret;
	}
	struct px_vk_pool_info info;
	px_vk_pool_get_info(e->pool, &info);
	if (!info.host_visible) {
		tool_error("--allocator vulkan: the device exports device-local memory only, which "
			   "the test pattern cannot draw into");
		vk_export_close(e);
		return -ENOTSUP;
	}
	px_vk_pool_get_external(e->pool, &e->ext);
	e->layout = px_vk_pool_get_layout(e->pool);
	e->type = px_vk_export_name(info.export_type);
	if (info.unmapped) {
		/* No fd mapping: the pattern goes in through vkMapMemory. */
		for (uint32_t s = 0; s < n_slots; s++) {
			for (uint32_t b = 0; b < layout->n_buffers; b++) {
				void *p;
				tool_capture_begin();
				ret = px_vk_pool_map(e->pool, s, b, &p);
				why = tool_capture_end(ret);
				if (ret) {
					tool_error("--allocator vulkan: %s", why);
					vk_export_close(e);
					return ret;
				}
				e->views[s][b] = (struct px_buffer){
				    .fd = -1, .data = p, .size = layout->buffer_sizes[b]};
			}
		}
		e->vk_layout = *layout;
	}
	return 0;
#else
	(void)layout;
	(void)n_slots;
	tool_error("--allocator vulkan: this pixshare was built without Vulkan");
	return -ENOTSUP;
#endif
}

static int cmd_pub_test(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"images", required_argument, NULL, OPT_IMAGES},
	    {"rate", required_argument, NULL, OPT_RATE},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"allocator", required_argument, NULL, OPT_ALLOCATOR},
	    {"device", required_argument, NULL, OPT_DEVICE},
	    {"pool", required_argument, NULL, OPT_POOL},
	    {"min-slots", required_argument, NULL, OPT_MIN_SLOTS},
	    {"max-subscribers", required_argument, NULL, OPT_MAX_SUBSCRIBERS},
	    {"allow-uid", required_argument, NULL, OPT_ALLOW_UID},
	    {"allow-gid", required_argument, NULL, OPT_ALLOW_GID},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    {"wait-subscribers", required_argument, NULL, OPT_WAIT_SUBSCRIBERS},
	    DEADLINE_OPTIONS,
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	struct px_image_desc desc = {PX_FORMAT_YUYV, 1280, 800}, descs[PX_MAX_IMAGES];
	struct px_publisher_params params = {.description = "pixshare pub-test"};
	enum px_allocator_type allocator = PX_ALLOCATOR_AUTO;
	uint32_t n_images = 6, pool_size = 0, max_subs = 0, wait_subs = 0;
	uint32_t allow_uids[PX_MAX_ALLOW], allow_gids[PX_MAX_ALLOW];
	uint64_t count = 0, duration = 0, published = 0, timeouts = 0, first_ns = 0, last_ns = 0;
	struct samples draw_times = {0};
	uint64_t draw_lost = 0;
	struct px_set_layout layout;
	struct px_publisher *pub;
	struct tracker *tracker;
	struct vk_export vke = {0};
	double rate = 30;
	bool quiet = false, vulkan = false;
	char summary[256], bytes[64];
	int c, ret = 0;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		/* The last --allocator counts, vulkan or not. */
		if (c == OPT_ALLOCATOR && (vulkan = !strcmp(optarg, "vulkan"))) {
			allocator = PX_ALLOCATOR_AUTO;
			continue;
		}
		if ((c == OPT_SIZE && parse_size("--size", optarg, &desc.width, &desc.height)) ||
		    (c == OPT_FORMAT && parse_format("--format", optarg, &desc.fourcc)) ||
		    (c == OPT_IMAGES &&
		     parse_u32("--images", optarg, 1, PX_MAX_IMAGES, &n_images)) ||
		    (c == OPT_RATE && parse_double("--rate", optarg, 0.01, 10000, &rate)) ||
		    (c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_ALLOCATOR && parse_allocator("--allocator", optarg, &allocator)) ||
		    (c == OPT_POOL && parse_u32("--pool", optarg, 3, PX_MAX_SLOTS, &pool_size)) ||
		    (c == OPT_MIN_SLOTS && parse_u32("--min-slots", optarg, 3, PX_MAX_SLOTS,
						     &params.min_pool_size)) ||
		    (c == OPT_MAX_SUBSCRIBERS &&
		     parse_u32("--max-subscribers", optarg, 1, PX_MAX_SUBSCRIBERS, &max_subs)) ||
		    (c == OPT_WAIT_SUBSCRIBERS &&
		     parse_u32("--wait-subscribers", optarg, 0, PX_MAX_SUBSCRIBERS, &wait_subs)) ||
		    parse_deadline_option(c, optarg, &params) < 0)
			return EXIT_USAGE;
		if (c == OPT_ALLOW_UID || c == OPT_ALLOW_GID) {
			bool uid = c == OPT_ALLOW_UID;
			uint32_t *n = uid ? &params.n_allow_uids : &params.n_allow_gids;
			if (*n == PX_MAX_ALLOW) {
				tool_error("%s: at most %d of them",
					   uid ? "--allow-uid" : "--allow-gid", PX_MAX_ALLOW);
				return EXIT_USAGE;
			}
			uint32_t *list = uid ? allow_uids : allow_gids;
			if (parse_id(uid ? "--allow-uid" : "--allow-gid", optarg, uid, &list[*n]))
				return EXIT_USAGE;
			(*n)++;
			params.allow_uids = allow_uids;
			params.allow_gids = allow_gids;
		}
		if (c == OPT_QUIET)
			quiet = true;
		if (c == OPT_DEVICE)
			params.device = optarg;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &params.topic))
		return EXIT_USAGE;
	if (vulkan && params.device) {
		tool_error("--device: not with --allocator vulkan (the Vulkan device is the "
			   "default choice)");
		return EXIT_USAGE;
	}
	if (vulkan && params.min_pool_size) {
		tool_error("--min-slots: not with --allocator vulkan (the exported pool is made "
			   "whole, before publishing)");
		return EXIT_USAGE;
	}

	for (uint32_t i = 0; i < n_images; i++)
		descs[i] = desc;
	tool_capture_begin();
	ret = px_layout_init_packed(&layout, n_images, descs, 64, PX_PACK_PER_IMAGE);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("%s", why);
		return EXIT_USAGE;
	}
	if (!(tracker = calloc(1, sizeof(*tracker)))) {
		tool_error("out of memory");
		return EXIT_FAIL;
	}
	params.dir = topic_dir;
	params.layout = &layout;
	params.allocator = allocator;
	params.pool_size = pool_size;
	params.max_subscribers = max_subs;
	if (vulkan) {
		/* The pool the publisher would have made: 2 + 4 × (2 leases + 1)
		 * slots by default. */
		uint32_t n_slots = pool_size ? pool_size : 2 + (max_subs ? max_subs : 4) * 3;
		if (vk_export_open(&vke, &layout, n_slots)) {
			free(tracker);
			return EXIT_FAIL;
		}
		params.layout = vke.layout;
		params.external = &vke.ext;
		params.pool_size = 0;
	}
	tool_capture_begin();
	ret = px_publisher_create(&params, &pub);
	why = tool_capture_end(ret);
	if (ret) {
		tool_error("cannot publish '%s': %s", params.topic, why);
		vk_export_close(&vke);
		free(tracker);
		return EXIT_FAIL;
	}
	if (!px_publisher_is_mapped(pub) && !vke.vk_layout.n_images) {
		tool_error("'%s': the pool's buffers (%s) have no CPU mapping: the test pattern "
			   "cannot be drawn into them",
			   params.topic, px_allocator_name(px_publisher_get_allocator(pub)));
		px_publisher_destroy(pub);
		vk_export_close(&vke);
		free(tracker);
		return EXIT_FAIL;
	}
	catch_stop_signals();
	enum px_allocator_type used = px_publisher_get_allocator(pub);
	if (!quiet)
		fprintf(stderr, "pub-test %s: pid %d, %s at %g Hz, %u slots of %s, %s (%s%s%s)\n",
			params.topic, (int)getpid(),
			layout_summary(&layout, summary, sizeof(summary)), rate,
			px_publisher_get_pool_size(pub),
			bytes_name(px_layout_slot_bytes(&layout), bytes, sizeof(bytes)),
			px_allocator_name(used),
			px_publisher_is_dmabuf(pub) ? "dma-buf" : "not dma-buf",
			vulkan ? ", exported by a Vulkan device as " : "", vulkan ? vke.type : "");

	/* --wait-subscribers: frame 1 goes to the subscribers asked for. */
	while (wait_subs && !stop_signal && !ret) {
		struct px_publisher_stats st;
		px_publisher_get_stats(pub, &st);
		if (st.n_subscribers >= wait_subs)
			break;
		ret = wait_until(pub, px_now_ns() + 10 * NS_PER_MS, tracker);
	}
	uint64_t period = (uint64_t)(1e9 / rate + 0.5);
	uint64_t start = px_now_ns(), next = start, report = start + NS_PER_S;
	uint64_t end = duration ? start + duration : UINT64_MAX;
	int acquire_ms = (int)MAX(1, MIN(period / NS_PER_MS, 1000));
	while (!ret && !stop_signal && (!count || published < count)) {
		uint64_t now = px_now_ns();
		if (now >= end)
			break;
		if (now >= report) {
			struct px_publisher_stats st;
			px_publisher_get_stats(pub, &st);
			if (!quiet)
				fprintf(stderr,
					"pub-test %s: %llu frames, %.1f Hz, %u subscriber%s, %u "
					"slots\n",
					params.topic, (unsigned long long)published, st.rate_hz,
					st.n_subscribers, st.n_subscribers == 1 ? "" : "s",
					st.pool_size);
			report += NS_PER_S;
		}
		if (now < next) {
			if ((ret = wait_until(pub, MIN(MIN(next, report), end), tracker)))
				break;
			continue;
		}
		struct px_slot *slot;
		ret = px_publisher_acquire(pub, acquire_ms, &slot);
		if (ret == -EAGAIN) {
			timeouts++;
		} else if (ret) {
			tool_error("acquire: %s", px_strerror(ret));
			break;
		} else {
			/* The publisher numbers frames 1, 2, 3… in publish order. */
			struct px_slot view;
			uint64_t drew;
			if ((ret = publish_pattern(pub, slot, vk_export_view(&vke, slot, &view),
						   published + 1, &drew)))
				break;
			if (samples_add(&draw_times, drew) < 0)
				draw_lost++;
			last_ns = px_now_ns();
			if (!published++)
				first_ns = last_ns;
			track_subscribers(tracker, pub);
		}
		ret = 0;
		/* Absolute deadlines do not drift; after a stall, start afresh
		 * rather than publish a burst. */
		next += period;
		if (next + period < px_now_ns())
			next = px_now_ns();
	}
	if (ret == 0 && stop_signal && !quiet)
		fprintf(stderr, "pub-test %s: stopped by signal %d\n", params.topic,
			(int)stop_signal);
	struct drain undelivered;
	publisher_drain(pub, ret ? 0 : DRAIN_NS, &undelivered);
	/* Read the releases still queued: a Unix socket closed with unread
	 * data resets its peer, which then loses the END message. */
	px_publisher_dispatch(pub, 0);
	track_subscribers(tracker, pub);
	px_publisher_destroy(pub);
	vk_export_close(&vke);

	printf("published: %llu frames", (unsigned long long)published);
	if (published > 1 && last_ns > first_ns)
		printf(" in %.3f s (%.2f Hz)", ns_to_s(last_ns - first_ns),
		       (double)(published - 1) * 1e9 / (double)(last_ns - first_ns));
	printf("\n");
	printf("acquire timeouts: %llu\n", (unsigned long long)timeouts);
	print_undelivered(&undelivered);
	/* The images' timestamps precede their drawing: a subscriber's latency
	 * from the timestamp includes it. */
	samples_sort(&draw_times);
	if (draw_times.n)
		printf("drawing the pattern: p50 %.2f ms, p99 %.2f ms per set (before each "
		       "publish, after the timestamp)%s\n",
		       (double)samples_percentile(&draw_times, 50) / 1e6,
		       (double)samples_percentile(&draw_times, 99) / 1e6,
		       draw_lost ? " (some samples lost: out of memory)" : "");
	samples_finish(&draw_times);
	print_tracked(tracker);
	free(tracker);
	return ret ? EXIT_FAIL : EXIT_SUCCESS;
}

enum save_format { SAVE_AUTO, SAVE_PNG, SAVE_Y4M, SAVE_RAW };

static int parse_save_format(const char *s, enum save_format *out)
{
	if (!strcmp(s, "png"))
		*out = SAVE_PNG;
	else if (!strcmp(s, "y4m"))
		*out = SAVE_Y4M;
	else if (!strcmp(s, "raw"))
		*out = SAVE_RAW;
	else if (!strcmp(s, "auto"))
		*out = SAVE_AUTO;
	else {
		tool_error("--format: unknown file format '%s'; use png, y4m, raw or auto", s);
		return -1;
	}
	return 0;
}

/* Writes one image of a frame to DIR/<topic>-<seq>-<image>.<ext>. */
static int save_image(const char *dir, const char *topic, const struct px_frame *f, uint32_t i,
		      enum save_format fmt)
{
	const struct px_image_layout *img = &f->layout->images[i];
	const struct px_format_info *fi = px_format_get_info(img->fourcc);
	const void *planes[PX_MAX_PLANES] = {NULL};
	static const char *const ext[] = {"", "png", "y4m", "raw"};
	char path[4096], err[256] = "", name[24];
	int ret;

	if (fmt == SAVE_AUTO)
		fmt = fi && fi->is_yuv ? SAVE_Y4M : SAVE_PNG;
	for (uint32_t p = 0; p < img->n_planes; p++)
		planes[p] = px_frame_plane(f, i, p);
	if (!planes[0]) {
		tool_error("%s: frame %llu image %u: its buffers have no CPU mapping here (device "
			   "memory): nothing to save",
			   topic, (unsigned long long)f->seq, i);
		return -ENODATA;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s-%llu-%u.%s", dir, topic,
			     (unsigned long long)f->seq, i, ext[fmt]) >= sizeof(path)) {
		tool_error("%s/…: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (fmt == SAVE_PNG) {
		ret = px_write_png(path, img, planes, err, sizeof(err));
	} else if (fmt == SAVE_RAW) {
		ret = px_write_raw(path, img, planes, err, sizeof(err));
	} else {
		FILE *file = fopen(path, "wbe");
		if (!file) {
			ret = -errno;
			tool_error("%s: %s", path, strerror(-ret));
			return ret;
		}
		ret = px_write_y4m_frame(file, true, img, planes);
		if (fclose(file) && !ret)
			ret = -errno;
		if (ret == -ENOTSUP)
			snprintf(err, sizeof(err), "y4m cannot hold %s; use --format png or raw",
				 px_format_name(img->fourcc, name, sizeof(name)));
	}
	if (ret) {
		unlink(path); /* incomplete */
		tool_error("%s: %s", path, err[0] ? err : px_strerror(ret));
		return ret;
	}
	printf("%s\n", path);
	return 0;
}

static int cmd_save(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC", "DIR"};
	enum save_format fmt = SAVE_AUTO;
	struct px_subscriber *sub;
	uint64_t count = 1, wait = 0, saved = 0;
	const char *args[2];
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_COUNT && parse_u64("--count", optarg, 1, 1000000, &count)) ||
		    (c == OPT_FORMAT && parse_save_format(optarg, &fmt)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)))
			return EXIT_USAGE;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 2, args))
		return EXIT_USAGE;
	if ((ret = make_dirs(args[1]))) {
		tool_error("cannot create directory %s: %s", args[1], px_strerror(ret));
		return EXIT_FAIL;
	}
	catch_stop_signals();
	if (subscribe(args[0], PX_QOS_LATEST, 0, 0, wait, &sub))
		return EXIT_FAIL;

	int status = EXIT_SUCCESS;
	while (saved < count) {
		struct px_frame *f;
		if ((ret = wait_frame(sub, UINT64_MAX, &f))) {
			receive_end(ret);
			tool_error("saved %llu of %llu frames", (unsigned long long)saved,
				   (unsigned long long)count);
			status = EXIT_FAIL;
			break;
		}
		for (uint32_t i = 0; i < f->layout->n_images && !ret; i++)
			if (f->valid_mask & (1u << i))
				ret = save_image(args[1], args[0], f, i, fmt);
		px_frame_release(f);
		if (ret) {
			status = EXIT_FAIL;
			break;
		}
		saved++;
	}
	px_subscriber_destroy(sub);
	return status;
}

/* sub-test --verify: checks every present image against the test pattern. */
static uint64_t verify_frame(const struct px_frame *f, uint64_t *reported)
{
	uint64_t bad = 0;
	char why[192];

	for (uint32_t i = 0; i < f->layout->n_images; i++) {
		const void *planes[PX_MAX_PLANES] = {NULL};
		if (!(f->valid_mask & (1u << i)))
			continue;
		for (uint32_t p = 0; p < f->layout->images[i].n_planes; p++)
			planes[p] = px_frame_plane(f, i, p);
		if (!planes[0]) {
			bad++;
			if ((*reported)++ < MAX_MISMATCH_REPORTS)
				tool_error("frame %llu image %u: its buffers have no CPU mapping "
					   "here (device memory): cannot be verified",
					   (unsigned long long)f->seq, i);
			continue;
		}
		struct px_pattern_params pp = {
		    .frame = f->seq,
		    .image_index = i,
		    .timestamp_ns = f->images[i].timestamp_ns,
		};
		why[0] = '\0';
		if (px_pattern_verify(&f->layout->images[i], planes, &pp, why, sizeof(why)) == 0)
			continue;
		bad++;
		if ((*reported)++ < MAX_MISMATCH_REPORTS)
			tool_error("frame %llu image %u: %s", (unsigned long long)f->seq, i,
				   why[0] ? why : "differs from the test pattern");
	}
	return bad;
}

static int cmd_sub_test(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"qos", required_argument, NULL, OPT_QOS},
	    {"verify", no_argument, NULL, OPT_VERIFY},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"publisher-uid", required_argument, NULL, OPT_PUBLISHER_UID},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	enum px_qos qos = PX_QOS_LATEST;
	struct samples lat = {0};
	struct drops d = {0};
	struct px_subscriber *sub;
	uint64_t count = 0, duration = 0, wait = 0, frames = 0, images = 0;
	uint64_t mismatches = 0, reported = 0, fresh = 0, first_ns = 0, last_ns = 0;
	uint32_t depth = 0;
	bool verify = false, oom = false;
	const char *topic;
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_QOS && parse_qos("--qos", optarg, &qos, &depth)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)))
			return EXIT_USAGE;
		if (c == OPT_PUBLISHER_UID) {
			uint32_t uid;
			if (parse_id("--publisher-uid", optarg, true, &uid))
				return EXIT_USAGE;
			publisher_uid = uid;
		}
		if (c == OPT_VERIFY)
			verify = true;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &topic))
		return EXIT_USAGE;
	catch_stop_signals();
	if (subscribe(topic, qos, depth, 0, wait, &sub))
		return EXIT_FAIL;

	uint64_t start = px_now_ns(), end = duration ? start + duration : UINT64_MAX;
	struct px_frame *f;
	while ((!count || frames < count) && (ret = wait_frame(sub, end, &f)) == 0) {
		drops_count(&d, f);
		frames++;
		/* The frame the publisher kept for newcomers waited for us: it
		 * counts for neither latency nor rate. */
		if (!f->replayed) {
			if (!fresh++)
				first_ns = f->receive_ns;
			last_ns = f->receive_ns;
			oom |= samples_add(&lat, f->receive_ns - f->publish_ns) < 0;
		}
		if (verify) {
			mismatches += verify_frame(f, &reported);
			for (uint32_t m = f->valid_mask; m; m &= m - 1)
				images++;
		}
		px_frame_release(f);
	}
	ret = count && frames >= count ? 0 : receive_end(ret);
	if (oom)
		tool_error("out of memory: some samples are missing");

	samples_sort(&lat);
	printf("frames: %llu\n", (unsigned long long)frames);
	if (fresh > 1 && last_ns > first_ns)
		printf("rate: %.2f Hz\n", (double)(fresh - 1) * 1e9 / (double)(last_ns - first_ns));
	if (lat.n)
		printf("latency: p50 %.1f µs, p99 %.1f µs, max %.1f µs\n",
		       (double)samples_percentile(&lat, 50) / NS_PER_US,
		       (double)samples_percentile(&lat, 99) / NS_PER_US,
		       (double)lat.v[lat.n - 1] / NS_PER_US);
	drops_print(&d, sub);
	if (verify)
		printf("mismatches: %llu of %llu images\n", (unsigned long long)mismatches,
		       (unsigned long long)images);
	else
		printf("mismatches: not verified (use --verify)\n");
	px_subscriber_destroy(sub);
	samples_finish(&lat);
	if (!frames && !ret)
		tool_error("no frames received");
	else if (mismatches)
		tool_error("%llu image%s differ from the test pattern",
			   (unsigned long long)mismatches, mismatches == 1 ? "" : "s");
	return ret || !frames || mismatches ? EXIT_FAIL : EXIT_SUCCESS;
}

static int cmd_record(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"qos", required_argument, NULL, OPT_QOS},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC", "FILE"};
	struct record_options o = {.qos = PX_QOS_RELIABLE};
	const char *args[2];
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &o.count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &o.duration_ns)) ||
		    (c == OPT_QOS && parse_qos("--qos", optarg, &o.qos, &o.queue_depth)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &o.wait_ns)))
			return EXIT_USAGE;
		if (c == OPT_FORCE)
			o.force = true;
		if (c == OPT_QUIET)
			o.quiet = true;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 2, args))
		return EXIT_USAGE;
	o.topic = args[0];
	o.path = args[1];
	return record_run(&o);
}

static int cmd_decode(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"qos", required_argument, NULL, OPT_QOS},
	    {"allocator", required_argument, NULL, OPT_ALLOCATOR},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"IN_TOPIC", "OUT_TOPIC"};
	struct decode_options o = {.qos = PX_QOS_LATEST, .who = "decode"};
	struct decode_stats st;
	const char *args[2];
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_FORMAT && (parse_format("--format", optarg, &o.fourcc) ||
					 decode_check_format("--format", o.fourcc))) ||
		    (c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &o.count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &o.duration_ns)) ||
		    (c == OPT_QOS && parse_qos("--qos", optarg, &o.qos, &o.queue_depth)) ||
		    (c == OPT_ALLOCATOR && parse_allocator("--allocator", optarg, &o.allocator)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &o.wait_ns)))
			return EXIT_USAGE;
		if (c == OPT_QUIET)
			o.quiet = true;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 2, args))
		return EXIT_USAGE;
	o.in_topic = args[0];
	o.out_topic = args[1];
	if (!strcmp(o.in_topic, o.out_topic)) {
		tool_error("IN_TOPIC and OUT_TOPIC are both '%s'", o.in_topic);
		return EXIT_USAGE;
	}
	catch_stop_signals();
	int status = decode_run(&o, NULL, &st);
	if (decode_available())
		decode_print_stats(&st);
	return status;
}

static int cmd_play(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"rate", required_argument, NULL, OPT_RATE},
	    {"loop", no_argument, NULL, OPT_LOOP},
	    {"start", required_argument, NULL, OPT_START},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"allocator", required_argument, NULL, OPT_ALLOCATOR},
	    {"wait-subscribers", required_argument, NULL, OPT_WAIT_SUBSCRIBERS},
	    {"row-align", required_argument, NULL, OPT_ROW_ALIGN},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"FILE", "TOPIC"};
	struct play_options o = {.rate = 1};
	const char *args[2];
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_RATE && parse_double("--rate", optarg, 0.001, 1000, &o.rate)) ||
		    (c == OPT_START && parse_u64("--start", optarg, 0, UINT64_MAX, &o.start)) ||
		    (c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &o.count)) ||
		    (c == OPT_ALLOCATOR && parse_allocator("--allocator", optarg, &o.allocator)) ||
		    (c == OPT_WAIT_SUBSCRIBERS &&
		     parse_u32("--wait-subscribers", optarg, 0, PX_MAX_SUBSCRIBERS,
			       &o.wait_subscribers)) ||
		    (c == OPT_ROW_ALIGN && parse_u32("--row-align", optarg, 1, 4096, &o.row_align)))
			return EXIT_USAGE;
		if (c == OPT_LOOP)
			o.loop = true;
		if (c == OPT_QUIET)
			o.quiet = true;
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 2, args))
		return EXIT_USAGE;
	o.path = args[0];
	o.topic = args[1];
	return play_run(&o);
}

static int cmd_view(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"log", no_argument, NULL, OPT_LOG},
	    {"save-after", required_argument, NULL, OPT_SAVE_AFTER},
	    {"save-dir", required_argument, NULL, OPT_SAVE_DIR},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	uint64_t count = 0, duration = 0, wait = 0, save_after = 0;
	uint32_t width = 1280, height = 720;
	const char *topic, *save_dir = ".";
	bool log = false;
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_SIZE && parse_size("--size", optarg, &width, &height)) ||
		    (c == OPT_SAVE_AFTER &&
		     parse_u64("--save-after", optarg, 1, UINT64_MAX, &save_after)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)))
			return EXIT_USAGE;
		if (c == OPT_LOG)
			log = true;
		if (c == OPT_SAVE_DIR) {
			if (!optarg[0]) {
				tool_error("--save-dir: empty directory name");
				return EXIT_USAGE;
			}
			save_dir = optarg;
		}
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &topic))
		return EXIT_USAGE;
#ifdef PX_HAVE_SDL2
	struct view_options o = {
	    .topic = topic,
	    .count = count,
	    .duration_ns = duration,
	    .wait_ns = wait,
	    .width = width,
	    .height = height,
	    .save_after = save_after,
	    .save_dir = save_dir,
	    .log = log,
	};
	return view_run(&o);
#else
	(void)log;
	(void)save_dir;
	tool_error("this pixshare was built without SDL2 (or without EGL): no viewer; "
		   "install libsdl2-dev and build again");
	return EXIT_FAIL;
#endif
}

static const struct command *find_command(const char *name);
static int cmd_camera(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, OPT_DEVICE},
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"fps", required_argument, NULL, OPT_RATE},
	    {"io", required_argument, NULL, OPT_IO},
	    {"sync-tolerance", required_argument, NULL, OPT_SYNC_TOLERANCE},
	    {"partial", required_argument, NULL, OPT_PARTIAL},
	    {"v4l2-format", required_argument, NULL, OPT_V4L2_FORMAT},
	    {"allocator", required_argument, NULL, OPT_ALLOCATOR},
	    {"alloc-device", required_argument, NULL, OPT_ALLOC_DEVICE},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    {"decode", optional_argument, NULL, OPT_DECODE},
	    DEADLINE_OPTIONS,
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC"};
	const char *devices[PX_MAX_IMAGES];
	/* --decode: the cameras' MJPEG is published as TOPIC.mjpeg, and a
	 * worker thread decodes it into TOPIC. */
	struct decode_options dopt = {.qos = PX_QOS_LATEST, .who = "camera"};
	struct decode_thread *decoder = NULL;
	struct decode_stats dst = {0};
	char mjpeg_topic[PX_TOPIC_MAX + 8];
	bool decode = false;
	uint32_t n_devices = 0;
	struct px_camera_params cp = {0};
	struct px_rig_params rp = {0};
	/* A camera cannot wait: a reliable subscriber that stopped would stop
	 * it for good. */
	struct px_publisher_params pp = {.stall_policy = PX_STALL_DISCONNECT_RELIABLE};
	uint64_t count = 0, duration = 0;
	double tolerance_ms = 0;
	bool quiet = false;
	char summary[256];
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_SIZE && parse_size("--size", optarg, &cp.width, &cp.height)) ||
		    (c == OPT_FORMAT && parse_format("--format", optarg, &cp.fourcc)) ||
		    (c == OPT_RATE && parse_double("--fps", optarg, 0.01, 10000, &cp.fps)) ||
		    (c == OPT_SYNC_TOLERANCE &&
		     parse_double("--sync-tolerance", optarg, 0.001, 10000, &tolerance_ms)) ||
		    (c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_ALLOCATOR && parse_allocator("--allocator", optarg, &pp.allocator)) ||
		    parse_deadline_option(c, optarg, &pp) < 0)
			return EXIT_USAGE;
		if (c == OPT_IO && px_camera_io_from_name(optarg, &rp.io)) {
			tool_error("--io: unknown mode '%s'; use auto, dmabuf, export or copy",
				   optarg);
			return EXIT_USAGE;
		}
		if (c == OPT_V4L2_FORMAT) {
			if (strlen(optarg) != 4) {
				tool_error("--v4l2-format: '%s' is not a four-character code, "
					   "e.g. NM12",
					   optarg);
				return EXIT_USAGE;
			}
			cp.v4l2_format = (uint32_t)(uint8_t)optarg[0] |
					 (uint32_t)(uint8_t)optarg[1] << 8 |
					 (uint32_t)(uint8_t)optarg[2] << 16 |
					 (uint32_t)(uint8_t)optarg[3] << 24;
		}
		if (c == OPT_PARTIAL && px_rig_partial_from_name(optarg, &rp.partial)) {
			tool_error("--partial: unknown policy '%s'; use deliver or drop", optarg);
			return EXIT_USAGE;
		}
		if (c == OPT_DEVICE) {
			if (n_devices == PX_MAX_IMAGES) {
				tool_error("--device: at most %u cameras", PX_MAX_IMAGES);
				return EXIT_USAGE;
			}
			devices[n_devices++] = optarg;
		}
		if (c == OPT_ALLOC_DEVICE)
			pp.device = optarg;
		if (c == OPT_QUIET)
			quiet = true;
		if (c == OPT_DECODE) {
			decode = true;
			if (optarg && (parse_format("--decode", optarg, &dopt.fourcc) ||
				       decode_check_format("--decode", dopt.fourcc)))
				return EXIT_USAGE;
		}
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, 1, &pp.topic))
		return EXIT_USAGE;
	if (decode) {
		char name[16];
		if (cp.fourcc && cp.fourcc != PX_FORMAT_MJPEG) {
			tool_error("--decode decodes MJPEG: --format %s cannot go with it (leave "
				   "--format out, or give MJPEG)",
				   px_format_name(cp.fourcc, name, sizeof(name)));
			return EXIT_USAGE;
		}
		if (cp.v4l2_format && cp.v4l2_format != V4L2_PIX_FMT_MJPEG) {
			tool_error("--decode decodes MJPEG: --v4l2-format must be MJPG or left "
				   "out");
			return EXIT_USAGE;
		}
		if (strlen(pp.topic) + strlen(".mjpeg") > PX_TOPIC_MAX) {
			tool_error("--decode: TOPIC '%s' is too long for its MJPEG topic "
				   "'%s.mjpeg' (at most %u bytes)",
				   pp.topic, pp.topic, PX_TOPIC_MAX);
			return EXIT_USAGE;
		}
		if (!decode_available()) {
			tool_error("--decode: this pixshare was built without libturbojpeg: it "
				   "cannot decode MJPEG (install libturbojpeg0-dev and rebuild)");
			return EXIT_FAIL;
		}
		cp.fourcc = PX_FORMAT_MJPEG;
		snprintf(mjpeg_topic, sizeof(mjpeg_topic), "%s.mjpeg", pp.topic);
		dopt.in_topic = mjpeg_topic;
		dopt.out_topic = pp.topic;
		dopt.allocator = pp.allocator;
		dopt.quiet = quiet;
		dopt.wait_ns = 2 * NS_PER_S;
		pp.topic = mjpeg_topic;
	}
	if (!n_devices) {
		tool_error("--device is required (see 'pixshare list-cameras')");
		return EXIT_USAGE;
	}
	rp.tolerance_ns = (uint64_t)(tolerance_ms * 1e6);

	struct px_camera *cams[PX_MAX_IMAGES];
	const char *why;
	for (uint32_t i = 0; i < n_devices; i++) {
		cp.device = devices[i];
		tool_capture_begin();
		ret = px_camera_open(&cp, &cams[i]);
		why = tool_capture_end(ret);
		if (ret) {
			tool_error("%s", why);
			while (i--)
				px_camera_close(cams[i]);
			return EXIT_FAIL;
		}
	}
	for (uint32_t i = 0; decode && i < n_devices; i++) {
		uint32_t f = px_camera_get_layout(cams[i])->images[0].fourcc;
		char name[16];
		if (f != PX_FORMAT_MJPEG) {
			tool_error("--decode: %s delivers %s, not MJPEG", devices[i],
				   px_format_name(f, name, sizeof(name)));
			for (uint32_t k = 0; k < n_devices; k++)
				px_camera_close(cams[k]);
			return EXIT_FAIL;
		}
	}
	struct px_rig *rig;
	ret = px_rig_create(cams, n_devices, &rp, &rig);
	if (ret) {
		tool_error("cannot make a set of %u cameras: %s", n_devices, px_strerror(ret));
		for (uint32_t i = 0; i < n_devices; i++)
			px_camera_close(cams[i]);
		return EXIT_FAIL;
	}
	pp.dir = topic_dir;
	tool_capture_begin();
	ret = px_rig_start(rig, &pp);
	why = tool_capture_end(ret);
	if (ret) {
		tool_error("cannot publish '%s': %s", pp.topic, why);
		px_rig_destroy(rig);
		return EXIT_FAIL;
	}
	catch_stop_signals();
	struct px_publisher *pub = px_rig_get_publisher(rig);
	if (!quiet)
		fprintf(stderr, "camera %s: pid %d, %s from %u camera%s, %s mode, %u slots (%s)\n",
			pp.topic, (int)getpid(),
			layout_summary(px_publisher_get_layout(pub), summary, sizeof(summary)),
			n_devices, n_devices == 1 ? "" : "s", px_camera_io_name(px_rig_io(rig)),
			px_publisher_get_pool_size(pub),
			px_allocator_name(px_publisher_get_allocator(pub)));
	if (decode && decode_thread_start(&dopt, &decoder)) {
		px_rig_destroy(rig);
		return EXIT_FAIL;
	}

	struct px_rig_stats rs = {0};
	uint64_t start = px_now_ns(), report = start + NS_PER_S;
	uint64_t end = duration ? start + duration : UINT64_MAX;
	ret = 0;
	while (!stop_signal && (!count || rs.sets < count) && px_now_ns() < end) {
		if (decoder && decode_thread_done(decoder)) {
			ret = -EIO; /* the decoder said why */
			break;
		}
		struct pollfd pfd = {.fd = px_rig_get_fd(rig), .events = POLLIN};
		/* Short waits: releases do not wake us, and slots they free
		 * must go back to the drivers within a frame. */
		int timeout = px_rig_timeout_ms(rig);
		if (poll(&pfd, 1, timeout < 0 || timeout > 10 ? 10 : timeout) < 0 &&
		    errno != EINTR) {
			ret = -errno;
			tool_error("poll: %s", strerror(errno));
			break;
		}
		if ((ret = px_rig_dispatch(rig)) < 0) {
			tool_error("%s", ret == -ENODEV ? "every camera is gone" : px_strerror(ret));
			break;
		}
		ret = 0;
		px_rig_get_stats(rig, &rs);
		if (px_now_ns() >= report) {
			struct px_publisher_stats st;
			px_publisher_get_stats(pub, &st);
			uint64_t drops = 0;
			for (uint32_t i = 0; i < n_devices; i++) {
				struct px_camera_stats cs;
				px_camera_get_stats(px_rig_get_camera(rig, i), &cs);
				drops += cs.drops;
			}
			if (!quiet)
				fprintf(stderr,
					"camera %s: %llu sets (%llu partial, %llu dropped), %.1f Hz, "
					"%llu driver drops, %u subscriber%s\n",
					pp.topic, (unsigned long long)rs.sets,
					(unsigned long long)rs.partial, (unsigned long long)rs.dropped,
					st.rate_hz, (unsigned long long)drops, st.n_subscribers,
					st.n_subscribers == 1 ? "" : "s");
			report += NS_PER_S;
		}
	}
	int decode_status = decoder ? decode_thread_stop(decoder, &dst) : EXIT_SUCCESS;
	double secs = ns_to_s(px_now_ns() - start);
	px_rig_get_stats(rig, &rs);
	printf("published: %llu sets in %.3f s (%.2f Hz): %llu complete, %llu partial, %llu "
	       "dropped\n",
	       (unsigned long long)rs.sets, secs, secs > 0 ? (double)rs.sets / secs : 0,
	       (unsigned long long)rs.complete, (unsigned long long)rs.partial,
	       (unsigned long long)rs.dropped);
	printf("mode: %s\n", px_camera_io_name(px_rig_io(rig)));
	if (n_devices > 1)
		printf("skew: max %.2f ms, mean %.2f ms\n", (double)rs.max_skew_ns / 1e6,
		       rs.sets ? (double)rs.sum_skew_ns / (double)rs.sets / 1e6 : 0.0);
	uint64_t copies = 0;
	for (uint32_t i = 0; i < n_devices; i++) {
		struct px_camera_stats cs;
		px_camera_get_stats(px_rig_get_camera(rig, i), &cs);
		copies += cs.copies;
		printf("%s: %llu frames, %llu copies, %llu drops (driver), %llu discarded, %llu "
		       "underruns, %llu missing, %llu unsynced%s\n",
		       devices[i], (unsigned long long)cs.frames, (unsigned long long)cs.copies,
		       (unsigned long long)cs.drops, (unsigned long long)cs.discarded,
		       (unsigned long long)cs.underruns, (unsigned long long)cs.missing,
		       (unsigned long long)cs.unsynced, cs.gone ? ", gone" : "");
	}
	printf("copies: %llu\n", (unsigned long long)copies);
	if (decode)
		decode_print_stats(&dst);
	px_rig_destroy(rig);
	return ret || decode_status != EXIT_SUCCESS ? EXIT_FAIL : EXIT_SUCCESS;
}

/* One V4L2 capture device: its formats, sizes and rates. */
static void list_camera(const char *path, int fd, const struct v4l2_capability *cap,
			uint32_t type)
{
	printf("%s: %s (%s, %s)%s\n", path, (const char *)cap->card, (const char *)cap->driver,
	       (const char *)cap->bus_info,
	       type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ? ", multi-planar API" : "");
	struct v4l2_fmtdesc fd_ = {.type = type};
	for (fd_.index = 0; ioctl(fd, VIDIOC_ENUM_FMT, &fd_) == 0; fd_.index++) {
		char v4l2[5], drm[16];
		for (int i = 0; i < 4; i++)
			v4l2[i] = (char)((fd_.pixelformat >> (8 * i)) & 0xff);
		v4l2[4] = '\0';
		uint32_t f = px_camera_format_from_v4l2(fd_.pixelformat);
		printf("  %s  %-10s %s\n", v4l2, f ? px_format_name(f, drm, sizeof(drm)) : "-",
		       (const char *)fd_.description);
		struct v4l2_frmsizeenum fs = {.pixel_format = fd_.pixelformat};
		for (fs.index = 0; ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
			if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
				printf("        %ux%u to %ux%u\n", fs.stepwise.min_width,
				       fs.stepwise.min_height, fs.stepwise.max_width,
				       fs.stepwise.max_height);
				break;
			}
			printf("        %ux%u:", fs.discrete.width, fs.discrete.height);
			struct v4l2_frmivalenum fi = {.pixel_format = fd_.pixelformat,
						      .width = fs.discrete.width,
						      .height = fs.discrete.height};
			for (fi.index = 0; ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0;
			     fi.index++) {
				if (fi.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
					printf(" any rate");
					break;
				}
				printf(" %g", fi.discrete.numerator
						  ? (double)fi.discrete.denominator /
							    fi.discrete.numerator
						  : 0.0);
			}
			printf(fi.index ? " fps\n" : "\n");
		}
	}
}

static int cmd_list_cameras(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {COMMON_OPTIONS, {0}};
	int c, found = 0;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0)
		;
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, NULL, 0, NULL))
		return EXIT_USAGE;
	for (int i = 0; i < 256; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/video%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct v4l2_capability cap = {0};
		if (ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
			uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps
										  : cap.capabilities;
			if (caps & V4L2_CAP_VIDEO_CAPTURE) {
				list_camera(path, fd, &cap, V4L2_BUF_TYPE_VIDEO_CAPTURE);
				found++;
			} else if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) {
				list_camera(path, fd, &cap, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
				found++;
			}
		}
		close(fd);
	}
	if (!found)
		fprintf(stderr, "no V4L2 capture device\n");
	return EXIT_SUCCESS;
}

static void print_usage(FILE *f);

static int cmd_help(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {COMMON_OPTIONS, {0}};
	int c;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0)
		;
	if (c != OPT_END)
		return option_exit(c);
	if (argc - optind > 1) {
		tool_error("unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (argc - optind == 0) {
		print_usage(stdout);
		return EXIT_SUCCESS;
	}
	const struct command *about = find_command(argv[optind]);
	if (!about) {
		tool_error("unknown command '%s' (see 'pixshare help')", argv[optind]);
		return EXIT_USAGE;
	}
	print_help(about);
	return EXIT_SUCCESS;
}

/*
 * The bridge to ROS 1 is an executable of its own (C++, on roscpp),
 * pixshare-ros-bridge, which lies beside this one and takes the same command
 * line; --dir goes with it. Its help is printed here, so that it shows
 * where the bridge was not built too.
 */
static int cmd_ros_bridge(const struct command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_help(cmd);
			return EXIT_SUCCESS;
		}
#ifndef PX_HAVE_ROS
	tool_error("this pixshare was built without ROS: install libroscpp-dev and "
		   "libsensor-msgs-dev (scripts/setup does) and build it again");
	return EXIT_FAIL;
#else
	static const char name[] = "pixshare-ros-bridge";
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path));
	if (n < 0 || n == sizeof(path)) {
		tool_error("cannot find this program's directory: readlink /proc/self/exe: %s",
			   n < 0 ? strerror(errno) : "too long");
		return EXIT_FAIL;
	}
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash + 1 - path) + sizeof(name) > sizeof(path)) {
		tool_error("cannot find this program's directory in '%s'", path);
		return EXIT_FAIL;
	}
	memcpy(slash + 1, name, sizeof(name));
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	if (!args) {
		tool_error("out of memory");
		return EXIT_FAIL;
	}
	int k = 0;
	args[k++] = path;
	if (topic_dir) {
		args[k++] = (char *)"--dir";
		args[k++] = (char *)topic_dir;
	}
	for (int i = 1; i < argc; i++)
		args[k++] = argv[i];
	fflush(stdout);
	execv(path, args);
	tool_error("cannot run %s: %s", path, strerror(errno));
	free(args);
	return EXIT_FAIL;
#endif
}

#ifdef PX_HAVE_VULKAN
/* Fused GPU transforms of a topic's sets: every image of the set goes through
 * the same chain, into one output buffer, images one below the other; or,
 * with OUT, each into image i of a set of the topic OUT, republished. */
static int cmd_transform(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"crop", required_argument, NULL, OPT_CROP},
	    {"rotate", required_argument, NULL, OPT_ROTATE},
	    {"flip", required_argument, NULL, OPT_FLIP},
	    {"resize", required_argument, NULL, OPT_RESIZE},
	    {"scale", required_argument, NULL, OPT_SCALE},
	    {"filter", required_argument, NULL, OPT_FILTER},
	    {"matrix", required_argument, NULL, OPT_MATRIX},
	    {"range", required_argument, NULL, OPT_RANGE},
	    {"format", required_argument, NULL, OPT_OUT_FORMAT},
	    {"png", required_argument, NULL, OPT_SAVE_PNG},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"allocator", required_argument, NULL, OPT_ALLOCATOR},
	    {"pool", required_argument, NULL, OPT_POOL},
	    COMMON_OPTIONS,
	    {0},
	};
	static const char *const names[] = {"TOPIC", "OUT"};
	static const char *const filters[] = {"nearest", "bilinear", "bicubic", "area"};
	static const char *const formats[] = {"rgba", "bgra", "gray", "f32"};
	struct px_transform_image tpl = {.filter = PX_FILTER_BILINEAR};
	enum px_out_format out_format = PX_OUT_RGBA8;
	uint32_t cx = 0, cy = 0, cw = 0, ch = 0, ow = 0, oh = 0;
	double scale = 0, angle = 0;
	uint64_t count = 0, duration = 0, wait = 0;
	const char *args[2] = {NULL, NULL}, *topic, *out_topic = NULL, *png = NULL;
	enum px_allocator_type allocator = PX_ALLOCATOR_AUTO;
	uint32_t pool_size = 0;
	int c, ret;

	while ((c = next_option(cmd, argc, argv, opts)) >= 0) {
		if ((c == OPT_RESIZE && parse_size("--resize", optarg, &ow, &oh)) ||
		    (c == OPT_SCALE && parse_double("--scale", optarg, 0.001, 64, &scale)) ||
		    (c == OPT_ROTATE && parse_double("--rotate", optarg, -3600, 3600, &angle)) ||
		    (c == OPT_COUNT && parse_u64("--count", optarg, 1, UINT64_MAX, &count)) ||
		    (c == OPT_DURATION && parse_seconds("--duration", optarg, &duration)) ||
		    (c == OPT_WAIT && parse_seconds("--wait", optarg, &wait)) ||
		    (c == OPT_ALLOCATOR && parse_allocator("--allocator", optarg, &allocator)) ||
		    (c == OPT_POOL && parse_u32("--pool", optarg, 3, PX_MAX_SLOTS, &pool_size)))
			return EXIT_USAGE;
		/* (%u would take "-1" as 4294967295.) */
		if (c == OPT_CROP && (strspn(optarg, "0123456789,") != strlen(optarg) ||
				      sscanf(optarg, "%u,%u,%u,%u", &cx, &cy, &cw, &ch) != 4)) {
			tool_error("--crop: '%s' is not X,Y,W,H", optarg);
			return EXIT_USAGE;
		}
		if (c == OPT_CROP && (!cw || !ch)) {
			tool_error("--crop: width and height must not be 0");
			return EXIT_USAGE;
		}
		if (c == OPT_FLIP) {
			tpl.flip = 0;
			for (const char *q = optarg; *q; q++) {
				if (*q == 'h')
					tpl.flip |= PX_FLIP_H;
				else if (*q == 'v')
					tpl.flip |= PX_FLIP_V;
				else {
					tool_error("--flip: '%s'; use h, v or hv", optarg);
					return EXIT_USAGE;
				}
			}
		}
		if (c == OPT_FILTER || c == OPT_OUT_FORMAT) {
			const char *const *list = c == OPT_FILTER ? filters : formats;
			int found = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(optarg, list[k]))
					found = k;
			if (found < 0) {
				tool_error("%s: unknown '%s'; use %s, %s, %s or %s",
					   c == OPT_FILTER ? "--filter" : "--format", optarg, list[0],
					   list[1], list[2], list[3]);
				return EXIT_USAGE;
			}
			if (c == OPT_FILTER)
				tpl.filter = (enum px_filter)found;
			else
				out_format = (enum px_out_format)found;
		}
		if (c == OPT_SAVE_PNG)
			png = optarg;
		if (c == OPT_MATRIX) {
			if (!strcmp(optarg, "bt601")) {
				tpl.matrix = PX_MATRIX_BT601;
			} else if (!strcmp(optarg, "bt709")) {
				tpl.matrix = PX_MATRIX_BT709;
			} else {
				tool_error("--matrix: unknown '%s'; use bt601 or bt709", optarg);
				return EXIT_USAGE;
			}
		}
		if (c == OPT_RANGE) {
			if (strcmp(optarg, "limited") && strcmp(optarg, "full")) {
				tool_error("--range: unknown '%s'; use limited or full", optarg);
				return EXIT_USAGE;
			}
			tpl.full_range = !strcmp(optarg, "full");
		}
	}
	if (c != OPT_END)
		return option_exit(c);
	if (take_args(cmd, argc, argv, names, argc - optind >= 2 ? 2 : 1, args))
		return EXIT_USAGE;
	topic = args[0];
	out_topic = args[1];
	if (out_topic && (png || out_format == PX_OUT_FLOAT32_PLANAR)) {
		tool_error("with OUT: no --png (subscribe to OUT, e.g. 'pixshare save') and no "
			   "--format f32 (a float tensor has no pixel format to publish)");
		return EXIT_USAGE;
	}
	if (!out_topic && (allocator != PX_ALLOCATOR_AUTO || pool_size)) {
		tool_error("--allocator and --pool are for the OUT topic");
		return EXIT_USAGE;
	}
	if (ow && scale) {
		tool_error("--resize and --scale: give one");
		return EXIT_USAGE;
	}
	if (png && out_format != PX_OUT_RGBA8 && out_format != PX_OUT_GRAY8) {
		tool_error("--png: only with --format rgba or gray");
		return EXIT_USAGE;
	}
	double turns = angle / 90.0;
	if (turns == (double)(long)turns) {
		long q = ((long)turns % 4 + 4) % 4;
		tpl.rotation = (enum px_rotation)q;
	} else {
		tpl.rotation = PX_ROTATE_ANY;
		tpl.angle = (float)angle;
	}
	catch_stop_signals();
	struct px_subscriber *sub;
	/* Frames come with their acquire fences, which the transform waits
	 * for on the device where it imports sync_files, else on the CPU. */
	if (subscribe(topic, PX_QOS_LATEST, 0, PX_SUBSCRIBER_KEEP_FENCES, wait, &sub))
		return EXIT_FAIL;
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	for (uint32_t i = 0; i < l->n_images && cw; i++)
		if ((uint64_t)cx + cw > l->images[i].width || (uint64_t)cy + ch > l->images[i].height) {
			tool_error("--crop %u,%u,%u,%u: outside image %u (%ux%u)", cx, cy, cw, ch, i,
				   l->images[i].width, l->images[i].height);
			px_subscriber_destroy(sub);
			return EXIT_FAIL;
		}
	/* The device of TOPIC's pool where it is a GPU's (a DRM allocation, a
	 * Vulkan export), so that its buffers import without a copy; else, or
	 * where no Vulkan device is that one, the default choice. */
	struct px_topic_info ti;
	struct px_vk_params vp = {.flags = PX_VK_POOL_DEVICE_PREFERRED};
	if (px_subscriber_get_topic_info(sub, &ti) == 0) {
		vp.drm_device = ti.device;
		vp.device_uuid = ti.vulkan_export ? ti.vulkan_device_uuid : NULL;
	}
	struct px_vk *vk;
	tool_capture_begin();
	ret = px_vk_create(&vp, &vk);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("Vulkan: %s", why);
		px_subscriber_destroy(sub);
		return EXIT_FAIL;
	}
	struct px_vk_info vi;
	px_vk_get_info(vk, &vi);
	/* The same chain for every image, outputs one below the other. */
	struct px_transform_image imgs[PX_MAX_IMAGES];
	uint32_t bpp = px_out_format_bpp(out_format), width = 0;
	uint64_t offset = 0;
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *src = &l->images[i];
		struct px_transform_image *im = &imgs[i];
		*im = tpl;
		im->src_image = i;
		im->crop_x = cx;
		im->crop_y = cy;
		im->crop_width = cw ? cw : src->width;
		im->crop_height = ch ? ch : src->height;
		bool swap = tpl.rotation == PX_ROTATE_90 || tpl.rotation == PX_ROTATE_270;
		im->out_width = ow ? ow : swap ? im->crop_height : im->crop_width;
		im->out_height = oh ? oh : swap ? im->crop_width : im->crop_height;
		if (tpl.rotation == PX_ROTATE_ANY && !ow)
			px_transform_image_scale(im, src, 1.0);
		if (scale && px_transform_image_scale(im, src, scale)) {
			tool_error("--scale %g: image %u would be larger than 16384 pixels", scale,
				   i);
			px_vk_destroy(vk);
			px_subscriber_destroy(sub);
			return EXIT_FAIL;
		}
		width = MAX(width, im->out_width);
	}
	for (uint32_t i = 0; i < l->n_images && !out_topic; i++) {
		imgs[i].out_stride = width * bpp;
		imgs[i].out_offset = offset;
		uint64_t planes = out_format == PX_OUT_FLOAT32_PLANAR ? 3 : 1;
		offset += (uint64_t)imgs[i].out_stride * imgs[i].out_height * planes;
	}
	struct px_transform *t = NULL;
	struct px_transform_publisher *tp = NULL;
	struct px_publisher *pub = NULL;
	const struct px_transform_params tparams = {
	    .n_images = l->n_images, .images = imgs, .format = out_format};
	char description[PX_TOPIC_MAX + 64];
	tool_capture_begin();
	if (out_topic) {
		snprintf(description, sizeof(description), "pixshare transform of %s", topic);
		const struct px_publisher_params pparams = {.topic = out_topic,
							    .dir = topic_dir,
							    .allocator = allocator,
							    .pool_size = pool_size,
							    .description = description};
		ret = px_transform_publisher_create(vk, &tparams, &pparams, &tp);
		pub = px_transform_publisher_get_publisher(tp);
	} else {
		ret = px_transform_create(vk, &tparams, &t);
	}
	why = tool_capture_end(ret);
	if (ret) {
		tool_error("transform: %s", why);
		px_vk_destroy(vk);
		px_subscriber_destroy(sub);
		return EXIT_FAIL;
	}
	fprintf(stderr, "transform %s: %u image%s on %s%s -> %ux%u %s each%s%s\n", topic,
		l->n_images, l->n_images == 1 ? "" : "s", vi.device_name,
		vi.software ? " (software)" : "", imgs[0].out_width, imgs[0].out_height,
		formats[out_format], out_topic ? ", published as " : "",
		out_topic ? out_topic : "");

	struct samples gpu = {0};
	uint64_t start = px_now_ns(), end = duration ? start + duration : UINT64_MAX;
	uint64_t sets = 0, skipped = 0, mark_allocs = 0, mark_imports = 0, mark_set = 0;
	struct px_frame *f;
	bool failed = false;
	while ((!count || sets < count) && (ret = wait_frame_serving(sub, pub, end, &f)) == 0) {
		uint64_t t0 = px_now_ns();
		tool_capture_begin();
		/* Reliable subscribers of OUT may hold it back: at most 1 s. */
		ret = tp ? px_transform_publisher_process(tp, f, 1000) : px_transform_run(t, f);
		why = tool_capture_end(ret);
		uint64_t t1 = px_now_ns();
		px_frame_release(f);
		if (ret == -ENODATA || ret == -EAGAIN) {
			/* an image missing from the set; OUT's slots all held */
			skipped++;
			continue;
		}
		if (ret) {
			tool_error("transform: %s", why);
			failed = true;
			break;
		}
		if (samples_add(&gpu, t1 - t0) < 0)
			tool_error("out of memory: some samples are missing");
		/* Allocations happen with the imports of a slot's first set;
		 * count those after the last new slot was seen. */
		sets++;
		struct px_vk_stats now;
		px_vk_get_stats(vk, &now);
		if (now.imports != mark_imports) {
			mark_imports = now.imports;
			mark_allocs = now.allocations;
			mark_set = sets;
		}
	}
	ret = failed ? ret : (count && sets >= count) ? 0 : ret > 0 ? 0 : receive_end(ret);
	struct px_vk_stats st;
	px_vk_get_stats(vk, &st);
	samples_sort(&gpu);
	printf("device: %s%s: %s\n", vi.device_name, vi.software ? " (software Vulkan)" : "", vi.why);
	printf("sets: %llu transformed, %llu skipped (an image missing%s)\n",
	       (unsigned long long)sets, (unsigned long long)skipped,
	       tp ? "; or no free slot of OUT in 1 s" : "");
	printf("each image: %s filter, YUV read as %s %s range, %s output\n",
	       filters[tpl.filter], tpl.matrix == PX_MATRIX_BT709 ? "BT.709" : "BT.601",
	       tpl.full_range ? "full" : "limited", formats[out_format]);
	if (tp) {
		struct px_transform_publisher_stats ts;
		px_transform_publisher_get_stats(tp, &ts);
		printf("published: %llu sets to %s (%llu with a fence before the GPU finished), "
		       "output written by %s, %llu output copies, %llu dropped (no free slot)\n",
		       (unsigned long long)ts.published, out_topic, (unsigned long long)ts.fenced,
		       ts.published ? px_import_path_name(ts.output_path) : "none",
		       (unsigned long long)ts.copies, (unsigned long long)ts.dropped);
	}
	if (gpu.n)
		printf("transform: p50 %.2f ms, p99 %.2f ms per set (one dispatch)\n",
		       (double)samples_percentile(&gpu, 50) / 1e6,
		       (double)samples_percentile(&gpu, 99) / 1e6);
	/* Printed as measured: no path where nothing was imported. */
	printf("import: %s, %llu imports, %llu cache hits, %llu copies\n",
	       st.imports + st.cache_hits ? px_import_path_name(st.last_path) : "none",
	       (unsigned long long)st.imports, (unsigned long long)st.cache_hits,
	       (unsigned long long)st.copies);
	/* The same imports, as TOPIC's subscriber counts them: per image and set. */
	struct px_subscriber_stats ss;
	px_subscriber_get_stats(sub, &ss);
	uint64_t images = ss.imported_dmabuf + ss.imported_host_memory + ss.imported_upload +
			  ss.imported_opaque_fd;
	printf("subscriber: %llu images imported (dmabuf %llu, host-memory %llu, upload %llu, "
	       "opaque-fd %llu; last %s), %llu copies (%llu bytes)\n",
	       (unsigned long long)images, (unsigned long long)ss.imported_dmabuf,
	       (unsigned long long)ss.imported_host_memory, (unsigned long long)ss.imported_upload,
	       (unsigned long long)ss.imported_opaque_fd,
	       images ? px_import_path_name(ss.last_import_path) : "none",
	       (unsigned long long)ss.copies, (unsigned long long)ss.copy_bytes);
	printf("allocations: %llu in all; %llu in the %llu sets after the last new slot\n",
	       (unsigned long long)st.allocations,
	       (unsigned long long)(st.allocations - mark_allocs),
	       (unsigned long long)(sets - mark_set));
	if (vi.validation)
		printf("validation errors: %llu\n", (unsigned long long)st.validation_errors);
	else
		printf("validation: off (PIXSHARE_VK_VALIDATION=1 turns the layer on)\n");
	if (png && sets) {
		void *data;
		uint64_t size;
		px_transform_get_output(t, &data, NULL, &size);
		struct px_image_layout out = {
		    .fourcc = out_format == PX_OUT_GRAY8 ? PX_FORMAT_R8 : PX_FORMAT_ABGR8888,
		    .width = width,
		    .height = (uint32_t)(offset / (width * bpp)),
		    .n_planes = 1,
		    .modifier = PX_MODIFIER_LINEAR,
		    .planes = {{.stride = width * bpp}}};
		const void *planes[PX_MAX_PLANES] = {data};
		char err[256];
		if (px_write_png(png, &out, planes, err, sizeof(err))) {
			tool_error("--png: %s", err);
			ret = -EIO;
		} else {
			printf("wrote %s (the last set, %ux%u)\n", png, out.width, out.height);
		}
	}
	samples_finish(&gpu);
	px_transform_destroy(t);
	px_transform_publisher_destroy(tp);
	px_vk_destroy(vk);
	px_subscriber_destroy(sub);
	if (!sets && !ret && !failed)
		tool_error("no set transformed");
	return ret || !sets ? EXIT_FAIL : EXIT_SUCCESS;
}
#endif

static const struct command commands[] = {
    {
	.name = "list",
	.run = cmd_list,
	.args = "",
	.brief = "every topic: state, layout, pool, subscribers, rate, publisher",
	.summary = "Lists every topic: live or stale, layout, pool size, allocator,\n"
		   "subscribers, publish rate, publisher pid and description.",
	.help = "",
    },
    {
	.name = "info",
	.run = cmd_info,
	.args = "TOPIC|FILE",
	.brief = "a topic's full layout, pool, allocator and statistics; or a recording's",
	.summary = "Shows a topic's full layout (every image, plane and buffer), pool,\n"
		   "allocator and publisher statistics. When the argument is an existing\n"
		   "file, describes that recording instead: layout, frames, duration,\n"
		   "average rate, bytes, and whether it has its index or was cut short.",
	.help = "  --frames             a recording: one line per frame instead (sequence,\n"
		"                       publish time, valid mask, drops, a 64-bit hash of its\n"
		"                       bytes, and each image's timestamp, sequence and size)\n",
    },
    {
	.name = "hz",
	.run = cmd_hz,
	.args = "TOPIC",
	.brief = "the rate at which frames arrive, once per second",
	.summary = "Subscribes (latest QoS) and prints once per second the average rate,\n"
		   "the min, max and standard deviation of the interval between frames,\n"
		   "and the drops. Stops after --duration or at Ctrl-C, then prints a\n"
		   "summary.",
	.help = "  --window N           intervals the statistics cover (default 10000)\n"
		"  --duration S         stop after S seconds (default: at Ctrl-C)\n" WAIT_HELP,
    },
    {
	.name = "delay",
	.run = cmd_delay,
	.args = "TOPIC",
	.brief = "publish → receive latency percentiles",
	.summary = "Measures the latency from publish to receive, from the image's\n"
		   "timestamp (its capture, which transforms keep when they republish)\n"
		   "to receive, and from capture to receive where the images carry the\n"
		   "test pattern's timestamp; prints percentiles at the end.",
	.help = "  --duration S         stop after S seconds (default: at Ctrl-C)\n"
		"  --from SRC           also from when SRC published the set each frame\n"
		"                       came from (its sequence number): a transform's\n"
		"                       input, for the latency through it\n"
		"  --spin-us N          busy-poll from N µs before each frame is due to N\n"
		"                       µs after (0 to 10000; default 0: sleep until it\n"
		"                       comes): px_subscriber_params.spin_us\n" QOS_HELP WAIT_HELP,
    },
    {
	.name = "pub-test",
	.run = cmd_pub_test,
	.args = "TOPIC",
	.brief = "publish the test pattern",
	.summary = "Publishes the test pattern: a set of images whose pixels carry the\n"
		   "frame number and capture time. Runs until --count, --duration, Ctrl-C\n"
		   "or SIGTERM.",
	.help = "  --size WxH           size of every image (default 1280x800)\n"
		"  --format FOURCC      pixel format, e.g. YUYV (default), NV12, XRGB8888, R8\n"
		"  --images N           images per set, 1 to 16 (default 6)\n"
		"  --rate HZ            frames per second (default 30)\n"
		"  --count N            stop after N frames\n"
		"  --duration S         stop after S seconds\n"
		"  --allocator NAME     auto (default), gbm, dma-heap, udmabuf, dumb or memfd;\n"
		"                       or vulkan: memory a Vulkan device allocated and\n"
		"                       exported (dma-buf, else opaque fd), as a GPU\n"
		"                       producer's pool\n"
		"  --device PATH        the allocator's device: a DRM card node (gbm, dumb)\n"
		"                       or a dma-heap name; default: the first that works\n"
		"  --pool N             slots in the pool, 3 to 64 (default: from the\n"
		"                       subscribers)\n"
		"  --min-slots N        an elastic pool: N slots at first (3 to --pool),\n"
		"                       growing as subscribers join, up to --pool, and\n"
		"                       shrinking as they leave (default: fixed)\n"
		"  --max-subscribers N  subscribers served at once (default 4)\n"
		"  --allow-uid USER     let this user's processes subscribe too (a name or a\n"
		"                       uid; repeat it for more); others than this user are\n"
		"                       refused. The socket becomes 0666, the directory\n"
		"                       (when made) 0711: they subscribe with\n"
		"                       --publisher-uid and this --dir\n"
		"  --allow-gid GROUP    let processes of this group subscribe too\n"
		"  --wait-subscribers N publish the first frame once N subscribers stream\n"
		"  --quiet              no progress on stderr\n" DEADLINE_HELP("log"),
    },
#ifdef PX_HAVE_VULKAN
    {
	.name = "transform",
	.run = cmd_transform,
	.args = "TOPIC [OUT]",
	.brief = "run fused GPU transforms on a topic's sets",
	.summary = "Subscribes to TOPIC and runs one fused Vulkan compute dispatch per\n"
		   "set: every image is cropped, rotated, flipped, resized and converted,\n"
		   "the outputs one below the other in one buffer; with OUT, each set is\n"
		   "written by the GPU straight into a slot of the new topic OUT (image i\n"
		   "from image i) and published there. Prints the time per set, the\n"
		   "import path and counts (imports, copies, allocations after the first\n"
		   "set), the images TOPIC's subscriber imported by path and their copies,\n"
		   "and the validation errors.",
	.help = "  --crop X,Y,W,H       the rectangle of each image to use\n"
		"  --rotate DEG         clockwise; multiples of 90 are exact, other angles\n"
		"                       show black outside the image\n"
		"  --flip h|v|hv        mirror after rotating\n"
		"  --resize WxH         output size of each image\n"
		"  --scale F            or a factor of the (rotated) crop\n"
		"  --filter NAME        nearest, bilinear (default), bicubic or area\n"
		"  --matrix M           YUV sources and gray output: bt601 (default) or bt709\n"
		"  --range R            YUV sources: limited (default) or full\n"
		"  --format FMT         rgba (default), bgra, gray or f32 (planar float)\n"
		"  --png FILE           write the last set's output (rgba or gray; not with OUT)\n"
		"  --allocator NAME     OUT's pool: auto (default), memfd, gbm, dma-heap...\n"
		"  --pool N             slots in OUT's pool\n"
		"  --count N            stop after N sets\n"
		"  --duration S         stop after S seconds\n" WAIT_HELP,
    },
#endif
    {
	.name = "save",
	.run = cmd_save,
	.args = "TOPIC DIR",
	.brief = "write received images to PNG, y4m or raw files",
	.summary = "Receives frames and writes every image to DIR/<topic>-<seq>-<image>.<ext>:\n"
		   "PNG for RGB and grey formats, y4m for YUV formats. Creates DIR if\n"
		   "missing and prints the names of the files written.",
	.help =
	    "  --count N            frames to save (default 1)\n"
	    "  --format FMT         png, y4m, raw or auto (default: by pixel format)\n" WAIT_HELP,
    },
    {
	.name = "sub-test",
	.run = cmd_sub_test,
	.args = "TOPIC",
	.brief = "receive frames and check them against the test pattern",
	.summary = "A checking subscriber: receives frames and, with --verify, compares\n"
		   "every image with the test pattern. Fails if any image differs or no\n"
		   "frame came.",
	.help =
	    "  --count N            stop after N frames\n"
	    "  --duration S         stop after S seconds\n" QOS_HELP
	    "  --verify             compare every image with the test pattern\n"
	    "  --publisher-uid USER the topic is this user's (who let this one in with\n"
	    "                       pub-test --allow-uid), not this process's user's\n" WAIT_HELP,
    },
    {
	.name = "record",
	.run = cmd_record,
	.args = "TOPIC FILE",
	.brief = "write a topic's frames to a file, byte for byte",
	.summary = "Subscribes (reliable QoS by default) and writes every frame to FILE:\n"
		   "the layout once, then each frame's metadata and the bytes of its\n"
		   "buffers as they lie (compressed images: their bytes only), then an\n"
		   "index (docs/recording.md). Prints progress once per second on stderr;\n"
		   "stops at --count, --duration, Ctrl-C or SIGTERM, finishes the file and\n"
		   "prints frames, bytes, seconds, the sustained rate and the drops. A\n"
		   "recorder that is killed leaves a file readable up to its last whole\n"
		   "frame.",
	.help = "  --count N            stop after N frames\n"
		"  --duration S         stop after S seconds\n"
		"  --qos QOS            reliable (default: the publisher waits for the\n"
		"                       recorder), latest or queue:N (frames may be dropped)\n"
		"  --force              overwrite FILE if it exists\n"
		"  --quiet              no progress on stderr\n" WAIT_HELP,
    },
    {
	.name = "decode",
	.run = cmd_decode,
	.args = "IN_TOPIC OUT_TOPIC",
	.brief = "decode an MJPEG topic into a raw one",
	.summary = "Subscribes to IN_TOPIC, whose images are all MJPEG, and publishes\n"
		   "OUT_TOPIC with the same images decoded by libjpeg-turbo straight into\n"
		   "its slots (one decode per frame, no copy), rows aligned to 256 bytes.\n"
		   "Each frame keeps the input's per-image timestamps and sequences. A\n"
		   "frame that cannot be decoded (corrupt, another size than the topic's,\n"
		   "a subsampling FORMAT cannot take) is counted, reported and skipped.\n"
		   "YUV output is the JPEG's own: BT.601, full range. Runs until IN_TOPIC\n"
		   "ends, --count, --duration, Ctrl-C or SIGTERM, then prints the frames\n"
		   "decoded and skipped and the time spent decoding. Needs a build with\n"
		   "libturbojpeg.",
	.help = "  --format FORMAT      YUV420 (alias I420), YUV422 (I422), R8 or an RGB\n"
		"                       format (BGR888 alias RGB, RGB888, XBGR8888 alias\n"
		"                       RGBX, ABGR8888, XRGB8888, ARGB8888); default: each\n"
		"                       image's first JPEG's subsampling (4:2:0 YUV420, 4:2:2\n"
		"                       YUV422, grey R8, else BGR888). YUV420 and YUV422\n"
		"                       take only JPEGs of that subsampling\n"
		"  --count N            stop after N frames decoded\n"
		"  --duration S         stop after S seconds\n" QOS_HELP
		"  --allocator NAME     of OUT_TOPIC's pool: auto (default), gbm, dumb,\n"
		"                       dma-heap, udmabuf or memfd\n"
		"  --quiet              no progress on stderr\n" WAIT_HELP,
    },
    {
	.name = "play",
	.run = cmd_play,
	.args = "FILE TOPIC",
	.brief = "publish a recording with its original timing",
	.summary = "Publishes a recording's layout as TOPIC and each frame at its\n"
		   "recorded time after the first (divided by --rate), with the recorded\n"
		   "per-image timestamps, sequences and sizes. A recording cut short plays\n"
		   "up to its last whole frame. Prints progress on stderr and a summary.",
	.help = "  --rate X             speed factor (default 1: the original timing)\n"
		"  --loop               start again after the last frame, one mean frame\n"
		"                       interval later\n"
		"  --start N            first frame: its index in the file, from 0\n"
		"  --count N            stop after N frames\n"
		"  --allocator NAME     auto (default), gbm, dma-heap, udmabuf, dumb or memfd\n"
		"  --wait-subscribers N publish the first frame once N subscribers stream\n"
		"  --row-align N        publish the images packed, one buffer each, rows\n"
		"                       aligned to N bytes (a power of two), instead of the\n"
		"                       recorded layout: copied row by row\n"
		"  --quiet              no progress on stderr\n",
    },
    {
	.name = "view",
	.run = cmd_view,
	.args = "TOPIC",
	.brief = "show a topic's images live in a window (SDL2, EGL)",
	.summary = "Shows every image of TOPIC's sets in a window (X11 or Wayland, through\n"
		   "SDL2), tiled in ceil(sqrt(N)) columns, each as large as its cell allows\n"
		   "at its own aspect ratio, as textures of pixshare's EGL importer in\n"
		   "SDL's OpenGL ES 3 context: by dma-buf where the display's device can\n"
		   "read the buffers, else uploaded (YUYV, UYVY and NV12 by the viewer\n"
		   "itself; P010 by dma-buf only).\n"
		   "Latest QoS: only the newest frame is shown, and each is released once\n"
		   "the next is on screen. A line at the top left shows, each second, the\n"
		   "frames shown per second, the median latency from publish to the swap,\n"
		   "and the drops (by the publisher, and frames superseded unseen).\n"
		   "Keys: 1-9 one image alone, 0 or Escape the tiles again, space pause\n"
		   "(the picture stays; new frames are released unseen), s save the set\n"
		   "shown as PNG files (their names go to stdout), q quit. At the end,\n"
		   "prints frames shown, rate, latency, drops, the import path of the\n"
		   "images and the CPU time used. When the publisher ends the stream the\n"
		   "last set stays on screen. Needs a pixshare built with SDL2.",
	.help = "  --size WxH           the window's size at first (default 1280x720)\n"
		"  --count N            stop after N frames shown\n"
		"  --duration S         stop after S seconds\n"
		"  --log                the overlay's figures on stderr once per second:\n"
		"                       'view: R Hz shown, latency p50 L ms, drops D'\n"
		"  --save-after N       save the set shown as the N-th frame, as key s\n"
		"  --save-dir DIR       where sets are saved, as DIR/TOPIC-SEQ-IMAGE.png\n"
		"                       (default: the current directory)\n" WAIT_HELP,
    },
    {
	.name = "camera",
	.run = cmd_camera,
	.args = "TOPIC",
	.brief = "publish V4L2 cameras' frames, several as one synced set",
	.summary = "Publishes the frames of one or more V4L2 capture devices; several\n"
		   "--device options make one set with an image per camera, matched by\n"
		   "capture time. In dmabuf mode the cameras write straight into the pool,\n"
		   "in export mode their own buffers are the pool (zero copies both); in\n"
		   "copy mode each frame is copied once. The mode taken, and why better\n"
		   "ones were not, is logged and shown by 'pixshare info'. Runs until\n"
		   "--count, --duration, Ctrl-C or SIGTERM, then prints sets, copies and\n"
		   "drops per camera. With --decode the cameras deliver MJPEG, published\n"
		   "as TOPIC.mjpeg, and a worker thread decodes each frame straight into a\n"
		   "slot of TOPIC (as 'pixshare decode' does), so that capture never waits\n"
		   "for decoding.",
	.help = "  --device PATH        a camera, e.g. /dev/video0 (required; repeat it\n"
		"                       for a set of several cameras)\n"
		"  --size WxH           frame size (default: each device's current one)\n"
		"  --format FOURCC      pixel format, e.g. YUYV, NV12, BGR888 (default: each\n"
		"                       device's current one)\n"
		"  --v4l2-format FOURCC a V4L2 pixel format exactly, e.g. NM12 (NV12 in two\n"
		"                       buffers); overrides --format\n"
		"  --fps N              frames per second (default: the device's)\n"
		"  --io MODE            auto (default: dmabuf, else export, else copy),\n"
		"                       dmabuf, export or copy\n"
		"  --sync-tolerance MS  largest distance of an image's capture time from its\n"
		"                       set's (default: half the slowest camera's period)\n"
		"  --partial POLICY     deliver (default: with the validity mask) or drop\n"
		"                       sets missing a camera's image\n"
		"  --allocator NAME     auto (default), gbm, dumb, dma-heap, udmabuf or memfd\n"
		"                       (with --decode: of the decoded topic's pool too)\n"
		"  --alloc-device PATH  the allocator's device (a DRM card node, a heap)\n"
		"  --count N            stop after N sets\n"
		"  --duration S         stop after S seconds\n"
		"  --decode[=FORMAT]    capture MJPEG and publish it decoded as TOPIC: into\n"
		"                       YUV420 (alias I420), YUV422 (I422), R8 or an RGB\n"
		"                       format (BGR888 alias RGB, XBGR8888 alias RGBX…);\n"
		"                       default: the JPEGs' own subsampling (4:2:0 YUV420,\n"
		"                       4:2:2 YUV422, grey R8, else BGR888). Needs a build\n"
		"                       with libturbojpeg\n"
		"  --quiet              no progress on stderr\n" DEADLINE_HELP("reliable"),
    },
    {
	.name = "list-cameras",
	.run = cmd_list_cameras,
	.args = "",
	.brief = "V4L2 capture devices: formats, sizes, rates",
	.summary = "Lists every V4L2 capture device with its pixel formats (and the DRM\n"
		   "format each is published as, '-' where none), sizes and frame rates.",
	.help = "",
    },
    {
	.name = "ros-bridge",
	.run = cmd_ros_bridge,
	.args = ROS_BRIDGE_ARGS,
	.brief = ROS_BRIDGE_BRIEF,
	.summary = ROS_BRIDGE_SUMMARY,
	.help = ROS_BRIDGE_HELP,
    },
    {
	.name = "help",
	.run = cmd_help,
	.args = "[COMMAND]",
	.brief = "this list, or the options of one command",
	.summary = "Shows the commands, or one command's options.",
	.help = "",
    },
    {0},
};

static void print_usage(FILE *f)
{
	fprintf(f, "usage: pixshare [--dir DIR] COMMAND [OPTIONS] [ARGS]\n"
		   "       pixshare --version\n"
		   "       pixshare help [COMMAND]\n\n"
		   "Shares sets of camera images between processes without copying them.\n\n"
		   "commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->brief);
	fprintf(f, "\nRun 'pixshare COMMAND --help' for a command's options.\n");
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {0},
	};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tool_log_init();
	opterr = 0;
	/* '+': options before the command only; the command parses the rest. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			if (!optarg[0]) {
				tool_error("--dir: empty directory name");
				return EXIT_USAGE;
			}
			topic_dir = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("pixshare %s\n", px_version());
			return EXIT_SUCCESS;
		case ':':
			tool_error("option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				tool_error("unknown option '-%c' (see 'pixshare help')", optopt);
			else
				tool_error("unknown option '%s' (see 'pixshare help')",
					   argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		tool_error("missing command (see 'pixshare help')");
		return EXIT_USAGE;
	}
	const struct command *cmd = find_command(argv[optind]);
	if (!cmd) {
		tool_error("unknown command '%s' (see 'pixshare help')", argv[optind]);
		return EXIT_USAGE;
	}
	tool_command = cmd->name;
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: start afresh for the command's options */
	int status = cmd->run(cmd, argc, argv);
	if (fflush(stdout) || ferror(stdout)) {
		tool_error("writing the output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}

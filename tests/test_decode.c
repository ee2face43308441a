/* SPDX-License-Identifier: MIT */
/*
 * pixshare decode: MJPEG decoded into a raw topic, end to end. The test
 * encodes frames itself with TurboJPEG from planar YUV images with detail
 * (a different one per frame), publishes them on an MJPEG topic as the
 * pass-through path does (test_mjpeg.c), runs the tool as a child process,
 * receives the decoded topic and checks every frame against its source:
 * PSNR ≥ 40 dB per plane for YUV420 and YUV422 (the JPEG's own planes), and
 * for BGR888 against the source converted to RGB (JFIF: BT.601 full
 * range); timestamps and sequences carried over. A frame that is garbage,
 * a JPEG cut short, one of another size and, for --format YUV420, one of
 * 4:2:2 are each counted in the tool's summary and skipped: the next frame
 * decodes. 1920x1080 runs give the decode rate. The options of decode and
 * camera --decode are checked for refusals (no camera here delivers
 * MJPEG: vivid has no compressed formats).
 *
 * Suites: yuv420, yuv422, rgb, hd (1920x1080 4:2:0 and 4:2:2, the rate;
 * not with --quick), options.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#ifndef PX_HAVE_TURBOJPEG

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	SKIP("built without libturbojpeg (libturbojpeg0-dev): pixshare decode cannot decode");
}

#else

#include <turbojpeg.h>

#define IN "mjpeg-in"
#define OUT "raw-out"
#define QUALITY 95

/* The source of one frame: planar YUV of the JPEG's subsampling. TurboJPEG
 * reads the luma plane rounded up to whole chroma blocks (tjPlaneWidth(),
 * tjPlaneHeight()): ys × yh bytes. */
struct source {
	uint32_t w, h, cw, ch; /* luma and chroma plane sizes */
	uint32_t ys, yh;       /* the luma plane TurboJPEG reads */
	int sampling;	       /* TJSAMP_* */
	uint8_t *planes[3];
};

static void source_init(struct source *s, uint32_t w, uint32_t h, int sampling)
{
	s->w = w;
	s->h = h;
	s->sampling = sampling;
	s->ys = (uint32_t)tjPlaneWidth(0, (int)w, sampling);
	s->yh = (uint32_t)tjPlaneHeight(0, (int)h, sampling);
	s->cw = (uint32_t)tjPlaneWidth(1, (int)w, sampling);
	s->ch = (uint32_t)tjPlaneHeight(1, (int)h, sampling);
	REQUIRE(s->cw == (w + 1) / 2);
	REQUIRE(s->ch == (sampling == TJSAMP_420 ? (h + 1) / 2 : h));
	s->planes[0] = malloc((size_t)s->ys * s->yh);
	s->planes[1] = malloc((size_t)s->cw * s->ch);
	s->planes[2] = malloc((size_t)s->cw * s->ch);
	REQUIRE(s->planes[0] && s->planes[1] && s->planes[2]);
}

static void source_finish(struct source *s)
{
	for (int p = 0; p < 3; p++)
		free(s->planes[p]);
}

static uint8_t clamp8(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)lrint(v);
}

/* Frame k: rings and stripes of several frequencies moving with k, smooth
 * colour; every frame different. */
static void source_draw(struct source *s, uint32_t k)
{
	double t = k * 0.37;
	for (uint32_t y = 0; y < s->yh; y++)
		for (uint32_t x = 0; x < s->ys; x++) {
			double dx = x - s->w * 0.4, dy = y - s->h * 0.6;
			double r = sqrt(dx * dx + dy * dy);
			double v = 128 + 50 * sin(r * 0.09 - t) +
				   25 * sin(x * 0.31 + y * 0.05 + t) + 12 * cos(y * 0.7 - x * 0.11);
			s->planes[0][(size_t)y * s->ys + x] = clamp8(v);
		}
	for (uint32_t y = 0; y < s->ch; y++)
		for (uint32_t x = 0; x < s->cw; x++) {
			s->planes[1][(size_t)y * s->cw + x] =
			    clamp8(128 + 60 * sin(x * 0.02 + t) * cos(y * 0.015));
			s->planes[2][(size_t)y * s->cw + x] =
			    clamp8(128 + 60 * cos(x * 0.017 - y * 0.021 + t));
		}
}

/* Encodes the source into `out` (room for `room` bytes); returns the size. */
static unsigned long encode(tjhandle tj, const struct source *s, uint8_t *out, unsigned long room)
{
	const unsigned char *planes[3] = {s->planes[0], s->planes[1], s->planes[2]};
	int strides[3] = {(int)s->ys, (int)s->cw, (int)s->cw};
	unsigned char *buf = out;
	unsigned long size = room;
	if (tjCompressFromYUVPlanes(tj, planes, (int)s->w, strides, (int)s->h, s->sampling, &buf,
				    &size, QUALITY, TJFLAG_NOREALLOC)) {
		fprintf(stderr, "tjCompressFromYUVPlanes: %s\n", tjGetErrorStr2(tj));
		REQUIRE(!"encoded");
	}
	REQUIRE(buf == out && size <= room);
	return size;
}

static double psnr(const uint8_t *a, size_t a_stride, const uint8_t *b, size_t b_stride,
		   uint32_t row_bytes, uint32_t rows)
{
	double sum = 0;
	for (uint32_t y = 0; y < rows; y++)
		for (uint32_t x = 0; x < row_bytes; x++) {
			double d = (double)a[y * a_stride + x] - b[y * b_stride + x];
			sum += d * d;
		}
	double mse = sum / ((double)row_bytes * rows);
	return mse == 0 ? INFINITY : 10 * log10(255.0 * 255.0 / mse);
}

/* JFIF's YCbCr (BT.601, full range) to RGB, chroma of each pixel's block. */
static void source_to_rgb(const struct source *s, uint8_t *rgb)
{
	uint32_t vs = s->sampling == TJSAMP_420 ? 2 : 1;
	for (uint32_t y = 0; y < s->h; y++)
		for (uint32_t x = 0; x < s->w; x++) {
			double Y = s->planes[0][(size_t)y * s->ys + x];
			size_t c = (size_t)(y / vs) * s->cw + x / 2;
			double cb = s->planes[1][c] - 128.0, cr = s->planes[2][c] - 128.0;
			uint8_t *o = rgb + ((size_t)y * s->w + x) * 3;
			o[0] = clamp8(Y + 1.402 * cr);
			o[1] = clamp8(Y - 0.344136 * cb - 0.714136 * cr);
			o[2] = clamp8(Y + 1.772 * cb);
		}
}

/* ---- The tool as a child process */

struct child {
	pid_t pid;
	char out[128], err[128]; /* files of its stdout and stderr */
};

static void tool_start(struct child *c, const char *const *args)
{
	const char *argv[32] = {PX_TOOL_PATH};
	size_t n = 1;
	while (args[n - 1]) {
		REQUIRE(n < 31);
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	static int runs;
	snprintf(c->out, sizeof(c->out), "%s/tool%d.out", px_test_dir(), runs);
	snprintf(c->err, sizeof(c->err), "%s/tool%d.err", px_test_dir(), runs++);
	fflush(NULL);
	c->pid = fork();
	REQUIRE(c->pid >= 0);
	if (c->pid == 0) {
		int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int e = open(c->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(PX_TOOL_PATH, (char *const *)argv);
		_exit(127);
	}
}

/* Its whole output, NUL-terminated; free() it. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	REQUIRE(f);
	char *buf = calloc(1, 65536);
	REQUIRE(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Waits for the child, serving `pub` (may be NULL) meanwhile; its status. */
static int tool_wait(struct child *c, struct px_publisher *pub, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		REQUIRE(r >= 0);
		if (r == c->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (pub)
			px_publisher_dispatch(pub, 10);
		else
			usleep(10000);
	}
	fprintf(stderr, "pixshare timed out\n");
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	return -1;
}

/* Runs the tool to its end; its status, and its stderr in `err` (free it). */
static int tool_run(const char *const *args, struct px_publisher *pub, char **err)
{
	struct child c;
	tool_start(&c, args);
	int status = tool_wait(&c, pub, 30000);
	*err = slurp(c.err);
	return status;
}

static void require_refusal(const char *const *args, int status, const char *says)
{
	char *err;
	int got = tool_run(args, NULL, &err);
	if (got != status || !strstr(err, says)) {
		fprintf(stderr,
			"pixshare %s %s …: status %d (expected %d), stderr:\n%s\n"
			"expected it to say: %s\n",
			args[0], args[1], got, status, err, says);
		REQUIRE(!"refused as expected");
	}
	printf("refused: pixshare %s %s …: %s", args[0], args[1], strchr(err, ':') + 2);
	free(err);
}

/* ---- One run of the decoder */

enum bad { GOOD, GARBAGE, TRUNCATED, OTHER_SIZE, OTHER_SAMPLING };

struct run {
	const char *name;
	uint32_t w, h;
	int sampling;	     /* of the good frames */
	const char *format;  /* --format, or NULL: the JPEG's own */
	uint32_t fourcc;     /* what the output topic must be */
	uint32_t frames;     /* good frames */
	const enum bad *bad; /* sent before good frame i where bad[i] != GOOD, or NULL */
	double min_psnr;
};

static uint64_t stamp(uint32_t k)
{
	return 1000000000ull + k * 33333333ull + 7;
}

/* Serves `pub` until a frame of `sub` comes. */
static struct px_frame *receive(struct px_subscriber *sub, struct px_publisher *pub)
{
	for (int t = 0; t < 1000; t++) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 0);
		if (ret == 0)
			return f;
		REQUIRE_EQ(ret, -ETIMEDOUT);
		px_publisher_dispatch(pub, 10);
		px_subscriber_dispatch(sub, 0);
	}
	REQUIRE(!"a decoded frame within 10 s");
	return NULL;
}

static void publish(struct px_publisher *pub, const uint8_t *jpeg, unsigned long size, uint32_t k)
{
	struct px_slot *s;
	int ret;
	while ((ret = px_publisher_acquire(pub, 100, &s)) == -EAGAIN)
		;
	REQUIRE_OK(ret);
	memcpy(px_slot_plane(s, 0, 0), jpeg, size);
	struct px_publish_info info = {0};
	info.images[0].bytes = size;
	info.images[0].timestamp_ns = stamp(k);
	info.images[0].sequence = 5000 + k;
	REQUIRE_OK(px_publisher_publish(pub, s, &info));
}

/* A bad frame of kind `b`, published with frame number `k`. */
static void publish_bad(struct px_publisher *pub, tjhandle tj, enum bad b, const struct run *r,
			uint8_t *buf, unsigned long room, uint32_t k)
{
	struct source other;
	unsigned long size;

	switch (b) {
	case GARBAGE:
		for (unsigned long i = 0; i < 4000; i++)
			buf[i] = (uint8_t)(i * 2654435761u >> 13);
		size = 4000;
		break;
	case TRUNCATED: {
		struct source s;
		source_init(&s, r->w, r->h, r->sampling);
		source_draw(&s, k);
		size = encode(tj, &s, buf, room) / 2;
		source_finish(&s);
		break;
	}
	case OTHER_SIZE:
		source_init(&other, r->w / 2 + 1, r->h / 2 + 1, r->sampling);
		source_draw(&other, k);
		size = encode(tj, &other, buf, room);
		source_finish(&other);
		break;
	case OTHER_SAMPLING:
		source_init(&other, r->w, r->h,
			    r->sampling == TJSAMP_420 ? TJSAMP_422 : TJSAMP_420);
		source_draw(&other, k);
		size = encode(tj, &other, buf, room);
		source_finish(&other);
		break;
	default:
		REQUIRE(!"a bad kind");
		return;
	}
	publish(pub, buf, size, k);
}

/* The counts of the tool's summary. */
struct summary {
	unsigned long long decoded, images, received, corrupt, size, sampling, no_slot;
};

static void summary_read(const char *out, struct summary *s)
{
	const char *d = strstr(out, "decoded: "), *k = strstr(out, "skipped: ");
	if (!d || !k ||
	    sscanf(d, "decoded: %llu frames (%llu images) of %llu received", &s->decoded,
		   &s->images, &s->received) != 3 ||
	    sscanf(k,
		   "skipped: %llu corrupt, %llu of another size, %llu of another subsampling, "
		   "%llu without a free slot",
		   &s->corrupt, &s->size, &s->sampling, &s->no_slot) != 4) {
		fprintf(stderr, "the summary:\n%s\n", out);
		REQUIRE(!"a summary with the counts");
	}
}

static void run_decoder(const struct run *r)
{
	char count[16], name[16];
	tjhandle tj = tjInitCompress();
	REQUIRE(tj);
	unsigned long room = tjBufSize((int)r->w, (int)r->h, TJSAMP_444);
	uint8_t *jpeg = malloc(room);
	REQUIRE(jpeg);
	int fds = px_test_count_fds();

	/* The MJPEG topic, as a camera would publish it. */
	struct px_set_layout layout = {.n_images = 1, .n_buffers = 1, .buffer_sizes = {room}};
	layout.images[0] = (struct px_image_layout){.fourcc = PX_FORMAT_MJPEG,
						    .width = r->w,
						    .height = r->h,
						    .n_planes = 1,
						    .modifier = PX_MODIFIER_LINEAR};
	struct px_publisher *pub;
	struct px_publisher_params pp = {
	    .topic = IN, .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&pp, &pub));

	snprintf(count, sizeof(count), "%u", r->frames);
	const char *args[16] = {"decode",  IN,	  OUT,		 "--qos", "reliable",
				"--count", count, "--allocator", "memfd", "--quiet"};
	size_t n = 10;
	if (r->format) {
		args[n++] = "--format";
		args[n++] = r->format;
	}
	struct child c;
	tool_start(&c, args);
	px_test_wait_subscribers(pub, 1);

	struct source src;
	source_init(&src, r->w, r->h, r->sampling);
	uint8_t *rgb = malloc((size_t)r->w * r->h * 3);
	REQUIRE(rgb);
	struct px_subscriber *sub = NULL;
	double worst = INFINITY;
	uint32_t k = 0; /* frame numbers: good and bad */
	uint64_t bad = 0, jpeg_bytes = 0;
	uint64_t t0 = px_now_ns();
	for (uint32_t i = 0; i < r->frames; i++) {
		if (r->bad && r->bad[i] != GOOD) {
			publish_bad(pub, tj, r->bad[i], r, jpeg, room, k++);
			bad++;
		}
		source_draw(&src, k);
		unsigned long size = encode(tj, &src, jpeg, room);
		jpeg_bytes += size;
		publish(pub, jpeg, size, k);
		if (!sub) {
			/* The output topic appears with the first frame decoded,
			 * which a subscriber that joins then is handed. */
			struct px_subscriber_params sp = {.topic = OUT,
							  .qos = PX_QOS_RELIABLE,
							  .connect_timeout_ms = 10000,
							  .flags = PX_SUBSCRIBER_NO_RECONNECT};
			int ret;
			for (int t = 0; t < 1000; t++) {
				if ((ret = px_subscriber_create(&sp, &sub)) != -ENOENT)
					break;
				px_publisher_dispatch(pub, 10);
			}
			REQUIRE_OK(ret);
		}
		struct px_frame *f = receive(sub, pub);
		const struct px_image_layout *l = &f->layout->images[0];
		REQUIRE_EQ(f->layout->n_images, 1);
		if (l->fourcc != r->fourcc || l->width != r->w || l->height != r->h) {
			fprintf(stderr, "%s: the topic is %s %ux%u\n", r->name,
				px_format_name(l->fourcc, name, sizeof(name)), l->width, l->height);
			REQUIRE(!"the expected format and size");
		}
		/* The frame of good frame i, with its metadata. */
		REQUIRE_EQ(f->images[0].sequence, 5000 + k);
		REQUIRE_EQ(f->images[0].timestamp_ns, stamp(k));
		if (r->fourcc == PX_FORMAT_BGR888) {
			source_to_rgb(&src, rgb);
			double q = psnr(px_frame_plane(f, 0, 0), l->planes[0].stride, rgb,
					(size_t)r->w * 3, r->w * 3, r->h);
			worst = q < worst ? q : worst;
		} else {
			for (uint32_t p = 0; p < 3; p++) {
				uint32_t pw = p ? src.cw : src.w, ph = p ? src.ch : src.h;
				REQUIRE_EQ(px_image_row_bytes(l, p), pw);
				REQUIRE_EQ(px_image_plane_rows(l, p), ph);
				double q = psnr(px_frame_plane(f, 0, p), l->planes[p].stride,
						src.planes[p], p ? pw : src.ys, pw, ph);
				worst = q < worst ? q : worst;
			}
		}
		px_frame_release(f);
		k++;
	}
	double secs = (double)(px_now_ns() - t0) / 1e9;
	REQUIRE_EQ(tool_wait(&c, pub, 30000), 0);
	px_subscriber_destroy(sub);
	px_publisher_destroy(pub);

	char *out = slurp(c.out), *err = slurp(c.err);
	if (err[0])
		fprintf(stderr, "%s", err);
	struct summary sum;
	summary_read(out, &sum);
	unsigned long long expect[OTHER_SAMPLING + 1] = {0};
	for (uint32_t i = 0; r->bad && i < r->frames; i++)
		expect[r->bad[i]]++;
	REQUIRE_EQ(sum.decoded, r->frames);
	REQUIRE_EQ(sum.images, r->frames);
	REQUIRE_EQ(sum.received, r->frames + bad);
	REQUIRE_EQ(sum.corrupt, expect[GARBAGE] + expect[TRUNCATED]);
	REQUIRE_EQ(sum.size, expect[OTHER_SIZE]);
	REQUIRE_EQ(sum.sampling, expect[OTHER_SAMPLING]);
	REQUIRE_EQ(sum.no_slot, 0);
	if (r->bad)
		for (uint32_t i = 0; i < r->frames; i++) {
			static const char *const says[] = {[GARBAGE] = "Not a JPEG file",
							   [TRUNCATED] =
							       "Premature end of JPEG file",
							   [OTHER_SIZE] = "the JPEG is ",
							   [OTHER_SAMPLING] = "needs 4:2:0"};
			if (r->bad[i] != GOOD && !strstr(err, says[r->bad[i]])) {
				fprintf(stderr, "%s: no '%s' on stderr\n", r->name,
					says[r->bad[i]]);
				REQUIRE(!"the skipped frame was reported");
			}
		}
	REQUIRE(strstr(out, "decodes: "));
	printf("%s: %u frames %ux%u (JPEGs of %llu bytes on average, quality %d) into %s, %llu "
	       "bad ones skipped, PSNR ≥ %.1f dB (at least %.0f), timestamps and sequences "
	       "kept; %.1f frames/s in lockstep with this test's drawing and encoding\n",
	       r->name, r->frames, r->w, r->h, (unsigned long long)(jpeg_bytes / r->frames),
	       QUALITY, px_format_name(r->fourcc, name, sizeof(name)), (unsigned long long)bad,
	       worst, r->min_psnr, r->frames / secs);
	const char *rate = strstr(out, "decode time: ");
	if (rate)
		printf("  pixshare decode: %.*s\n", (int)strcspn(rate, "\n"), rate);
	REQUIRE(worst >= r->min_psnr);
	free(out);
	free(err);
	free(rgb);
	source_finish(&src);
	free(jpeg);
	tjDestroy(tj);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* ---- Suites */

static const enum bad bad_frames[8] = {GOOD,	   GARBAGE, GOOD, TRUNCATED,
				       OTHER_SIZE, GOOD,    GOOD, GOOD};
static const enum bad bad_sampling[8] = {GOOD, GOOD, OTHER_SAMPLING, GOOD, GARBAGE};

static void suite_yuv420(void)
{
	/* Odd sizes: a partial block of 16 rows and columns, odd chroma. */
	run_decoder(&(struct run){"yuv420", 333, 171, TJSAMP_420, NULL, PX_FORMAT_YUV420, 8,
				  bad_frames, 40});
	run_decoder(&(struct run){"yuv420 --format I420", 64, 37, TJSAMP_420, "I420",
				  PX_FORMAT_YUV420, 5, bad_sampling, 40});
}

static void suite_yuv422(void)
{
	run_decoder(&(struct run){"yuv422", 331, 173, TJSAMP_422, NULL, PX_FORMAT_YUV422, 8,
				  bad_frames, 40});
}

static void suite_rgb(void)
{
	run_decoder(
	    &(struct run){"rgb", 333, 171, TJSAMP_420, "RGB", PX_FORMAT_BGR888, 4, NULL, 40});
}

static void suite_hd(void)
{
	run_decoder(&(struct run){"1080p 4:2:0", 1920, 1080, TJSAMP_420, NULL, PX_FORMAT_YUV420, 30,
				  NULL, 40});
	run_decoder(&(struct run){"1080p 4:2:2", 1920, 1080, TJSAMP_422, NULL, PX_FORMAT_YUV422, 30,
				  NULL, 40});
}

static void suite_options(void)
{
	/* --help and refusals, before anything is opened. */
	char *err;
	REQUIRE_EQ(tool_run((const char *const[]){"camera", "--help", NULL}, NULL, &err), 0);
	free(err);
	require_refusal(
	    (const char *const[]){"camera", "cam", "--device", "/dev/null", "--decode=NV12", NULL},
	    2, "cannot decode into NV12");
	require_refusal((const char *const[]){"camera", "cam", "--device", "/dev/null",
					      "--decode=nonsense", NULL},
			2, "unknown format 'nonsense'");
	require_refusal((const char *const[]){"camera", "cam", "--device", "/dev/null", "--decode",
					      "--format", "YUYV", NULL},
			2, "--format YUYV cannot go with it");
	require_refusal((const char *const[]){"camera",
					      "a-topic-name-long-enough-to-leave-no-"
					      "room-for-its-mjpeg-suffix-x",
					      "--device", "/dev/null", "--decode", NULL},
			2, "too long for its MJPEG topic");
	/* Accepted: it goes on to open the camera, which is no camera. */
	require_refusal(
	    (const char *const[]){"camera", "cam", "--device", "/dev/null", "--decode=I422", NULL},
	    1, "/dev/null");
	require_refusal((const char *const[]){"decode", "same", "same", NULL}, 2, "both 'same'");
	require_refusal((const char *const[]){"decode", "in", "out", "--format", "YUYV", NULL}, 2,
			"cannot decode into YUYV");
	require_refusal((const char *const[]){"decode", "nowhere", "out", NULL}, 1,
			"'nowhere' not found");

	/* A raw topic is nothing to decode. */
	struct px_image_desc d = {PX_FORMAT_YUYV, 64, 32};
	struct px_set_layout raw;
	REQUIRE_OK(px_layout_init_packed(&raw, 1, &d, 0, PX_PACK_PER_IMAGE));
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "raw", .layout = &raw};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	int status = tool_run((const char *const[]){"decode", "raw", "out", NULL}, pub, &err);
	REQUIRE_EQ(status, 1);
	REQUIRE(strstr(err, "image 0 is YUYV, not MJPEG"));
	printf("refused: pixshare decode raw out: %s", strchr(err, ':') + 2);
	free(err);
	px_publisher_destroy(pub);
}

static bool want(const char *suite)
{
	return !px_test_only() || px_test_in_list(px_test_only(), suite);
}

int main(int argc, char **argv)
{
	static const char *const suites[] = {"yuv420", "yuv422", "rgb", "hd", "options"};
	px_test_args(argc, argv, suites, PX_ARRAY_LEN(suites));
	px_test_dir();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (want("options"))
		suite_options();
	if (want("yuv420"))
		suite_yuv420();
	if (want("yuv422"))
		suite_yuv422();
	if (want("rgb"))
		suite_rgb();
	/* Under valgrind (--quick) drawing 1080p frames takes minutes. */
	if (want("hd") && px_test_opt("quick"))
		printf("--quick: the 1920x1080 runs (the decode rate) are not run here\n");
	else if (want("hd"))
		suite_hd();
	return 0;
}

#endif

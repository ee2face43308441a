/* SPDX-License-Identifier: MIT */
/*
 * bench_compare: one run of one transport (compare.h says how a run goes).
 * Prints what it measured and, with --json, appends it as one JSON object
 * per line for scripts/bench-report, which runs every transport through the
 * report's runs and draws the plots.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/compare/compare.h"

#define GRACE_S 40

#if !defined(PX_HAVE_ICEORYX) || !defined(PX_HAVE_GST)
static int not_built(char *why, size_t len)
{
	snprintf(why, len, "not built: its development files were missing at configure time");
	return -ENOSYS;
}
#endif

#ifndef PX_HAVE_ICEORYX
const struct cmp_transport cmp_iceoryx = {
    .name = "iceoryx",
    .settings = "libiceoryx-binding-c-dev was missing at configure time",
    .available = not_built,
};
#endif
#ifndef PX_HAVE_GST
const struct cmp_transport cmp_gst_shm = {
    .name = "gst-shm",
    .settings = "gstreamer-app-1.0 was missing at configure time",
    .available = not_built,
};
#endif

static const struct cmp_transport *const transports[] = {
    &cmp_pixshare, &cmp_iceoryx, &cmp_gst_shm, &cmp_stream, &cmp_memcpy, &cmp_floor,
};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("bench_compare: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct options {
	const char *transport;
	const char *json, *delays;
	struct cmp_params p;
	bool list;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: bench_compare --transport NAME [options]\n"
	    "       bench_compare --list\n"
	    "One publisher process and N subscriber processes move camera sets over one\n"
	    "transport; prints delay (publish → subscriber), sets received and dropped, and\n"
	    "the CPU time of every process. scripts/bench-report runs them all.\n"
	    "\n"
	    "  --transport=NAME  pixshare, iceoryx, gst-shm, stream, memcpy or floor\n"
	    "  --images=N        images per set, 1 … %d (6)\n"
	    "  --width=W, --height=H  of each YUYV image (1280, 800)\n"
	    "  --rate=HZ         sets per second; 0: as fast as the transport accepts (60)\n"
	    "  --seconds=S       how long the publisher publishes, measured (10)\n"
	    "  --warmup=S        published before, not measured: connections settle, the\n"
	    "                    transport hands out its memory for the first time; longer\n"
	    "                    while it still does, by up to %d s (1)\n"
	    "  --spin-us=N       subscribers busy-poll from N µs before each set is due to N µs\n"
	    "                    after (pixshare, stream, floor; paced runs; 0: off)\n"
	    "  --subs=N          subscribers, 1 … %d (1)\n"
	    "  --reliable        with --rate=0: the transport's blocking mode (no drops)\n"
	    "  --json=FILE       append the results as one JSON object (a line)\n"
	    "  --delays=FILE     write every delay, in µs, one per line\n"
	    "  --list            list the transports, whether each can run here, and how\n"
	    "                    each is set up\n"
	    "  -h, --help        show this help\n",
	    CMP_MAX_IMAGES, CMP_WARMUP_MAX_S, CMP_MAX_SUBS);
}

static double parse_number(const char *name, const char *arg, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		die("--%s=%s: expected a number from %g to %g", name, arg, lo, hi);
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"transport", required_argument, NULL, 't'},
	    {"images", required_argument, NULL, 'n'},
	    {"width", required_argument, NULL, 'W'},
	    {"height", required_argument, NULL, 'H'},
	    {"rate", required_argument, NULL, 'r'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"spin-us", required_argument, NULL, 'P'},
	    {"subs", required_argument, NULL, 'S'},
	    {"reliable", no_argument, NULL, 'R'},
	    {"json", required_argument, NULL, 'j'},
	    {"delays", required_argument, NULL, 'd'},
	    {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cmp_params *p = &o->p;
	*p = (struct cmp_params){
	    .n_images = 6,
	    .width = 1280,
	    .height = 800,
	    .rate = 60,
	    .seconds = 10,
	    .warmup = 1,
	    .n_subs = 1,
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->transport = optarg;
			break;
		case 'n':
			p->n_images = (uint32_t)parse_number("images", optarg, 1, CMP_MAX_IMAGES);
			break;
		case 'W':
			p->width = (uint32_t)parse_number("width", optarg, 16, 8192);
			break;
		case 'H':
			p->height = (uint32_t)parse_number("height", optarg, 16, 8192);
			break;
		case 'r':
			p->rate = parse_number("rate", optarg, 0, 100000);
			break;
		case 's':
			p->seconds = parse_number("seconds", optarg, 0.1, 3600);
			break;
		case 'w':
			p->warmup = parse_number("warmup", optarg, 0, 60);
			break;
		case 'P':
			p->spin_us = (uint32_t)parse_number("spin-us", optarg, 0, 10000);
			break;
		case 'S':
			p->n_subs = (uint32_t)parse_number("subs", optarg, 1, CMP_MAX_SUBS);
			break;
		case 'R':
			p->reliable = true;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'd':
			o->delays = optarg;
			break;
		case 'l':
			o->list = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->list && !o->transport)
		die("--transport is required (see --help)");
	if (p->width % 2)
		die("--width=%u: YUYV needs an even width", p->width);
	if (p->reliable && p->rate > 0)
		die("--reliable is for --rate=0 (a paced run drops nothing it can keep up with)");
	p->image_bytes = (size_t)p->width * p->height * 2;
	p->set_bytes = p->image_bytes * p->n_images;
}

static const struct cmp_transport *find_transport(const char *name)
{
	for (size_t i = 0; i < N_TRANSPORTS; i++)
		if (!strcmp(transports[i]->name, name))
			return transports[i];
	die("unknown transport '%s' (see --list)", name);
}

static void list_transports(void)
{
	for (size_t i = 0; i < N_TRANSPORTS; i++) {
		const struct cmp_transport *t = transports[i];
		char why[256] = "";
		int ret = t->available ? t->available(why, sizeof(why)) : 0;
		printf("%-9s %s\n          %s\n", t->name, ret ? why : "available", t->settings);
	}
}

/* CPU time of another process (a transport's daemon), user + system, in ns. */
static uint64_t process_cpu_ns(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields after the command's closing parenthesis: state is 3, utime 14. */
	char *s = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (!s ||
	    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (ut + st) * (CMP_NS_PER_S / (uint64_t)sysconf(_SC_CLK_TCK));
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static pid_t spawn(const struct cmp_transport *t, struct cmp_shared *sh, bool publisher,
		   uint32_t index)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct cmp_ctx c = {.p = &sh->params, .sh = sh, .index = index, .publisher = publisher};
	int ret = publisher ? t->publisher(&c) : t->subscriber(&c);
	if (!publisher)
		cmp_sub_end(&c);
	if (publisher && !sh->pub.done)
		cmp_pub_end(&c); /* lets the subscribers end */
	/* exit(), not _exit(): some transports' libraries end their sessions
	 * in destructors (iceoryx's runtime deregisters from RouDi). The
	 * parent flushed its stdio before fork() and registers no atexit(). */
	exit(ret ? 1 : 0);
}

/* Waits for the processes until `deadline`, then kills what is left. */
static int reap(pid_t *pids, uint32_t n, uint64_t deadline, char *error, size_t len)
{
	int failed = 0;
	uint32_t left = n;
	while (left) {
		int status = 0;
		pid_t pid = 0;
		/* Only the run's processes: a transport's daemon is not reaped here. */
		for (uint32_t i = 0; i < n && !pid; i++) {
			if (pids[i] <= 0)
				continue;
			pid = waitpid(pids[i], &status, WNOHANG);
			if (pid < 0)
				die("waitpid: %s", strerror(errno));
		}
		if (pid == 0) {
			if (cmp_now_ns() > deadline) {
				for (uint32_t i = 0; i < n; i++)
					if (pids[i] > 0)
						kill(pids[i], SIGKILL);
				snprintf(error, len,
					 "%u process(es) still running %d s after the run "
					 "should have ended: killed",
					 left, GRACE_S);
				deadline = UINT64_MAX;
				failed = 1;
			}
			usleep(10000);
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				failed = 1;
			if (WIFSIGNALED(status) && !error[0])
				snprintf(error, len, "%s %u died of signal %d",
					 i == n - 1 ? "publisher" : "subscriber", i,
					 WTERMSIG(status));
		}
	}
	return failed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *v, uint64_t n, double q)
{
	if (!n)
		return NAN;
	uint64_t i = (uint64_t)ceil(q * (double)n);
	i = i ? i - 1 : 0;
	return (double)v[i < n ? i : n - 1] / 1000.0;
}

/* JSON number, or null for NaN. */
static void json_num(FILE *f, const char *key, double v)
{
	if (isnan(v))
		fprintf(f, ",\"%s\":null", key);
	else
		fprintf(f, ",\"%s\":%.3f", key, v);
}

static void json_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":\"", key);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	parse_options(argc, argv, &o);
	if (o.list) {
		list_transports();
		return 0;
	}
	const struct cmp_transport *t = find_transport(o.transport);
	struct cmp_params *p = &o.p;
	char why[256] = "";
	FILE *json = NULL;
	if (o.json && !(json = fopen(o.json, "ae")))
		die("%s: %s", o.json, strerror(errno));

	if (t->available && t->available(why, sizeof(why))) {
		printf("%s: not run: %s\n", t->name, why);
		if (json) {
			fprintf(json, "{\"transport\":\"%s\",\"available\":false", t->name);
			json_str(json, "why", why);
			fprintf(json, "}\n");
			fclose(json);
		}
		return 0;
	}
	if (p->n_subs > 1 && !t->multi)
		die("%s serves one subscriber", t->name);
	if (p->spin_us && (!t->spins || p->rate == 0))
		die("--spin-us: %s", p->rate == 0 ? "for paced runs (--rate > 0)"
						  : "this transport's subscribers do not spin");
	if (t->in_process && p->n_subs != 1)
		die("%s runs in one process: --subs=1", t->name);

	char dir[] = "/tmp/pixshare-compare-XXXXXX", name[64];
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(name, sizeof(name), "cmp%d", (int)getpid());
	p->dir = dir;
	p->name = name;

	/* Room for every delay of a paced run; flat out, up to 2 M a subscriber
	 * (the rest are counted, not kept). */
	uint64_t cap = p->rate > 0 ? (uint64_t)(p->rate * p->seconds * 1.2) + 1000 : 2000000;
	size_t size = sizeof(struct cmp_shared) + CMP_MAX_SUBS * cap * sizeof(uint64_t);
	struct cmp_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap %zu bytes: %s", size, strerror(errno));
	sh->params = *p;
	sh->delay_cap = cap;

	printf("%s: %u × %ux%u YUYV (%.1f MB a set), ", t->name, p->n_images, p->width, p->height,
	       (double)p->set_bytes / 1e6);
	if (p->rate > 0)
		printf("%g Hz", p->rate);
	else
		printf("as fast as it goes (%s)", p->reliable ? "reliable" : "latest");
	printf(" for %g s after %g s of warm-up, %u subscriber%s\n", p->seconds, p->warmup,
	       p->n_subs, p->n_subs > 1 ? "s" : "");
	fflush(stdout);

	pid_t daemon = 0;
	char error[256] = "";
	if (t->daemon_start && t->daemon_start(&sh->params, &daemon)) {
		snprintf(error, sizeof(error), "its daemon did not start (its messages are above)");
		daemon = 0;
	}
	pid_t pids[CMP_MAX_SUBS + 1] = {0};
	uint32_t n_procs = 0;
	int failed = error[0] != 0;
	uint64_t daemon_cpu0 = 0;
	if (!failed) {
		for (uint32_t i = 0; !t->in_process && i < p->n_subs; i++)
			pids[n_procs++] = spawn(t, sh, false, i);
		daemon_cpu0 = daemon ? process_cpu_ns(daemon) : 0;
		pids[n_procs++] = spawn(t, sh, true, 0);
		uint64_t deadline =
		    cmp_now_ns() +
		    (uint64_t)((p->seconds + p->warmup + CMP_WARMUP_MAX_S + GRACE_S) *
			       (double)CMP_NS_PER_S);
		failed = reap(pids, n_procs, deadline, error, sizeof(error));
	}
	uint64_t daemon_cpu = daemon ? process_cpu_ns(daemon) - daemon_cpu0 : 0;
	if (daemon)
		t->daemon_stop(daemon);
	remove_dir(dir);

	/* Every subscriber's delays, pooled. */
	uint32_t n_subs = p->n_subs;
	uint64_t n_delays = 0, received = 0, gaps = 0, torn = 0, sub_cpu = 0, sub_wall = 0;
	uint64_t spin_hits = 0, spin_ns = 0;
	uint64_t *all = malloc((n_subs * cap + 1) * sizeof(uint64_t));
	if (!all)
		die("out of memory");
	for (uint32_t i = 0; i < n_subs; i++) {
		const struct cmp_sub_result *r = &sh->subs[i];
		memcpy(all + n_delays, sh->delays + i * cap, r->n_delays * sizeof(uint64_t));
		n_delays += r->n_delays;
		received += r->received;
		gaps += r->gaps;
		torn += r->torn;
		spin_hits += r->spin_hits;
		spin_ns += r->spin_ns;
		sub_cpu += r->cpu_ns;
		sub_wall += r->wall_ns;
		if (r->error[0] && !error[0])
			snprintf(error, sizeof(error), "subscriber %u: %s", i, r->error);
		if (!t->in_process && !r->received && !error[0])
			snprintf(error, sizeof(error), "subscriber %u received nothing", i);
	}
	if (sh->pub.error[0])
		snprintf(error, sizeof(error), "publisher: %s", sh->pub.error);
	bool truncated = false;
	for (uint32_t i = 0; i < n_subs; i++)
		truncated |= sh->subs[i].received > sh->subs[i].n_delays;
	if (torn && !error[0])
		snprintf(error, sizeof(error), "%llu sets arrived torn (images of different sets)",
			 (unsigned long long)torn);
	failed |= error[0] != 0;
	qsort(all, n_delays, sizeof(uint64_t), cmp_u64);

	const struct cmp_pub_result *pr = &sh->pub;
	double wall_s = (double)pr->wall_ns / 1e9;
	double pub_cpu = pr->wall_ns ? 100.0 * (double)pr->cpu_ns / (double)pr->wall_ns : NAN;
	double sub_cpu_pct = sub_wall ? 100.0 * (double)sub_cpu / (double)sub_wall : NAN;
	double daemon_pct =
	    daemon && pr->wall_ns ? 100.0 * (double)daemon_cpu / (double)pr->wall_ns : NAN;
	double per_sub = (double)received / n_subs;
	double lost = t->in_process ? 0 : (double)pr->published - per_sub;
	double p50 = percentile_us(all, n_delays, 0.50), p90 = percentile_us(all, n_delays, 0.90);
	double p99 = percentile_us(all, n_delays, 0.99), max = percentile_us(all, n_delays, 1.0);

	printf("  published %llu, missed %llu; received %.0f a subscriber (%.0f/s), not "
	       "received %.0f, gaps %llu, torn %llu\n",
	       (unsigned long long)pr->published, (unsigned long long)pr->missed, per_sub,
	       wall_s > 0 ? per_sub / wall_s : 0.0, lost, (unsigned long long)gaps,
	       (unsigned long long)torn);
	printf("  delay µs: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%llu sets)\n", p50, p90, p99,
	       max, (unsigned long long)n_delays);
	if (truncated)
		printf("  delays kept: the first %llu of each subscriber's (the rest counted, "
		       "not in the percentiles)\n",
		       (unsigned long long)cap);
	printf("  CPU %% of a core: publisher %.2f, subscriber %.2f (mean)", pub_cpu, sub_cpu_pct);
	if (daemon)
		printf(", daemon %.2f", daemon_pct);
	printf("\n");
	if (pr->buffers_filled)
		printf("  image buffers handed out: %u (%.1f MB); the camera's first fill of them "
		       "while measuring: %.1f ms of CPU, not counted above\n",
		       pr->buffers_filled,
		       (double)pr->buffers_filled * (double)p->image_bytes / 1e6,
		       (double)pr->fill_ns / 1e6);
	if (p->spin_us)
		printf("  busy-poll: %llu of %llu sets caught spinning, %.1f µs spun a set\n",
		       (unsigned long long)spin_hits, (unsigned long long)received,
		       received ? (double)spin_ns / 1e3 / (double)received : 0.0);
	if (pr->detail[0])
		printf("  %s\n", pr->detail);
	if (error[0])
		printf("  FAILED: %s\n", error);

	if (json) {
		fprintf(json, "{\"transport\":\"%s\",\"available\":true", t->name);
		json_str(json, "settings", t->settings);
		json_str(json, "detail", pr->detail);
		fprintf(
		    json,
		    ",\"images\":%u,\"width\":%u,\"height\":%u,\"set_bytes\":%zu,\"rate\":%g,"
		    "\"seconds\":%g,\"warmup\":%g,\"subs\":%u,\"reliable\":%s,\"published\":%llu,"
		    "\"missed\":%llu,\"received_per_sub\":%.1f,\"not_received_per_sub\":%.1f,"
		    "\"gaps\":%llu,\"torn\":%llu,\"n_delays\":%llu,\"buffers_filled\":%u",
		    p->n_images, p->width, p->height, p->set_bytes, p->rate, p->seconds, p->warmup,
		    n_subs, p->reliable ? "true" : "false", (unsigned long long)pr->published,
		    (unsigned long long)pr->missed, per_sub, lost, (unsigned long long)gaps,
		    (unsigned long long)torn, (unsigned long long)n_delays, pr->buffers_filled);
		json_num(json, "fill_ms", (double)pr->fill_ns / 1e6);
		fprintf(json, ",\"spin_us\":%u,\"spin_hits\":%llu", p->spin_us,
			(unsigned long long)spin_hits);
		json_num(json, "spin_us_per_set",
			 received ? (double)spin_ns / 1e3 / (double)received : 0);
		json_num(json, "wall_s", wall_s);
		json_num(json, "received_per_s", wall_s > 0 ? per_sub / wall_s : NAN);
		json_num(json, "p50_us", p50);
		json_num(json, "p90_us", p90);
		json_num(json, "p99_us", p99);
		json_num(json, "max_us", max);
		json_num(json, "cpu_pub_pct", pub_cpu);
		json_num(json, "cpu_sub_pct", sub_cpu_pct);
		json_num(json, "cpu_daemon_pct", daemon_pct);
		fprintf(json, ",\"delays_truncated\":%s", truncated ? "true" : "false");
		fprintf(json, ",\"ok\":%s", failed ? "false" : "true");
		json_str(json, "error", error);
		fprintf(json, "}\n");
		if (fclose(json))
			die("%s: %s", o.json, strerror(errno));
	}
	if (o.delays) {
		FILE *f = fopen(o.delays, "we");
		if (!f)
			die("%s: %s", o.delays, strerror(errno));
		for (uint64_t i = 0; i < n_delays; i++)
			fprintf(f, "%.3f\n", (double)all[i] / 1000.0);
		if (fclose(f))
			die("%s: %s", o.delays, strerror(errno));
	}
	free(all);
	munmap(sh, size);
	return failed;
}

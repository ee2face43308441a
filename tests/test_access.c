/* SPDX-License-Identifier: MIT */
/*
 * Who may subscribe, and whom a subscriber trusts, with real uids: subscribers
 * and publishers of uid 65534 (nobody) in forked children, beside a root
 * publisher and subscriber.
 *
 * - A subscriber of another uid is refused with -EACCES (REFUSE), logged once
 *   for its uid however often it retries; admitted by allow_uids, by
 *   allow_gids through its primary gid, and through a supplementary group
 *   (SO_PEERGROUPS).
 * - A subscriber refuses the topic of another uid unless told that uid
 *   (publisher_uid): its directory's owner is checked, and the publisher's
 *   uid; a socket put there by another uid (root) is refused before a byte
 *   is sent.
 * - The socket's mode is the one asked for, whatever the umask; 0666 by
 *   default with an allow-list, and the directory made 0711.
 * - A squatted default directory (/tmp/pixshare-<uid> made by another uid
 *   before the user's first publisher, or a symbolic link put there) is
 *   refused by publishers and subscribers alike, and nothing is put in it.
 *
 * Needs root (to be another uid): skipped (77) otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#define NOBODY 65534
#define NOGROUP 65534
#define OTHER_GROUP 4242

static char dir[64], nobody_dir[64];
static struct px_set_layout layout;

/* Access refusals logged since the last reset. */
static int n_refusal_logs;
static char last_log[512];

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	if (getenv("PX_TEST_VERBOSE"))
		fprintf(stderr, "[%d] %s\n", (int)getpid(), msg);
	if (strstr(msg, "not this publisher's uid"))
		n_refusal_logs++;
	if (level <= PX_LOG_WARN)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* Becomes uid 65534 with primary gid `gid` and the supplementary `group`
 * (0: none). */
static void become_nobody(gid_t gid, gid_t group)
{
	gid_t groups[1] = {group};
	REQUIRE(setgroups(group ? 1 : 0, groups) == 0);
	REQUIRE(setresgid(gid, gid, gid) == 0);
	REQUIRE(setresuid(NOBODY, NOBODY, NOBODY) == 0);
	REQUIRE(geteuid() == NOBODY);
}

struct attempt {
	gid_t gid, group;
	int tries;
	int expect; /* what px_subscriber_create() returns each time */
};

/* A subscriber of uid 65534 to root's topic "shared", `tries` times. */
static int nobody_subscribes(void *arg)
{
	const struct attempt *a = arg;
	become_nobody(a->gid, a->group);
	struct px_subscriber_params sp = {
	    .topic = "shared", .dir = dir, .qos = PX_QOS_LATEST, .connect_timeout_ms = 5000,
	    .name = "nobody", .flags = PX_SUBSCRIBER_NO_RECONNECT | PX_SUBSCRIBER_PUBLISHER_UID,
	    .publisher_uid = 0,
	};
	for (int i = 0; i < a->tries; i++) {
		struct px_subscriber *sub = NULL;
		int ret = px_subscriber_create(&sp, &sub);
		if (ret != a->expect) {
			fprintf(stderr, "nobody (gid %u, group %u): px_subscriber_create: %s, "
					"expected %s\n",
				(unsigned)a->gid, (unsigned)a->group, px_strerror(ret),
				px_strerror(a->expect));
			return 1;
		}
		if (sub) {
			struct px_frame *f;
			REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
			px_frame_release(f);
			px_subscriber_destroy(sub);
		}
	}
	return 0;
}

/* Publishes "shared" in `dir` as root with `params`' lists, while a child
 * of uid 65534 tries `a`. */
static void publish_for(const struct px_publisher_params *extra, const struct attempt *a,
			int expect_logs)
{
	struct px_publisher_params pp = *extra;
	pp.topic = "shared";
	pp.dir = dir;
	pp.layout = &layout;
	pp.allocator = PX_ALLOCATOR_MEMFD;
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 0, &slot));
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	n_refusal_logs = 0;
	pid_t pid = px_test_fork(nobody_subscribes, (void *)a);
	int status = -1;
	for (int t = 0; t < 1000; t++) {
		px_publisher_dispatch(pub, 10);
		int s;
		pid_t r = waitpid(pid, &s, WNOHANG);
		if (r == pid) {
			status = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
			break;
		}
	}
	REQUIRE_EQ(status, 0);
	REQUIRE_EQ(n_refusal_logs, expect_logs);
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.refused, a->expect == -EACCES ? (uint64_t)a->tries : 0);
	px_publisher_destroy(pub);
}

static void test_policy(void)
{
	/* Only root's processes by default: refused at HELLO (the socket's
	 * 0666 lets it connect at all), logged once for three tries. */
	struct attempt refused = {.gid = NOGROUP, .tries = 3, .expect = -EACCES};
	publish_for(&(struct px_publisher_params){.socket_mode = 0666}, &refused, 1);
	printf("uid %u refused (-EACCES) 3 times, logged once: %s\n", NOBODY, last_log);

	uint32_t uids[] = {1000, NOBODY};
	struct attempt admitted = {.gid = NOGROUP, .tries = 2, .expect = 0};
	publish_for(&(struct px_publisher_params){.allow_uids = uids, .n_allow_uids = 2},
		    &admitted, 0);
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/shared", dir);
	printf("allow_uids: admitted\n");

	uint32_t gids[] = {NOGROUP};
	publish_for(&(struct px_publisher_params){.allow_gids = gids, .n_allow_gids = 1},
		    &admitted, 0);
	printf("allow_gids: admitted by its primary gid\n");

	uint32_t other[] = {OTHER_GROUP};
	struct attempt grouped = {.gid = NOGROUP, .group = OTHER_GROUP, .tries = 1, .expect = 0};
	publish_for(&(struct px_publisher_params){.allow_gids = other, .n_allow_gids = 1},
		    &grouped, 0);
	printf("allow_gids: admitted by a supplementary group (SO_PEERGROUPS)\n");
	struct attempt ungrouped = {.gid = NOGROUP, .tries = 1, .expect = -EACCES};
	publish_for(&(struct px_publisher_params){.allow_gids = other, .n_allow_gids = 1},
		    &ungrouped, 1);
	printf("allow_gids: refused without that group\n");

	/* The socket's mode, whatever the umask; the publisher's default with
	 * a list is 0666. */
	mode_t old = umask(077);
	struct px_publisher_params pp = {.topic = "shared", .dir = dir, .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD, .socket_mode = 0660};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE(stat(path, &st) == 0);
	REQUIRE_EQ(st.st_mode & 0777, 0660);
	px_publisher_destroy(pub);
	pp.socket_mode = 0;
	pp.allow_uids = uids;
	pp.n_allow_uids = 1;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE(stat(path, &st) == 0);
	REQUIRE_EQ(st.st_mode & 0777, 0666);
	px_publisher_destroy(pub);
	umask(old);
	pp.socket_mode = 01666;
	REQUIRE_EQ(px_publisher_create(&pp, &pub), -EINVAL);
	printf("socket modes: 0660 and 0666 (allow-list default) under umask 077; 01666 "
	       "refused\n");
}

/* A publisher of uid 65534 in its own directory, allowing root. */
static int nobody_publishes(void *arg)
{
	int *fds = arg; /* [0]: read "go on" from, [1]: write "ready" to */
	become_nobody(NOGROUP, 0);
	uint32_t root[] = {0};
	struct px_publisher_params pp = {.topic = "theirs", .dir = nobody_dir, .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD, .allow_uids = root,
					 .n_allow_uids = 1};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 0, &slot));
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	char c = 'r';
	REQUIRE(write(fds[1], &c, 1) == 1);
	/* Serve until the parent says so. */
	struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
	while (poll(&pfd, 1, 0) == 0)
		px_publisher_dispatch(pub, 10);
	px_publisher_destroy(pub);
	return 0;
}

static int subscribe(const char *topic, uint32_t flags, uint32_t uid)
{
	struct px_subscriber_params sp = {
	    .topic = topic, .dir = nobody_dir, .qos = PX_QOS_LATEST, .connect_timeout_ms = 0,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT | flags, .publisher_uid = uid,
	};
	struct px_subscriber *sub = NULL;
	int ret = px_subscriber_create(&sp, &sub);
	if (!ret) {
		struct px_frame *f;
		REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
		px_frame_release(f);
		px_subscriber_destroy(sub);
	}
	return ret;
}

static void test_trust(void)
{
	int go[2], ready[2];
	REQUIRE(pipe2(go, O_CLOEXEC) == 0 && pipe2(ready, O_CLOEXEC) == 0);
	int fds[2] = {go[0], ready[1]};
	pid_t pid = px_test_fork(nobody_publishes, fds);
	char c;
	REQUIRE(read(ready[0], &c, 1) == 1);

	/* By default a topic must be root's own: the directory is not. */
	REQUIRE_EQ(subscribe("theirs", 0, 0), -EACCES);
	printf("root refuses uid %u's topic by default: %s\n", NOBODY, last_log);
	REQUIRE_EQ(subscribe("theirs", PX_SUBSCRIBER_PUBLISHER_UID, NOBODY), 0);
	printf("root subscribes to it with publisher_uid %u\n", NOBODY);
	REQUIRE_EQ(subscribe("theirs", PX_SUBSCRIBER_PUBLISHER_UID, 1000), -EACCES);

	/* Root's socket in uid 65534's directory: refused by its peer's uid,
	 * before the subscriber sends anything. */
	int fake = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(fake >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/impostor", nobody_dir);
	REQUIRE(bind(fake, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	REQUIRE(listen(fake, 4) == 0);
	REQUIRE_EQ(subscribe("impostor", PX_SUBSCRIBER_PUBLISHER_UID, NOBODY), -EACCES);
	REQUIRE(strstr(last_log, "belongs to pid"));
	int conn = accept4(fake, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(conn >= 0);
	char buf[64];
	REQUIRE_EQ(recv(conn, buf, sizeof(buf), 0), 0); /* nothing, then its close */
	printf("a socket of root's in its directory refused unread: %s\n", last_log);
	close(conn);
	close(fake);

	REQUIRE(write(go[1], &c, 1) == 1);
	REQUIRE_EQ(px_test_wait(pid, 10000), 0);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(ready[i]);
	}
}

/* A uid without an account, whose default directory no one else uses. */
#define SQUATTED_UID 4243

/* As uid SQUATTED_UID with the default topic directory: both sides must
 * refuse it with `expect`. */
static int squatted_user(void *arg)
{
	int expect = *(int *)arg;
	unsetenv("PIXSHARE_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	REQUIRE(setgroups(0, NULL) == 0);
	REQUIRE(setresgid(SQUATTED_UID, SQUATTED_UID, SQUATTED_UID) == 0);
	REQUIRE(setresuid(SQUATTED_UID, SQUATTED_UID, SQUATTED_UID) == 0);
	char def[64];
	REQUIRE_OK(px_topic_default_dir(def, sizeof(def)));
	REQUIRE(!strcmp(def, "/tmp/pixshare-4243"));
	struct px_publisher_params pp = {
	    .topic = "squat", .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	struct px_publisher *pub = NULL;
	REQUIRE_EQ(px_publisher_create(&pp, &pub), expect);
	struct px_subscriber_params sp = {
	    .topic = "squat", .connect_timeout_ms = 0, .flags = PX_SUBSCRIBER_NO_RECONNECT};
	struct px_subscriber *sub = NULL;
	REQUIRE_EQ(px_subscriber_create(&sp, &sub), expect);
	return 0;
}

/* /tmp/pixshare-4243 squatted by another uid, world-writable or not, or a
 * symbolic link to a directory of uid 4243's own. */
static void test_squatted(void)
{
	const char *path = "/tmp/pixshare-4243", *target = "/tmp/pixshare-4243-target";
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", path, target);
	REQUIRE(system(cmd) == 0);
	static const struct {
		uid_t owner;
		mode_t mode;
		bool link;
		int expect;
	} cases[] = {
	    {NOBODY, 0777, false, -EACCES}, /* the squatter lets anyone write */
	    {NOBODY, 0755, false, -EACCES},
	    {0, 0711, false, -EACCES},
	    {SQUATTED_UID, 0700, true, -ELOOP},
	};
	for (size_t i = 0; i < PX_ARRAY_LEN(cases); i++) {
		const char *dir_path = cases[i].link ? target : path;
		REQUIRE(mkdir(dir_path, cases[i].mode) == 0);
		REQUIRE(chmod(dir_path, cases[i].mode) == 0); /* whatever the umask */
		REQUIRE(chown(dir_path, cases[i].owner, cases[i].owner) == 0);
		if (cases[i].link)
			REQUIRE(symlink(target, path) == 0);
		int expect = cases[i].expect;
		pid_t pid = px_test_fork(squatted_user, &expect);
		REQUIRE_EQ(px_test_wait(pid, 10000), 0);
		/* Nothing was put there: no socket, no lock file. */
		DIR *d = opendir(dir_path);
		REQUIRE(d);
		struct dirent *e;
		while ((e = readdir(d)))
			REQUIRE(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
		closedir(d);
		REQUIRE(system(cmd) == 0);
		printf("a squatted /tmp/pixshare-%u (%s, uid %u, mode %04o) refused by both "
		       "sides: %s\n",
		       SQUATTED_UID,
		       cases[i].link ? "a symbolic link to a directory" : "a directory",
		       (unsigned)cases[i].owner, (unsigned)cases[i].mode, px_strerror(expect));
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP access: needs root, to run subscribers and publishers as uid %u\n",
		       NOBODY);
		return 77;
	}
	px_log_set_handler(log_handler, NULL, PX_LOG_WARN);
	struct px_image_desc d = {PX_FORMAT_R8, 16, 4};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	int fds = px_test_count_fds();
	snprintf(dir, sizeof(dir), "/tmp/px-access-%d", (int)getpid());
	snprintf(nobody_dir, sizeof(nobody_dir), "/tmp/px-access-%d-nobody", (int)getpid());
	REQUIRE(mkdir(dir, 0711) == 0);
	REQUIRE(mkdir(nobody_dir, 0711) == 0);
	REQUIRE(chown(nobody_dir, NOBODY, NOGROUP) == 0);
	test_policy();
	test_trust();
	test_squatted();
	REQUIRE_EQ(px_test_count_fds(), fds);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, nobody_dir);
	REQUIRE(system(cmd) == 0);
	printf("access: ok\n");
	return 0;
}

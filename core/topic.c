/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pixshare/subscriber.h>

#include "core/topic.h"
#include "core/util.h"

int px_topic_check_name(const char *topic)
{
	if (!topic || !topic[0]) {
		px_log_error("topic: empty name");
		return -EINVAL;
	}
	size_t len = strlen(topic);
	if (len > PX_TOPIC_MAX) {
		px_log_error("topic '%.16s…': %zu bytes; at most %d", topic, len, PX_TOPIC_MAX);
		return -EINVAL;
	}
	if (topic[0] == '.') {
		px_log_error("topic '%s': may not start with '.'", topic);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = topic[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			px_log_error("topic '%s': character %zu is not a letter, digit, '.', '_' or "
				     "'-'",
				     topic, i + 1);
			return -EINVAL;
		}
	}
	if (len >= 5 && !strcmp(topic + len - 5, ".lock")) {
		px_log_error("topic '%s': may not end in .lock", topic);
		return -EINVAL;
	}
	return 0;
}

PX_API int px_topic_default_dir(char *buf, size_t size)
{
	const char *env = getenv("PIXSHARE_DIR");
	int n;
	if (env && env[0])
		n = snprintf(buf, size, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0])
		n = snprintf(buf, size, "%s/pixshare", env);
	else
		n = snprintf(buf, size, "/tmp/pixshare-%u", (unsigned)getuid());
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int resolve_dir(const char *dir, char *buf, size_t size)
{
	if (dir) {
		if (!dir[0])
			return -EINVAL;
		if ((size_t)snprintf(buf, size, "%s", dir) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	return px_topic_default_dir(buf, size);
}

int px_topic_address(const char *dir, const char *topic, struct sockaddr_un *addr)
{
	char d[sizeof(addr->sun_path)];
	int ret = px_topic_check_name(topic);
	if (ret)
		return ret;
	ret = resolve_dir(dir, d, sizeof(d));
	if (ret) {
		px_log_error("topic '%s': directory name too long or empty", topic);
		return ret;
	}
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if ((size_t)snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", d, topic) >=
	    sizeof(addr->sun_path)) {
		px_log_error("topic '%s': socket path %s/%s is longer than %zu bytes", topic, d,
			     topic, sizeof(addr->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * The topic directory must be its owner's own: owned by `owner` (the
 * publisher's uid: this process's effective uid, unless a subscriber was told
 * another) and writable by nobody else, checked on the directory as opened
 * (not through a symbolic link), not on its path. Otherwise another local
 * user who made it first (/tmp/pixshare-UID, where XDG_RUNTIME_DIR is unset)
 * could replace the sockets in it, or read what is sent to them.
 * `create`: make it with `mode` where it is missing (0 for none). Returns 0,
 * -ENOENT (missing, not created), -EACCES (another owner, or writable by
 * group or others), -ELOOP (a symbolic link), -ENOTDIR, or mkdir's/open's
 * errno.
 */
static int check_dir(const char *path, mode_t create, uid_t owner)
{
	if (create && mkdir(path, create) < 0 && errno != EEXIST) {
		int ret = -errno;
		px_log_error("mkdir %s: %s", path, strerror(errno));
		return ret;
	}
	/* O_PATH: a directory others may only pass through (0711) is checked
	 * as well as one they may list. */
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;
		struct stat lst;
		/* (O_DIRECTORY makes a link to a directory ENOTDIR.) */
		if ((errno == ELOOP || errno == ENOTDIR) && lstat(path, &lst) == 0 &&
		    S_ISLNK(lst.st_mode)) {
			px_log_error("topic directory %s is a symbolic link: refused", path);
			return -ELOOP;
		}
		if (ret == -ENOTDIR)
			px_log_error("%s exists and is not a directory", path);
		else if (ret != -ENOENT || create)
			px_log_error("open %s: %s", path, strerror(-ret));
		return ret;
	}
	struct stat st;
	int ret = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		px_log_error("fstat %s: %s", path, strerror(-ret));
		return ret;
	}
	if (st.st_uid != owner) {
		px_log_error("topic directory %s belongs to uid %u, not to %s uid %u: refused "
			     "(its owner could replace the sockets in it)",
			     path, (unsigned)st.st_uid,
			     owner == geteuid() ? "this process's" : "the publisher's",
			     (unsigned)owner);
		return -EACCES;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		px_log_error("topic directory %s is writable by %s (mode %04o): refused (they "
			     "could replace the sockets in it)",
			     path, (st.st_mode & S_IWOTH) ? "others" : "its group",
			     (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

/* Reads the pid written into a lock file, or 0. */
static long lock_owner(int fd)
{
	char buf[24] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int px_topic_lock(const char *dir, const char *topic, mode_t dir_mode, int *lock_fd)
{
	struct sockaddr_un addr;
	char path[sizeof(addr.sun_path) + 8];
	int ret, lock = -1;

	ret = px_topic_address(dir, topic, &addr);
	if (ret)
		return ret;
	/* The directory is the socket path without its last component. */
	px_strlcpy(path, addr.sun_path, sizeof(path));
	*strrchr(path, '/') = '\0';
	if (path[0] && (ret = check_dir(path, dir_mode, geteuid())))
		return ret;

	snprintf(path, sizeof(path), "%s.lock", addr.sun_path);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0) {
		ret = -errno;
		px_log_error("topic '%s': open %s: %s", topic, path, strerror(errno));
		return ret;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		if (ret == -EADDRINUSE)
			px_log_error("topic '%s' is already published by pid %ld", topic,
				     lock_owner(lock));
		else
			px_log_error("topic '%s': flock %s: %s", topic, path, strerror(errno));
		goto err_lock;
	}
	char pid[24];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lock, 0) < 0 || pwrite(lock, pid, (size_t)len, 0) != len) {
		ret = -errno;
		px_log_error("topic '%s': writing %s: %s", topic, path, strerror(errno));
		goto err_lock;
	}
	*lock_fd = lock;
	return 0;

err_lock:
	px_close(&lock);
	return ret;
}

int px_topic_listen(const char *dir, const char *topic, unsigned mode, int *listen_fd)
{
	struct sockaddr_un addr;
	int ret, sock = -1;

	ret = px_topic_address(dir, topic, &addr);
	if (ret)
		return ret;
	/* The caller holds the lock, so a socket at the path belongs to a
	 * publisher that died without removing it: replace it. */
	if (unlink(addr.sun_path) == 0) {
		px_log_info("topic '%s': replaced the stale socket of a dead publisher", topic);
	} else if (errno != ENOENT) {
		ret = -errno;
		px_log_error("topic '%s': unlink stale %s: %s", topic, addr.sun_path,
			     strerror(errno));
		return ret;
	}
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0) {
		ret = -errno;
		px_log_error("topic '%s': socket: %s", topic, strerror(errno));
		return ret;
	}
	/* bind() makes the socket file with the mode of the socket's inode
	 * (less the umask): set before, it is never reachable with looser
	 * permissions than `mode`, not even until the chmod() below, which
	 * gives the bits the umask took. */
	if (fchmod(sock, mode) < 0) {
		ret = -errno;
		px_log_error("topic '%s': fchmod of the socket: %s", topic, strerror(errno));
		goto err_sock;
	}
	if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		px_log_error("topic '%s': bind %s: %s", topic, addr.sun_path, strerror(errno));
		goto err_sock;
	}
	if (chmod(addr.sun_path, mode) < 0) {
		ret = -errno;
		px_log_error("topic '%s': chmod %s: %s", topic, addr.sun_path, strerror(errno));
		goto err_unlink;
	}
	if (listen(sock, 64) < 0) {
		ret = -errno;
		px_log_error("topic '%s': listen: %s", topic, strerror(errno));
		goto err_unlink;
	}
	*listen_fd = sock;
	return 0;

err_unlink:
	unlink(addr.sun_path);
err_sock:
	px_close(&sock);
	return ret;
}

int px_topic_connect(const char *dir, const char *topic, uid_t owner)
{
	struct sockaddr_un addr;
	int ret = px_topic_address(dir, topic, &addr);
	if (ret)
		return ret;
	/* Only into a directory of the publisher's (see check_dir()). */
	char path[sizeof(addr.sun_path)];
	px_strlcpy(path, addr.sun_path, sizeof(path));
	*strrchr(path, '/') = '\0';
	if (path[0] && (ret = check_dir(path, 0, owner)))
		return ret;
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		close(sock);
		/* No socket, or one nobody listens on (a dead publisher's). A live
		 * publisher with a full backlog says EAGAIN. */
		if (ret == -ECONNREFUSED || ret == -ENOENT)
			return -ENOENT;
		return ret;
	}
	/* Nothing is sent nor mapped before the peer is known to be the
	 * publisher's uid: root could have put a socket there. */
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		ret = -errno;
		px_log_error("topic '%s': SO_PEERCRED: %s", topic, strerror(errno));
		close(sock);
		return ret;
	}
	if (cred.uid != owner) {
		px_log_error("topic '%s': its socket belongs to pid %d of uid %u, not to uid %u: "
			     "refused",
			     topic, (int)cred.pid, (unsigned)cred.uid, (unsigned)owner);
		close(sock);
		return -EACCES;
	}
	return sock;
}

PX_API int px_topic_list(const char *dir, void (*fn)(void *userdata, const char *topic),
			 void *userdata)
{
	char d[108];
	int ret = resolve_dir(dir, d, sizeof(d));
	if (ret)
		return ret;
	DIR *dh = opendir(d);
	if (!dh)
		return -errno;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(dh), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISSOCK(st.st_mode))
				continue;
		} else if (e->d_type != DT_SOCK) {
			continue;
		}
		if (fn)
			fn(userdata, e->d_name);
		count++;
	}
	closedir(dh);
	return count;
}

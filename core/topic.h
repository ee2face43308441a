/* SPDX-License-Identifier: MIT */
/* Topic names, their socket paths, and the sockets themselves. */
#ifndef PX_CORE_TOPIC_H
#define PX_CORE_TOPIC_H

#include <sys/un.h>

#include <pixshare/common.h>

/* Checks a topic name (see PX_TOPIC_MAX); 0 or -EINVAL, logged. */
int px_topic_check_name(const char *topic);

/* Fills `addr` with the socket address of `topic` in `dir` (NULL: the
 * default directory). 0, -EINVAL or -ENAMETOOLONG, logged. */
int px_topic_address(const char *dir, const char *topic, struct sockaddr_un *addr);

/*
 * Takes the topic for a publisher: creates the directory if needed, locks
 * `<topic>.lock` (a live publisher holds it: -EADDRINUSE with its pid
 * logged), replaces a stale socket, binds and listens. On success *listen_fd
 * and *lock_fd are the caller's (both CLOEXEC, the socket non-blocking).
 */
int px_topic_bind(const char *dir, const char *topic, unsigned mode, int *listen_fd, int *lock_fd);

/* Connects to a topic's socket (non-blocking, CLOEXEC). Returns the fd, or
 * -ENOENT when no publisher listens there (no socket, or a stale one). */
int px_topic_connect(const char *dir, const char *topic);

#endif

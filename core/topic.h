/* SPDX-License-Identifier: MIT */
/* Topic names, their socket paths, and the sockets themselves. */
#ifndef PX_CORE_TOPIC_H
#define PX_CORE_TOPIC_H

#include <sys/types.h>
#include <sys/un.h>

#include <pixshare/common.h>

/* Checks a topic name (see PX_TOPIC_MAX); 0 or -EINVAL, logged. */
int px_topic_check_name(const char *topic);

/* Fills `addr` with the socket address of `topic` in `dir` (NULL: the
 * default directory). 0, -EINVAL or -ENAMETOOLONG, logged. */
int px_topic_address(const char *dir, const char *topic, struct sockaddr_un *addr);

/*
 * Takes a topic for a publisher: creates the directory (with `dir_mode`) if
 * needed, checks it is this user's own, and locks `<topic>.lock` (held by a
 * live publisher: -EADDRINUSE, its pid logged). On success *lock_fd
 * (CLOEXEC) is the caller's; closing it frees the topic.
 */
int px_topic_lock(const char *dir, const char *topic, mode_t dir_mode, int *lock_fd);

/*
 * Starts listening on a topic whose lock the caller holds: replaces a stale
 * socket, binds with `mode` (never looser, not even for a moment), listens.
 * *listen_fd is non-blocking, CLOEXEC.
 */
int px_topic_listen(const char *dir, const char *topic, unsigned mode, int *listen_fd);

/* Connects to a topic's socket (non-blocking, CLOEXEC) in a directory of
 * `owner`'s, whose peer must be a process of `owner`'s (SO_PEERCRED). Returns
 * the fd, -ENOENT when no publisher listens there (no socket, or a stale
 * one), -EACCES (logged) when the directory or the peer is another uid's. */
int px_topic_connect(const char *dir, const char *topic, uid_t owner);

#endif

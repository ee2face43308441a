/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: px_wire_recv() and px_wire_recv_next() (one recvmmsg()
 * for several packets), which take every packet a peer sends,
 * bytes and control data, on a socketpair. The input chooses the receiver's
 * fd limit and whether it has SO_PASSCRED (then the kernel adds credentials,
 * foreign control data, to every packet), and one or two packets: their
 * bytes (up to past PX_WIRE_MAX_SIZE), fds of every kind in one or two
 * SCM_RIGHTS messages (up to past PX_WIRE_FD_ROOM, so that the control data
 * is truncated), and an SCM_CREDENTIALS message from the sender.
 *
 * Input: u8 receiver options (bit 0: SO_PASSCRED; bits 1-2: max_fds 0, 1,
 * PX_WIRE_MAX_FDS or PX_WIRE_FD_ROOM; bit 3: px_wire_recv_next()), then per
 * packet: u8 flags (bit 0:
 * SCM_CREDENTIALS; bit 1: two SCM_RIGHTS messages; bit 2: another packet
 * follows), u8 fd count, one u8 fd kind per fd, u16 length, the bytes.
 *
 * Invariants: a packet gives either a length (≤ PX_WIRE_MAX_SIZE, that of
 * the packet) with at most max_fds fds, each CLOEXEC; or 0 / an error with
 * no fd left open in this process (with px_wire_recv_next(), whose one
 * receive installs the fds of every packet it takes, once the batch is
 * read). px_wire_validate() then runs on what
 * came, and the receiver ends where it began: nothing pending, its fd count
 * back to the baseline.
 */
#include <errno.h>

#include "core/wire.h"
#include "tests/fuzz/fuzz_util.h"

/* One fd of each kind, made once: the kernel gives the receiver a new fd
 * for every one attached, so sending the same ones again costs nothing. */
static int kind_fds[FUZZ_FD_KINDS];
static int baseline; /* fds open before an input */
static struct px_wire_batch batch;
static bool batched; /* px_wire_recv_next() on `batch`, not px_wire_recv() */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int k = 0; k < FUZZ_FD_KINDS; k++) {
		kind_fds[k] = fuzz_make_fd((enum fuzz_fd_kind)k, 4096);
		if (kind_fds[k] < 0)
			abort();
	}
	return 0;
}

/* Receives one packet of `sent` bytes with `sent_fds` fds (-1: nothing was
 * sent) and checks what px_wire_recv() made of it. */
static void receive(int sock, int max_fds, bool passcred, ssize_t sent, int sent_fds)
{
	static _Alignas(16) uint8_t buf[PX_WIRE_MAX_SIZE];
	int fds[PX_WIRE_FD_ROOM], n_fds = -1;
	char why[200];

	const void *got = buf;
	int len = batched ? px_wire_recv_next(sock, &batch, &got, fds, max_fds, &n_fds)
			  : px_wire_recv(sock, buf, fds, max_fds, &n_fds);
	CHECK(n_fds >= 0 && n_fds <= max_fds);
	if (sent < 0) {
		CHECK(len == -EAGAIN && n_fds == 0);
		return;
	}
	if (len <= 0) {
		/* Refused, or a packet of 0 bytes (which reads as a hang-up):
		 * nothing may stay open. */
		CHECK(n_fds == 0);
		if (!batched)
			CHECK_FDS(baseline + 2);
		CHECK(len == 0 || len == -EMSGSIZE || len == -ETOOMANYREFS || len == -EBADMSG);
		if (sent > PX_WIRE_MAX_SIZE)
			CHECK(len == -EMSGSIZE);
		return;
	}
	/* Accepted: the packet whole, no foreign control data, fds within the limit. */
	CHECK(len == sent && len <= PX_WIRE_MAX_SIZE);
	CHECK(!passcred);
	CHECK(n_fds == sent_fds);
	for (int i = 0; i < n_fds; i++)
		CHECK(fuzz_fd_cloexec(fds[i]));
	px_wire_validate(got, (size_t)len, n_fds, why, sizeof(why));
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	if (!batched)
		CHECK_FDS(baseline + 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int limits[] = {0, 1, PX_WIRE_MAX_FDS, PX_WIRE_FD_ROOM};
	static uint8_t payload[PX_WIRE_MAX_SIZE + 64];
	struct fuzz_in in = {data, size};
	int sv[2];

	baseline = fuzz_count_fds();
	uint8_t opts = fuzz_u8(&in);
	bool passcred = opts & 1;
	int max_fds = limits[(opts >> 1) & 3];
	batched = opts & 8;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (passcred && setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		abort();

	ssize_t sent[2] = {-1, -1};
	int sent_fds[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		uint8_t flags = fuzz_u8(&in);
		int n_fds = fuzz_u8(&in) % (PX_WIRE_FD_ROOM + 24);
		int fds[PX_WIRE_FD_ROOM + 24];
		for (int i = 0; i < n_fds; i++)
			fds[i] = kind_fds[fuzz_u8(&in) % FUZZ_FD_KINDS];
		size_t len = fuzz_u16(&in) % sizeof(payload);
		fuzz_bytes(&in, payload, len);
		sent[k] = fuzz_sendmsg(sv[0], payload, len, fds, n_fds, flags & 2, flags & 1);
		sent_fds[k] = n_fds;
		if (sent[k] < 0 || !(flags & 4))
			break;
	}
	for (int k = 0; k < 2; k++)
		receive(sv[1], max_fds, passcred, sent[k], sent_fds[k]);
	/* Nothing more is pending; then the peer hangs up. */
	receive(sv[1], max_fds, passcred, -1, 0);
	CHECK(batch.next == batch.count);
	CHECK_FDS(baseline + 2);
	close(sv[0]);
	int fds[PX_WIRE_FD_ROOM], n_fds;
	static _Alignas(16) uint8_t buf[PX_WIRE_MAX_SIZE];
	CHECK(px_wire_recv(sv[1], buf, fds, max_fds, &n_fds) == 0 && n_fds == 0);
	close(sv[1]);
	CHECK_FDS(baseline);
	return 0;
}

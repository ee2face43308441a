/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the reader of recording files (tools/recording.c), which
 * `pixshare info FILE` and `pixshare play` point at any file a user names.
 * The input is the file, in a memfd read through /proc/self/fd. Every frame
 * the reader accepts is read back, its bytes included, into a heap block of
 * exactly the size its record claims, which must lie within the file: a
 * reader that believed a length it did not check reads past the block
 * (AddressSanitizer) or past the input (CHECK).
 */
#include "tests/fuzz/fuzz_util.h"
#include "tools/recording.h"
#include "tools/tool_util.h"

/* tool_error()'s one-line reasons go to `quiet` while the reader runs; the
 * sanitizers' reports and CHECK()'s to the real stderr. */
static FILE *quiet, *loud;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	loud = stderr;
	quiet = fopen("/dev/null", "we");
	tool_command = "fuzz_recording";
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_reader r;
	char path[64];
	int fd = memfd_create("recording", MFD_CLOEXEC);
	CHECK(fd >= 0);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);
		CHECK(n > 0);
		done += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int fds = fuzz_count_fds();

	if (quiet)
		stderr = quiet;
	int ret = rec_reader_open(&r, path);
	stderr = loud;
	if (ret == 0) {
		CHECK(r.hdr.size <= size && r.frames_end <= size);
		for (uint64_t i = 0; i < r.n_frames; i++) {
			struct rec_frame f;
			if (quiet)
				stderr = quiet;
			ret = rec_reader_frame(&r, i, &f);
			stderr = loud;
			if (ret)
				continue;
			CHECK(f.offset >= r.hdr.size && f.data_offset <= f.offset + f.size);
			CHECK(f.offset + f.size <= r.frames_end);
			uint64_t n = f.size - (f.data_offset - f.offset);
			uint8_t *buf = malloc(n ? n : 1);
			CHECK(buf);
			CHECK(rec_reader_pread(&r, buf, n, f.data_offset) == 0);
			free(buf);
		}
		rec_reader_close(&r);
	}
	CHECK_FDS(fds); /* the reader closed what it opened */
	close(fd);
	return 0;
}

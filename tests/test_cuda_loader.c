/* SPDX-License-Identifier: MIT */
/*
 * The CUDA driver loader of examples/cuda_import (examples/cuda_loader.c):
 * its error paths, on any machine. A library that is not there, and one that
 * loads but lacks the driver's entry points (the C library, which has no
 * cuInit), each fail with a message that names the library and what is
 * missing, leave nothing loaded and no fd open. Where libcuda.so.1 is
 * installed, it also loads with every entry point resolved; where it is not,
 * that part is left to test_cuda_import on a machine with the driver, and
 * said so.
 */
#include <errno.h>

#include "examples/cuda_loader.h"
#include "px_test.h"

/* Whether every entry point of `drv` (every field after `lib`) is set. */
static bool all_resolved(const struct cuda_driver *drv)
{
	const char *p = (const char *)drv + offsetof(struct cuda_driver, cuInit);
	const char *end = (const char *)drv + sizeof(*drv);
	for (; p + sizeof(void (*)(void)) <= end; p += sizeof(void (*)(void))) {
		void (*fn)(void);
		memcpy(&fn, p, sizeof(fn));
		if (!fn)
			return false;
	}
	return true;
}

/* Whether every byte of `drv` is 0. */
static bool zeroed(const struct cuda_driver *drv)
{
	static const struct cuda_driver zero;
	return !memcmp(drv, &zero, sizeof(zero));
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	int fds = px_test_count_fds();
	struct cuda_driver drv;
	char why[512];

	/* No such library. */
	memset(&drv, 0xa5, sizeof(drv));
	why[0] = '\0';
	REQUIRE_EQ(cuda_driver_load(&drv, "libpixshare-no-such-library.so.1", why, sizeof(why)),
		   -ENOENT);
	REQUIRE(zeroed(&drv));
	REQUIRE(!strncmp(why, "cannot load libpixshare-no-such-library.so.1: ", 46));
	REQUIRE(strstr(why, "No such file") || strstr(why, "cannot open"));
	printf("ok - a missing library: %s\n", why);

	/* A library without the driver's symbols: the first one missing is named. */
	memset(&drv, 0xa5, sizeof(drv));
	why[0] = '\0';
	REQUIRE_EQ(cuda_driver_load(&drv, "libc.so.6", why, sizeof(why)), -ENOSYS);
	REQUIRE(zeroed(&drv));
	REQUIRE(!strncmp(why, "libc.so.6 has no cuInit: ", 25));
	printf("ok - a library without cuInit: %s\n", why);
	/* It was closed again: libc stays, being ours, but a second load of a
	 * missing symbol behaves the same (no state kept between calls). */
	REQUIRE_EQ(cuda_driver_load(&drv, "libc.so.6", why, sizeof(why)), -ENOSYS);
	REQUIRE(zeroed(&drv));

	/* A truncated message stays terminated. */
	char small[16];
	memset(small, 'x', sizeof(small));
	REQUIRE_EQ(cuda_driver_load(&drv, "libc.so.6", small, sizeof(small)), -ENOSYS);
	REQUIRE_EQ(strlen(small), sizeof(small) - 1);

	/* Unloading a zeroed driver, and unloading twice, are no-ops. */
	memset(&drv, 0, sizeof(drv));
	cuda_driver_unload(&drv);
	cuda_driver_unload(&drv);
	REQUIRE(zeroed(&drv));

	/* Results are named by number without a driver. */
	REQUIRE(!strcmp(cuda_result_name(NULL, 801), "CUresult 801"));
	REQUIRE(!strcmp(cuda_result_name(&drv, 1), "CUresult 1"));
	printf("ok - unload of nothing, results named without a driver\n");

	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("ok - no fd left open (%d)\n", fds);

	/* The default library, where it is installed. */
	if (cuda_driver_load(&drv, NULL, why, sizeof(why))) {
		printf("# the driver is not here (%s): its loaded path is left to test_cuda_import "
		       "on a machine with it\n",
		       why);
		return 0;
	}
	REQUIRE(drv.lib);
	REQUIRE(all_resolved(&drv));
	/* The name is the driver's string: used before it is unloaded. */
	REQUIRE(!strcmp(cuda_result_name(&drv, 1), "CUDA_ERROR_INVALID_VALUE"));
	cuda_driver_unload(&drv);
	REQUIRE(zeroed(&drv));
	printf("ok - %s: every entry point resolved, CUresult 1 is CUDA_ERROR_INVALID_VALUE\n",
	       CUDA_DRIVER_LIBRARY);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The ABI of the public structs, pinned: the size, alignment and offset of
 * every field of every struct in include/pixshare/ as abi-table.h (made by
 * tests/contract/update-abi, which also checks that the table covers every
 * field) says. A change shows here as a failure that names the field; see
 * include/pixshare/common.h for which changes a minor version may make.
 *
 * Then the extensible-struct rules at the library boundary (common.h): an
 * older caller's smaller struct, a newer caller's larger one with and
 * without options this library lacks, a size below the first version, and a
 * getter that writes no further than the caller's size.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include <pixshare/camera.h>
#include <pixshare/egl.h>
#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>
#if __has_include(<pixshare/image.h>)
#include <pixshare/image.h>
#endif

#include "px_testutil.h"

static int failures, checked;

static void expect(const char *what, const char *name, size_t got, size_t want)
{
	checked++;
	if (got == want)
		return;
	fprintf(stderr, "struct %s: %s %zu, pinned %zu\n", name, what, got, want);
	failures++;
}

#define PX_ABI_STRUCT(s, size, align)                                                              \
	expect("size", #s, sizeof(struct s), size);                                               \
	expect("alignment", #s, alignof(struct s), align);
#define PX_ABI_FIELD(s, f, off, size)                                                              \
	expect("offset of ." #f, #s, offsetof(struct s, f), off);                                 \
	expect("size of ." #f, #s, sizeof(((struct s *)0)->f), size);

static void pinned(void)
{
#include "abi-table.h"
	if (failures) {
		fprintf(stderr,
			"%d of %d pinned sizes and offsets differ: an ABI change. If it is meant "
			"(see include/pixshare/common.h), run tests/contract/update-abi cc and "
			"commit tests/contract/abi-table.h with it\n",
			failures, checked);
		exit(1);
	}
	printf("abi: %d sizes, alignments and offsets as pinned\n", checked);
}

static void extensible(void)
{
	struct px_set_layout layout;
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 64, 16};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	const size_t size = sizeof(struct px_publisher_params);
	_Alignas(struct px_publisher_params) unsigned char big[sizeof(struct px_publisher_params) + 16];
	struct px_publisher *pub = (void *)1;

	/* A newer caller's struct: its extra bytes 0 (options it left at their
	 * defaults) are fine; one set is an option this library lacks. */
	memset(big, 0, sizeof(big));
	struct px_publisher_params *pp = (void *)big;
	pp->topic = "abi";
	pp->layout = &layout;
	pp->allocator = PX_ALLOCATOR_MEMFD;
	big[size + 3] = 1;
	REQUIRE_EQ(px_publisher_create_sized(sizeof(big), pp, &pub), -E2BIG);
	REQUIRE(pub == NULL);
	big[size + 3] = 0;
	REQUIRE_OK(px_publisher_create_sized(sizeof(big), pp, &pub));
	/* A getter writes the fields it has and zeroes the newer caller's
	 * rest; it writes nothing beyond an older caller's size. */
	_Alignas(struct px_publisher_stats) unsigned char st[sizeof(struct px_publisher_stats) + 16];
	memset(st, 0xa5, sizeof(st));
	REQUIRE_OK(px_publisher_get_stats_sized(sizeof(st), pub, (void *)st));
	for (size_t i = sizeof(struct px_publisher_stats); i < sizeof(st); i++)
		REQUIRE_EQ(st[i], 0);
	REQUIRE_EQ(((struct px_publisher_stats *)(void *)st)->free_slots,
		   px_publisher_get_pool_size(pub));
	memset(st, 0xa5, sizeof(st));
	size_t older = offsetof(struct px_publisher_stats, rate_hz) + sizeof(double);
	REQUIRE_OK(px_publisher_get_stats_sized(older, pub, (void *)st));
	for (size_t i = older; i < sizeof(st); i++)
		REQUIRE_EQ(st[i], 0xa5);
	/* Below the first version: not a struct of this library. */
	REQUIRE_EQ(px_publisher_get_stats_sized(older - 1, pub, (void *)st), -EINVAL);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_publisher_create_sized(offsetof(struct px_publisher_params, external), pp,
					     &pub),
		   -EINVAL);

	/* The macros take compound literals, commas and all. */
	REQUIRE_EQ(px_publisher_create(&(struct px_publisher_params){.topic = "abi", .layout = NULL},
				       &pub),
		   -EINVAL);
	REQUIRE_EQ(px_publisher_create(NULL, &pub), -EINVAL);
	REQUIRE_EQ(px_publisher_get_stats(NULL, NULL), -EINVAL);
	REQUIRE_EQ(px_subscriber_create(&(struct px_subscriber_params){.topic = "a/b", .qos = 0},
					&(struct px_subscriber *){NULL}),
		   -EINVAL);
	printf("abi: newer params with unknown options -E2BIG, without accepted; stats "
	       "written to the caller's size, zeroed beyond ours; below the first version "
	       "-EINVAL\n");
}

static void version(void)
{
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", PX_VERSION_MAJOR, PX_VERSION_MINOR,
		 PX_VERSION_MICRO);
	REQUIRE(!strcmp(px_version(), want));
	REQUIRE(PX_VERSION >= PX_VERSION_AT(0, 2, 0));
	REQUIRE(PX_VERSION < PX_VERSION_AT(PX_VERSION_MAJOR + 1, 0, 0));
	printf("abi: px_version() %s, as the header's PX_VERSION_*\n", px_version());
}

int main(void)
{
	px_test_dir();
	pinned();
	extensible();
	version();
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/allocator.h"
#include "core/util.h"

/* Best first: AUTO takes the first whose probe passes. */
static const struct px_allocator_ops *const allocators[] = {
	&px_allocator_memfd,
};

PX_API const char *px_allocator_name(enum px_allocator_type type)
{
	if (type == PX_ALLOCATOR_AUTO)
		return "auto";
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++)
		if (allocators[i]->type == type)
			return allocators[i]->name;
	return NULL;
}

PX_API int px_allocator_from_name(const char *name, enum px_allocator_type *type)
{
	if (!name || !type)
		return -EINVAL;
	if (!strcasecmp(name, "auto")) {
		*type = PX_ALLOCATOR_AUTO;
		return 0;
	}
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++) {
		if (!strcasecmp(name, allocators[i]->name)) {
			*type = allocators[i]->type;
			return 0;
		}
	}
	return -EINVAL;
}

PX_API bool px_allocator_is_dmabuf(enum px_allocator_type type)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++)
		if (allocators[i]->type == type)
			return allocators[i]->dmabuf;
	return false;
}

const struct px_allocator_ops *px_allocator_resolve(enum px_allocator_type type)
{
	char why[160];

	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++) {
		const struct px_allocator_ops *ops = allocators[i];
		if (type != PX_ALLOCATOR_AUTO && ops->type != type)
			continue;
		why[0] = '\0';
		int ret = ops->probe(why, sizeof(why));
		if (ret == 0) {
			if (type == PX_ALLOCATOR_AUTO)
				px_log_info("allocator auto: chose %s", ops->name);
			return ops;
		}
		if (type != PX_ALLOCATOR_AUTO) {
			px_log_error("allocator %s: not available: %s", ops->name, why);
			return NULL;
		}
		px_log_info("allocator auto: not %s: %s", ops->name, why);
	}
	if (type != PX_ALLOCATOR_AUTO)
		px_log_error("allocator %d: not built into this library", (int)type);
	return NULL;
}

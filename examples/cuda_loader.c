/* SPDX-License-Identifier: MIT */
/* The CUDA driver API loaded with dlopen(): see cuda_loader.h. */
#include "cuda_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The entry points are stored through a data pointer (dlsym()'s). */
_Static_assert(sizeof(void *) == sizeof(CUresult(*)(void)), "function pointers of another size");

/* Each entry point: where it goes, and the symbol cuda.h links it as. */
#define ENTRY(field, symbol)                                                                       \
	{                                                                                          \
		offsetof(struct cuda_driver, field), symbol                                        \
	}
static const struct {
	size_t offset;
	const char *symbol;
} entries[] = {
    ENTRY(cuInit, "cuInit"),
    ENTRY(cuDriverGetVersion, "cuDriverGetVersion"),
    ENTRY(cuGetErrorName, "cuGetErrorName"),
    ENTRY(cuDeviceGetCount, "cuDeviceGetCount"),
    ENTRY(cuDeviceGet, "cuDeviceGet"),
    ENTRY(cuDeviceGetName, "cuDeviceGetName"),
    ENTRY(cuDeviceGetUuid, "cuDeviceGetUuid"),
    ENTRY(cuDeviceGetAttribute, "cuDeviceGetAttribute"),
    ENTRY(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
    ENTRY(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
    ENTRY(cuCtxSetCurrent, "cuCtxSetCurrent"),
    ENTRY(cuMemAlloc, "cuMemAlloc_v2"),
    ENTRY(cuMemFree, "cuMemFree_v2"),
    ENTRY(cuMemcpyHtoD, "cuMemcpyHtoD_v2"),
    ENTRY(cuMemcpyDtoH, "cuMemcpyDtoH_v2"),
    ENTRY(cuMemHostRegister, "cuMemHostRegister_v2"),
    ENTRY(cuMemHostUnregister, "cuMemHostUnregister"),
    ENTRY(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2"),
    ENTRY(cuImportExternalMemory, "cuImportExternalMemory"),
    ENTRY(cuExternalMemoryGetMappedBuffer, "cuExternalMemoryGetMappedBuffer"),
    ENTRY(cuDestroyExternalMemory, "cuDestroyExternalMemory"),
};

int cuda_driver_load(struct cuda_driver *drv, const char *library, char *why, size_t why_size)
{
	memset(drv, 0, sizeof(*drv));
	if (!library)
		library = CUDA_DRIVER_LIBRARY;
	void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *err = dlerror();
		snprintf(why, why_size, "cannot load %s: %s", library, err ? err : "dlopen failed");
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		dlerror();
		void *sym = dlsym(lib, entries[i].symbol);
		if (!sym) {
			const char *err = dlerror();
			snprintf(why, why_size, "%s has no %s: %s", library, entries[i].symbol,
				 err ? err : "NULL");
			dlclose(lib);
			memset(drv, 0, sizeof(*drv));
			return -ENOSYS;
		}
		/* POSIX: a dlsym() result converts to a function pointer. */
		memcpy((char *)drv + entries[i].offset, &sym, sizeof(sym));
	}
	drv->lib = lib;
	return 0;
}

void cuda_driver_unload(struct cuda_driver *drv)
{
	if (drv->lib)
		dlclose(drv->lib);
	memset(drv, 0, sizeof(*drv));
}

const char *cuda_result_name(const struct cuda_driver *drv, CUresult r)
{
	static _Thread_local char buf[32];
	const char *name = NULL;
	if (drv && drv->cuGetErrorName && drv->cuGetErrorName(r, &name) == CUDA_SUCCESS && name)
		return name;
	snprintf(buf, sizeof(buf), "CUresult %d", r);
	return buf;
}

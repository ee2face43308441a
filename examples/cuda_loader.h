/* SPDX-License-Identifier: MIT */
/*
 * The CUDA driver API, loaded at run time: dlopen("libcuda.so.1") and the
 * entry points example_cuda_import uses, without the CUDA toolkit and without
 * linking libcuda. Shared by examples/cuda_import.c and tests/test_cuda_loader.c;
 * not part of pixshare's API (nothing here is installed).
 *
 * The declarations are our own, of exactly what is used. Debian's
 * libffmpeg-nvenc-dev (ffnvcodec 11.1.5.2, <ffnvcodec/dynlink_cuda.h>)
 * declares the external-memory and external-semaphore calls but not
 * cuMemHostRegister, cuMemHostGetDevicePointer, CU_MEMHOSTREGISTER_* or
 * CUDA_EXTERNAL_MEMORY_DEDICATED, so it is not used. Every value below is
 * NVIDIA's, as cuda.h and the CUDA Driver API reference
 * (https://docs.nvidia.com/cuda/cuda-driver-api/, "Data types used by CUDA
 * driver") give it; the page of each is named beside it.
 *
 * Symbol names: cuda.h maps several calls to versioned symbols (#define
 * cuMemAlloc cuMemAlloc_v2 …, the 64-bit CUdeviceptr ABI of CUDA 3.2 and
 * later); dlsym() needs the versioned name, which is what cuda.h's caller
 * links against.
 *
 * Not thread-safe to load or unload; the loaded entry points are the
 * driver's (thread-safe as CUDA documents them).
 */
#ifndef PX_EXAMPLES_CUDA_LOADER_H
#define PX_EXAMPLES_CUDA_LOADER_H

#include <stddef.h>

/* CUresult: CUDA_SUCCESS is 0, every other value an error
 * (group__CUDA__TYPES, enum cudaError_enum). */
typedef int CUresult;
#define CUDA_SUCCESS 0

typedef int CUdevice;
/* 64-bit on every 64-bit platform (CUdeviceptr_v2). */
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUextMemory_st *CUexternalMemory;

/* struct CUuuid_st: 16 bytes, the same as Vulkan's
 * VkPhysicalDeviceIDProperties.deviceUUID for the same GPU. */
typedef struct {
	char bytes[16];
} CUuuid;

/* CUdevice_attribute (group__CUDA__TYPES):
 * CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED = 113, "Device
 * supports using the cuMemHostRegister flag CU_MEMHOSTERGISTER_READ_ONLY to
 * register memory that must be mapped as read-only to the GPU". */
#define CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED 113

/* cuMemHostRegister flags (group__CUDA__MEM, CU_MEMHOSTREGISTER_*):
 * DEVICEMAP 0x02 maps the range into CUDA's address space
 * (cuMemHostGetDevicePointer); READ_ONLY 0x08 "is required in order to
 * register memory mapped to the CPU as read-only" where pageable memory is
 * not accessed through the host's page tables. */
#define CU_MEMHOSTREGISTER_DEVICEMAP 0x02
#define CU_MEMHOSTREGISTER_READ_ONLY 0x08

/* CUexternalMemoryHandleType (group__CUDA__TYPES): OPAQUE_FD = 1, "Handle is
 * an opaque file descriptor". No dma-buf type exists for import. */
#define CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD 1
/* CUDA_EXTERNAL_MEMORY_HANDLE_DESC.flags: "Indicates that the external
 * memory object is a dedicated resource" (the Vulkan memory was allocated
 * with VkMemoryDedicatedAllocateInfo). */
#define CUDA_EXTERNAL_MEMORY_DEDICATED 0x1

/* structCUDA__EXTERNAL__MEMORY__HANDLE__DESC__v1. */
typedef struct {
	int type; /* CUexternalMemoryHandleType */
	union {
		int fd;
		struct {
			void *handle;
			const void *name;
		} win32;
		const void *nvSciBufObject;
	} handle;
	unsigned long long size;
	unsigned int flags;
	unsigned int reserved[16];
} CUDA_EXTERNAL_MEMORY_HANDLE_DESC;

/* structCUDA__EXTERNAL__MEMORY__BUFFER__DESC__v1. */
typedef struct {
	unsigned long long offset;
	unsigned long long size;
	unsigned int flags;
	unsigned int reserved[16];
} CUDA_EXTERNAL_MEMORY_BUFFER_DESC;

/* The entry points, NULL until loaded. */
struct cuda_driver {
	void *lib; /* dlopen()'s handle, NULL when not loaded */
	CUresult (*cuInit)(unsigned int flags);
	CUresult (*cuDriverGetVersion)(int *version);
	CUresult (*cuGetErrorName)(CUresult error, const char **str);
	CUresult (*cuDeviceGetCount)(int *count);
	CUresult (*cuDeviceGet)(CUdevice *dev, int ordinal);
	CUresult (*cuDeviceGetName)(char *name, int len, CUdevice dev);
	CUresult (*cuDeviceGetUuid)(CUuuid *uuid, CUdevice dev);
	CUresult (*cuDeviceGetAttribute)(int *value, int attrib, CUdevice dev);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice dev);
	CUresult (*cuCtxSetCurrent)(CUcontext ctx);
	CUresult (*cuMemAlloc)(CUdeviceptr *dptr, size_t bytes);
	CUresult (*cuMemFree)(CUdeviceptr dptr);
	CUresult (*cuMemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);
	CUresult (*cuMemcpyDtoH)(void *dst, CUdeviceptr src, size_t bytes);
	CUresult (*cuMemHostRegister)(void *p, size_t bytes, unsigned int flags);
	CUresult (*cuMemHostUnregister)(void *p);
	CUresult (*cuMemHostGetDevicePointer)(CUdeviceptr *dptr, void *p, unsigned int flags);
	CUresult (*cuImportExternalMemory)(CUexternalMemory *mem,
					   const CUDA_EXTERNAL_MEMORY_HANDLE_DESC *desc);
	CUresult (*cuExternalMemoryGetMappedBuffer)(CUdeviceptr *dptr, CUexternalMemory mem,
						    const CUDA_EXTERNAL_MEMORY_BUFFER_DESC *desc);
	CUresult (*cuDestroyExternalMemory)(CUexternalMemory mem);
};

/* The library loaded when none is named. */
#define CUDA_DRIVER_LIBRARY "libcuda.so.1"

/*
 * Loads `library` (NULL: CUDA_DRIVER_LIBRARY) with dlopen() and resolves every
 * entry point of `drv`. Returns 0; or -ENOENT where dlopen() fails and
 * -ENOSYS where a symbol is missing, with `drv` zeroed (the library closed
 * again) and the reason in `why` ("cannot load libcuda.so.1: …" or
 * "libcuda.so.1 has no cuImportExternalMemory: …"), NUL-terminated.
 */
int cuda_driver_load(struct cuda_driver *drv, const char *library, char *why, size_t why_size);

/* Closes the library and zeroes `drv`. A zeroed `drv` is a no-op. */
void cuda_driver_unload(struct cuda_driver *drv);

/* The error's name ("CUDA_ERROR_INVALID_VALUE"): the driver's string, valid
 * while it is loaded; or "CUresult N" where the driver knows none or `drv`
 * is not loaded, in thread-local storage that the thread's next call
 * overwrites. */
const char *cuda_result_name(const struct cuda_driver *drv, CUresult r);

#endif

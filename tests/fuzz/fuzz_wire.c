/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the decoders of a packet's bytes, px_wire_validate() on
 * every type, the layout decoder and the Vulkan export description of
 * WELCOME (px_wire_decode_layout(), px_wire_decode_vulkan()). Built with
 * clang (-fsanitize=fuzzer) when PX_FUZZ is on; see tests/fuzz/CMakeLists.txt.
 *
 * Input: u8 (bits 0-6: the fds the packet claims, modulo
 * PX_WIRE_MAX_FDS + 2; bit 7: the rest is a type byte, a flags byte and the
 * body of a packet with a valid header), then the packet.
 */
#include <stdint.h>
#include <string.h>

#include <pixshare/pixshare.h>

#include "core/util.h"
#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static _Alignas(16) uint8_t buf[PX_WIRE_MAX_SIZE];
	char why[200];
	struct px_set_layout layout;

	if (size < 1 || size > sizeof(buf))
		return 0;
	/* The first byte picks the fd count a packet claims to carry and whether
	 * the rest is a raw packet or the body of a packet with a valid header,
	 * so that every type's field checks are reached. */
	int n_fds = (data[0] & 0x7f) % (PX_WIRE_MAX_FDS + 2);
	size_t len = size - 1;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data + 1, len);
	if ((data[0] & 0x80) && len >= 2) {
		uint16_t type = (uint16_t)(buf[0] % (PX_MSG_SHRINK + 1));
		uint32_t flags = buf[1] & 3;
		size_t full = px_wire_size(type);
		if (full) {
			memmove(buf + sizeof(struct px_wire_header), data + 3,
				PX_MIN(len - 2, full - sizeof(struct px_wire_header)));
			px_wire_header_init((struct px_wire_header *)(void *)buf, type,
					    (uint32_t)full, flags);
			len = full;
		}
	}
	if (px_wire_validate(buf, len, n_fds, why, sizeof(why)) == 0) {
		struct px_wire_header hdr;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type == PX_MSG_WELCOME) {
			const struct px_wire_welcome *w = (const void *)buf;
			if (px_wire_decode_layout(&w->layout, &layout, why, sizeof(why)) == 0) {
				if (px_layout_validate(&layout, why, sizeof(why)) != 0)
					__builtin_trap(); /* decode accepted what validate refuses
							   */
				struct px_vulkan_export v;
				if ((hdr.flags & PX_WELCOME_VULKAN) &&
				    px_wire_decode_vulkan(&w->vulkan, &layout, &v, why,
							  sizeof(why)) == 0 &&
				    px_vulkan_export_check(&v, &layout, why, sizeof(why)) != 0)
					__builtin_trap();
			}
		}
	}
	/* The layout decoder on its own, from any bytes. */
	if (len >= sizeof(struct px_wire_layout)) {
		struct px_wire_layout wl;
		memcpy(&wl, buf, sizeof(wl));
		if (px_wire_decode_layout(&wl, &layout, why, sizeof(why)) == 0) {
			uint64_t total = px_layout_slot_bytes(&layout);
			(void)total;
			for (uint32_t i = 0; i < layout.n_images; i++)
				for (uint32_t p = 0; p < layout.images[i].n_planes; p++)
					if (layout.images[i].planes[p].buffer >= layout.n_buffers)
						__builtin_trap();
		}
	}
	return 0;
}

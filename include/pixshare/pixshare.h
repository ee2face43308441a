/* SPDX-License-Identifier: MIT */
/*
 * pixshare — zero-copy sharing of image sets between processes.
 *
 * Include this header for the whole public API. See DESIGN.md for the
 * concepts (topics, set layouts, slots, frames, leases, QoS).
 */
#ifndef PIXSHARE_H
#define PIXSHARE_H

#include <pixshare/allocator.h>
#include <pixshare/camera.h>
#include <pixshare/common.h>
#include <pixshare/image.h>
#include <pixshare/layout.h>
#include <pixshare/publisher.h>
#include <pixshare/subscriber.h>
#include <pixshare/testpattern.h>

#endif

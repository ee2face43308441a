/* SPDX-License-Identifier: MIT */
/*
 * The help of `pixshare ros-bridge`, shared by the tool (tools/pixshare.c),
 * which prints it even when built without ROS, and by the bridge itself
 * (tools/ros_bridge.cpp). Private to the tool.
 */
#ifndef PX_TOOLS_ROS_BRIDGE_HELP_H
#define PX_TOOLS_ROS_BRIDGE_HELP_H

#define ROS_BRIDGE_ARGS "TOPIC"
#define ROS_BRIDGE_BRIEF "bridge a topic to ROS 1 sensor_msgs/Image topics, or back"
#define ROS_BRIDGE_SUMMARY                                                                         \
	"Publishes each image of TOPIC's sets as a sensor_msgs/Image on a ROS 1\n"                 \
	"topic of its own, PREFIX/image0, PREFIX/image1, …: the encoding named\n"                \
	"after the bytes in memory (YUYV yuv422_yuy2, UYVY yuv422, RGB888 bgr8,\n"                 \
	"BGR888 rgb8, ARGB8888 and XRGB8888 bgra8, ABGR8888 and XBGR8888 rgba8,\n"                 \
	"R8 mono8, R16 mono16; NV12 nv12 where this ROS names it; others are\n"                    \
	"refused), `step` the image's\n"                                                          \
	"stride, header.stamp its capture time on the wall clock (CLOCK_MONOTONIC\n"               \
	"plus an offset measured once at start; header.seq is roscpp's own count).\n"              \
	"Each image is copied once into its message (ROS messages are by value),\n"                \
	"and only while its ROS topic has subscribers. With --from-ros, the other\n"               \
	"way: messages of the ROS topics given that have the same header.stamp\n"                  \
	"make one set (image i from the i-th topic; its sequence is header.seq),\n"                \
	"published as TOPIC with the layout of the first set; a later change of\n"                 \
	"size or encoding is refused.\n"                                                           \
	"Needs a ROS master ($ROS_MASTER_URI). Runs until --count, --duration,\n"                  \
	"Ctrl-C or SIGTERM, then prints the sets, the copies and the CPU time per\n"               \
	"set. ROS remappings (name:=other, __name:=node) are taken as ROS takes\n"                 \
	"them."
#define ROS_BRIDGE_HELP                                                                            \
	"  --ros-prefix NAME    namespace of the ROS image topics (default /TOPIC)\n"              \
	"  --frame-id ID        header.frame_id of image i: ID with {i} replaced by\n"             \
	"                       i, else ID followed by i (default: TOPIC)\n"                       \
	"  --ros-queue N        queue of each ROS publisher or subscriber (default 5)\n"           \
	"  --qos QOS            the subscription to TOPIC: latest (default),\n"                    \
	"                       queue:N or reliable\n"                                             \
	"  --from-ros NAME      the other way: take image i of each set from the\n"                \
	"                       i-th ROS topic given (repeat it, 1 to 16 times)\n"                 \
	"  --sync-queue N       --from-ros: messages kept per ROS topic while the\n"               \
	"                       others' of the same stamp are missing (default 10)\n"              \
	"  --allocator NAME     --from-ros: TOPIC's pool: auto (default), memfd, gbm,\n"           \
	"                       dma-heap, udmabuf or dumb\n"                                       \
	"  --pool N             --from-ros: slots in TOPIC's pool\n"                               \
	"  --count N            stop after N sets\n"                                               \
	"  --duration S         stop after S seconds\n"                                            \
	"  --wait S             wait up to S seconds for the ROS master and (to ROS)\n"            \
	"                       for TOPIC (default: fail at once)\n"                               \
	"  --quiet              no progress on stderr\n"

#endif

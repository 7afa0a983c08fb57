// Package v4l2 captures frames from a Linux V4L2 camera (/dev/videoN)
// through direct ioctls (golang.org/x/sys/unix): it enumerates the formats,
// frame sizes and frame intervals the device offers, negotiates the closest
// match to what was asked (YUYV or MJPEG, size, frame rate), maps a small
// ring of kernel buffers once and reuses them for every frame. A Camera
// satisfies drivers.FrameSource.
//
// The kernel structures are declared here with the uapi layout of both
// 64-bit (arm64, amd64) and 32-bit (armv7) Linux; their sizes and the ioctl
// numbers derived from them are tested against the kernel's values. The
// ioctl layer is the Device interface, so negotiation, buffer handling and
// frame delivery are tested against a fake device; OpenDevice is the real
// one.
package v4l2

package v4l2

import (
	"testing"
	"unsafe"
)

// The kernel's sizes and ioctl numbers (linux/videodev2.h) on 64-bit and
// 32-bit Linux. Running this test under qemu-arm checks the 32-bit column.
func TestLayouts(t *testing.T) {
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	pick := func(a64, a32 uintptr) uintptr {
		if is64 {
			return a64
		}
		return a32
	}
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"v4l2_capability", unsafe.Sizeof(capability{}), 104},
		{"v4l2_fmtdesc", unsafe.Sizeof(fmtdesc{}), 64},
		{"v4l2_frmsizeenum", unsafe.Sizeof(frmsizeenum{}), 44},
		{"v4l2_frmivalenum", unsafe.Sizeof(frmivalenum{}), 52},
		{"v4l2_pix_format", unsafe.Sizeof(pixFormat{}), 48},
		{"v4l2_format", unsafe.Sizeof(format{}), pick(208, 204)},
		{"v4l2_format.fmt offset", unsafe.Offsetof(format{}.Pix), pick(8, 4)},
		{"v4l2_streamparm", unsafe.Sizeof(streamParm{}), 204},
		{"v4l2_requestbuffers", unsafe.Sizeof(requestBuffers{}), 20},
		{"v4l2_buffer", unsafe.Sizeof(buffer{}), pick(88, 68)},
		{"v4l2_buffer.timestamp offset", unsafe.Offsetof(buffer{}.Timestamp), pick(24, 20)},
		{"v4l2_buffer.sequence offset", unsafe.Offsetof(buffer{}.Sequence), pick(56, 44)},
		{"v4l2_buffer.m offset", unsafe.Offsetof(buffer{}.M), pick(64, 52)},
		{"v4l2_buffer.length offset", unsafe.Offsetof(buffer{}.Length), pick(72, 56)},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s = %d, want %d", s.name, s.got, s.want)
		}
	}
	ioctls := []struct {
		name string
		got  uint
		want uintptr
	}{
		{"VIDIOC_QUERYCAP", vidiocQueryCap, 0x80685600},
		{"VIDIOC_ENUM_FMT", vidiocEnumFmt, 0xc0405602},
		{"VIDIOC_G_FMT", vidiocGFmt, pick(0xc0d05604, 0xc0cc5604)},
		{"VIDIOC_S_FMT", vidiocSFmt, pick(0xc0d05605, 0xc0cc5605)},
		{"VIDIOC_REQBUFS", vidiocReqBufs, 0xc0145608},
		{"VIDIOC_QUERYBUF", vidiocQueryBuf, pick(0xc0585609, 0xc0445609)},
		{"VIDIOC_QBUF", vidiocQBuf, pick(0xc058560f, 0xc044560f)},
		{"VIDIOC_DQBUF", vidiocDQBuf, pick(0xc0585611, 0xc0445611)},
		{"VIDIOC_STREAMON", vidiocStreamOn, 0x40045612},
		{"VIDIOC_STREAMOFF", vidiocStreamOff, 0x40045613},
		{"VIDIOC_G_PARM", vidiocGParm, 0xc0cc5615},
		{"VIDIOC_S_PARM", vidiocSParm, 0xc0cc5616},
		{"VIDIOC_ENUM_FRAMESIZES", vidiocEnumFrameSizes, 0xc02c564a},
		{"VIDIOC_ENUM_FRAMEINTERVALS", vidiocEnumFrameIntervals, 0xc034564b},
	}
	for _, c := range ioctls {
		if uintptr(c.got) != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if FourCCString(FourCCYUYV) != "YUYV" || FourCCMJPEG != 0x47504a4d {
		t.Errorf("fourcc: %s %#x", FourCCString(FourCCYUYV), FourCCMJPEG)
	}
}

package v4l2

import "unsafe"

// Constants from linux/videodev2.h.
const (
	bufTypeVideoCapture = 1
	memoryMmap          = 1
	fieldAny            = 0

	capVideoCapture = 0x00000001
	capStreaming    = 0x04000000
	capDeviceCaps   = 0x80000000
	capTimePerFrame = 0x1000

	frmsizeDiscrete   = 1
	frmsizeContinuous = 2
	frmsizeStepwise   = 3
	frmivalDiscrete   = 1

	quantDefault   = 0
	quantFullRange = 1
	colorspaceJPEG = 7

	bufFlagTimestampMask      = 0x0000e000
	bufFlagTimestampMonotonic = 0x00002000
)

// FourCC codes.
var (
	FourCCYUYV  = fourcc('Y', 'U', 'Y', 'V')
	FourCCMJPEG = fourcc('M', 'J', 'P', 'G')
	FourCCJPEG  = fourcc('J', 'P', 'E', 'G')
)

func fourcc(a, b, c, d byte) uint32 {
	return uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24
}

// FourCCString renders a fourcc code.
func FourCCString(f uint32) string {
	return string([]byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)})
}

type capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type fmtdesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

type frmsizeenum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	// Union: discrete {width, height} or stepwise {min_width, max_width,
	// step_width, min_height, max_height, step_height}.
	U        [6]uint32
	Reserved [2]uint32
}

type fract struct {
	Numerator   uint32
	Denominator uint32
}

type frmivalenum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	// Union: discrete fract, or stepwise {min, max, step fract}.
	U        [3]fract
	Reserved [2]uint32
}

type pixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

// format is struct v4l2_format: the union holds struct v4l2_window, which
// has pointers, so it is pointer-aligned (offset 8 on 64-bit, 4 on 32-bit).
type format struct {
	Type uint32
	_    [unsafe.Sizeof(uintptr(0)) - 4]byte
	Pix  pixFormat
	_    [200 - unsafe.Sizeof(pixFormat{})]byte
}

type captureParm struct {
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame fract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
}

type streamParm struct {
	Type    uint32
	Capture captureParm
	_       [200 - unsafe.Sizeof(captureParm{})]byte
}

type requestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

type timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	UserBits [4]uint8
}

// timeval is the C struct timeval of the platform: two longs.
type timeval struct {
	Sec  clong
	Usec clong
}

// clong is C's long: as wide as a pointer on Linux.
type clong = uintptr

// buffer is struct v4l2_buffer; M is the union m (offset for MMAP, read as
// its low 32 bits on little-endian machines).
type buffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp timeval
	Timecode  timecode
	Sequence  uint32
	Memory    uint32
	M         uintptr
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

// ioctl request encoding (asm-generic/ioctl.h).
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uint {
	return uint(dir<<30 | size<<16 | uintptr('V')<<8 | nr)
}

var (
	vidiocQueryCap           = ioc(iocRead, 0, unsafe.Sizeof(capability{}))
	vidiocEnumFmt            = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(fmtdesc{}))
	vidiocGFmt               = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(format{}))
	vidiocSFmt               = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(format{}))
	vidiocReqBufs            = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(requestBuffers{}))
	vidiocQueryBuf           = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(buffer{}))
	vidiocQBuf               = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(buffer{}))
	vidiocDQBuf              = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(buffer{}))
	vidiocStreamOn           = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamOff          = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
	vidiocGParm              = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(streamParm{}))
	vidiocSParm              = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(streamParm{}))
	vidiocEnumFrameSizes     = ioc(iocRead|iocWrite, 74, unsafe.Sizeof(frmsizeenum{}))
	vidiocEnumFrameIntervals = ioc(iocRead|iocWrite, 75, unsafe.Sizeof(frmivalenum{}))
)

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

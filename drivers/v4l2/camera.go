package v4l2

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"livegate.dev/drivers"
)

// Device is the ioctl layer of a V4L2 device node. OpenDevice returns the
// real one; tests pass a fake that implements the same ioctls on the same
// structures.
type Device interface {
	// Ioctl issues request req with arg pointing at the request's
	// structure.
	Ioctl(req uint, arg unsafe.Pointer) error
	// Mmap maps length bytes of the device at offset.
	Mmap(offset int64, length int) ([]byte, error)
	// Munmap unmaps a mapping Mmap returned.
	Munmap(b []byte) error
	// WaitReadable waits up to timeout for a filled buffer.
	WaitReadable(timeout time.Duration) (bool, error)
	// Monotonic is the CLOCK_MONOTONIC time buffer timestamps use.
	Monotonic() time.Duration
	Close() error
}

// Opts configures a Camera.
type Opts struct {
	Want
	// Buffers is the number of mmap buffers. Optional. Default: 4.
	Buffers int
	// Clock converts buffer timestamps to wall time. Optional. Default:
	// drivers.RealClock.
	Clock drivers.Clock
	// Poll bounds one wait for a frame before ctx is checked again.
	// Optional. Default: 100ms.
	Poll time.Duration
}

// Camera captures from one device.
type Camera struct {
	dev  Device
	name string
	opts Opts
	mode Mode
	pix  pixFormat
	fps  float64

	mu      sync.Mutex
	bufs    [][]byte
	held    int // index of the buffer lent to the caller, or -1
	compact []byte
	closed  bool
}

var _ drivers.FrameSource = (*Camera)(nil)

// Info describes a device.
type Info struct {
	Driver, Card, BusInfo string
	Capabilities          uint32
}

// New negotiates a mode on dev, maps its buffers and starts streaming.
// name is used in errors ("/dev/video0").
func New(dev Device, name string, opts Opts) (*Camera, error) {
	if opts.Buffers <= 0 {
		opts.Buffers = 4
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	c := &Camera{dev: dev, name: name, opts: opts, held: -1}
	if err := c.start(); err != nil {
		c.release()
		return nil, fmt.Errorf("v4l2 %s: %w", name, err)
	}
	return c, nil
}

// Query returns the device's identity and capabilities.
func Query(dev Device) (Info, error) {
	var cp capability
	if err := dev.Ioctl(vidiocQueryCap, unsafe.Pointer(&cp)); err != nil {
		return Info{}, fmt.Errorf("VIDIOC_QUERYCAP: %w", err)
	}
	caps := cp.Capabilities
	if caps&capDeviceCaps != 0 {
		caps = cp.DeviceCaps
	}
	return Info{Driver: cstring(cp.Driver[:]), Card: cstring(cp.Card[:]), BusInfo: cstring(cp.BusInfo[:]), Capabilities: caps}, nil
}

// Enumerate lists the formats, sizes and intervals dev offers for video
// capture.
func Enumerate(dev Device) ([]FormatInfo, error) {
	var out []FormatInfo
	for i := uint32(0); ; i++ {
		fd := fmtdesc{Index: i, Type: bufTypeVideoCapture}
		if err := dev.Ioctl(vidiocEnumFmt, unsafe.Pointer(&fd)); err != nil {
			if errors.Is(err, syscall.EINVAL) {
				break
			}
			return nil, fmt.Errorf("VIDIOC_ENUM_FMT %d: %w", i, err)
		}
		fi := FormatInfo{FourCC: fd.PixelFormat}
		for j := uint32(0); ; j++ {
			fs := frmsizeenum{Index: j, PixelFormat: fd.PixelFormat}
			if err := dev.Ioctl(vidiocEnumFrameSizes, unsafe.Pointer(&fs)); err != nil {
				if errors.Is(err, syscall.EINVAL) {
					break
				}
				return nil, fmt.Errorf("VIDIOC_ENUM_FRAMESIZES %s %d: %w", FourCCString(fd.PixelFormat), j, err)
			}
			u := fs.U
			if fs.Type == frmsizeDiscrete {
				fi.Sizes = append(fi.Sizes, SizeRange{MinW: int(u[0]), MaxW: int(u[0]), MinH: int(u[1]), MaxH: int(u[1])})
				continue
			}
			step := SizeRange{MinW: int(u[0]), MaxW: int(u[1]), StepW: int(u[2]), MinH: int(u[3]), MaxH: int(u[4]), StepH: int(u[5])}
			if fs.Type == frmsizeContinuous {
				step.StepW, step.StepH = 1, 1
			}
			fi.Sizes = append(fi.Sizes, step)
			break // stepwise and continuous have a single entry
		}
		pf := fd.PixelFormat
		fi.Intervals = func(w, h int) ([]Interval, error) { return intervals(dev, pf, w, h) }
		out = append(out, fi)
	}
	return out, nil
}

func intervals(dev Device, pf uint32, w, h int) ([]Interval, error) {
	var out []Interval
	for k := uint32(0); ; k++ {
		fi := frmivalenum{Index: k, PixelFormat: pf, Width: uint32(w), Height: uint32(h)}
		if err := dev.Ioctl(vidiocEnumFrameIntervals, unsafe.Pointer(&fi)); err != nil {
			if errors.Is(err, syscall.EINVAL) {
				return out, nil
			}
			return nil, fmt.Errorf("VIDIOC_ENUM_FRAMEINTERVALS: %w", err)
		}
		if fi.Type == frmivalDiscrete {
			out = append(out, Interval{fi.U[0].Numerator, fi.U[0].Denominator})
			continue
		}
		// Stepwise or continuous: offer both ends.
		return append(out, Interval{fi.U[0].Numerator, fi.U[0].Denominator}, Interval{fi.U[1].Numerator, fi.U[1].Denominator}), nil
	}
}

func (c *Camera) start() error {
	info, err := Query(c.dev)
	if err != nil {
		return err
	}
	if info.Capabilities&capVideoCapture == 0 || info.Capabilities&capStreaming == 0 {
		return fmt.Errorf("%s (%s) cannot stream video capture (caps %#x)", info.Card, info.Driver, info.Capabilities)
	}
	offers, err := Enumerate(c.dev)
	if err != nil {
		return err
	}
	if c.mode, err = Negotiate(offers, c.opts.Want); err != nil {
		return err
	}
	f := format{Type: bufTypeVideoCapture}
	f.Pix = pixFormat{Width: uint32(c.mode.Width), Height: uint32(c.mode.Height), PixelFormat: c.mode.FourCC, Field: fieldAny}
	if err := c.dev.Ioctl(vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return fmt.Errorf("VIDIOC_S_FMT %s: %w", c.mode, err)
	}
	// The driver may adjust: take what it set.
	c.pix = f.Pix
	c.mode.Width, c.mode.Height, c.mode.FourCC = int(f.Pix.Width), int(f.Pix.Height), f.Pix.PixelFormat
	if PixelFormatOf(c.mode.FourCC) == drivers.FormatUnknown {
		return fmt.Errorf("driver set unsupported format %s", FourCCString(c.mode.FourCC))
	}
	if err := c.setRate(); err != nil {
		return err
	}
	rb := requestBuffers{Count: uint32(c.opts.Buffers), Type: bufTypeVideoCapture, Memory: memoryMmap}
	if err := c.dev.Ioctl(vidiocReqBufs, unsafe.Pointer(&rb)); err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS %d: %w", c.opts.Buffers, err)
	}
	if rb.Count < 2 {
		return fmt.Errorf("VIDIOC_REQBUFS granted %d buffers, need at least 2", rb.Count)
	}
	for i := uint32(0); i < rb.Count; i++ {
		b := buffer{Index: i, Type: bufTypeVideoCapture, Memory: memoryMmap}
		if err := c.dev.Ioctl(vidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("VIDIOC_QUERYBUF %d: %w", i, err)
		}
		m, err := c.dev.Mmap(int64(uint32(b.M)), int(b.Length))
		if err != nil {
			return fmt.Errorf("mmap buffer %d: %w", i, err)
		}
		c.bufs = append(c.bufs, m)
		if err := c.queue(int(i)); err != nil {
			return err
		}
	}
	typ := int32(bufTypeVideoCapture)
	if err := c.dev.Ioctl(vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	return nil
}

// setRate sets the negotiated frame interval when the driver supports it
// and records the rate in effect.
func (c *Camera) setRate() error {
	p := streamParm{Type: bufTypeVideoCapture}
	if err := c.dev.Ioctl(vidiocGParm, unsafe.Pointer(&p)); err != nil {
		return fmt.Errorf("VIDIOC_G_PARM: %w", err)
	}
	if p.Capture.Capability&capTimePerFrame != 0 && c.mode.Interval.Num != 0 {
		p.Capture.TimePerFrame = fract{c.mode.Interval.Num, c.mode.Interval.Den}
		if err := c.dev.Ioctl(vidiocSParm, unsafe.Pointer(&p)); err != nil {
			return fmt.Errorf("VIDIOC_S_PARM %s: %w", c.mode, err)
		}
	}
	tpf := p.Capture.TimePerFrame
	c.mode.Interval = Interval{tpf.Numerator, tpf.Denominator}
	c.fps = c.mode.Interval.FPS()
	return nil
}

func (c *Camera) queue(i int) error {
	b := buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMmap}
	if err := c.dev.Ioctl(vidiocQBuf, unsafe.Pointer(&b)); err != nil {
		return fmt.Errorf("VIDIOC_QBUF %d: %w", i, err)
	}
	return nil
}

// Mode reports the negotiated mode.
func (c *Camera) Mode() Mode { return c.mode }

// Format reports the negotiated format.
func (c *Camera) Format() drivers.FrameFormat {
	return drivers.FrameFormat{Format: PixelFormatOf(c.mode.FourCC), Width: c.mode.Width, Height: c.mode.Height, FPS: c.fps, LimitedRange: c.limited()}
}

// Next dequeues the next filled buffer. The buffer handed out by the
// previous call is queued back first, so Data is valid until the next call.
func (c *Camera) Next(ctx context.Context) (drivers.Frame, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return drivers.Frame{}, fmt.Errorf("v4l2 %s: closed", c.name)
	}
	if c.held >= 0 {
		if err := c.queue(c.held); err != nil {
			return drivers.Frame{}, fmt.Errorf("v4l2 %s: %w", c.name, err)
		}
		c.held = -1
	}
	var b buffer
	for {
		if err := ctx.Err(); err != nil {
			return drivers.Frame{}, err
		}
		ok, err := c.dev.WaitReadable(c.opts.Poll)
		if err != nil {
			return drivers.Frame{}, fmt.Errorf("v4l2 %s: wait for frame: %w", c.name, err)
		}
		if !ok {
			continue
		}
		b = buffer{Type: bufTypeVideoCapture, Memory: memoryMmap}
		err = c.dev.Ioctl(vidiocDQBuf, unsafe.Pointer(&b))
		if errors.Is(err, syscall.EAGAIN) {
			continue // woken without a filled buffer
		}
		if err != nil {
			return drivers.Frame{}, fmt.Errorf("v4l2 %s: VIDIOC_DQBUF: %w", c.name, err)
		}
		break
	}
	if int(b.Index) >= len(c.bufs) {
		return drivers.Frame{}, fmt.Errorf("v4l2 %s: driver returned buffer %d of %d", c.name, b.Index, len(c.bufs))
	}
	c.held = int(b.Index)
	raw := c.bufs[b.Index]
	n := int(b.BytesUsed)
	if n == 0 || n > len(raw) {
		n = len(raw)
	}
	data := raw[:n]
	pf := PixelFormatOf(c.mode.FourCC)
	if pf == drivers.FormatYUYV {
		data = c.packed(raw)
	}
	// Monotonic buffer timestamps become wall time; without one, the time
	// of dequeueing stands in.
	ts := time.Duration(b.Timestamp.Sec)*time.Second + time.Duration(b.Timestamp.Usec)*time.Microsecond
	t := c.opts.Clock.Now()
	if b.Flags&bufFlagTimestampMask == bufFlagTimestampMonotonic && ts > 0 {
		if mono := c.dev.Monotonic(); mono > 0 {
			t = t.Add(ts - mono)
		}
	}
	return drivers.Frame{Data: data, Format: pf, Width: c.mode.Width, Height: c.mode.Height, Time: t, Seq: uint64(b.Sequence), LimitedRange: c.limited()}, nil
}

// limited reports whether YUYV samples are video range: V4L2's default
// quantization for Y'CbCr is limited, except for the JPEG colorspace.
func (c *Camera) limited() bool {
	if PixelFormatOf(c.mode.FourCC) != drivers.FormatYUYV {
		return false
	}
	switch c.pix.Quantization {
	case quantFullRange:
		return false
	case quantDefault:
		return c.pix.Colorspace != colorspaceJPEG
	}
	return true
}

// packed returns YUYV rows without the driver's line padding, copying into
// a reused buffer only when the driver pads.
func (c *Camera) packed(raw []byte) []byte {
	row := c.mode.Width * 2
	stride := int(c.pix.BytesPerLine)
	need := row * c.mode.Height
	if stride == 0 || stride == row {
		if len(raw) > need {
			raw = raw[:need]
		}
		return raw
	}
	if cap(c.compact) < need {
		c.compact = make([]byte, need)
	}
	c.compact = c.compact[:need]
	for y := 0; y < c.mode.Height; y++ {
		start := y * stride
		if start+row > len(raw) {
			break
		}
		copy(c.compact[y*row:(y+1)*row], raw[start:start+row])
	}
	return c.compact
}

// Close stops streaming, unmaps the buffers and closes the device.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.release()
}

func (c *Camera) release() error {
	var errs []error
	typ := int32(bufTypeVideoCapture)
	if len(c.bufs) > 0 {
		if err := c.dev.Ioctl(vidiocStreamOff, unsafe.Pointer(&typ)); err != nil {
			errs = append(errs, fmt.Errorf("VIDIOC_STREAMOFF: %w", err))
		}
	}
	for _, b := range c.bufs {
		if err := c.dev.Munmap(b); err != nil {
			errs = append(errs, fmt.Errorf("munmap: %w", err))
		}
	}
	c.bufs = nil
	if err := c.dev.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("v4l2 %s: close: %w", c.name, err)
	}
	return nil
}

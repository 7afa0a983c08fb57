package v4l2

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// fakeFormat is one pixel format a fakeDevice offers.
type fakeFormat struct {
	fourcc   uint32
	discrete [][2]int   // discrete sizes, or
	stepwise *SizeRange // one stepwise range
	ivals    []Interval
}

// fakeDevice implements the V4L2 ioctls on the real structures, as a
// driver would: enumeration with EINVAL at the end, S_FMT adjusting to
// what it offers, G/S_PARM, REQBUFS/QUERYBUF/mmap, QBUF/DQBUF on a queue,
// STREAMON/OFF.
type fakeDevice struct {
	caps         uint32
	formats      []fakeFormat
	timePerFrame bool
	maxBufs      int
	padding      int // extra bytes per YUYV line
	mono         time.Duration
	tsLag        time.Duration // buffer timestamp = mono - tsLag
	spurious     int           // DQBUF answers EAGAIN this many times first

	pix       pixFormat
	tpf       fract
	bufs      [][]byte
	queued    []int
	streaming bool
	seq       uint32
	closed    bool
	unmapped  int
	calls     []string
}

func newFake() *fakeDevice {
	return &fakeDevice{
		caps: capVideoCapture | capStreaming, timePerFrame: true, maxBufs: 8, mono: 10 * time.Second,
		tpf: fract{1, 30},
		formats: []fakeFormat{
			{fourcc: FourCCMJPEG, discrete: [][2]int{{1920, 1080}, {1280, 720}, {640, 480}}, ivals: []Interval{{1, 30}, {1, 15}}},
			{fourcc: FourCCYUYV, discrete: [][2]int{{640, 480}, {320, 240}}, ivals: []Interval{{1, 30}, {1, 15}, {1, 5}}},
			{fourcc: fourcc('N', 'V', '1', '2'), discrete: [][2]int{{640, 480}}},
		},
	}
}

func (d *fakeDevice) find(fc uint32) *fakeFormat {
	for i := range d.formats {
		if d.formats[i].fourcc == fc {
			return &d.formats[i]
		}
	}
	return nil
}

func (d *fakeDevice) Ioctl(req uint, arg unsafe.Pointer) error {
	switch req {
	case vidiocQueryCap:
		c := (*capability)(arg)
		copy(c.Driver[:], "fakecam")
		copy(c.Card[:], "Fake Camera")
		c.Capabilities = d.caps | capDeviceCaps
		c.DeviceCaps = d.caps
	case vidiocEnumFmt:
		f := (*fmtdesc)(arg)
		if f.Type != bufTypeVideoCapture || int(f.Index) >= len(d.formats) {
			return syscall.EINVAL
		}
		f.PixelFormat = d.formats[f.Index].fourcc
	case vidiocEnumFrameSizes:
		s := (*frmsizeenum)(arg)
		ff := d.find(s.PixelFormat)
		if ff == nil {
			return syscall.EINVAL
		}
		if ff.stepwise != nil {
			if s.Index > 0 {
				return syscall.EINVAL
			}
			r := ff.stepwise
			s.Type = frmsizeStepwise
			s.U = [6]uint32{uint32(r.MinW), uint32(r.MaxW), uint32(r.StepW), uint32(r.MinH), uint32(r.MaxH), uint32(r.StepH)}
			return nil
		}
		if int(s.Index) >= len(ff.discrete) {
			return syscall.EINVAL
		}
		s.Type = frmsizeDiscrete
		s.U[0], s.U[1] = uint32(ff.discrete[s.Index][0]), uint32(ff.discrete[s.Index][1])
	case vidiocEnumFrameIntervals:
		iv := (*frmivalenum)(arg)
		ff := d.find(iv.PixelFormat)
		if ff == nil || int(iv.Index) >= len(ff.ivals) {
			return syscall.EINVAL
		}
		iv.Type = frmivalDiscrete
		iv.U[0] = fract{ff.ivals[iv.Index].Num, ff.ivals[iv.Index].Den}
	case vidiocSFmt:
		f := (*format)(arg)
		d.calls = append(d.calls, fmt.Sprintf("S_FMT %s %dx%d", FourCCString(f.Pix.PixelFormat), f.Pix.Width, f.Pix.Height))
		ff := d.find(f.Pix.PixelFormat)
		if ff == nil {
			ff = &d.formats[0]
			f.Pix.PixelFormat = ff.fourcc
		}
		if ff.discrete != nil { // snap to the first offered size not larger
			ok := false
			for _, s := range ff.discrete {
				if int(f.Pix.Width) == s[0] && int(f.Pix.Height) == s[1] {
					ok = true
				}
			}
			if !ok {
				f.Pix.Width, f.Pix.Height = uint32(ff.discrete[len(ff.discrete)-1][0]), uint32(ff.discrete[len(ff.discrete)-1][1])
			}
		}
		f.Pix.Field = 1
		if f.Pix.PixelFormat == FourCCYUYV {
			f.Pix.BytesPerLine = f.Pix.Width*2 + uint32(d.padding)
			f.Pix.SizeImage = f.Pix.BytesPerLine * f.Pix.Height
		} else {
			f.Pix.BytesPerLine = 0
			f.Pix.SizeImage = f.Pix.Width * f.Pix.Height
		}
		d.pix = f.Pix
	case vidiocGParm:
		p := (*streamParm)(arg)
		if d.timePerFrame {
			p.Capture.Capability = capTimePerFrame
		}
		p.Capture.TimePerFrame = d.tpf
	case vidiocSParm:
		p := (*streamParm)(arg)
		d.calls = append(d.calls, fmt.Sprintf("S_PARM %d/%d", p.Capture.TimePerFrame.Numerator, p.Capture.TimePerFrame.Denominator))
		d.tpf = p.Capture.TimePerFrame
	case vidiocReqBufs:
		r := (*requestBuffers)(arg)
		if r.Memory != memoryMmap || r.Type != bufTypeVideoCapture {
			return syscall.EINVAL
		}
		if int(r.Count) > d.maxBufs {
			r.Count = uint32(d.maxBufs)
		}
		d.bufs = make([][]byte, r.Count)
		for i := range d.bufs {
			d.bufs[i] = make([]byte, d.pix.SizeImage)
		}
		d.calls = append(d.calls, fmt.Sprintf("REQBUFS %d", r.Count))
	case vidiocQueryBuf:
		b := (*buffer)(arg)
		if int(b.Index) >= len(d.bufs) {
			return syscall.EINVAL
		}
		b.M = uintptr(b.Index) << 16
		b.Length = uint32(len(d.bufs[b.Index]))
	case vidiocQBuf:
		b := (*buffer)(arg)
		for _, q := range d.queued {
			if q == int(b.Index) {
				return syscall.EINVAL // already queued
			}
		}
		d.queued = append(d.queued, int(b.Index))
	case vidiocDQBuf:
		b := (*buffer)(arg)
		if !d.streaming || len(d.queued) == 0 {
			return syscall.EAGAIN
		}
		if d.spurious > 0 {
			d.spurious--
			return syscall.EAGAIN
		}
		i := d.queued[0]
		d.queued = d.queued[1:]
		buf := d.bufs[i]
		for k := range buf {
			buf[k] = byte(d.seq) + byte(k%7)
		}
		b.Index = uint32(i)
		b.BytesUsed = uint32(len(buf))
		if d.pix.PixelFormat != FourCCYUYV {
			b.BytesUsed = uint32(len(buf) / 10) // a compressed frame is shorter
		}
		b.Sequence = d.seq
		b.Flags = bufFlagTimestampMonotonic
		ts := d.mono - d.tsLag
		b.Timestamp = timeval{Sec: clong(ts / time.Second), Usec: clong(ts % time.Second / time.Microsecond)}
		d.seq++
	case vidiocStreamOn:
		d.streaming = true
		d.calls = append(d.calls, "STREAMON")
	case vidiocStreamOff:
		d.streaming = false
		d.calls = append(d.calls, "STREAMOFF")
	default:
		return syscall.ENOTTY
	}
	return nil
}

func (d *fakeDevice) Mmap(offset int64, length int) ([]byte, error) {
	i := int(offset >> 16)
	if i >= len(d.bufs) || length != len(d.bufs[i]) {
		return nil, syscall.EINVAL
	}
	return d.bufs[i], nil
}

func (d *fakeDevice) Munmap([]byte) error { d.unmapped++; return nil }

func (d *fakeDevice) WaitReadable(time.Duration) (bool, error) {
	return d.streaming && len(d.queued) > 0, nil
}

func (d *fakeDevice) Monotonic() time.Duration { return d.mono }

func (d *fakeDevice) Close() error { d.closed = true; return nil }

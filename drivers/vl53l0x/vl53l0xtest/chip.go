package vl53l0xtest

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers/drivertest"
	"livegate.dev/drivers/vl53l0x"
)

// StopVariable is the value the fake returns at register 0x91.
const StopVariable = 0x3C

// Chip emulates one VL53L0X.
type Chip struct {
	addr uint16
	log  *drivertest.Log
	name string

	mu         sync.Mutex
	regs       [256]byte
	distanceMM int // <= 0: nothing in range
	readyAfter int
	pending    int // status reads left before the sample is ready
	measuring  bool
	ranging    bool // the running measurement is a ranging (not a calibration)
	Measures   int  // completed rangings
}

var _ i2c.Bus = (*Chip)(nil)

// New returns a sensor at addr seeing nothing, logging rangings to log (may
// be nil) under name.
func New(addr uint16, log *drivertest.Log, name string) *Chip {
	c := &Chip{addr: addr, log: log, name: name}
	c.regs[vl53l0x.RegModelID] = vl53l0x.ModelID
	c.regs[vl53l0x.RegStopVariable] = StopVariable
	c.regs[vl53l0x.RegGPIOHVMuxActiveHigh] = 0x11
	c.regs[vl53l0x.RegMSRCConfigControl] = 0x00
	c.regs[vl53l0x.RegSystemSequenceConfig] = 0xFF
	return c
}

// SetDistance sets what the next measurement sees; mm <= 0 is nothing in
// range.
func (c *Chip) SetDistance(mm int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.distanceMM = mm
}

// SetReadyAfter makes each measurement need n status polls before its
// sample is ready.
func (c *Chip) SetReadyAfter(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readyAfter = n
}

// Register returns the raw value of register reg.
func (c *Chip) Register(reg byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[reg]
}

func (c *Chip) String() string { return fmt.Sprintf("vl53l0xtest(%#x)", c.addr) }

// Tx writes w[1:] from register w[0] and reads len(r) bytes from there,
// auto-incrementing.
func (c *Chip) Tx(addr uint16, w, r []byte) error {
	if addr != c.addr {
		return fmt.Errorf("%s: no device at %#x (NACK)", c, addr)
	}
	if len(w) == 0 {
		return fmt.Errorf("%s: transaction without a register index", c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reg := int(w[0])
	for _, b := range w[1:] {
		c.store(reg, b)
		reg = (reg + 1) & 0xFF
	}
	for i := range r {
		r[i] = c.load(reg)
		reg = (reg + 1) & 0xFF
	}
	return nil
}

func (c *Chip) page() byte { return c.regs[vl53l0x.RegPageSelect] }

func (c *Chip) store(reg int, b byte) {
	switch {
	case reg == vl53l0x.RegSysRangeStart && c.page() == 0:
		if b&0x01 != 0 {
			c.measuring = true
			c.ranging = b&0x40 == 0 && c.regs[vl53l0x.RegSystemSequenceConfig]&0x03 == 0
			c.pending = c.readyAfter
			c.regs[reg] = b &^ 0x01 // the start bit clears once the chip has started
			return
		}
		c.regs[reg] = b
	case reg == vl53l0x.RegSystemInterruptClear && c.page() == 0:
		if b&0x01 != 0 {
			c.regs[vl53l0x.RegResultInterruptStatus] = 0
		}
	case reg == vl53l0x.RegModelID || reg == vl53l0x.RegResultInterruptStatus:
		// read-only
	default:
		c.regs[reg] = b
	}
}

func (c *Chip) load(reg int) byte {
	if reg == vl53l0x.RegResultInterruptStatus && c.measuring {
		if c.pending > 0 {
			c.pending--
			return 0
		}
		c.complete()
	}
	return c.regs[reg]
}

func (c *Chip) complete() {
	c.measuring = false
	c.regs[vl53l0x.RegResultInterruptStatus] = 0x04 // new sample ready
	if !c.ranging {
		return
	}
	mm, status := c.distanceMM, byte(vl53l0x.RangeValid)
	if mm <= 0 || mm >= vl53l0x.OutOfRangeMM {
		mm, status = vl53l0x.OutOfRangeMM, 4 // phase fail: nothing seen
	}
	base := vl53l0x.RegResultRangeStatus
	c.regs[base] = status << 3
	c.regs[base+10] = byte(mm >> 8)
	c.regs[base+11] = byte(mm)
	c.Measures++
	if c.log != nil {
		c.log.Add(c.name, "distance_mm", float64(mm))
	}
}

// SetSpeed accepts any speed.
func (c *Chip) SetSpeed(physic.Frequency) error { return nil }

// SCL returns gpio.INVALID.
func (c *Chip) SCL() gpio.PinIO { return gpio.INVALID }

// SDA returns gpio.INVALID.
func (c *Chip) SDA() gpio.PinIO { return gpio.INVALID }

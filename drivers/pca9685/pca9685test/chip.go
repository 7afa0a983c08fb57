package pca9685test

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers/drivertest"
	"livegate.dev/drivers/pca9685"
)

// Chip emulates one PCA9685. The zero value is not usable: call New.
type Chip struct {
	addr uint16
	log  *drivertest.Log
	// Names maps outputs to the device names used in the log; unnamed
	// outputs log as "pca9685/<n>".
	names [pca9685.Channels]string

	mu   sync.Mutex
	regs [256]byte
	last [pca9685.Channels]float64
}

var _ i2c.Bus = (*Chip)(nil)

// New returns a chip at addr in its power-on state (MODE1 = SLEEP|ALLCALL,
// MODE2 = OUTDRV, PRE_SCALE = 0x1E, every output full off), logging to log
// (which may be nil).
func New(addr uint16, log *drivertest.Log) *Chip {
	c := &Chip{addr: addr, log: log}
	c.regs[pca9685.RegMode1] = pca9685.Mode1Sleep | pca9685.Mode1AllCall
	c.regs[pca9685.RegMode2] = pca9685.Mode2OutDrv
	c.regs[pca9685.RegPreScale] = 0x1E
	for n := 0; n < pca9685.Channels; n++ {
		c.regs[pca9685.RegLED0OnL+4*n+3] = pca9685.FullBit
	}
	return c
}

// Name sets the log name of output n.
func (c *Chip) Name(n int, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[n] = name
}

func (c *Chip) String() string { return fmt.Sprintf("pca9685test(%#x)", c.addr) }

// Tx writes w[0] as the register pointer and w[1:] from there, then reads
// len(r) bytes from the pointer, incrementing it when MODE1.AI is set.
func (c *Chip) Tx(addr uint16, w, r []byte) error {
	if addr != c.addr {
		return fmt.Errorf("%s: no device at %#x (NACK)", c, addr)
	}
	if len(w) == 0 {
		return fmt.Errorf("%s: transaction without a register pointer", c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ptr := int(w[0])
	ai := c.regs[pca9685.RegMode1]&pca9685.Mode1AI != 0
	for _, b := range w[1:] {
		c.store(ptr, b)
		if ai {
			ptr = c.next(ptr)
		}
	}
	for i := range r {
		r[i] = c.regs[ptr]
		if ptr >= pca9685.RegAllLEDOnL && ptr <= pca9685.RegAllOffH {
			r[i] = 0 // ALL_LED registers read back as zero
		}
		if ai {
			ptr = c.next(ptr)
		}
	}
	c.emit()
	return nil
}

// next is the auto-increment rule: 0xFF wraps to 0x00.
func (c *Chip) next(p int) int { return (p + 1) & 0xFF }

func (c *Chip) store(reg int, b byte) {
	switch {
	case reg == pca9685.RegMode1:
		old := c.regs[reg]
		// Writing 1 to RESTART clears it; writing 0 has no effect.
		v := b &^ pca9685.Mode1Restart
		if old&pca9685.Mode1Restart != 0 && b&pca9685.Mode1Restart == 0 {
			v |= pca9685.Mode1Restart
		}
		// Going to sleep with outputs active arms RESTART.
		if b&pca9685.Mode1Sleep != 0 && old&pca9685.Mode1Sleep == 0 {
			v |= pca9685.Mode1Restart
		}
		c.regs[reg] = v
	case reg == pca9685.RegPreScale:
		if c.regs[pca9685.RegMode1]&pca9685.Mode1Sleep != 0 {
			c.regs[reg] = b // PRE_SCALE is write-protected while awake
		}
	case reg >= pca9685.RegAllLEDOnL && reg <= pca9685.RegAllOffH:
		off := reg - pca9685.RegAllLEDOnL
		for n := 0; n < pca9685.Channels; n++ {
			c.regs[pca9685.RegLED0OnL+4*n+off] = b
		}
	default:
		c.regs[reg] = b
	}
}

// Duty returns output n's effective duty fraction: 0 while asleep.
func (c *Chip) Duty(n int) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.duty(n)
}

func (c *Chip) duty(n int) float64 {
	if c.regs[pca9685.RegMode1]&pca9685.Mode1Sleep != 0 {
		return 0
	}
	base := pca9685.RegLED0OnL + 4*n
	onL, onH, offL, offH := c.regs[base], c.regs[base+1], c.regs[base+2], c.regs[base+3]
	switch {
	case offH&pca9685.FullBit != 0:
		return 0
	case onH&pca9685.FullBit != 0:
		return 1
	}
	on := int(onH&0x0F)<<8 | int(onL)
	off := int(offH&0x0F)<<8 | int(offL)
	ticks := (off - on + pca9685.Steps) % pca9685.Steps
	return float64(ticks) / pca9685.Steps
}

// emit logs every output whose effective duty changed.
func (c *Chip) emit() {
	for n := 0; n < pca9685.Channels; n++ {
		d := c.duty(n)
		if d == c.last[n] {
			continue
		}
		c.last[n] = d
		if c.log != nil {
			name := c.names[n]
			if name == "" {
				name = fmt.Sprintf("pca9685/%d", n)
			}
			c.log.Add(name, "duty", d)
		}
	}
}

// Frequency returns the PWM frequency PRE_SCALE gives with the internal
// oscillator.
func (c *Chip) Frequency() physic.Frequency {
	c.mu.Lock()
	defer c.mu.Unlock()
	return pca9685.InternalOscillator / physic.Frequency(pca9685.Steps*(int(c.regs[pca9685.RegPreScale])+1))
}

// Register returns the raw value of register reg.
func (c *Chip) Register(reg byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[reg]
}

// SetSpeed accepts any speed.
func (c *Chip) SetSpeed(physic.Frequency) error { return nil }

// SCL returns gpio.INVALID.
func (c *Chip) SCL() gpio.PinIO { return gpio.INVALID }

// SDA returns gpio.INVALID.
func (c *Chip) SDA() gpio.PinIO { return gpio.INVALID }

package pca9685test

import (
	"testing"

	"livegate.dev/drivers/pca9685"
)

func TestChipRules(t *testing.T) {
	c := New(0x40, nil)
	// PRE_SCALE is writable while asleep (power-on state)…
	if err := c.Tx(0x40, []byte{pca9685.RegPreScale, 10}, nil); err != nil {
		t.Fatal(err)
	}
	// …without AI a multi-byte write stays on one register…
	_ = c.Tx(0x40, []byte{pca9685.RegMode1, 0x01, 0x00}, nil) // wake, then write 0 to MODE1 again
	if c.Register(pca9685.RegMode2) != pca9685.Mode2OutDrv {
		t.Fatal("write without AI moved to MODE2")
	}
	// …and PRE_SCALE is ignored while awake.
	_ = c.Tx(0x40, []byte{pca9685.RegPreScale, 50}, nil)
	if c.Register(pca9685.RegPreScale) != 10 {
		t.Fatalf("prescale = %d, want 10", c.Register(pca9685.RegPreScale))
	}
	// Asleep, outputs are dark whatever their registers say.
	_ = c.Tx(0x40, []byte{pca9685.RegMode1, pca9685.Mode1AI}, nil)
	_ = c.Tx(0x40, []byte{pca9685.RegLED0OnL, 0, 0, 0x00, 0x08}, nil)
	if c.Duty(0) != 0.5 {
		t.Fatalf("duty = %v", c.Duty(0))
	}
	_ = c.Tx(0x40, []byte{pca9685.RegMode1, pca9685.Mode1AI | pca9685.Mode1Sleep}, nil)
	if c.Duty(0) != 0 || c.Register(pca9685.RegMode1)&pca9685.Mode1Restart == 0 {
		t.Fatal("sleep did not darken outputs and arm RESTART")
	}
	if err := c.Tx(0x41, []byte{0}, nil); err == nil {
		t.Fatal("wrong address answered")
	}
}

package pca9685_test

import (
	"fmt"

	"livegate.dev/drivers/pca9685"
	"livegate.dev/drivers/pca9685/pca9685test"
)

// On a real board the bus comes from i2creg.Open("1"); here it is the
// in-memory chip.
func Example() {
	chip := pca9685test.New(pca9685.DefaultAddr, nil)
	dev, err := pca9685.New(chip, pca9685.Opts{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ir, _ := dev.Channel(3, "ir", 0.5) // rated for at most 50 % duty
	_ = ir.SetBrightness(0.9)
	fmt.Printf("asked 0.9, applied %.2f, chip output %.2f at %s\n", ir.Brightness(), chip.Duty(3), chip.Frequency())
	_ = dev.Halt()
	// Output: asked 0.9, applied 0.50, chip output 0.50 at 1.017kHz
}

package light_test

import (
	"fmt"

	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
	"livegate.dev/drivers/light"
)

func ExampleNewPWM() {
	pin := &gpiotest.Pin{N: "GPIO18"} // gpioreg.ByName("GPIO18") on a Raspberry Pi
	white, err := light.NewPWM("white", pin, light.PWMOpts{MaxDuty: 0.8, Frequency: 2 * physic.KiloHertz})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = drivers.On(white)
	fmt.Println(white.Brightness(), pin.D, pin.F)
	_ = drivers.Off(white)
	// Output: 0.8 80% 2kHz
}

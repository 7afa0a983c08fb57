package presence_test

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"livegate.dev/drivers/presence"
)

func ExampleNewPIR() {
	pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level, 1)} // gpioreg.ByName on a board
	pir, err := presence.NewPIR(pin, presence.PIROpts{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	ev, _ := pir.Next(ctx) // the current state
	fmt.Println(ev.Present)
	pin.EdgesChan <- gpio.High // someone walks up
	ev, _ = pir.Next(ctx)
	fmt.Println(ev.Present)
	// Output:
	// false
	// true
}

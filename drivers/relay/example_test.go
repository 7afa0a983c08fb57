package relay_test

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"

	"livegate.dev/drivers/relay"
)

// A pulse longer than the hard maximum is clipped and reported.
func Example() {
	pin := &gpiotest.Pin{N: "GPIO17"} // gpioreg.ByName("GPIO17") on a board
	r, err := relay.New(pin, relay.Opts{MaxOn: time.Millisecond, ActiveLow: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	rep, err := r.Pulse(context.Background(), time.Hour)
	fmt.Println(rep.Applied, rep.Clipped, err, "pin after:", pin.Read())
	// Output: 1ms true <nil> pin after: High
}

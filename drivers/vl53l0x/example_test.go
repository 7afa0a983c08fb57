package vl53l0x_test

import (
	"context"
	"fmt"

	"livegate.dev/drivers/vl53l0x"
	"livegate.dev/drivers/vl53l0x/vl53l0xtest"
)

func Example() {
	sensor := vl53l0xtest.New(vl53l0x.DefaultAddr, nil, "tof") // i2creg.Open("1") on a board
	sensor.SetDistance(420)
	ctx := context.Background()
	d, err := vl53l0x.New(ctx, sensor, vl53l0x.Opts{})
	if err != nil {
		fmt.Println(err)
		return
	}
	mm, err := d.DistanceMM(ctx)
	fmt.Println(mm, err)
	// Output: 420 <nil>
}

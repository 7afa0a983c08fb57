package config_test

import (
	"fmt"

	"livegate.dev/firmware/config"
)

// A kiosk config with one environment override and one mistake: every
// problem names its key.
func ExampleParse() {
	file := []byte(`
device_id: lobby-1
board: {board: sim, relay_max_on: 2s}
relay_pulse: 1s
`)
	c, err := config.Parse(file, []string{"LIVEGATE_KIOSK_COOL_DOWN=5s"})
	if err != nil {
		panic(err)
	}
	p, _ := c.Profile()
	fmt.Println(c.DeviceID, p.Name, p.Relay.MaxOn, c.RelayPulse, c.CoolDown, c.Session.Mode)

	_, err = config.Parse([]byte("device_id: lobby-1\nboard: {board: sim}\nsession: {pass_threshold: 2}\n"), nil)
	fmt.Println(err)
	// Output:
	// lobby-1 sim 2s 1s 5s passive
	// config: invalid: session.pass_threshold: 2 not within (0, 1]
}

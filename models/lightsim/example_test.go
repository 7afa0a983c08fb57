package lightsim_test

import (
	"fmt"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
)

// The default phone at 35 cm in a 300-lux office, a laptop, a dim room,
// and the attack instruments in front of the same phone.
func ExampleParams_Strength() {
	p := lightsim.DefaultParams()
	fmt.Printf("phone: %.1f lux on the face, strength %.3f\n", p.Illuminance(), p.Strength())
	l := lightsim.Laptop()
	fmt.Printf("laptop: %.1f lux, strength %.3f\n", l.Illuminance(), l.Strength())
	dim := p
	dim.AmbientLux = 50
	fmt.Printf("phone in a dim room: strength %.3f\n", dim.Strength())
	for _, s := range []lightsim.Surface{lightsim.Paper, lightsim.Screen, lightsim.None} {
		fmt.Printf("%s: strength %.4f\n", s, p.WithSurface(s).Strength())
	}
	// Output:
	// phone: 27.6 lux on the face, strength 0.092
	// laptop: 50.3 lux, strength 0.168
	// phone in a dim room: strength 0.552
	// paper: strength 0.0921
	// screen: strength 0.0023
	// none: strength 0.0000
}

// A Renderer lights the frames of a clip with the light a Schedule
// recorded.
func ExampleRenderer() {
	var sched lightsim.Schedule
	sched.Set(0, liveness.Light{R: 1, Intensity: 1})
	sched.Set(400*time.Millisecond, liveness.Light{B: 1, Intensity: 1})
	p := lightsim.DefaultParams()
	p.AutoExposureMS = 0 // locked exposure, to read the change directly
	rend, err := lightsim.NewRenderer(p, sched.At, lightsim.Ellipse{})
	if err != nil {
		panic(err)
	}
	frame := imgproc.NewRGB(320, 240)
	for i := range frame.Pix {
		frame.Pix[i] = 128
	}
	out := imgproc.NewRGB(320, 240)
	for _, t := range []time.Duration{200 * time.Millisecond, 600 * time.Millisecond} {
		if err := rend.Render(out, frame, t); err != nil {
			panic(err)
		}
		r, g, b := out.At(160, 120)
		fmt.Println(t, r, g, b)
	}
	// The face's centre, turned to the emitter, changes more than the
	// face's mean (Params.Shade).
	// Output:
	// 200ms 134 129 128
	// 600ms 128 129 134
}

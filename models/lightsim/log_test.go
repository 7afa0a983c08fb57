package lightsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"livegate.dev/models/liveness"
)

func TestParseLog(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"frames", `{"step_ms":400,"frames":[{"t_ms":0,"r":1,"intensity":1},{"t_ms":40,"g":1,"intensity":0.6}]}`, ""},
		{"changes with a plan", `{"changes":[{"t_ms":10,"b":1,"intensity":1}],"plan":[{"r":1,"intensity":1},{"g":1,"intensity":1}]}`, ""},
		{"both", `{"frames":[{"t_ms":0}],"changes":[{"t_ms":0}]}`, "either frames or changes"},
		{"neither", `{"step_ms":400}`, "either frames or changes"},
		{"not increasing", `{"frames":[{"t_ms":40},{"t_ms":40}]}`, "frames[1]: t_ms 40 not after 40"},
		{"light out of range", `{"changes":[{"t_ms":0,"r":2,"intensity":1}]}`, "changes[0]"},
		{"plan colour out of range", `{"frames":[{"t_ms":0}],"plan":[{"r":1},{"g":-1}]}`, "plan[1]"},
		{"version", `{"version":2,"frames":[{"t_ms":0}]}`, "version 2"},
		{"step", `{"step_ms":-1,"frames":[{"t_ms":0}]}`, "step_ms"},
		{"syntax", `{"frames":`, "light log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLog([]byte(tc.json))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLogLookup(t *testing.T) {
	red, green := liveness.Light{R: 1, Intensity: 1}, liveness.Light{G: 1, Intensity: 0.6}
	l, err := ParseLog([]byte(`{"step_ms":300,"offset_ms":1000,
		"frames":[{"t_ms":1000,"r":1,"intensity":1},{"t_ms":1040,"r":1,"intensity":1},{"t_ms":1080,"g":1,"intensity":0.6}],
		"plan":[{"r":1,"intensity":1},{"g":1,"intensity":0.6}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Duration
		want liveness.Light
		ok   bool
	}{
		{-10 * time.Millisecond, liveness.Light{}, false},
		{0, red, true},
		{79500 * time.Microsecond, green, true}, // rounding of the frame's timestamp
		{78 * time.Millisecond, red, true},
		{time.Second, green, true},
	}
	for _, tc := range tests {
		got, ok := l.LightAt(tc.at)
		if got != tc.want || ok != tc.ok {
			t.Errorf("LightAt(%v) = %+v %v, want %+v %v", tc.at, got, ok, tc.want, tc.ok)
		}
	}
	if s := l.Schedule(); s.At(80*time.Millisecond) != green || s.At(79*time.Millisecond) != red {
		t.Errorf("schedule at 79/80 ms: %+v %+v", s.At(79*time.Millisecond), s.At(80*time.Millisecond))
	}
	plan := l.LightPlan()
	if l.Step() != 300*time.Millisecond || len(plan) != 2 || plan[1].Start != 300*time.Millisecond || plan[1].Light != green {
		t.Errorf("step %v plan %+v", l.Step(), plan)
	}
	// A log written with NewLog and AddFrame reads back the same.
	w := NewLog(300*time.Millisecond, plan)
	w.AddFrame(0, red)
	w.AddFrame(40*time.Millisecond, green)
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseLog(data)
	if err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if got, _ := back.LightAt(50 * time.Millisecond); got != green || len(back.LightPlan()) != 2 || back.LightPlan()[1] != plan[1] {
		t.Errorf("round trip: %s", data)
	}
}

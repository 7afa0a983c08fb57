package corpus

import "testing"

// TestOnly: --only keeps the listed species and kinds, in plan order, and a
// name no job has is an error rather than an empty corpus.
func TestOnly(t *testing.T) {
	jobs := []*job{
		{label: Label{Label: BonaFide, Kind: KindWebcam}},
		{label: Label{Label: Attack, Species: SpeciesPrint}},
		{label: Label{Label: BonaFide, Kind: KindLowRes}},
		{label: Label{Label: Attack, Species: SpeciesScreenReplay}},
		{label: Label{Label: BonaFide, Kind: KindLowRes}},
	}
	tests := []struct {
		names []string
		want  []int
		err   bool
	}{
		{nil, []int{0, 1, 2, 3, 4}, false},
		{[]string{KindLowRes}, []int{2, 4}, false},
		{[]string{SpeciesScreenReplay, KindWebcam}, []int{0, 3}, false},
		{[]string{"lowress"}, nil, true},
		{[]string{KindLowRes, "nope"}, nil, true},
	}
	for _, tc := range tests {
		got, err := only(jobs, tc.names)
		if (err != nil) != tc.err {
			t.Errorf("%v: error %v, want error %v", tc.names, err, tc.err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%v: %d jobs, want %d", tc.names, len(got), len(tc.want))
			continue
		}
		for i, j := range got {
			if j != jobs[tc.want[i]] {
				t.Errorf("%v: job %d is not plan job %d", tc.names, i, tc.want[i])
			}
		}
	}
}

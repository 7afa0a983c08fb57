package artifact

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"1.2.3", true}, {"0.0.0", true}, {"1.0.0-rc.1", true}, {"1.0.0-rc.1+build.5", true},
		{"1.0.0+20261121", true}, {"v1.2.3", false}, {"1.2", false}, {"1.2.3.4", false},
		{"01.2.3", false}, {"1.2.3-", false}, {"1.2.3-01", false}, {"1.2.3-a..b", false},
		{"1.2.x", false}, {"", false}, {"1.2.3+", false}, {"1.2.3-a_b", false},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseVersion(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err == nil && v.String() != tt.in {
			t.Errorf("String() = %q, want %q", v.String(), tt.in)
		}
	}
}

func TestCompare(t *testing.T) {
	// Ascending order from the semver 2.0.0 specification, plus build metadata.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0"}
	for i := range order {
		for j := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := MustVersion(order[i]).Compare(MustVersion(order[j])); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if MustVersion("1.0.0+a").Compare(MustVersion("1.0.0+b")) != 0 {
		t.Error("build metadata must not affect precedence")
	}
}

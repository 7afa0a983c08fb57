package failpoint

import "testing"

func TestArmed(t *testing.T) {
	tests := []struct {
		env, name string
		n         int
		want      bool
	}{
		{"", "x", 1, false},
		{"x", "x", 1, true},
		{"x", "x", 5, true},
		{"a, x ,b", "x", 1, true},
		{"a,b", "x", 1, false},
		{"xx", "x", 1, false},
		{"x#2", "x", 1, false},
		{"x#2", "x", 2, true},
		{"x#2", "x", 3, false},
		{"x#z", "x", 1, false},
	}
	for _, tt := range tests {
		t.Setenv(Env, tt.env)
		if got := Armed(tt.name, tt.n); got != tt.want {
			t.Errorf("Armed(%q, %d) with %q = %v, want %v", tt.name, tt.n, tt.env, got, tt.want)
		}
	}
}

func TestHitUnarmedReturns(t *testing.T) {
	t.Setenv(Env, "other,x#3")
	Hit("x") // first and second hits are not armed: must not block
	Hit("x")
}

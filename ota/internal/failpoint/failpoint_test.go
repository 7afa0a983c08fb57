package failpoint

import "testing"

func TestArmed(t *testing.T) {
	tests := []struct {
		env, name string
		want      bool
	}{
		{"", "x", false},
		{"x", "x", true},
		{"a, x ,b", "x", true},
		{"a,b", "x", false},
		{"xx", "x", false},
	}
	for _, tt := range tests {
		t.Setenv(Env, tt.env)
		if got := Armed(tt.name); got != tt.want {
			t.Errorf("Armed(%q) with %q = %v, want %v", tt.name, tt.env, got, tt.want)
		}
	}
}

func TestHitUnarmedReturns(t *testing.T) {
	t.Setenv(Env, "other")
	Hit("x") // must not block
}

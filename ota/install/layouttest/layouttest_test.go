package layouttest_test

import (
	"testing"

	"livegate.dev/ota/install"
	"livegate.dev/ota/install/layouttest"
)

func TestSim(t *testing.T) {
	layouttest.Run(t, func(t *testing.T) install.Layout {
		l, err := install.NewSim(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

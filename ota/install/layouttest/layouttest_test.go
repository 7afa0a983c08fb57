package layouttest_test

import (
	"testing"

	"livegate.dev/ota/artifact"
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

// A sim layout that unpacks models packs is still a conforming layout.
func TestSimUnpackTrees(t *testing.T) {
	layouttest.Run(t, func(t *testing.T) install.Layout {
		l, err := install.NewSim(t.TempDir(), install.UnpackTrees(artifact.KindModels))
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

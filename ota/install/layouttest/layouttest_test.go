package layouttest_test

import (
	"path/filepath"
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

// A sim layout that unpacks models packs is still a conforming layout, and
// passes the models pack checks.
func TestSimUnpackTrees(t *testing.T) {
	newLayout := func(t *testing.T) install.Layout {
		// The slots sit two levels down, so a "../../evil" entry would land
		// inside this test's own directory, where the suite looks for it.
		l, err := install.NewSim(filepath.Join(t.TempDir(), "device"), install.UnpackTrees(artifact.KindModels))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	layouttest.Run(t, newLayout)
	layouttest.RunTrees(t, newLayout)
}

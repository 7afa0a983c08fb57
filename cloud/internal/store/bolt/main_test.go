package bolt

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine (a committer) outlives its store.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

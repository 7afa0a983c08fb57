package servertls

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test left a goroutine behind (the TLS
// server and clients of TestHandshake).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

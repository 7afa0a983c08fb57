package api_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: every
// server, worker, sweeper and receiver started by a test must stop.
// fasthttp's worker-pool cleaner notices Shutdown only after its idle sleep
// (up to 10 s), so it is the one goroutine allowed to outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("time.Sleep"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

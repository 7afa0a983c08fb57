package fleet_test

import (
	"testing"

	"go.uber.org/goleak"
)

// paho's Disconnect returns after its quiesce time while its sender may
// wait out that time on a dead link.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eclipse/paho%2emqtt%2egolang.(*client).Disconnect.func1"))
}

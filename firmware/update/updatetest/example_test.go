package updatetest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/ota/artifact"
)

// A sim device provisioned with firmware 1.0.0, whose health check fails
// for 1.1.0.
func Example() {
	dir, _ := os.MkdirTemp("", "updatetest")
	defer os.RemoveAll(dir)
	keys, _ := updatetest.NewKeys()
	var health updatetest.Health
	health.Fail("1.1.0", true)
	dev, _ := updatetest.NewDevice(filepath.Join(dir, "firmware"), artifact.KindFirmware, keys.Roots(), health.Check)
	factory, _ := keys.Artifact(artifact.KindFirmware, "1.0.0", 4<<10)
	if err := updatetest.Provision(context.Background(), dev, factory); err != nil {
		fmt.Println(err)
	}
	run, _ := dev.Start(context.Background())
	fmt.Println(run.Version)
	next, _ := keys.Artifact(artifact.KindFirmware, "1.1.0", 4<<10)
	args := updatetest.Args(artifact.KindFirmware, "1.1.0", "https://releases.example/firmware/1.1.0.lgota", next, "ro_1")
	fmt.Println(args.Kind, args.Version, args.Size == int64(len(next)), len(args.SHA256))
	// Output:
	// 1.0.0
	// firmware 1.1.0 true 64
}

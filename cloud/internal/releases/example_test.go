package releases_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"time"

	"livegate.dev/cloud/internal/releases"
	"livegate.dev/ota/artifact"
	"livegate.dev/proto"
)

type printer struct{}

func (printer) SendUpdate(_ context.Context, id, _ string, _ time.Time, a proto.UpdateArgs) error {
	fmt.Println("update", id, "to", a.Version)
	return nil
}

type kiosks []releases.Device

func (k kiosks) List(context.Context) ([]releases.Device, error) { return k, nil }

// A service on a bbolt repository: upload verified artifacts, then roll
// them out in stages (see docs/ota-cloud.md).
func Example() {
	dir, _ := os.MkdirTemp("", "releases")
	defer os.RemoveAll(dir)
	repo, err := releases.OpenBolt(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer repo.Close()
	root, _, _ := ed25519.GenerateKey(nil)
	svc, err := releases.New(releases.Config{DataDir: dir, Repo: repo, Roots: []ed25519.PublicKey{root},
		Notifier: printer{}, Devices: kiosks{{ID: "kiosk-1", Board: "sim", Arch: "amd64"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = svc.Upload(context.Background(), strings.NewReader("not an artifact"))
	fmt.Println(artifact.Reason(err)) // refused before anything is stored
	// Output: truncated
}

package install_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
)

// A sim device is provisioned with 1.0.0, installs 1.1.0, and boots it; the
// health check fails, so the device goes back to 1.0.0 by itself.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	root, _ := sign.GenerateRootKey()
	sk, _ := sign.GenerateSigningKey()
	sk.Cert, _ = root.Certify(sk.Public(), 1, now.Add(-time.Hour), now.AddDate(0, 3, 0))
	release := func(version string) *bytes.Reader {
		p := []byte("image " + version)
		size, sum, _ := artifact.HashPayload(bytes.NewReader(p))
		m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
			Boards: []string{"sim"}, Archs: []string{"amd64"}, MinVersion: "0.0.0",
			PayloadSize: size, PayloadSHA256: sum, Created: now}
		var b bytes.Buffer
		artifact.Write(&b, m, bytes.NewReader(p), sk, nil)
		return bytes.NewReader(b.Bytes())
	}

	dir, _ := os.MkdirTemp("", "sim-device")
	defer os.RemoveAll(dir)
	layout, _ := install.NewSim(dir)
	trust, _ := sign.NewTrust([]ed25519.PublicKey{root.Public()}, func() time.Time { return now })
	dev, _ := install.New(install.Config{
		Layout: layout, Trust: trust, Kind: artifact.KindFirmware, Board: "sim", Arch: "amd64",
		Health: func(ctx context.Context, r install.Running) error {
			if r.Version == "1.1.0" {
				return errors.New("camera does not open")
			}
			return nil
		},
	})
	dev.Provision(ctx, release("1.0.0"))
	dev.Install(ctx, release("1.1.0"))
	run, _ := dev.Start(ctx) // boot 1.1.0 on trial, health check fails, roll back
	env, _ := dev.Env()
	fmt.Println("running", run.Version, "from slot", run.Slot)
	fmt.Println("rolled back", env.Rollback.Version+":", env.Rollback.Reason)
	// Output:
	// running 1.0.0 from slot a
	// rolled back 1.1.0: health check failed: camera does not open
}

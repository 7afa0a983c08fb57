package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"livegate.dev/firmware/update"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// printer is a Responder that prints the update's progress (the kiosk
// passes its *sync.Client).
type printer struct{ t tb }

func (p printer) Respond(_ context.Context, _ string, r proto.CommandResponse) error {
	fmt.Println(r.Status, result(p.t, r).State)
	return nil
}

// A sim kiosk updates its firmware from 1.0.0 to 1.1.0: the command is
// accepted at once, the agent downloads, installs and restarts, and after
// the restart (Start, then ReportPending) reports the final result.
func Example() {
	t := &exampleTB{}
	dir, _ := os.MkdirTemp("", "update-example")
	defer os.RemoveAll(dir)
	k := newKeys(t)
	roots := []ed25519.PublicKey{k.Root.Public()}
	srv := newServer(t)
	defer srv.Close()
	url, size, sum := srv.put("/firmware/1.1.0.lgota", k.signed(t, artifact.KindFirmware, "1.1.0", 64<<10))

	power := func() *update.Agent { // power on: Start the slots, then the agent
		dev := newDevice(t, dir, artifact.KindFirmware, roots, nil)
		if _, err := dev.Env(); err != nil { // factory image
			dev.Provision(context.Background(), bytes.NewReader(k.signed(t, artifact.KindFirmware, "1.0.0", 4<<10)))
		}
		run, _ := dev.Start(context.Background())
		fmt.Println("running", run.Version)
		a, _ := update.New(update.Config{
			Installers: map[artifact.Kind]*install.Device{artifact.KindFirmware: dev},
			Fetcher:    fetcher(tlsClient(srv)),
			Dir:        filepath.Join(dir, "ota"),
			Responder:  printer{t},
			Restart:    func(context.Context) error { fmt.Println("restart"); return nil },
			Logger:     quiet(),
			// Download progress only at the end, to keep the output short.
			ProgressStep: 100, ProgressInterval: time.Hour,
		})
		a.ReportPending(context.Background())
		return a
	}

	a := power()
	cmd := updateCmd(t, proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: url, Size: size, SHA256: sum, Rollout: "ro_1"})
	first := a.HandleCommand(context.Background(), "cmd_1", cmd)
	fmt.Println(first.Status, result(t, first).State)
	a.Wait()
	a.Close()
	a = power()
	a.Close()
	// Output:
	// running 1.0.0
	// accepted downloading
	// accepted downloading
	// accepted installing
	// accepted rebooting
	// restart
	// running 1.1.0
	// done succeeded
}

package releases

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/ota/sign"
)

// TestHook wires the package the way serve.go would: roots from a PEM
// file, metadata in DataDir/releases.db, payloads in DataDir/releases/.
func TestHook(t *testing.T) {
	k := newKeys(t)
	dir := t.TempDir()
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(k.root.Public()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(n *recorder, devs Devices) (*server, func()) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o := HookOptions{DataDir: dir, RootsFile: roots, AdminToken: adminToken, TickInterval: time.Minute}
		if n != nil {
			o.Notifier = n
			if devs != nil {
				o.Devices = devs
			}
		}
		d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dir, AdminToken: adminToken,
			RateLimit: -1, BodyLimit: 1 << 20, Clock: clock.NewFake(t0), Routes: Hook(o),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return &server{url: d.URL()}, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	s, stop := start(nil, nil)
	art := k.build(t, "1.2.0", []byte("image"))
	var rel Release
	s.do(t, "POST", "/admin/v1/releases", "application/octet-stream", art, bearer...).want(t, 201, "").json(t, &rel)
	s.do(t, "POST", "/admin/v1/rollouts", "application/json", []byte(`{"release_id":"`+rel.ID+`"}`), bearer...).
		want(t, 503, "server.store_unavailable")
	stop()
	if _, err := os.Stat(filepath.Join(dir, "releases", rel.ID+".artifact")); err != nil {
		t.Fatal(err)
	}

	// After a restart (now with a fleet) the release is still there and rolls out.
	n := &recorder{}
	s, stop = start(n, simFleet(4))
	defer stop()
	if got := s.do(t, "GET", "/api/v1/releases/"+rel.ID+"/artifact", "", nil).want(t, 200, "").body; !bytes.Equal(got, art) {
		t.Fatal("artifact changed across a restart")
	}
	s.do(t, "POST", "/admin/v1/rollouts", "application/json", []byte(`{"release_id":"`+rel.ID+`"}`), bearer...).want(t, 201, "")
	if len(n.sent) != 4 || n.sent[0].args.URL != s.url+"/api/v1/releases/"+rel.ID+"/artifact" {
		t.Fatalf("sent %+v", n.sent)
	}
}

//go:build !noengine

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"livegate.dev/firmware/config"
	"livegate.dev/firmware/update"
	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/modelpack"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// packFixture is a models pack built from the model cache, and the means
// to sign variants of it.
type packFixture struct {
	keys   updatetest.Keys
	pack   []byte
	vector *modelpack.Vector
	image  []byte
}

func newPackFixture(t *testing.T) *packFixture {
	t.Helper()
	img, err := assets.Media("grace_hopper_512x512.jpg")
	if err == nil {
		err = modelpack.CheckManifest(assets.ModelsDir())
	}
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models or media missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v — run `make setup`", err)
	}
	f := &packFixture{}
	if f.keys, err = updatetest.NewKeys(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	start := time.Now()
	if _, f.vector, err = modelpack.Build(t.Context(), &b, modelpack.BuildOptions{ModelsDir: assets.ModelsDir(), SelfTestImage: img}); err != nil {
		t.Fatal(err)
	}
	t.Logf("models pack: %d bytes, built in %v", b.Len(), time.Since(start).Round(time.Millisecond))
	f.pack = b.Bytes()
	if f.image, err = os.ReadFile(img); err != nil {
		t.Fatal(err)
	}
	return f
}

// sign returns a signed kind=models artifact of payload.
func (f *packFixture) sign(t *testing.T, version string, payload []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(payload)
	m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: artifact.KindModels, Version: version,
		Boards: []string{"sim"}, Archs: []string{runtime.GOARCH}, MinVersion: "0.0.0",
		PayloadSize: int64(len(payload)), PayloadSHA256: hex.EncodeToString(sum[:]), Created: time.Now().Add(-time.Hour)}
	var b bytes.Buffer
	if err := artifact.Write(&b, m, bytes.NewReader(payload), f.keys.Signing, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wrongPack is the same models with self-test expectations that they do
// not meet (the box of another face).
func (f *packFixture) wrongPack(t *testing.T) []byte {
	t.Helper()
	v := *f.vector
	v.Detector.Box[0] += 60
	var b bytes.Buffer
	if _, err := modelpack.Write(&b, assets.ModelsDir(), &v, f.image); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// legacyStandIn is the content of the FaceAntiSpoofing.onnx of legacyPack.
var legacyStandIn = bytes.Repeat([]byte("FaceAntiSpoofing stand-in "), 1000)

// legacyPack is the pack as builders made it before self-test vector
// format 2: FaceAntiSpoofing.onnx listed in the index beside the engine's
// models (here a stand-in, as nothing loads it) and a format 1 vector with
// an anti_spoof expectation.
func (f *packFixture) legacyPack(t *testing.T) []byte {
	t.Helper()
	files := map[string][]byte{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(f.pack))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Name {
		case modelpack.IndexName:
			continue
		case modelpack.VectorFile:
			names = append(names, "FaceAntiSpoofing.onnx")
			files["FaceAntiSpoofing.onnx"] = legacyStandIn
		}
		names = append(names, h.Name)
		files[h.Name] = b
	}
	var v map[string]any
	if err := json.Unmarshal(files[modelpack.VectorFile], &v); err != nil {
		t.Fatal(err)
	}
	v["format"] = 1
	v["anti_spoof"] = map[string]float64{"score": 0.993011, "tolerance": 0.069650546}
	files[modelpack.VectorFile], _ = json.MarshalIndent(v, "", "  ")
	var b bytes.Buffer
	if err := install.WriteTree(&b, names, files); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// kioskOTA opens the kiosk's installers as the daemon does at start, with
// the engine loader the daemon gives the models health check.
func kioskOTA(t *testing.T, c config.Config) *otaParts {
	t.Helper()
	op, err := openOTA(c, "sim", quietLog())
	if err != nil {
		t.Fatal(err)
	}
	op.loadModels = func(dir string) (kioskLocator, func(), error) {
		mc := c
		mc.Models.Dir = dir
		e, l, err := newEngine(mc, 1, 0)
		if err != nil {
			return nil, nil, err
		}
		return l, func() { l.Close(); e.Close() }, nil
	}
	return op
}

type recorder struct {
	mu  gosync.Mutex
	got []proto.CommandResponse
}

func (r *recorder) Respond(_ context.Context, _ string, resp proto.CommandResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, resp)
	return nil
}

// TestOTAModelsPack: a models pack built from the model cache and signed
// is installed through the update agent, the kiosk's models health check
// loads the engine from the new slot and passes the pack's self-test — for
// a pack of the current layout (the factory pack) and for one built before
// FaceAntiSpoofing left the pack (the update), whose extra model is
// verified against the index and never loaded, while the same pack with
// that file altered is refused; a pack whose self-test expectations the
// models do not meet fails its health check and the kiosk returns to the
// previous pack; a pack with a path traversal entry is refused before
// anything is unpacked.
func TestOTAModelsPack(t *testing.T) {
	f := newPackFixture(t)
	c := otaConfig(t)
	if err := os.WriteFile(c.OTA.RootsFile, f.keys.RootsPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	c.OTA.ModelsSlots = filepath.Join(t.TempDir(), "models")

	arts := map[string][]byte{
		"1.0.0": f.sign(t, "1.0.0", f.pack),
		"1.1.0": f.sign(t, "1.1.0", f.legacyPack(t)),
		"1.2.0": f.sign(t, "1.2.0", f.wrongPack(t)),
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := arts[filepath.Base(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
	defer srv.Close()

	// Factory: pack 1.0.0 in slot A, confirmed by its own health check.
	op := kioskOTA(t, c)
	if _, err := op.models.Provision(t.Context(), bytes.NewReader(arts["1.0.0"])); err != nil {
		t.Fatal(err)
	}
	if run, err := op.models.Start(t.Context()); err != nil || run.Version != "1.0.0" {
		t.Fatalf("factory start: %+v, %v", run, err)
	}

	// runUpdate runs one update through the agent, "restarts" the kiosk and
	// returns the final answer and the models the kiosk then runs.
	runUpdate := func(t *testing.T, version string) (proto.UpdateResult, install.Running) {
		t.Helper()
		op := kioskOTA(t, c)
		resp := &recorder{}
		restarted := make(chan struct{}, 1)
		a, err := update.New(update.Config{Installers: op.installers(), Fetcher: &download.Fetcher{Client: srv.Client()},
			Dir: c.OTA.Dir, Responder: resp, Logger: quietLog(),
			Restart: func(context.Context) error { restarted <- struct{}{}; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		args, _ := json.Marshal(updatetest.Args(artifact.KindModels, version, srv.URL+"/models/"+version, arts[version], "r-"+version))
		first := a.HandleCommand(t.Context(), "cmd-"+version, &proto.Command{Kind: proto.CommandUpdate, ExpiresAt: time.Now().Add(time.Hour), Args: args})
		if first.Status != "accepted" {
			t.Fatalf("update %s: %+v %s", version, first, first.Result)
		}
		start := time.Now()
		a.Wait()
		a.Close()
		t.Logf("models %s: download over loopback TLS + verify + write + unpack + switch %v", version, time.Since(start).Round(time.Millisecond))
		select {
		case <-restarted:
		default:
			t.Fatalf("update %s did not restart the kiosk; answers %+v", version, resp.got)
		}
		// The kiosk starts again: models slots first (health check), as in
		// the daemon, then the agent reports.
		op = kioskOTA(t, c)
		start = time.Now()
		run, err := op.models.Start(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("models %s: start with health check (load the engine + pack self-test) %v", version, time.Since(start).Round(time.Millisecond))
		a, err = update.New(update.Config{Installers: op.installers(), Dir: c.OTA.Dir, Responder: resp, Logger: quietLog(),
			Restart: func(context.Context) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		final, err := a.ReportPending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var res proto.UpdateResult
		if err := json.Unmarshal(final.Result, &res); err != nil {
			t.Fatal(err)
		}
		return res, run
	}

	// 1.1.0 is a pack of the previous layout: installed, its extra model
	// unpacked (it verified against the index, as every file does at each
	// boot) and its format 1 vector passing the self-test.
	res, run := runUpdate(t, "1.1.0")
	if res.State != proto.UpdateSucceeded || run.Version != "1.1.0" || run.Slot != install.SlotB {
		t.Fatalf("pack 1.1.0 (previous layout): %+v, running %+v", res, run)
	}
	if b, err := os.ReadFile(filepath.Join(run.Path, "FaceAntiSpoofing.onnx")); err != nil || !bytes.Equal(b, legacyStandIn) {
		t.Fatalf("the previous layout's extra model in the slot: %d bytes, %v", len(b), err)
	}
	if v, err := modelpack.ReadVector(run.Path); err != nil || v.Format != 1 {
		t.Fatalf("the previous layout's vector: %+v, %v", v, err)
	}
	// The kiosk engine loads from the new slot and finds the face of the
	// pack's reference image where the vector says.
	mc := c
	mc.Models.Dir = run.Path
	eng, loc, err := newEngine(mc, 1, 0)
	if err != nil {
		t.Fatalf("engine from the new slot: %v", err)
	}
	img, err := imgproc.DecodeFile(filepath.Join(run.Path, f.vector.Image))
	if err != nil {
		t.Fatal(err)
	}
	box, ok := loc.Locate(img)
	loc.Close()
	eng.Close()
	if !ok || box[0] < float64(f.vector.Detector.Box[0]-5) || box[0] > float64(f.vector.Detector.Box[0]+5) {
		t.Fatalf("engine from slot %s located %v (%v), vector box %v", run.Path, box, ok, f.vector.Detector.Box)
	}

	// 1.2.0's models do not meet its self-test: rolled back to 1.1.0.
	res, run = runUpdate(t, "1.2.0")
	if res.State != proto.UpdateRolledBack || run.Version != "1.1.0" || run.Slot != install.SlotB {
		t.Fatalf("pack 1.2.0: %+v, running %+v", res, run)
	}
	t.Logf("pack 1.2.0 rolled back: %s", res.Detail)

	// The firmware health check runs the active pack's self-test too: it
	// passes on 1.1.0 and fails when the active models give other answers
	// (here: the active slot's vector edited, as a new firmware whose
	// runtime computed something else would look).
	op = kioskOTA(t, c)
	op.camera = stillCamera{}
	mc.Models.Dir = op.activeModelsDir()
	eng, op.locator, err = newEngine(mc, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	defer op.locator.Close()
	if err := op.firmwareHealth(t.Context(), install.Running{Version: "2.0.0"}); err != nil {
		t.Fatalf("firmware health with pack 1.1.0 active: %v", err)
	}
	v := *f.vector
	v.Detector.Score -= 0.5
	vb, _ := json.Marshal(&v)
	vpath := filepath.Join(op.activeModelsDir(), modelpack.VectorFile)
	orig, err := os.ReadFile(vpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vpath, vb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := op.firmwareHealth(t.Context(), install.Running{Version: "2.0.0"}); !errors.Is(err, modelpack.ErrSelfTest) {
		t.Fatalf("firmware health with wrong answers: %v", err)
	}
	if err := os.WriteFile(vpath, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	// A signed pack of the previous layout whose extra model differs from
	// its index entry: refused like any file that does not match, though
	// nothing would load it.
	op = kioskOTA(t, c)
	bad := f.legacyPack(t)
	i := bytes.Index(bad, legacyStandIn)
	if i < 0 {
		t.Fatal("no stand-in model in the pack")
	}
	bad[i] ^= 1
	if _, err := op.models.Install(t.Context(), bytes.NewReader(f.sign(t, "1.3.0", bad))); !errors.Is(err, install.ErrBadTree) ||
		!strings.Contains(err.Error(), "FaceAntiSpoofing.onnx") {
		t.Fatalf("previous-layout pack with an altered extra model: %v, want ErrBadTree naming it", err)
	}
	if run, err := op.models.Start(t.Context()); err != nil || run.Version != "1.1.0" {
		t.Fatalf("after the refused pack: %+v, %v", run, err)
	}

	// A signed pack with a path traversal entry: refused, nothing unpacked.
	op = kioskOTA(t, c)
	evil := traversalPack(t)
	_, err = op.models.Install(t.Context(), bytes.NewReader(f.sign(t, "1.3.0", evil)))
	if !errors.Is(err, install.ErrBadTree) {
		t.Fatalf("traversal pack: %v", err)
	}
	if ents, _ := os.ReadDir(op.modelsLayout.SlotPath(install.SlotA)); len(ents) != 0 {
		t.Fatalf("slot A after a refused pack holds %d entries", len(ents))
	}
	if _, err := os.Stat(filepath.Join(c.OTA.ModelsSlots, "evil")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file escaped the slot: %v", err)
	}
	if run, err := op.models.Start(t.Context()); err != nil || run.Version != "1.1.0" {
		t.Fatalf("after the refused pack: %+v, %v", run, err)
	}
}

// traversalPack is a tree payload whose index and entries name ../../evil.
func traversalPack(t *testing.T) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte("x"))
	ix, _ := json.Marshal(modelpack.Index{Format: modelpack.IndexFormat, Files: []modelpack.IndexFile{{Name: "../../evil", Size: 1, SHA256: hex.EncodeToString(sum[:])}}})
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range map[string][]byte{modelpack.IndexName: ix} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.WriteHeader(&tar.Header{Name: "../../evil", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

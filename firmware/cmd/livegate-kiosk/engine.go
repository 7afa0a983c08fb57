//go:build !noengine

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk/engine"
	"livegate.dev/firmware/kiosk/simcam"
	"livegate.dev/models/face"
	"livegate.dev/models/liveness"
	"livegate.dev/models/modelpack"
	"livegate.dev/models/ort"
)

// reflectCamera wraps the sim board's recorded camera so the face in it
// reflects the LEDs' light (simcam.Reflect, by the reflection model of
// models/lightsim), found by loc.
func reflectCamera(src drivers.FrameSource, lights map[string]drivers.Light, loc kioskLocator) (drivers.FrameSource, error) {
	return simcam.NewReflect(src, lights, simcam.Opts{Locator: loc})
}

// newEngine loads the liveness engine and the audit face locator.
func newEngine(c config.Config, threads int, seed uint64) (kioskEngine, kioskLocator, error) {
	o := ort.Options{LibPath: c.Models.ORTLibrary, IntraOpThreads: threads}
	mo := liveness.ModelOptions{ORT: o}
	det := face.DetectorOptions{ORT: o}
	if d := c.Models.Dir; d != "" {
		det.Model = filepath.Join(d, face.ShortRangeModel)
		mo.Detector.Model = det.Model
		mo.Landmarker.Model = filepath.Join(d, face.LandmarkModel)
		mo.Embedder.Model = filepath.Join(d, face.EmbedModel)
	}
	mode := liveness.Passive
	if c.Session.Mode == "active" {
		mode = liveness.Active
	}
	lc := liveness.Config{
		Mode:           mode,
		PassThreshold:  c.Session.PassThreshold,
		RetryThreshold: c.Session.RetryThreshold,
		LightStep:      c.Session.LightStep,
		MaxDuration:    c.Session.MaxDuration,
	}
	e, err := engine.New(engine.Options{Config: lc, Models: mo, Seed: seed})
	if err != nil {
		return nil, nil, err
	}
	loc, err := engine.NewLocator(det)
	if err != nil {
		e.Close()
		return nil, nil, fmt.Errorf("audit face locator: %w", err)
	}
	return e, loc, nil
}

// packSelfTest runs the known-answer self-test of the models pack unpacked
// in dir (its selftest.json and reference image) with the runtime of
// c.Models; ran is false when dir has no self-test vector.
func packSelfTest(ctx context.Context, c config.Config, dir string) (ran bool, err error) {
	if dir == "" {
		return false, nil
	}
	if _, err := modelpack.ReadVector(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	_, err = modelpack.CheckDir(ctx, dir, ort.Options{LibPath: c.Models.ORTLibrary})
	return true, err
}

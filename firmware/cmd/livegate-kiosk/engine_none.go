//go:build noengine

package main

import (
	"context"
	"errors"
	"io"

	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
)

// errNoEngine: builds tagged noengine (armv7, for which ONNX Runtime
// publishes no library) carry no liveness engine.
var errNoEngine = errors.New("this build has no liveness engine (built with -tags noengine: ONNX Runtime has no armv7 library); it can check configs, hash passwords and bring up the board, not decide sessions")

func newEngine(c config.Config, threads int, seed uint64) (kioskEngine, kioskLocator, error) {
	return nil, nil, errNoEngine
}

// reflectCamera: the reflection model comes with the engine (models/lightsim
// speaks its types).
func reflectCamera(drivers.FrameSource, map[string]drivers.Light, kioskLocator) (drivers.FrameSource, error) {
	return nil, errNoEngine
}

func packSelfTest(context.Context, config.Config, string) (bool, error) { return false, errNoEngine }

func cmdSimPrint(context.Context, []string, io.Writer, io.Writer) error { return errNoEngine }

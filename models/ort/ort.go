package ort

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"livegate.dev/models/assets"
)

// Execution providers accepted by Options.Provider.
const (
	ProviderCPU     = "cpu"
	ProviderXNNPACK = "xnnpack"
)

// Options configure the runtime and a session.
type Options struct {
	// LibPath is the ONNX Runtime shared library.
	// Optional. Default: assets.ORTLib() ($LIVEGATE_ORT_LIB or the cached one).
	LibPath string
	// IntraOpThreads is the number of threads one operator may use.
	// Optional. Default: 1.
	IntraOpThreads int
	// InterOpThreads is the number of operators run in parallel.
	// Optional. Default: 1.
	InterOpThreads int
	// Provider is the execution provider: "cpu" or "xnnpack" (when the
	// library has it). An unknown or unavailable one is an error.
	// Optional. Default: "cpu".
	Provider string
}

func (o Options) withDefaults() (Options, error) {
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = 1
	}
	if o.InterOpThreads == 0 {
		o.InterOpThreads = 1
	}
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		return o, fmt.Errorf("ort: thread counts must be positive, got intra %d inter %d",
			o.IntraOpThreads, o.InterOpThreads)
	}
	o.Provider = strings.ToLower(o.Provider)
	switch o.Provider {
	case "":
		o.Provider = ProviderCPU
	case ProviderCPU, ProviderXNNPACK:
	default:
		return o, fmt.Errorf("ort: unknown execution provider %q (known: %s, %s)",
			o.Provider, ProviderCPU, ProviderXNNPACK)
	}
	return o, nil
}

var (
	initMu  sync.Mutex
	initLib string // library loaded into this process, "" before
)

// ErrOtherLibrary is returned by Init when another library is already loaded
// in this process.
var ErrOtherLibrary = errors.New("ort: another ONNX Runtime library is already loaded")

// Init loads the ONNX Runtime shared library once per process. Later calls
// with the same library are no-ops; a different library is ErrOtherLibrary.
// A missing or unloadable library is an error that says to run `make setup`.
func Init(opts Options) error {
	initMu.Lock()
	defer initMu.Unlock()
	lib := opts.LibPath
	if lib == "" {
		var err error
		if lib, err = assets.ORTLib(); err != nil {
			return fmt.Errorf("ort: %w", err)
		}
	}
	if initLib != "" {
		if initLib == lib {
			return nil
		}
		return fmt.Errorf("%w: %s, asked for %s", ErrOtherLibrary, initLib, lib)
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("ort: ONNX Runtime library %s: %w: run `%s` or set %s",
			lib, err, assets.FixCommand, assets.EnvORTLib)
	}
	onnx.SetSharedLibraryPath(lib)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return fmt.Errorf("ort: load ONNX Runtime library %s: %w: run `%s` to fetch the verified library, or point %s at a libonnxruntime.so.1 for this machine",
			lib, err, assets.FixCommand, assets.EnvORTLib)
	}
	initLib = lib
	return nil
}

// Version is the loaded ONNX Runtime version, "" before Init.
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if initLib == "" {
		return ""
	}
	return onnx.GetVersion()
}

// TensorSpec names a tensor and its shape. In Inspect results a dynamic
// dimension is -1.
type TensorSpec struct {
	Name  string
	Shape []int64
}

func (t TensorSpec) String() string { return fmt.Sprintf("%s%v", t.Name, t.Shape) }

// size is the element count, or an error for an empty or dynamic shape.
func (t TensorSpec) size() (int64, error) {
	if len(t.Shape) == 0 {
		return 0, fmt.Errorf("tensor %s: no shape", t.Name)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d <= 0 {
			return 0, fmt.Errorf("tensor %s: shape %v has a dynamic or zero dimension: give a fixed shape", t.Name, t.Shape)
		}
		n *= d
	}
	return n, nil
}

type ioInfo struct {
	spec  TensorSpec
	dtype onnx.TensorElementDataType
}

func inspect(path string) (in, out []ioInfo, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("ort: model %s: %w", path, err)
	}
	ins, outs, err := onnx.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: inspect model %s: %w", path, err)
	}
	conv := func(infos []onnx.InputOutputInfo) []ioInfo {
		r := make([]ioInfo, len(infos))
		for i, x := range infos {
			r[i] = ioInfo{TensorSpec{x.Name, append([]int64(nil), x.Dimensions...)}, x.DataType}
		}
		return r
	}
	return conv(ins), conv(outs), nil
}

// Inspect lists a model's inputs and outputs. It loads the library with
// default Options if Init has not been called.
func Inspect(path string) (inputs, outputs []TensorSpec, err error) {
	if err := Init(Options{}); err != nil && !errors.Is(err, ErrOtherLibrary) {
		return nil, nil, err
	}
	in, out, err := inspect(path)
	if err != nil {
		return nil, nil, err
	}
	specs := func(x []ioInfo) []TensorSpec {
		r := make([]TensorSpec, len(x))
		for i := range x {
			r[i] = x[i].spec
		}
		return r
	}
	return specs(in), specs(out), nil
}

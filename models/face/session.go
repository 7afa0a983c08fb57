package face

import (
	"errors"
	"fmt"

	"livegate.dev/models/assets"
	"livegate.dev/models/ort"
)

// session is the part of *ort.Model the face models use.
type session interface {
	Input(i int) []float32
	Output(i int) []float32
	Run() error
	Close() error
}

var _ session = (*ort.Model)(nil)

// loadModel opens an ONNX model with its own declared tensor shapes; a
// dynamic (≤0) dimension is fixed to 1.
func loadModel(path string, opts ort.Options) (*ort.Model, []ort.TensorSpec, []ort.TensorSpec, error) {
	if err := ort.Init(opts); err != nil && !errors.Is(err, ort.ErrOtherLibrary) {
		return nil, nil, nil, fmt.Errorf("face: init ONNX Runtime: %w", err)
	}
	ins, outs, err := ort.Inspect(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("face: inspect %s: %w", path, err)
	}
	fix := func(specs []ort.TensorSpec) {
		for i := range specs {
			for j, d := range specs[i].Shape {
				if d <= 0 {
					specs[i].Shape[j] = 1
				}
			}
		}
	}
	fix(ins)
	fix(outs)
	m, err := ort.Load(path, ins, outs, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("face: load %s: %w", path, err)
	}
	return m, ins, outs, nil
}

// modelPath returns explicit when set, else the cached model by file name.
func modelPath(explicit, name string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	p, err := assets.Model(name)
	if err != nil {
		return "", fmt.Errorf("face: %w", err)
	}
	return p, nil
}

func numel(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

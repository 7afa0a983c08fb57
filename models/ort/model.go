package ort

import (
	"errors"
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// Model is one ONNX Runtime session with its input and output tensors
// allocated once. It is not safe for concurrent Run: give each goroutine its
// own Model.
type Model struct {
	path    string
	session *onnx.AdvancedSession
	inputs  []*onnx.Tensor[float32]
	outputs []*onnx.Tensor[float32]
	inSpec  []TensorSpec
	outSpec []TensorSpec
	inData  [][]float32
	outData [][]float32
}

// Load creates a session for the model file at path with float32 tensors of
// the given names and shapes. Nil inputs or outputs mean all of the model's,
// with the shapes it declares (which must then be fixed). A name the model
// does not have, a shape that contradicts the model's, or a non-float32
// tensor is an error. Load calls Init(opts).
func Load(path string, inputs, outputs []TensorSpec, opts Options) (m *Model, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Init(opts); err != nil && !errors.Is(err, ErrOtherLibrary) {
		return nil, err
	}
	declIn, declOut, err := inspect(path)
	if err != nil {
		return nil, err
	}
	if inputs, err = resolve(path, "input", inputs, declIn); err != nil {
		return nil, err
	}
	if outputs, err = resolve(path, "output", outputs, declOut); err != nil {
		return nil, err
	}

	mm := &Model{path: path, inSpec: inputs, outSpec: outputs}
	defer func() {
		if err != nil {
			mm.Close()
		}
	}()
	m = mm
	alloc := func(specs []TensorSpec) ([]*onnx.Tensor[float32], [][]float32, []string, []onnx.Value, error) {
		ts := make([]*onnx.Tensor[float32], len(specs))
		data := make([][]float32, len(specs))
		names := make([]string, len(specs))
		vals := make([]onnx.Value, len(specs))
		for i, s := range specs {
			t, err := onnx.NewEmptyTensor[float32](onnx.NewShape(s.Shape...))
			if err != nil {
				return ts, nil, nil, nil, fmt.Errorf("ort: model %s: allocate tensor %s: %w", path, s, err)
			}
			ts[i], data[i], names[i], vals[i] = t, t.GetData(), s.Name, t
		}
		return ts, data, names, vals, nil
	}
	var inNames, outNames []string
	var inVals, outVals []onnx.Value
	if m.inputs, m.inData, inNames, inVals, err = alloc(inputs); err != nil {
		return nil, err
	}
	if m.outputs, m.outData, outNames, outVals, err = alloc(outputs); err != nil {
		return nil, err
	}

	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: model %s: session options: %w", path, err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
		return nil, fmt.Errorf("ort: model %s: intra-op threads %d: %w", path, opts.IntraOpThreads, err)
	}
	if err := so.SetInterOpNumThreads(opts.InterOpThreads); err != nil {
		return nil, fmt.Errorf("ort: model %s: inter-op threads %d: %w", path, opts.InterOpThreads, err)
	}
	switch opts.Provider {
	case ProviderXNNPACK:
		if err := so.AppendExecutionProvider("XNNPACK", map[string]string{
			"intra_op_num_threads": fmt.Sprint(opts.IntraOpThreads),
		}); err != nil {
			return nil, fmt.Errorf("ort: execution provider %q is not available in this ONNX Runtime: %w", opts.Provider, err)
		}
	}
	m.session, err = onnx.NewAdvancedSession(path, inNames, outNames, inVals, outVals, so)
	if err != nil {
		return nil, fmt.Errorf("ort: model %s: create session: %w", path, err)
	}
	return m, nil
}

// resolve checks the requested tensors against the model's declared ones, or
// takes the declared ones when none are requested.
func resolve(path, kind string, want []TensorSpec, decl []ioInfo) ([]TensorSpec, error) {
	if len(want) == 0 {
		want = make([]TensorSpec, len(decl))
		for i := range decl {
			want[i] = decl[i].spec
		}
	}
	out := make([]TensorSpec, len(want))
	for i, w := range want {
		var d *ioInfo
		for j := range decl {
			if decl[j].spec.Name == w.Name {
				d = &decl[j]
			}
		}
		if d == nil {
			names := make([]string, len(decl))
			for j := range decl {
				names[j] = decl[j].spec.String()
			}
			return nil, fmt.Errorf("ort: model %s has no %s %q (it has %v)", path, kind, w.Name, names)
		}
		if d.dtype != onnx.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("ort: model %s: %s %q is %v, only float32 is supported", path, kind, w.Name, d.dtype)
		}
		shape := w.Shape
		if shape == nil {
			shape = d.spec.Shape
		}
		if len(shape) != len(d.spec.Shape) {
			return nil, fmt.Errorf("ort: model %s: %s %q: shape %v, the model declares %v", path, kind, w.Name, shape, d.spec.Shape)
		}
		for k := range shape {
			if d.spec.Shape[k] > 0 && shape[k] != d.spec.Shape[k] {
				return nil, fmt.Errorf("ort: model %s: %s %q: shape %v, the model declares %v", path, kind, w.Name, shape, d.spec.Shape)
			}
		}
		out[i] = TensorSpec{Name: w.Name, Shape: append([]int64(nil), shape...)}
		if _, err := out[i].size(); err != nil {
			return nil, fmt.Errorf("ort: model %s: %s: %w", path, kind, err)
		}
	}
	return out, nil
}

// Input is the backing slice of input tensor i (in Load's order): write the
// input here in place before Run.
func (m *Model) Input(i int) []float32 { return m.inData[i] }

// Output is the backing slice of output tensor i: valid after Run until the
// next Run.
func (m *Model) Output(i int) []float32 { return m.outData[i] }

// Inputs are the model's input tensors as loaded.
func (m *Model) Inputs() []TensorSpec { return m.inSpec }

// Outputs are the model's output tensors as loaded.
func (m *Model) Outputs() []TensorSpec { return m.outSpec }

// Path is the model file.
func (m *Model) Path() string { return m.path }

// Run runs the model on the current inputs. It allocates nothing on the Go
// heap.
func (m *Model) Run() error {
	if m.session == nil {
		return fmt.Errorf("ort: model %s: Run after Close", m.path)
	}
	if err := m.session.Run(); err != nil {
		return fmt.Errorf("ort: run model %s: %w", m.path, err)
	}
	return nil
}

// Close releases the session and its tensors. It is safe to call twice.
func (m *Model) Close() error {
	var errs []error
	if m.session != nil {
		errs = append(errs, m.session.Destroy())
		m.session = nil
	}
	for _, ts := range [][]*onnx.Tensor[float32]{m.inputs, m.outputs} {
		for _, t := range ts {
			if t != nil {
				errs = append(errs, t.Destroy())
			}
		}
	}
	m.inputs, m.outputs, m.inData, m.outData = nil, nil, nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ort: close model %s: %w", m.path, err)
	}
	return nil
}

package tflite2onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"livegate.dev/models/internal/onnxpb"
	"livegate.dev/models/internal/tflite"
)

// Opset is the ONNX default-domain opset the converted models import.
const Opset = 13

// irVersion is the ONNX IR version written (IR 8 pairs with opsets ≤ 17).
const irVersion = 8

// Producer is written into the converted model's producer_name.
const Producer = "livegate tflite2onnx"

// UnsupportedOpError reports an operator the converter cannot map.
type UnsupportedOpError struct {
	Model string // the modelName passed to Convert
	Index int    // operator index in the main subgraph
	Op    string // TFLite operator name, e.g. "SPLIT"
}

func (e *UnsupportedOpError) Error() string {
	return fmt.Sprintf("tflite2onnx: model %q: operator %d: unsupported TFLite op %s", e.Model, e.Index, e.Op)
}

// ErrUnsupported is wrapped by errors about a construct (not an op) the
// converter does not handle, e.g. a non-constant convolution weight.
var ErrUnsupported = errors.New("unsupported")

// Convert converts the TFLite model tfl into a serialized ONNX ModelProto.
// modelName names the model in errors and in the ONNX graph name. The result
// is deterministic.
func Convert(modelName string, tfl []byte) (out []byte, err error) {
	// A file that parses but is inconsistent (shapes that contradict the
	// data, say) must be an error for the caller, not a crash of a tool.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("tflite2onnx: model %q: inconsistent model: %v", modelName, r)
		}
	}()
	m, err := tflite.Parse(tfl)
	if err != nil {
		return nil, fmt.Errorf("tflite2onnx: model %q: %w", modelName, err)
	}
	om, err := convertModel(modelName, m)
	if err != nil {
		return nil, err
	}
	return om.Marshal(), nil
}

// SupportedOps lists the TFLite builtin operators the converter maps.
func SupportedOps() []string {
	var out []string
	for op := tflite.BuiltinOp(0); op < 256; op++ {
		if _, ok := handlers[op]; ok {
			out = append(out, op.String())
		}
	}
	return out
}

// constVal is a constant tensor's value with its TFLite shape. Float types
// are held in F, integer and bool types in I.
type constVal struct {
	typ   tflite.TensorType
	shape []int
	f     []float32
	i     []int64
}

func (c *constVal) isFloat() bool { return c.typ == tflite.Float32 || c.typ == tflite.Float16 }

// conv is the state of one conversion.
type conv struct {
	model  string
	m      *tflite.Model
	sg     *tflite.Subgraph
	g      onnxpb.Graph
	names  []string          // ONNX base name of each TFLite tensor
	consts map[int]*constVal // constant (or folded) tensors
	nhwc   map[int]string    // ONNX value holding tensor t in TFLite layout
	nchw   map[int]string    // ONNX value holding 4-D tensor t as NCHW
	used   map[string]bool   // every ONNX name handed out
	cache  map[string]string // derived initializers by key
	opIdx  int
	seq    int
}

func convertModel(modelName string, m *tflite.Model) (*onnxpb.Model, error) {
	if len(m.Subgraphs) != 1 {
		return nil, fmt.Errorf("tflite2onnx: model %q: %d subgraphs: only single-subgraph models are %w", modelName, len(m.Subgraphs), ErrUnsupported)
	}
	sg := &m.Subgraphs[0]
	c := &conv{
		model:  modelName,
		m:      m,
		sg:     sg,
		consts: map[int]*constVal{},
		nhwc:   map[int]string{},
		nchw:   map[int]string{},
		used:   map[string]bool{},
		cache:  map[string]string{},
	}
	c.g.Name = modelName
	isInput := map[int]bool{}
	for _, t := range sg.Inputs {
		isInput[int(t)] = true
	}
	c.names = make([]string, len(sg.Tensors))
	for i, t := range sg.Tensors {
		c.names[i] = c.fresh(sanitize(t.Name, i))
		if isInput[i] || t.Buffer == 0 || int(t.Buffer) >= len(m.Buffers) || len(m.Buffers[t.Buffer]) == 0 {
			continue
		}
		cv, err := decodeConst(&t, m.Buffers[t.Buffer])
		if err != nil {
			return nil, fmt.Errorf("tflite2onnx: model %q: tensor %q: %w", modelName, t.Name, err)
		}
		c.consts[i] = cv
	}
	for _, t := range sg.Inputs {
		tt := &sg.Tensors[t]
		et, err := onnxType(tt.Type)
		if err != nil {
			return nil, fmt.Errorf("tflite2onnx: model %q: input %q: %w", modelName, tt.Name, err)
		}
		c.g.Inputs = append(c.g.Inputs, onnxpb.ValueInfo{Name: c.names[t], ElemType: et, Shape: dims64(tt.Shape)})
		c.nhwc[int(t)] = c.names[t]
	}
	for i := range sg.Operators {
		c.opIdx = i
		op := &sg.Operators[i]
		code := m.OpCodes[op.OpcodeIndex].Builtin
		h, ok := handlers[code]
		if !ok {
			name := code.String()
			if code == tflite.OpCustom {
				name = "CUSTOM(" + m.OpCodes[op.OpcodeIndex].CustomCode + ")"
			}
			return nil, &UnsupportedOpError{Model: modelName, Index: i, Op: name}
		}
		if err := h(c, op, code); err != nil {
			return nil, fmt.Errorf("tflite2onnx: model %q: operator %d (%s): %w", modelName, i, code, err)
		}
	}
	for _, t := range sg.Outputs {
		tt := &sg.Tensors[t]
		et, err := onnxType(tt.Type)
		if err != nil {
			return nil, fmt.Errorf("tflite2onnx: model %q: output %q: %w", modelName, tt.Name, err)
		}
		if _, isConst := c.consts[int(t)]; isConst {
			return nil, fmt.Errorf("tflite2onnx: model %q: output %q is a constant: %w", modelName, tt.Name, ErrUnsupported)
		}
		name, err := c.value(int(t), false)
		if err != nil {
			return nil, fmt.Errorf("tflite2onnx: model %q: output %q: %w", modelName, tt.Name, err)
		}
		c.g.Outputs = append(c.g.Outputs, onnxpb.ValueInfo{Name: name, ElemType: et, Shape: dims64(tt.Shape)})
	}
	return &onnxpb.Model{
		IRVersion:    irVersion,
		OpsetVersion: Opset,
		ProducerName: Producer,
		DocString:    "converted from TFLite model " + modelName,
		Graph:        c.g,
	}, nil
}

// sanitize gives a tensor a usable ONNX name.
func sanitize(name string, i int) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return fmt.Sprintf("tensor_%d", i)
	}
	return name
}

// fresh returns base if unused, else base_2, base_3, … and marks it used.
func (c *conv) fresh(base string) string {
	name := base
	for k := 2; c.used[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	c.used[name] = true
	return name
}

func (c *conv) tensor(t int) *tflite.Tensor { return &c.sg.Tensors[t] }

func (c *conv) shape(t int) []int {
	s := c.sg.Tensors[t].Shape
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

func (c *conv) rank(t int) int { return len(c.sg.Tensors[t].Shape) }

// isConst reports whether tensor t is a constant (possibly a folded one).
func (c *conv) isConst(t int) bool { _, ok := c.consts[t]; return ok }

// hasNCHW reports whether tensor t is already available as NCHW.
func (c *conv) hasNCHW(t int) bool { _, ok := c.nchw[t]; return ok }

// addNode appends a node named after the current TFLite operator.
func (c *conv) addNode(opType string, inputs, outputs []string, attrs ...onnxpb.Attr) {
	c.seq++
	c.g.Nodes = append(c.g.Nodes, onnxpb.Node{
		Name:    fmt.Sprintf("op%d_%s_%d", c.opIdx, opType, c.seq),
		OpType:  opType,
		Inputs:  inputs,
		Outputs: outputs,
		Attrs:   attrs,
	})
}

// initializer adds an initializer under a fresh name derived from base.
func (c *conv) initializer(base string, t onnxpb.Tensor) string {
	t.Name = c.fresh(base)
	c.g.Initializers = append(c.g.Initializers, t)
	return t.Name
}

// cached returns the initializer stored under key, creating it with mk once.
func (c *conv) cached(key string, mk func() string) string {
	if n, ok := c.cache[key]; ok {
		return n
	}
	n := mk()
	c.cache[key] = n
	return n
}

// scalarF returns a shared float scalar initializer.
func (c *conv) scalarF(v float32) string {
	return c.cached(fmt.Sprintf("scalar_f_%08x", math.Float32bits(v)), func() string {
		return c.initializer(fmt.Sprintf("const_%g", v), onnxpb.FloatTensor("", nil, []float32{v}))
	})
}

// ints64 returns an int64 1-D initializer for the current operator.
func (c *conv) ints64(base string, v []int64) string {
	return c.initializer(base, onnxpb.Int64Tensor("", []int64{int64(len(v))}, v))
}

// perm04 is NHWC → NCHW, perm40 is NCHW → NHWC.
var (
	perm04 = []int{0, 3, 1, 2}
	perm40 = []int{0, 2, 3, 1}
)

// value returns the ONNX value for tensor t in NCHW (nchw) or TFLite layout,
// inserting a Transpose or an initializer as needed. A constant asked for as
// NCHW is broadcast-aligned: its shape is left-padded with 1s to rank 4 and
// permuted, so that it broadcasts against NCHW operands as it did in NHWC.
func (c *conv) value(t int, nchw bool) (string, error) {
	if cv, ok := c.consts[t]; ok {
		return c.constValue(t, cv, nchw)
	}
	if nchw {
		if n, ok := c.nchw[t]; ok {
			return n, nil
		}
		if c.rank(t) != 4 {
			return "", fmt.Errorf("tensor %q of rank %d asked for as NCHW: %w", c.tensor(t).Name, c.rank(t), ErrUnsupported)
		}
		src, ok := c.nhwc[t]
		if !ok {
			return "", fmt.Errorf("tensor %q used before it is produced", c.tensor(t).Name)
		}
		n := c.fresh(c.names[t] + "_nchw")
		c.addNode("Transpose", []string{src}, []string{n}, onnxpb.Ints("perm", 0, 3, 1, 2))
		c.nchw[t] = n
		return n, nil
	}
	if n, ok := c.nhwc[t]; ok {
		return n, nil
	}
	src, ok := c.nchw[t]
	if !ok {
		return "", fmt.Errorf("tensor %q used before it is produced", c.tensor(t).Name)
	}
	n := c.names[t]
	c.addNode("Transpose", []string{src}, []string{n}, onnxpb.Ints("perm", 0, 2, 3, 1))
	c.nhwc[t] = n
	return n, nil
}

// define records that the current operator writes tensor t in the given
// layout and returns the ONNX name to write it to.
func (c *conv) define(t int, nchw bool) string {
	if nchw {
		n := c.fresh(c.names[t] + "_nchw")
		c.nchw[t] = n
		return n
	}
	c.nhwc[t] = c.names[t]
	return c.names[t]
}

func (c *conv) constValue(t int, cv *constVal, nchw bool) (string, error) {
	key := fmt.Sprintf("const_%d_%v", t, nchw)
	var err error
	n := c.cached(key, func() string {
		shape := cv.shape
		f, i := cv.f, cv.i
		name := c.names[t]
		if nchw && len(shape) > 0 {
			if len(shape) > 4 {
				err = fmt.Errorf("constant %q of rank %d in an NCHW op: %w", c.tensor(t).Name, len(shape), ErrUnsupported)
				return ""
			}
			s4 := append(make([]int, 4-len(shape)), shape...)
			for k := 0; k < 4-len(shape); k++ {
				s4[k] = 1
			}
			if cv.isFloat() {
				f = transpose(f, s4, perm04)
			} else {
				i = transpose(i, s4, perm04)
			}
			shape = permute(s4, perm04)
			name += "_nchw"
		}
		ot, e := c.constTensor(cv, shape, f, i)
		if e != nil {
			err = e
			return ""
		}
		return c.initializer(name, ot)
	})
	if err != nil {
		delete(c.cache, key)
		return "", err
	}
	return n, nil
}

// constTensor encodes constant data as an ONNX tensor of the TFLite type
// (fp16 constants are widened to fp32).
func (c *conv) constTensor(cv *constVal, shape []int, f []float32, iv []int64) (onnxpb.Tensor, error) {
	dims := make([]int64, len(shape))
	for k, d := range shape {
		dims[k] = int64(d)
	}
	switch cv.typ {
	case tflite.Float32, tflite.Float16:
		return onnxpb.FloatTensor("", dims, f), nil
	case tflite.Int64:
		return onnxpb.Int64Tensor("", dims, iv), nil
	case tflite.Int32:
		raw := make([]byte, 4*len(iv))
		for k, x := range iv {
			binary.LittleEndian.PutUint32(raw[4*k:], uint32(int32(x)))
		}
		return onnxpb.Tensor{Dims: dims, DataType: onnxpb.Int32, Raw: raw}, nil
	case tflite.Uint8, tflite.Int8, tflite.Bool:
		raw := make([]byte, len(iv))
		for k, x := range iv {
			raw[k] = byte(x)
		}
		et, _ := onnxType(cv.typ)
		return onnxpb.Tensor{Dims: dims, DataType: et, Raw: raw}, nil
	}
	return onnxpb.Tensor{}, fmt.Errorf("constant of type %s: %w", cv.typ, ErrUnsupported)
}

// decodeConst reads a constant tensor's buffer.
func decodeConst(t *tflite.Tensor, buf []byte) (*constVal, error) {
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("constant with dynamic shape %v", t.Shape)
		}
		shape[i] = int(d)
	}
	n := tflite.Elements(t.Shape)
	sz := t.Type.Size()
	if sz == 0 {
		return nil, fmt.Errorf("constant of type %s: %w", t.Type, ErrUnsupported)
	}
	if len(buf) != n*sz {
		return nil, fmt.Errorf("buffer holds %d bytes, shape %v of %s needs %d", len(buf), t.Shape, t.Type, n*sz)
	}
	cv := &constVal{typ: t.Type, shape: shape}
	switch t.Type {
	case tflite.Float32:
		cv.f = make([]float32, n)
		for i := range cv.f {
			cv.f[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case tflite.Float16:
		cv.f = make([]float32, n)
		for i := range cv.f {
			cv.f[i] = tflite.Float16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
	case tflite.Float64:
		cv.typ = tflite.Float32
		cv.f = make([]float32, n)
		for i := range cv.f {
			cv.f[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
		}
	case tflite.Int32:
		cv.i = make([]int64, n)
		for i := range cv.i {
			cv.i[i] = int64(int32(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	case tflite.Int64:
		cv.i = make([]int64, n)
		for i := range cv.i {
			cv.i[i] = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
	case tflite.Int16:
		cv.i = make([]int64, n)
		for i := range cv.i {
			cv.i[i] = int64(int16(binary.LittleEndian.Uint16(buf[2*i:])))
		}
	case tflite.Int8:
		cv.i = make([]int64, n)
		for i := range cv.i {
			cv.i[i] = int64(int8(buf[i]))
		}
	case tflite.Uint8, tflite.Bool:
		cv.i = make([]int64, n)
		for i := range cv.i {
			cv.i[i] = int64(buf[i])
		}
	default:
		return nil, fmt.Errorf("constant of type %s: %w", t.Type, ErrUnsupported)
	}
	return cv, nil
}

func onnxType(t tflite.TensorType) (onnxpb.DataType, error) {
	switch t {
	case tflite.Float32:
		return onnxpb.Float, nil
	case tflite.Float16:
		return onnxpb.Float16, nil
	case tflite.Int32:
		return onnxpb.Int32, nil
	case tflite.Int64:
		return onnxpb.Int64, nil
	case tflite.Uint8:
		return onnxpb.Uint8, nil
	case tflite.Int8:
		return onnxpb.Int8, nil
	case tflite.Int16:
		return onnxpb.Int16, nil
	case tflite.Bool:
		return onnxpb.Bool, nil
	case tflite.Float64:
		return onnxpb.Double, nil
	}
	return 0, fmt.Errorf("tensor type %s: %w", t, ErrUnsupported)
}

func dims64(s []int32) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// permute reorders a shape: out[i] = s[perm[i]].
func permute(s []int, perm []int) []int {
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = s[p]
	}
	return out
}

// transpose permutes row-major data of the given shape: the result has shape
// permute(shape, perm) and out[idx] = in[idx mapped back through perm].
func transpose[T any](in []T, shape []int, perm []int) []T {
	r := len(shape)
	out := make([]T, len(in))
	if len(in) == 0 {
		return out
	}
	oshape := permute(shape, perm)
	// strides of the input, in output-axis order
	istride := make([]int, r)
	s := 1
	for k := r - 1; k >= 0; k-- {
		istride[k] = s
		s *= shape[k]
	}
	st := make([]int, r)
	for i, p := range perm {
		st[i] = istride[p]
	}
	idx := make([]int, r)
	off := 0
	for o := range out {
		out[o] = in[off]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			off += st[k]
			if idx[k] < oshape[k] {
				break
			}
			off -= st[k] * idx[k]
			idx[k] = 0
		}
	}
	return out
}

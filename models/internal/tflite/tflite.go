package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// TensorType is the element type of a tensor (schema enum TensorType).
type TensorType int8

// Tensor element types.
const (
	Float32 TensorType = 0
	Float16 TensorType = 1
	Int32   TensorType = 2
	Uint8   TensorType = 3
	Int64   TensorType = 4
	String  TensorType = 5
	Bool    TensorType = 6
	Int16   TensorType = 7
	Int8    TensorType = 9
	Float64 TensorType = 10
)

var typeNames = map[TensorType]string{
	Float32: "FLOAT32", Float16: "FLOAT16", Int32: "INT32", Uint8: "UINT8",
	Int64: "INT64", String: "STRING", Bool: "BOOL", Int16: "INT16",
	Int8: "INT8", Float64: "FLOAT64",
}

func (t TensorType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TensorType(%d)", int8(t))
}

// Size is the byte size of one element, or 0 for variable-size types.
func (t TensorType) Size() int {
	switch t {
	case Float32, Int32:
		return 4
	case Float16, Int16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	case Int64, Float64:
		return 8
	}
	return 0
}

// Model is a parsed TFLite model.
type Model struct {
	Version     uint32
	Description string
	OpCodes     []OpCode
	Subgraphs   []Subgraph
	Buffers     [][]byte // Buffers[0] is the empty sentinel
}

// OpCode identifies an operator kind.
type OpCode struct {
	Builtin    BuiltinOp // resolved from builtin_code and deprecated_builtin_code
	CustomCode string
	Version    int32
}

// Subgraph is one graph of the model; Subgraphs[0] is the main one.
type Subgraph struct {
	Name      string
	Tensors   []Tensor
	Inputs    []int32
	Outputs   []int32
	Operators []Operator
}

// Tensor describes one tensor of a subgraph.
type Tensor struct {
	Name   string
	Shape  []int32
	Type   TensorType
	Buffer uint32 // index into Model.Buffers; 0 means no data
	Quant  *Quantization
}

// Quantization holds affine quantization parameters: real = scale·(q − zero_point).
type Quantization struct {
	Scale     []float32
	ZeroPoint []int64
	Dim       int32 // quantized_dimension for per-axis parameters
}

// Operator is one node of a subgraph.
type Operator struct {
	OpcodeIndex uint32
	Inputs      []int32 // -1 marks an omitted optional input
	Outputs     []int32
	Options     Options // builtin options table; zero value when absent
}

// Options gives access to an operator's builtin options table by field index
// (the order of fields in the schema's options table, starting at 0). An
// absent table or field yields the supplied default, as flatbuffers does.
type Options struct {
	tab   flatbuffers.Table
	valid bool
}

func (o Options) off(field int) flatbuffers.UOffsetT {
	if !o.valid {
		return 0
	}
	return flatbuffers.UOffsetT(o.tab.Offset(flatbuffers.VOffsetT(4 + 2*field)))
}

// Int reads an int32 field.
func (o Options) Int(field int, def int32) int32 {
	if p := o.off(field); p != 0 {
		return o.tab.GetInt32(p + o.tab.Pos)
	}
	return def
}

// Byte reads a byte-sized field (enums such as padding and activation).
func (o Options) Byte(field int, def int8) int8 {
	if p := o.off(field); p != 0 {
		return o.tab.GetInt8(p + o.tab.Pos)
	}
	return def
}

// Bool reads a bool field.
func (o Options) Bool(field int, def bool) bool {
	if p := o.off(field); p != 0 {
		return o.tab.GetBool(p + o.tab.Pos)
	}
	return def
}

// Float reads a float32 field.
func (o Options) Float(field int, def float32) float32 {
	if p := o.off(field); p != 0 {
		return o.tab.GetFloat32(p + o.tab.Pos)
	}
	return def
}

// Ints reads an [int] vector field; nil when absent.
func (o Options) Ints(field int) []int32 {
	if p := o.off(field); p != 0 {
		return int32Vector(&o.tab, p)
	}
	return nil
}

// Present reports whether the operator has a builtin options table.
func (o Options) Present() bool { return o.valid }

// ErrNotTFLite is returned for data that is not a TFLite flatbuffer.
var ErrNotTFLite = errors.New("not a TFLite model (no TFL3 identifier)")

// Parse reads a TFLite model. data must stay unchanged while the Model is in
// use: buffers are slices of it.
func Parse(data []byte) (m *Model, err error) {
	if len(data) < 8 {
		return nil, ErrNotTFLite
	}
	if string(data[4:8]) != "TFL3" {
		return nil, ErrNotTFLite
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("malformed TFLite flatbuffer: %v", r)
		}
	}()
	root := flatbuffers.GetUOffsetT(data)
	if int(root) >= len(data) {
		return nil, fmt.Errorf("malformed TFLite flatbuffer: root offset %d beyond %d bytes", root, len(data))
	}
	t := &flatbuffers.Table{Bytes: data, Pos: root}
	m = &Model{}
	if p := field(t, 0); p != 0 {
		m.Version = t.GetUint32(p + t.Pos)
	}
	if p := field(t, 3); p != 0 {
		m.Description = t.String(p + t.Pos)
	}
	for _, oc := range tables(t, 1) {
		var c OpCode
		var deprecated int8
		if p := field(&oc, 0); p != 0 {
			deprecated = oc.GetInt8(p + oc.Pos)
		}
		if p := field(&oc, 1); p != 0 {
			c.CustomCode = oc.String(p + oc.Pos)
		}
		c.Version = 1
		if p := field(&oc, 2); p != 0 {
			c.Version = oc.GetInt32(p + oc.Pos)
		}
		var builtin int32
		if p := field(&oc, 3); p != 0 {
			builtin = oc.GetInt32(p + oc.Pos)
		}
		// Newer writers fill builtin_code and cap deprecated_builtin_code at
		// 127 (PLACEHOLDER_FOR_GREATER_OP_CODES); older ones only fill the byte.
		c.Builtin = BuiltinOp(max(builtin, int32(deprecated)))
		m.OpCodes = append(m.OpCodes, c)
	}
	for _, b := range tables(t, 4) {
		var buf []byte
		if p := field(&b, 0); p != 0 {
			buf = b.ByteVector(p + b.Pos)
		}
		var off, size uint64
		if p := field(&b, 1); p != 0 {
			off = b.GetUint64(p + b.Pos)
		}
		if p := field(&b, 2); p != 0 {
			size = b.GetUint64(p + b.Pos)
		}
		if off > 1 {
			if off+size > uint64(len(data)) || off+size < off {
				return nil, fmt.Errorf("malformed TFLite flatbuffer: buffer [%d,+%d) beyond %d bytes", off, size, len(data))
			}
			buf = data[off : off+size]
		}
		m.Buffers = append(m.Buffers, buf)
	}
	for i, sg := range tables(t, 2) {
		s, err := parseSubgraph(&sg, len(m.Buffers), len(m.OpCodes))
		if err != nil {
			return nil, fmt.Errorf("subgraph %d: %w", i, err)
		}
		m.Subgraphs = append(m.Subgraphs, s)
	}
	if len(m.Subgraphs) == 0 {
		return nil, errors.New("TFLite model has no subgraph")
	}
	return m, nil
}

func parseSubgraph(t *flatbuffers.Table, nbuf, nops int) (Subgraph, error) {
	var s Subgraph
	if p := field(t, 4); p != 0 {
		s.Name = t.String(p + t.Pos)
	}
	for i, tt := range tables(t, 0) {
		var x Tensor
		if p := field(&tt, 0); p != 0 {
			x.Shape = int32Vector(&tt, p)
		}
		if p := field(&tt, 1); p != 0 {
			x.Type = TensorType(tt.GetInt8(p + tt.Pos))
		}
		if p := field(&tt, 2); p != 0 {
			x.Buffer = tt.GetUint32(p + tt.Pos)
		}
		if int(x.Buffer) >= nbuf && x.Buffer != 0 {
			return s, fmt.Errorf("tensor %d: buffer %d out of range (%d buffers)", i, x.Buffer, nbuf)
		}
		if p := field(&tt, 3); p != 0 {
			x.Name = tt.String(p + tt.Pos)
		}
		if p := field(&tt, 4); p != 0 {
			q := subTable(&tt, p)
			x.Quant = &Quantization{}
			if p := field(&q, 2); p != 0 {
				n, v := vector(&q, p, 4)
				for k := 0; k < n; k++ {
					x.Quant.Scale = append(x.Quant.Scale, q.GetFloat32(v+flatbuffers.UOffsetT(4*k)))
				}
			}
			if p := field(&q, 3); p != 0 {
				n, v := vector(&q, p, 8)
				for k := 0; k < n; k++ {
					x.Quant.ZeroPoint = append(x.Quant.ZeroPoint, q.GetInt64(v+flatbuffers.UOffsetT(8*k)))
				}
			}
			if p := field(&q, 6); p != 0 {
				x.Quant.Dim = q.GetInt32(p + q.Pos)
			}
			if len(x.Quant.Scale) == 0 {
				x.Quant = nil
			}
		}
		s.Tensors = append(s.Tensors, x)
	}
	if p := field(t, 1); p != 0 {
		s.Inputs = int32Vector(t, p)
	}
	if p := field(t, 2); p != 0 {
		s.Outputs = int32Vector(t, p)
	}
	n := int32(len(s.Tensors))
	check := func(what string, idx []int32, optional bool) error {
		for _, k := range idx {
			if (k == -1 && optional) || (k >= 0 && k < n) {
				continue
			}
			return fmt.Errorf("%s: tensor index %d out of range (%d tensors)", what, k, n)
		}
		return nil
	}
	if err := check("inputs", s.Inputs, false); err != nil {
		return s, err
	}
	if err := check("outputs", s.Outputs, false); err != nil {
		return s, err
	}
	for i, ot := range tables(t, 3) {
		var op Operator
		if p := field(&ot, 0); p != 0 {
			op.OpcodeIndex = ot.GetUint32(p + ot.Pos)
		}
		if int(op.OpcodeIndex) >= nops {
			return s, fmt.Errorf("operator %d: opcode index %d out of range (%d opcodes)", i, op.OpcodeIndex, nops)
		}
		if p := field(&ot, 1); p != 0 {
			op.Inputs = int32Vector(&ot, p)
		}
		if p := field(&ot, 2); p != 0 {
			op.Outputs = int32Vector(&ot, p)
		}
		if err := check(fmt.Sprintf("operator %d inputs", i), op.Inputs, true); err != nil {
			return s, err
		}
		if err := check(fmt.Sprintf("operator %d outputs", i), op.Outputs, false); err != nil {
			return s, err
		}
		// builtin_options_type is field 3, the union value field 4.
		if p := field(&ot, 4); p != 0 {
			op.Options = Options{tab: subTable(&ot, p), valid: true}
		}
		s.Operators = append(s.Operators, op)
	}
	return s, nil
}

// field returns the vtable offset of field i (0 when absent).
func field(t *flatbuffers.Table, i int) flatbuffers.UOffsetT {
	return flatbuffers.UOffsetT(t.Offset(flatbuffers.VOffsetT(4 + 2*i)))
}

func subTable(t *flatbuffers.Table, p flatbuffers.UOffsetT) flatbuffers.Table {
	return flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(p + t.Pos)}
}

// tables returns the tables of a vector-of-tables field.
func tables(t *flatbuffers.Table, i int) []flatbuffers.Table {
	p := field(t, i)
	if p == 0 {
		return nil
	}
	n, v := vector(t, p, 4)
	out := make([]flatbuffers.Table, n)
	for k := 0; k < n; k++ {
		e := v + flatbuffers.UOffsetT(4*k)
		out[k] = flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(e)}
	}
	return out
}

// vector returns the length and start of a vector field whose elements take
// elem bytes; a vector reaching beyond the data panics (recovered by Parse).
func vector(t *flatbuffers.Table, p flatbuffers.UOffsetT, elem int) (int, flatbuffers.UOffsetT) {
	n := t.VectorLen(p)
	v := t.Vector(p)
	if n < 0 || int(v)+elem*n > len(t.Bytes) {
		panic(fmt.Sprintf("vector of %d elements at %d beyond %d bytes", n, v, len(t.Bytes)))
	}
	return n, v
}

func int32Vector(t *flatbuffers.Table, p flatbuffers.UOffsetT) []int32 {
	n, v := vector(t, p, 4)
	out := make([]int32, n)
	for k := range out {
		out[k] = int32(binary.LittleEndian.Uint32(t.Bytes[int(v)+4*k:]))
	}
	return out
}

// Elements is the number of elements of a shape (1 for a scalar).
func Elements(shape []int32) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// Float16ToFloat32 converts IEEE 754 half-precision bits to float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac · 2^-24
		f := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

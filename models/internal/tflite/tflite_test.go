package tflite_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"livegate.dev/models/internal/tflite"
	"livegate.dev/models/internal/tflite/tflitetest"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func sample() tflitetest.Model {
	return tflitetest.Model{
		OpCodes: []tflitetest.OpCode{
			tflitetest.Code(int32(tflite.OpConv2D)),
			{Deprecated: 127, Builtin: 150, Version: 2},  // a newer op, code only in builtin_code
			{Deprecated: int8(tflite.OpPad), Version: 1}, // an old writer: deprecated code only
		},
		Tensors: []tflitetest.Tensor{
			{Name: "input", Shape: []int32{1, 4, 4, 1}, Type: int8(tflite.Float32)},
			{Name: "w", Shape: []int32{2, 1, 1, 1}, Type: int8(tflite.Float32), Data: f32bytes(1.5, -2)},
			{Name: "q", Shape: []int32{2}, Type: int8(tflite.Int8), Data: []byte{1, 0xff}, Scale: []float32{0.5}, Zero: []int64{3}},
			{Name: "out", Shape: []int32{1, 4, 4, 2}, Type: int8(tflite.Float32)},
		},
		Inputs:  []int32{0},
		Outputs: []int32{3},
		Ops: []tflitetest.Op{{
			Opcode: 0, Inputs: []int32{0, 1, -1}, Outputs: []int32{3},
			Options: []tflitetest.Field{tflitetest.B(0, 1), tflitetest.I(1, 2), tflitetest.I(2, 3), tflitetest.B(3, 3), tflitetest.V(7, 4, 5)},
		}},
	}
}

func TestParse(t *testing.T) {
	m, err := tflite.Parse(tflitetest.Build(sample()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Subgraphs) != 1 || m.Version != 3 || m.Description != "tflitetest" {
		t.Fatalf("model = %+v", m)
	}
	wantCodes := []tflite.BuiltinOp{tflite.OpConv2D, 150, tflite.OpPad}
	for i, w := range wantCodes {
		if got := m.OpCodes[i].Builtin; got != w {
			t.Errorf("opcode %d = %v, want %v", i, got, w)
		}
	}
	if m.OpCodes[1].Version != 2 || m.OpCodes[2].Version != 1 {
		t.Errorf("versions = %d, %d", m.OpCodes[1].Version, m.OpCodes[2].Version)
	}
	sg := m.Subgraphs[0]
	if len(sg.Tensors) != 4 || sg.Tensors[0].Name != "input" || sg.Tensors[3].Shape[3] != 2 {
		t.Fatalf("tensors = %+v", sg.Tensors)
	}
	w := sg.Tensors[1]
	if w.Type != tflite.Float32 || len(m.Buffers[w.Buffer]) != 8 {
		t.Fatalf("w = %+v, buffer %d bytes", w, len(m.Buffers[w.Buffer]))
	}
	if got := math.Float32frombits(binary.LittleEndian.Uint32(m.Buffers[w.Buffer][4:])); got != -2 {
		t.Errorf("w[1] = %v", got)
	}
	q := sg.Tensors[2].Quant
	if q == nil || q.Scale[0] != 0.5 || q.ZeroPoint[0] != 3 {
		t.Errorf("quantization = %+v", q)
	}
	op := sg.Operators[0]
	if op.Inputs[2] != -1 || op.Outputs[0] != 3 {
		t.Errorf("op io = %v → %v", op.Inputs, op.Outputs)
	}
	o := op.Options
	checks := []struct {
		name      string
		got, want any
	}{
		{"padding", o.Byte(0, 0), int8(1)},
		{"stride_w", o.Int(1, 0), int32(2)},
		{"stride_h", o.Int(2, 0), int32(3)},
		{"activation", o.Byte(3, 0), int8(3)},
		{"absent dilation default", o.Int(4, 1), int32(1)},
		{"absent float default", o.Float(5, 0.25), float32(0.25)},
		{"absent bool default", o.Bool(6, true), true},
		{"vector", len(o.Ints(7)), 2},
		{"present", o.Present(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v := o.Ints(7); v[0] != 4 || v[1] != 5 {
		t.Errorf("vector = %v", v)
	}
}

func TestParseRejects(t *testing.T) {
	good := tflitetest.Build(sample())
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, tflite.ErrNotTFLite},
		{"short", []byte("TFL3"), tflite.ErrNotTFLite},
		{"not tflite", []byte("\x10\x00\x00\x00ONNXxxxxxxxxxxxxxxxx"), tflite.ErrNotTFLite},
		{"root beyond end", append([]byte{0xff, 0xff, 0, 0}, "TFL3"...), nil},
		{"truncated", good[:len(good)/2], nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tflite.Parse(c.data)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	bad := sample()
	bad.Ops[0].Inputs = []int32{0, 9}
	if _, err := tflite.Parse(tflitetest.Build(bad)); err == nil {
		t.Error("tensor index out of range accepted")
	}
	bad = sample()
	bad.Ops[0].Opcode = 7
	if _, err := tflite.Parse(tflitetest.Build(bad)); err == nil {
		t.Error("opcode index out of range accepted")
	}
}

// Random corruption of a valid model must give an error or a model, never a panic.
func TestParseCorruptNeverPanics(t *testing.T) {
	good := tflitetest.Build(sample())
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		b := append([]byte(nil), good...)
		for k := 0; k < 1+r.IntN(4); k++ {
			b[8+r.IntN(len(b)-8)] = byte(r.Uint32())
		}
		_, _ = tflite.Parse(b)
	}
}

func TestFloat16ToFloat32(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.33325195},
		{0x7bff, 65504},
		{0x0001, 5.9604645e-08},
		{0x03ff, 6.097555e-05},
		{0x0400, 6.1035156e-05},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := tflite.Float16ToFloat32(c.h); got != c.want {
			t.Errorf("Float16ToFloat32(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if got := tflite.Float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("negative zero = %v", got)
	}
	if got := tflite.Float16ToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN = %v", got)
	}
}

func TestOpNames(t *testing.T) {
	cases := map[tflite.BuiltinOp]string{
		tflite.OpAdd: "ADD", tflite.OpConv2D: "CONV_2D", tflite.OpDepthwiseConv2D: "DEPTHWISE_CONV_2D",
		tflite.OpResizeBilinear: "RESIZE_BILINEAR", tflite.OpPrelu: "PRELU", tflite.OpLeakyRelu: "LEAKY_RELU",
		tflite.OpAbs: "ABS", tflite.OpStridedSlice: "STRIDED_SLICE", tflite.OpBatchMatmul: "BATCH_MATMUL",
		999: "BUILTIN_OP_999",
	}
	for op, want := range cases {
		if got := op.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int32(op), got, want)
		}
	}
}

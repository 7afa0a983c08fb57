package onnxpb_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"livegate.dev/models/internal/onnxpb"
)

// fields decodes one protobuf message into its fields by number; nested
// messages and strings are kept as bytes, varints as uint64, fixed32 as uint32.
func fields(t *testing.T, b []byte) map[protowire.Number][]any {
	t.Helper()
	out := map[protowire.Number][]any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v any
		switch typ {
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			v, n = x, m
		case protowire.Fixed32Type:
			x, m := protowire.ConsumeFixed32(b)
			v, n = x, m
		case protowire.BytesType:
			x, m := protowire.ConsumeBytes(b)
			v, n = x, m
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out[num] = append(out[num], v)
	}
	return out
}

func sample() *onnxpb.Model {
	return &onnxpb.Model{
		IRVersion: 8, OpsetVersion: 13, ProducerName: "test",
		Metadata: [][2]string{{"k", "v"}},
		Graph: onnxpb.Graph{
			Name: "g",
			Nodes: []onnxpb.Node{{
				Name: "n0", OpType: "Conv", Inputs: []string{"x", "w", ""}, Outputs: []string{"y"},
				Attrs: []onnxpb.Attr{onnxpb.Ints("pads", 0, 1, 0, 1), onnxpb.Int("group", 2),
					onnxpb.Flt("alpha", 0.5), onnxpb.Str("mode", "linear")},
			}},
			Initializers: []onnxpb.Tensor{onnxpb.FloatTensor("w", []int64{2, 1}, []float32{1, -2}),
				onnxpb.Int64Tensor("s", []int64{1}, []int64{-1})},
			Inputs:  []onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, Shape: []int64{1, 3}}},
			Outputs: []onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float, Shape: []int64{1, 2}}},
		},
	}
}

func TestMarshalStructure(t *testing.T) {
	m := fields(t, sample().Marshal())
	if m[1][0].(uint64) != 8 || string(m[2][0].([]byte)) != "test" {
		t.Fatalf("ir_version/producer = %v %v", m[1], m[2])
	}
	op := fields(t, m[8][0].([]byte))
	if op[2][0].(uint64) != 13 || len(op[1]) != 0 {
		t.Errorf("opset_import = %v", op)
	}
	if kv := fields(t, m[14][0].([]byte)); string(kv[1][0].([]byte)) != "k" || string(kv[2][0].([]byte)) != "v" {
		t.Errorf("metadata = %v", kv)
	}
	g := fields(t, m[7][0].([]byte))
	if string(g[2][0].([]byte)) != "g" || len(g[1]) != 1 || len(g[5]) != 2 || len(g[11]) != 1 || len(g[12]) != 1 {
		t.Fatalf("graph fields = %v", g)
	}
	node := fields(t, g[1][0].([]byte))
	if len(node[1]) != 3 || string(node[1][2].([]byte)) != "" || string(node[4][0].([]byte)) != "Conv" {
		t.Errorf("node = %v", node)
	}
	attrs := node[5]
	pads := fields(t, attrs[0].([]byte))
	if string(pads[1][0].([]byte)) != "pads" || pads[20][0].(uint64) != uint64(onnxpb.AttrInts) ||
		!bytes.Equal(pads[8][0].([]byte), []byte{0, 1, 0, 1}) {
		t.Errorf("pads attr = %v", pads)
	}
	if group := fields(t, attrs[1].([]byte)); group[3][0].(uint64) != 2 || group[20][0].(uint64) != uint64(onnxpb.AttrInt) {
		t.Errorf("group attr = %v", group)
	}
	if alpha := fields(t, attrs[2].([]byte)); math.Float32frombits(alpha[2][0].(uint32)) != 0.5 {
		t.Errorf("alpha attr = %v", alpha)
	}
	if mode := fields(t, attrs[3].([]byte)); string(mode[4][0].([]byte)) != "linear" {
		t.Errorf("mode attr = %v", mode)
	}
	w := fields(t, g[5][0].([]byte))
	raw := w[9][0].([]byte)
	if w[2][0].(uint64) != uint64(onnxpb.Float) || string(w[8][0].([]byte)) != "w" ||
		math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != -2 || !bytes.Equal(w[1][0].([]byte), []byte{2, 1}) {
		t.Errorf("initializer = %v", w)
	}
	s := fields(t, g[5][1].([]byte))
	if int64(binary.LittleEndian.Uint64(s[9][0].([]byte))) != -1 {
		t.Errorf("int64 initializer = %v", s)
	}
	in := fields(t, g[11][0].([]byte))
	typ := fields(t, fields(t, in[2][0].([]byte))[1][0].([]byte))
	dims := fields(t, typ[2][0].([]byte))[1]
	if typ[1][0].(uint64) != uint64(onnxpb.Float) || len(dims) != 2 || fields(t, dims[1].([]byte))[1][0].(uint64) != 3 {
		t.Errorf("input type = %v dims %v", typ, dims)
	}
}

func TestMarshalDeterministic(t *testing.T) {
	a, b := sample().Marshal(), sample().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("two marshals of the same model differ")
	}
	m := sample()
	m.Graph.Nodes[0].Attrs[1] = onnxpb.Int("group", 3)
	if bytes.Equal(a, m.Marshal()) {
		t.Fatal("a changed attribute did not change the bytes")
	}
}

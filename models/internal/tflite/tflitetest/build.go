package tflitetest

import (
	flatbuffers "github.com/google/flatbuffers/go"
)

// Model describes a single-subgraph TFLite model.
type Model struct {
	OpCodes []OpCode
	Tensors []Tensor
	Inputs  []int32
	Outputs []int32
	Ops     []Op
	// ExtraBuffers appends buffers that no tensor uses (tests of bounds).
	ExtraBuffers [][]byte
}

// OpCode is an operator code. Deprecated is written to
// deprecated_builtin_code and Builtin to builtin_code (skipped when 0).
type OpCode struct {
	Deprecated int8
	Builtin    int32
	Version    int32
	Custom     string // custom_code (for CUSTOM ops)
}

// Code returns the OpCode a current TFLite writer emits for op.
func Code(op int32) OpCode {
	d := int8(127)
	if op < 127 {
		d = int8(op)
	}
	return OpCode{Deprecated: d, Builtin: op, Version: 1}
}

// Tensor is a tensor; Data (raw little-endian) makes it a constant.
type Tensor struct {
	Name  string
	Shape []int32
	Type  int8
	Data  []byte
	Scale []float32 // quantization scale (optional)
	Zero  []int64   // quantization zero point (optional)
}

// Op is an operator with optional builtin options.
type Op struct {
	Opcode  uint32
	Inputs  []int32
	Outputs []int32
	Options []Field // nil: no options table
}

// Field is one scalar or vector field of an options table.
type Field struct {
	Index int
	Int   *int32
	Byte  *int8
	Bool  *bool
	Float *float32
	Ints  []int32
}

// I, B, Z, F and V build fields.
func I(index int, v int32) Field    { return Field{Index: index, Int: &v} }
func B(index int, v int8) Field     { return Field{Index: index, Byte: &v} }
func Z(index int, v bool) Field     { return Field{Index: index, Bool: &v} }
func F(index int, v float32) Field  { return Field{Index: index, Float: &v} }
func V(index int, v ...int32) Field { return Field{Index: index, Ints: v} }

// Build serializes the model as a TFLite flatbuffer with the TFL3 identifier.
func Build(m Model) []byte {
	b := flatbuffers.NewBuilder(1024)
	ints := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	tables := func(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}

	// Buffers: 0 is the empty sentinel, then one per constant tensor.
	bufData := [][]byte{nil}
	bufIndex := make([]uint32, len(m.Tensors))
	for i, t := range m.Tensors {
		if t.Data != nil {
			bufIndex[i] = uint32(len(bufData))
			bufData = append(bufData, t.Data)
		}
	}
	bufData = append(bufData, m.ExtraBuffers...)
	var bufOffs []flatbuffers.UOffsetT
	for _, d := range bufData {
		var v flatbuffers.UOffsetT
		if d != nil {
			v = b.CreateByteVector(d)
		}
		b.StartObject(1)
		if d != nil {
			b.PrependUOffsetTSlot(0, v, 0)
		}
		bufOffs = append(bufOffs, b.EndObject())
	}

	var tensOffs []flatbuffers.UOffsetT
	for i, t := range m.Tensors {
		name := b.CreateString(t.Name)
		shape := ints(t.Shape)
		var quant flatbuffers.UOffsetT
		if len(t.Scale) > 0 {
			b.StartVector(4, len(t.Scale), 4)
			for k := len(t.Scale) - 1; k >= 0; k-- {
				b.PrependFloat32(t.Scale[k])
			}
			sc := b.EndVector(len(t.Scale))
			b.StartVector(8, len(t.Zero), 8)
			for k := len(t.Zero) - 1; k >= 0; k-- {
				b.PrependInt64(t.Zero[k])
			}
			zp := b.EndVector(len(t.Zero))
			b.StartObject(7)
			b.PrependUOffsetTSlot(2, sc, 0)
			b.PrependUOffsetTSlot(3, zp, 0)
			quant = b.EndObject()
		}
		b.StartObject(5)
		b.PrependUOffsetTSlot(0, shape, 0)
		b.PrependInt8Slot(1, t.Type, 0)
		b.PrependUint32Slot(2, bufIndex[i], 0)
		b.PrependUOffsetTSlot(3, name, 0)
		if quant != 0 {
			b.PrependUOffsetTSlot(4, quant, 0)
		}
		tensOffs = append(tensOffs, b.EndObject())
	}

	var opOffs []flatbuffers.UOffsetT
	for _, op := range m.Ops {
		var opts flatbuffers.UOffsetT
		if op.Options != nil {
			vecs := map[int]flatbuffers.UOffsetT{}
			n := 0
			for _, f := range op.Options {
				if f.Ints != nil {
					vecs[f.Index] = ints(f.Ints)
				}
				n = max(n, f.Index+1)
			}
			b.StartObject(n)
			for _, f := range op.Options {
				switch {
				case f.Int != nil:
					b.PrependInt32(*f.Int)
				case f.Byte != nil:
					b.PrependInt8(*f.Byte)
				case f.Bool != nil:
					b.PrependBool(*f.Bool)
				case f.Float != nil:
					b.PrependFloat32(*f.Float)
				case f.Ints != nil:
					b.PrependUOffsetT(vecs[f.Index])
				}
				b.Slot(f.Index)
			}
			opts = b.EndObject()
		}
		in, out := ints(op.Inputs), ints(op.Outputs)
		b.StartObject(5)
		b.PrependUint32Slot(0, op.Opcode, 0)
		b.PrependUOffsetTSlot(1, in, 0)
		b.PrependUOffsetTSlot(2, out, 0)
		if opts != 0 {
			b.PrependByteSlot(3, 1, 0) // union type: any non-zero value
			b.PrependUOffsetTSlot(4, opts, 0)
		}
		opOffs = append(opOffs, b.EndObject())
	}

	tv, iv, ov, opv := tables(tensOffs), ints(m.Inputs), ints(m.Outputs), tables(opOffs)
	sgName := b.CreateString("main")
	b.StartObject(5)
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, iv, 0)
	b.PrependUOffsetTSlot(2, ov, 0)
	b.PrependUOffsetTSlot(3, opv, 0)
	b.PrependUOffsetTSlot(4, sgName, 0)
	sg := b.EndObject()

	var codeOffs []flatbuffers.UOffsetT
	for _, c := range m.OpCodes {
		var custom flatbuffers.UOffsetT
		if c.Custom != "" {
			custom = b.CreateString(c.Custom)
		}
		b.StartObject(4)
		b.PrependInt8Slot(0, c.Deprecated, 0)
		if custom != 0 {
			b.PrependUOffsetTSlot(1, custom, 0)
		}
		b.PrependInt32Slot(2, c.Version, 1)
		b.PrependInt32Slot(3, c.Builtin, 0)
		codeOffs = append(codeOffs, b.EndObject())
	}
	codes, sgs, bufs := tables(codeOffs), tables([]flatbuffers.UOffsetT{sg}), tables(bufOffs)
	desc := b.CreateString("tflitetest")
	b.StartObject(5)
	b.PrependUint32Slot(0, 3, 0)
	b.PrependUOffsetTSlot(1, codes, 0)
	b.PrependUOffsetTSlot(2, sgs, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(4, bufs, 0)
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte("TFL3"))
	return b.FinishedBytes()
}

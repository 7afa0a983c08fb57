package onnxpb

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// DataType is onnx.TensorProto.DataType.
type DataType int32

// Tensor element types.
const (
	Float   DataType = 1
	Uint8   DataType = 2
	Int8    DataType = 3
	Int16   DataType = 5
	Int32   DataType = 6
	Int64   DataType = 7
	Bool    DataType = 9
	Float16 DataType = 10
	Double  DataType = 11
)

// AttrType is onnx.AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Model is an ONNX ModelProto with a single default-domain opset import.
type Model struct {
	IRVersion       int64
	OpsetVersion    int64
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           Graph
	Metadata        [][2]string // metadata_props key/value pairs, in order
}

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
}

// Node is an ONNX NodeProto in the default domain.
type Node struct {
	Name    string
	OpType  string
	Inputs  []string // "" marks an omitted optional input
	Outputs []string
	Attrs   []Attr
}

// Attr is an ONNX AttributeProto.
type Attr struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Tensor is an ONNX TensorProto holding its data as raw little-endian bytes.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType DataType
	Raw      []byte
}

// ValueInfo is an ONNX ValueInfoProto of a tensor type with a static shape.
type ValueInfo struct {
	Name     string
	ElemType DataType
	Shape    []int64
}

// Int is an INT attribute.
func Int(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, I: v} }

// Ints is an INTS attribute.
func Ints(name string, v ...int64) Attr { return Attr{Name: name, Type: AttrInts, Ints: v} }

// Flt is a FLOAT attribute.
func Flt(name string, v float32) Attr { return Attr{Name: name, Type: AttrFloat, F: v} }

// Str is a STRING attribute.
func Str(name, v string) Attr { return Attr{Name: name, Type: AttrString, S: v} }

// FloatTensor builds a FLOAT tensor.
func FloatTensor(name string, dims []int64, v []float32) Tensor {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return Tensor{Name: name, Dims: dims, DataType: Float, Raw: raw}
}

// Int64Tensor builds an INT64 tensor.
func Int64Tensor(name string, dims []int64, v []int64) Tensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return Tensor{Name: name, Dims: dims, DataType: Int64, Raw: raw}
}

// Marshal encodes the model in the protobuf wire format.
func (m *Model) Marshal() []byte {
	var b []byte
	// ModelProto: ir_version=1, producer_name=2, producer_version=3,
	// doc_string=6, graph=7, opset_import=8, metadata_props=14.
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.IRVersion))
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 6, m.DocString)
	b = appendMessage(b, 7, m.Graph.marshal())
	var op []byte
	op = protowire.AppendTag(op, 2, protowire.VarintType)
	op = protowire.AppendVarint(op, uint64(m.OpsetVersion))
	b = appendMessage(b, 8, op)
	for _, kv := range m.Metadata {
		var e []byte
		e = appendString(e, 1, kv[0])
		e = appendString(e, 2, kv[1])
		b = appendMessage(b, 14, e)
	}
	return b
}

func (g *Graph) marshal() []byte {
	// GraphProto: node=1, name=2, initializer=5, input=11, output=12, value_info=13.
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, 1, g.Nodes[i].marshal())
	}
	b = appendString(b, 2, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, 5, g.Initializers[i].marshal())
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.marshal())
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.marshal())
	}
	for _, v := range g.ValueInfo {
		b = appendMessage(b, 13, v.marshal())
	}
	return b
}

func (n *Node) marshal() []byte {
	// NodeProto: input=1, output=2, name=3, op_type=4, attribute=5.
	var b []byte
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, 5, n.Attrs[i].marshal())
	}
	return b
}

func (a *Attr) marshal() []byte {
	// AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, strings=9, type=20.
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, 5, a.T.marshal())
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, 7, p)
	case AttrInts:
		var p []byte
		for _, x := range a.Ints {
			p = protowire.AppendVarint(p, uint64(x))
		}
		b = appendMessage(b, 8, p)
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Type))
	return b
}

func (t *Tensor) marshal() []byte {
	// TensorProto: dims=1 (packed), data_type=2, name=8, raw_data=9.
	var b []byte
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMessage(b, 1, p)
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DataType))
	b = appendString(b, 8, t.Name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendBytes(b, t.Raw)
	return b
}

func (v *ValueInfo) marshal() []byte {
	// ValueInfoProto: name=1, type=2. TypeProto: tensor_type=1.
	// TypeProto.Tensor: elem_type=1, shape=2. TensorShapeProto: dim=1.
	// Dimension: dim_value=1.
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		dim = protowire.AppendTag(dim, 1, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(d))
		shape = appendMessage(shape, 1, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.ElemType))
	tt = appendMessage(tt, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tt)
	var b []byte
	b = appendString(b, 1, v.Name)
	b = appendMessage(b, 2, typ)
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

package tflite2onnx_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/internal/tflite"
	"livegate.dev/models/internal/tflite/tflitetest"
	"livegate.dev/models/ort"
	"livegate.dev/models/tflite2onnx"
)

// Op-level tests: tiny TFLite graphs are built in Go, converted, run in ONNX
// Runtime and compared with plain-Go implementations of TFLite's semantics.

// graph builds a tiny single-subgraph TFLite model.
type graph struct {
	m     tflitetest.Model
	codes map[tflite.BuiltinOp]uint32
}

func newGraph() *graph { return &graph{codes: map[tflite.BuiltinOp]uint32{}} }

func (g *graph) tensor(name string, shape []int32, typ tflite.TensorType, data []byte) int32 {
	g.m.Tensors = append(g.m.Tensors, tflitetest.Tensor{Name: name, Shape: shape, Type: int8(typ), Data: data})
	return int32(len(g.m.Tensors) - 1)
}

// input adds a float32 graph input.
func (g *graph) input(name string, shape ...int32) int32 {
	t := g.tensor(name, shape, tflite.Float32, nil)
	g.m.Inputs = append(g.m.Inputs, t)
	return t
}

// v adds a float32 intermediate (or output) tensor.
func (g *graph) v(name string, shape ...int32) int32 {
	return g.tensor(name, shape, tflite.Float32, nil)
}

func (g *graph) constF(name string, shape []int32, data []float32) int32 {
	b := make([]byte, 4*len(data))
	for i, f := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return g.tensor(name, shape, tflite.Float32, b)
}

func (g *graph) constI(name string, shape []int32, data ...int32) int32 {
	b := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return g.tensor(name, shape, tflite.Int32, b)
}

func (g *graph) op(code tflite.BuiltinOp, in []int32, out []int32, opts ...tflitetest.Field) {
	idx, ok := g.codes[code]
	if !ok {
		idx = uint32(len(g.m.OpCodes))
		g.codes[code] = idx
		g.m.OpCodes = append(g.m.OpCodes, tflitetest.Code(int32(code)))
	}
	if opts == nil {
		opts = []tflitetest.Field{}
	}
	g.m.Ops = append(g.m.Ops, tflitetest.Op{Opcode: idx, Inputs: in, Outputs: out, Options: opts})
}

func (g *graph) output(ts ...int32) { g.m.Outputs = append(g.m.Outputs, ts...) }

func (g *graph) build() []byte { return tflitetest.Build(g.m) }

// runConverted converts a TFLite model and runs it in ONNX Runtime.
func runConverted(t *testing.T, name string, model []byte, inputs ...[]float32) [][]float32 {
	t.Helper()
	onnx, err := tflite2onnx.Convert(name, model)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	path := filepath.Join(t.TempDir(), name+".onnx")
	if err := os.WriteFile(path, onnx, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ort.Load(path, nil, nil, ort.Options{})
	if err != nil {
		t.Fatalf("load converted model: %v", err)
	}
	defer m.Close()
	for i, in := range inputs {
		if len(m.Input(i)) != len(in) {
			t.Fatalf("input %d holds %d values, test gives %d", i, len(m.Input(i)), len(in))
		}
		copy(m.Input(i), in)
	}
	if err := m.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	out := make([][]float32, len(m.Outputs()))
	for i := range out {
		out[i] = append([]float32(nil), m.Output(i)...)
	}
	return out
}

func randF(r *rand.Rand, n int, lo, hi float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float32()
	}
	return out
}

// tensor4 is an NHWC float tensor for the reference implementations.
type tensor4 struct {
	n, h, w, c int
	d          []float32
}

func (x tensor4) at(n, h, w, c int) float32 { return x.d[((n*x.h+h)*x.w+w)*x.c+c] }

// refPads is TFLite's padding for one axis (ComputePaddingHeightWidth).
func refPads(in, k, s, d int, same bool) (out, before int) {
	eff := (k-1)*d + 1
	if !same {
		return (in-eff)/s + 1, 0
	}
	out = (in + s - 1) / s
	return out, max(0, ((out-1)*s+eff-in)/2)
}

func applyAct(act int8, v float32) float32 {
	switch act {
	case 1:
		return max(v, 0)
	case 2:
		return min(max(v, -1), 1)
	case 3:
		return min(max(v, 0), 6)
	case 4:
		return float32(math.Tanh(float64(v)))
	}
	return v
}

// refConv is TFLite CONV_2D (weights OHWI) or, with mult > 0,
// DEPTHWISE_CONV_2D (weights 1HW(C·mult)).
func refConv(x tensor4, w []float32, o, kh, kw int, bias []float32, s, d int, same bool, mult int, act int8) tensor4 {
	oh, pt := refPads(x.h, kh, s, d, same)
	ow, pl := refPads(x.w, kw, s, d, same)
	y := tensor4{n: x.n, h: oh, w: ow, c: o, d: make([]float32, x.n*oh*ow*o)}
	for n := 0; n < x.n; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for oc := 0; oc < o; oc++ {
					sum := bias[oc]
					for a := 0; a < kh; a++ {
						for b := 0; b < kw; b++ {
							yy, xx := i*s-pt+a*d, j*s-pl+b*d
							if yy < 0 || yy >= x.h || xx < 0 || xx >= x.w {
								continue
							}
							if mult > 0 {
								sum += x.at(n, yy, xx, oc/mult) * w[(a*kw+b)*o+oc]
								continue
							}
							for ic := 0; ic < x.c; ic++ {
								sum += x.at(n, yy, xx, ic) * w[((oc*kh+a)*kw+b)*x.c+ic]
							}
						}
					}
					y.d[((n*oh+i)*ow+j)*o+oc] = applyAct(act, sum)
				}
			}
		}
	}
	return y
}

// refPool is TFLite MAX_POOL_2D / AVERAGE_POOL_2D (average over in-image pixels).
func refPool(x tensor4, k, s int, same, maxPool bool) tensor4 {
	oh, pt := refPads(x.h, k, s, 1, same)
	ow, pl := refPads(x.w, k, s, 1, same)
	y := tensor4{n: x.n, h: oh, w: ow, c: x.c, d: make([]float32, x.n*oh*ow*x.c)}
	for n := 0; n < x.n; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for c := 0; c < x.c; c++ {
					acc, cnt := float32(0), 0
					if maxPool {
						acc = float32(math.Inf(-1))
					}
					for a := 0; a < k; a++ {
						for b := 0; b < k; b++ {
							yy, xx := i*s-pt+a, j*s-pl+b
							if yy < 0 || yy >= x.h || xx < 0 || xx >= x.w {
								continue
							}
							v := x.at(n, yy, xx, c)
							if maxPool {
								acc = max(acc, v)
							} else {
								acc += v
							}
							cnt++
						}
					}
					if !maxPool {
						acc /= float32(cnt)
					}
					y.d[((n*oh+i)*ow+j)*x.c+c] = acc
				}
			}
		}
	}
	return y
}

// refResize is TFLite RESIZE_BILINEAR.
func refResize(x tensor4, oh, ow int, align, half bool) tensor4 {
	scale := func(in, out int) float64 {
		if align && out > 1 {
			return float64(in-1) / float64(out-1)
		}
		return float64(in) / float64(out)
	}
	sh, sw := scale(x.h, oh), scale(x.w, ow)
	src := func(o int, s float64) float64 {
		if half {
			return (float64(o)+0.5)*s - 0.5
		}
		return float64(o) * s
	}
	y := tensor4{n: x.n, h: oh, w: ow, c: x.c, d: make([]float32, x.n*oh*ow*x.c)}
	for n := 0; n < x.n; n++ {
		for i := 0; i < oh; i++ {
			fy := src(i, sh)
			y0 := max(int(math.Floor(fy)), 0)
			y1 := min(int(math.Ceil(fy)), x.h-1)
			dy := float32(fy - math.Floor(fy))
			for j := 0; j < ow; j++ {
				fx := src(j, sw)
				x0 := max(int(math.Floor(fx)), 0)
				x1 := min(int(math.Ceil(fx)), x.w-1)
				dx := float32(fx - math.Floor(fx))
				for c := 0; c < x.c; c++ {
					top := x.at(n, y0, x0, c) + (x.at(n, y0, x1, c)-x.at(n, y0, x0, c))*dx
					bot := x.at(n, y1, x0, c) + (x.at(n, y1, x1, c)-x.at(n, y1, x0, c))*dx
					y.d[((n*oh+i)*ow+j)*x.c+c] = top + (bot-top)*dy
				}
			}
		}
	}
	return y
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(d) {
			t.Fatalf("%s: value %d = %g, want %g", what, i, got[i], want[i])
		}
	}
}

type opCase struct {
	name  string
	build func(r *rand.Rand) (model []byte, inputs, want [][]float32)
}

var opCases = []opCase{
	{"conv SAME stride 2 RELU6", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 5, 6, 3, randF(r, 90, -2, 2)}
		w, b := randF(r, 4*3*3*3, -1, 1), randF(r, 4, -1, 1)
		in := g.input("x", 1, 5, 6, 3)
		out := g.v("y", 1, 3, 3, 4)
		g.op(tflite.OpConv2D, []int32{in, g.constF("w", []int32{4, 3, 3, 3}, w), g.constF("b", []int32{4}, b)}, []int32{out},
			tflitetest.B(0, 0), tflitetest.I(1, 2), tflitetest.I(2, 2), tflitetest.B(3, 3))
		g.output(out)
		return g.build(), [][]float32{x.d}, [][]float32{refConv(x, w, 4, 3, 3, b, 2, 1, true, 0, 3).d}
	}},
	{"conv VALID dilation 2 TANH, no bias", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 7, 7, 2, randF(r, 98, -1, 1)}
		w := randF(r, 3*3*3*2, -1, 1)
		in := g.input("x", 1, 7, 7, 2)
		out := g.v("y", 1, 3, 3, 3)
		g.op(tflite.OpConv2D, []int32{in, g.constF("w", []int32{3, 3, 3, 2}, w), -1}, []int32{out},
			tflitetest.B(0, 1), tflitetest.I(1, 1), tflitetest.I(2, 1), tflitetest.B(3, 4), tflitetest.I(4, 2), tflitetest.I(5, 2))
		g.output(out)
		return g.build(), [][]float32{x.d}, [][]float32{refConv(x, w, 3, 3, 3, make([]float32, 3), 1, 2, false, 0, 4).d}
	}},
	{"depthwise multiplier 2 SAME stride 2 RELU_N1_TO_1", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 6, 5, 2, randF(r, 60, -2, 2)}
		w, b := randF(r, 3*3*4, -1, 1), randF(r, 4, -0.5, 0.5)
		in := g.input("x", 1, 6, 5, 2)
		out := g.v("y", 1, 3, 3, 4)
		g.op(tflite.OpDepthwiseConv2D, []int32{in, g.constF("w", []int32{1, 3, 3, 4}, w), g.constF("b", []int32{4}, b)}, []int32{out},
			tflitetest.B(0, 0), tflitetest.I(1, 2), tflitetest.I(2, 2), tflitetest.I(3, 2), tflitetest.B(4, 2))
		g.output(out)
		return g.build(), [][]float32{x.d}, [][]float32{refConv(x, w, 4, 3, 3, b, 2, 1, true, 2, 2).d}
	}},
	{"max and average pool SAME 3x3 stride 2", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 5, 6, 2, randF(r, 60, -2, 2)}
		in := g.input("x", 1, 5, 6, 2)
		mx, av := g.v("max", 1, 3, 3, 2), g.v("avg", 1, 3, 3, 2)
		opts := []tflitetest.Field{tflitetest.B(0, 0), tflitetest.I(1, 2), tflitetest.I(2, 2), tflitetest.I(3, 3), tflitetest.I(4, 3)}
		g.op(tflite.OpMaxPool2D, []int32{in}, []int32{mx}, opts...)
		g.op(tflite.OpAveragePool2D, []int32{in}, []int32{av}, opts...)
		g.output(mx, av)
		return g.build(), [][]float32{x.d}, [][]float32{refPool(x, 3, 2, true, true).d, refPool(x, 3, 2, true, false).d}
	}},
	{"NCHW chain: conv, PRELU, ADD/MUL/SUB with broadcast constants, PAD, CONCAT, RESHAPE", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 3, 4, 2, randF(r, 24, -2, 2)}
		w := randF(r, 3*2, -1, 1)
		alpha, addC, mulC := randF(r, 3, 0, 0.5), randF(r, 3, -1, 1), randF(r, 3, 0.5, 2)
		in := g.input("x", 1, 3, 4, 2)
		c1, p, a, m, s := g.v("c1", 1, 3, 4, 3), g.v("p", 1, 3, 4, 3), g.v("a", 1, 3, 4, 3), g.v("m", 1, 3, 4, 3), g.v("s", 1, 3, 4, 3)
		pad, cat, flat := g.v("pad", 1, 4, 6, 3), g.v("cat", 1, 4, 6, 6), g.v("flat", 1, 144)
		g.op(tflite.OpConv2D, []int32{in, g.constF("w", []int32{3, 1, 1, 2}, w), -1}, []int32{c1}, tflitetest.B(0, 1), tflitetest.I(1, 1), tflitetest.I(2, 1))
		g.op(tflite.OpPrelu, []int32{c1, g.constF("alpha", []int32{1, 1, 3}, alpha)}, []int32{p})
		g.op(tflite.OpAdd, []int32{p, g.constF("addc", []int32{3}, addC)}, []int32{a})
		g.op(tflite.OpMul, []int32{g.constF("mulc", []int32{1, 1, 3}, mulC), a}, []int32{m})
		g.op(tflite.OpSub, []int32{m, c1}, []int32{s}, tflitetest.B(0, 1))
		g.op(tflite.OpPad, []int32{s, g.constI("paddings", []int32{4, 2}, 0, 0, 1, 0, 0, 2, 0, 0)}, []int32{pad})
		g.op(tflite.OpConcatenation, []int32{pad, pad}, []int32{cat}, tflitetest.I(0, -1))
		g.op(tflite.OpReshape, []int32{cat, g.constI("shape", []int32{2}, 1, 144)}, []int32{flat})
		g.output(flat)

		conv := refConv(x, w, 3, 1, 1, make([]float32, 3), 1, 1, false, 0, 0)
		sv := make([]float32, len(conv.d))
		for i, v := range conv.d {
			c := i % 3
			pv := v
			if v < 0 {
				pv = alpha[c] * v
			}
			sv[i] = max(mulC[c]*(pv+addC[c])-v, 0)
		}
		var want []float32
		for h := 0; h < 4; h++ {
			for wi := 0; wi < 6; wi++ {
				var px []float32
				if h >= 1 && wi < 4 {
					base := ((h-1)*4 + wi) * 3
					px = sv[base : base+3]
				} else {
					px = []float32{0, 0, 0}
				}
				want = append(want, px...)
				want = append(want, px...)
			}
		}
		return g.build(), [][]float32{x.d}, [][]float32{want}
	}},
	{"RESIZE_BILINEAR align_corners, half_pixel_centers and neither", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := tensor4{1, 3, 4, 2, randF(r, 24, -2, 2)}
		in := g.input("x", 1, 3, 4, 2)
		size := g.constI("size", []int32{2}, 5, 7)
		var want [][]float32
		for k, mode := range [][2]bool{{true, false}, {false, true}, {false, false}} {
			y := g.v(string(rune('a'+k)), 1, 5, 7, 2)
			g.op(tflite.OpResizeBilinear, []int32{in, size}, []int32{y}, tflitetest.Z(2, mode[0]), tflitetest.Z(3, mode[1]))
			g.output(y)
			want = append(want, refResize(x, 5, 7, mode[0], mode[1]).d)
		}
		return g.build(), [][]float32{x.d}, want
	}},
	{"FULLY_CONNECTED flattening NHWC with RELU, and keep_num_dims", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x1, x2 := randF(r, 12, -1, 1), randF(r, 30, -1, 1)
		w1, b1, w2 := randF(r, 4*12, -1, 1), randF(r, 4, -1, 1), randF(r, 4*5, -1, 1)
		in1, in2 := g.input("x1", 1, 2, 2, 3), g.input("x2", 2, 3, 5)
		y1, y2 := g.v("y1", 1, 4), g.v("y2", 2, 3, 4)
		g.op(tflite.OpFullyConnected, []int32{in1, g.constF("w1", []int32{4, 12}, w1), g.constF("b1", []int32{4}, b1)}, []int32{y1}, tflitetest.B(0, 1))
		g.op(tflite.OpFullyConnected, []int32{in2, g.constF("w2", []int32{4, 5}, w2), -1}, []int32{y2}, tflitetest.Z(2, true))
		g.output(y1, y2)
		want1 := make([]float32, 4)
		for o := range want1 {
			s := b1[o]
			for k := 0; k < 12; k++ {
				s += x1[k] * w1[o*12+k]
			}
			want1[o] = max(s, 0)
		}
		want2 := make([]float32, 24)
		for row := 0; row < 6; row++ {
			for o := 0; o < 4; o++ {
				var s float32
				for k := 0; k < 5; k++ {
					s += x2[row*5+k] * w2[o*5+k]
				}
				want2[row*4+o] = s
			}
		}
		return g.build(), [][]float32{x1, x2}, [][]float32{want1, want2}
	}},
	{"unary ops and SOFTMAX with beta", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := randF(r, 10, -8, 8)
		in := g.input("x", 2, 5)
		type u struct {
			op   tflite.BuiltinOp
			opts []tflitetest.Field
			f    func(float64) float64
		}
		ops := []u{
			{tflite.OpLogistic, nil, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
			{tflite.OpTanh, nil, math.Tanh},
			{tflite.OpRelu, nil, func(v float64) float64 { return max(v, 0) }},
			{tflite.OpRelu6, nil, func(v float64) float64 { return min(max(v, 0), 6) }},
			{tflite.OpReluN1To1, nil, func(v float64) float64 { return min(max(v, -1), 1) }},
			{tflite.OpAbs, nil, math.Abs},
			{tflite.OpExp, nil, math.Exp},
			{tflite.OpNeg, nil, func(v float64) float64 { return -v }},
			{tflite.OpSqrt, nil, func(v float64) float64 { return math.Sqrt(math.Abs(v)) }},
			{tflite.OpLeakyRelu, []tflitetest.Field{tflitetest.F(0, 0.1)}, func(v float64) float64 {
				if v < 0 {
					return float64(float32(0.1)) * v
				}
				return v
			}},
		}
		var want [][]float32
		abs := g.v("abs_for_sqrt", 2, 5)
		g.op(tflite.OpAbs, []int32{in}, []int32{abs})
		for k, o := range ops {
			y := g.v(string(rune('a'+k)), 2, 5)
			src := in
			if o.op == tflite.OpSqrt {
				src = abs
			}
			g.op(o.op, []int32{src}, []int32{y}, o.opts...)
			g.output(y)
			w := make([]float32, len(x))
			for i, v := range x {
				w[i] = float32(o.f(float64(v)))
			}
			want = append(want, w)
		}
		sm := g.v("softmax", 2, 5)
		g.op(tflite.OpSoftmax, []int32{in}, []int32{sm}, tflitetest.F(0, 0.5))
		g.output(sm)
		w := make([]float32, 10)
		for row := 0; row < 2; row++ {
			var sum float64
			for k := 0; k < 5; k++ {
				sum += math.Exp(0.5 * float64(x[row*5+k]))
			}
			for k := 0; k < 5; k++ {
				w[row*5+k] = float32(math.Exp(0.5*float64(x[row*5+k])) / sum)
			}
		}
		want = append(want, w)
		return g.build(), [][]float32{x}, want
	}},
	{"STRIDED_SLICE reverse with end mask, and shrink_axis", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := make([]float32, 12)
		for i := range x {
			x[i] = float32(i)
		}
		in := g.input("x", 3, 4)
		rev, col := g.v("rev", 2, 4), g.v("col", 3)
		g.op(tflite.OpStridedSlice, []int32{in, g.constI("b1", []int32{2}, 1, -1), g.constI("e1", []int32{2}, 3, 0), g.constI("s1", []int32{2}, 1, -1)},
			[]int32{rev}, tflitetest.I(1, 2))
		g.op(tflite.OpStridedSlice, []int32{in, g.constI("b2", []int32{2}, 0, 2), g.constI("e2", []int32{2}, 3, 3), g.constI("s2", []int32{2}, 1, 1)},
			[]int32{col}, tflitetest.I(4, 2))
		g.output(rev, col)
		return g.build(), [][]float32{x}, [][]float32{{7, 6, 5, 4, 11, 10, 9, 8}, {2, 6, 10}}
	}},
	{"comparisons cast to float, MAXIMUM, MINIMUM, DIV", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := []float32{-2, 0.5, 1, 3}
		in := g.input("x", 1, 4)
		th := g.constF("th", []int32{}, []float32{1})
		lb, gb := g.tensor("lb", []int32{1, 4}, tflite.Bool, nil), g.tensor("gb", []int32{1, 4}, tflite.Bool, nil)
		lf, gf, mx, dv := g.v("lf", 1, 4), g.v("gf", 1, 4), g.v("mx", 1, 4), g.v("dv", 1, 4)
		g.op(tflite.OpLess, []int32{in, th}, []int32{lb})
		g.op(tflite.OpGreaterEqual, []int32{in, th}, []int32{gb})
		g.op(tflite.OpCast, []int32{lb}, []int32{lf})
		g.op(tflite.OpCast, []int32{gb}, []int32{gf})
		g.op(tflite.OpMaximum, []int32{in, th}, []int32{mx})
		g.op(tflite.OpDiv, []int32{in, g.constF("two", []int32{1}, []float32{2})}, []int32{dv})
		g.output(lf, gf, mx, dv)
		want := [][]float32{{1, 1, 0, 0}, {0, 0, 1, 1}, {1, 1, 1, 3}, {-1, 0.25, 0.5, 1.5}}
		for k, c := range []struct {
			op   tflite.BuiltinOp
			want []float32
		}{
			{tflite.OpGreater, []float32{0, 0, 0, 1}},
			{tflite.OpLessEqual, []float32{1, 1, 1, 0}},
			{tflite.OpEqual, []float32{0, 0, 1, 0}},
		} {
			b := g.tensor(string(rune('p'+k)), []int32{1, 4}, tflite.Bool, nil)
			f := g.v(string(rune('u'+k)), 1, 4)
			g.op(c.op, []int32{in, th}, []int32{b})
			g.op(tflite.OpCast, []int32{b}, []int32{f})
			g.output(f)
			want = append(want, c.want)
		}
		mn := g.v("mn", 1, 4)
		g.op(tflite.OpMinimum, []int32{in, th}, []int32{mn})
		g.output(mn)
		want = append(want, []float32{-2, 0.5, 1, 1})
		return g.build(), [][]float32{x}, want
	}},
	{"DEQUANTIZE of fp16 and int8 constants folded", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		in := g.input("x", 1, 3)
		h := make([]byte, 6)
		for i, bits := range []uint16{0x3c00, 0xc000, 0x3800} { // 1, -2, 0.5
			binary.LittleEndian.PutUint16(h[2*i:], bits)
		}
		hc := g.tensor("h16", []int32{3}, tflite.Float16, h)
		g.m.Tensors = append(g.m.Tensors, tflitetest.Tensor{Name: "q8", Shape: []int32{3}, Type: int8(tflite.Int8),
			Data: []byte{4, 0xfe, 0}, Scale: []float32{0.25}, Zero: []int64{-2}})
		qc := int32(len(g.m.Tensors) - 1)
		hf, qf, s1, s2 := g.v("hf", 3), g.v("qf", 3), g.v("s1", 1, 3), g.v("s2", 1, 3)
		g.op(tflite.OpDequantize, []int32{hc}, []int32{hf})
		g.op(tflite.OpDequantize, []int32{qc}, []int32{qf})
		g.op(tflite.OpAdd, []int32{in, hf}, []int32{s1})
		g.op(tflite.OpMul, []int32{s1, qf}, []int32{s2})
		g.output(s2)
		x := []float32{1, 2, 3}
		// q8 → 0.25·(q+2) = 1.5, 0, 0.5
		return g.build(), [][]float32{x}, [][]float32{{(1 + 1) * 1.5, (2 - 2) * 0, (3 + 0.5) * 0.5}}
	}},
}

func init() {
	opCases = append(opCases, opCase{"SQUEEZE, EXPAND_DIMS and PADV2 with a value", func(r *rand.Rand) ([]byte, [][]float32, [][]float32) {
		g := newGraph()
		x := []float32{1, 2, 3}
		in := g.input("x", 1, 1, 3)
		sq, ex, pd := g.v("sq", 3), g.v("ex", 3, 1), g.v("pd", 5, 1)
		g.op(tflite.OpSqueeze, []int32{in}, []int32{sq}, tflitetest.V(0, 0, 1))
		g.op(tflite.OpExpandDims, []int32{sq, g.constI("axis", []int32{}, 1)}, []int32{ex})
		g.op(tflite.OpPadv2, []int32{ex, g.constI("pads", []int32{2, 2}, 1, 1, 0, 0), g.constF("val", []int32{}, []float32{-7})}, []int32{pd})
		g.output(sq, pd)
		return g.build(), [][]float32{x}, [][]float32{{1, 2, 3}, {-7, 1, 2, 3, -7}}
	}})
}

func TestOps(t *testing.T) {
	for i, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i+1), 7))
			model, inputs, want := c.build(r)
			got := runConverted(t, "opcase", model, inputs...)
			if len(got) != len(want) {
				t.Fatalf("%d outputs, want %d", len(got), len(want))
			}
			for k := range want {
				assertClose(t, "output "+string(rune('0'+k)), got[k], want[k], 1e-5)
			}
		})
	}
}

func TestUnsupportedOpNamesOpAndModel(t *testing.T) {
	cases := []struct {
		op     tflite.BuiltinOp
		custom string
		want   string
	}{
		{op: tflite.OpSplit, want: "SPLIT"},
		{op: tflite.OpCustom, custom: "MyOp", want: "CUSTOM(MyOp)"},
		{op: 200, want: "BUILTIN_OP_200"},
	}
	for _, c := range cases {
		g := newGraph()
		in := g.input("x", 1, 4)
		y := g.v("y", 1, 4)
		g.op(c.op, []int32{in}, []int32{y})
		g.output(y)
		g.m.OpCodes[0].Custom = c.custom
		model := g.build()
		_, err := tflite2onnx.Convert("weird_model", model)
		var uerr *tflite2onnx.UnsupportedOpError
		if !errors.As(err, &uerr) {
			t.Fatalf("%s: err = %v, want UnsupportedOpError", c.want, err)
		}
		if uerr.Op != c.want || uerr.Model != "weird_model" || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "weird_model") {
			t.Fatalf("err = %v (%+v), want op %s and the model named", err, uerr, c.want)
		}
	}
}

func TestConvertRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"onnx bytes", []byte("\x08\x08\x12\x04test")},
		{"truncated", newGraphSample()[:40]},
	}
	for _, c := range cases {
		if _, err := tflite2onnx.Convert("bad", c.data); err == nil || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("%s: err = %v, want an error naming the model", c.name, err)
		}
	}
}

func newGraphSample() []byte {
	g := newGraph()
	in := g.input("x", 1, 2)
	y := g.v("y", 1, 2)
	g.op(tflite.OpRelu, []int32{in}, []int32{y})
	g.output(y)
	return g.build()
}

func TestConvertDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	model, _, _ := opCases[4].build(r)
	a, err := tflite2onnx.Convert("det", model)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		b, err := tflite2onnx.Convert("det", model)
		if err != nil || string(a) != string(b) {
			t.Fatalf("conversion %d differs (err %v)", i, err)
		}
	}
}

// Randomly corrupted models give an error or a model, never a panic.
func TestConvertCorruptNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	good, _, _ := opCases[4].build(r)
	for i := 0; i < 300; i++ {
		b := append([]byte(nil), good...)
		for k := 0; k < 1+r.IntN(3); k++ {
			b[8+r.IntN(len(b)-8)] = byte(r.Uint32())
		}
		_, _ = tflite2onnx.Convert("corrupt", b)
	}
}

package tflite2onnx

import (
	"fmt"
	"math"

	"livegate.dev/models/internal/onnxpb"
	"livegate.dev/models/internal/tflite"
)

type handler func(c *conv, op *tflite.Operator, code tflite.BuiltinOp) error

// handlers maps each supported TFLite builtin to its conversion.
var handlers map[tflite.BuiltinOp]handler

func init() {
	handlers = map[tflite.BuiltinOp]handler{
		tflite.OpConv2D:          convConv2D,
		tflite.OpDepthwiseConv2D: convDepthwise,
		tflite.OpMaxPool2D:       convPool("MaxPool"),
		tflite.OpAveragePool2D:   convPool("AveragePool"),
		tflite.OpResizeBilinear:  convResizeBilinear,
		tflite.OpAdd:             convBinary("Add", true),
		tflite.OpSub:             convBinary("Sub", true),
		tflite.OpMul:             convBinary("Mul", true),
		tflite.OpDiv:             convBinary("Div", true),
		tflite.OpMaximum:         convBinary("Max", false),
		tflite.OpMinimum:         convBinary("Min", false),
		tflite.OpLess:            convBinary("Less", false),
		tflite.OpLessEqual:       convBinary("LessOrEqual", false),
		tflite.OpGreater:         convBinary("Greater", false),
		tflite.OpGreaterEqual:    convBinary("GreaterOrEqual", false),
		tflite.OpEqual:           convBinary("Equal", false),
		tflite.OpAbs:             convUnary("Abs"),
		tflite.OpRelu:            convUnary("Relu"),
		tflite.OpRelu6:           convUnary("Relu6"),
		tflite.OpReluN1To1:       convUnary("ReluN1To1"),
		tflite.OpLogistic:        convUnary("Sigmoid"),
		tflite.OpTanh:            convUnary("Tanh"),
		tflite.OpExp:             convUnary("Exp"),
		tflite.OpNeg:             convUnary("Neg"),
		tflite.OpSqrt:            convUnary("Sqrt"),
		tflite.OpLeakyRelu:       convUnary("LeakyRelu"),
		tflite.OpCast:            convUnary("Cast"),
		tflite.OpPrelu:           convPRelu,
		tflite.OpPad:             convPad,
		tflite.OpPadv2:           convPad,
		tflite.OpReshape:         convReshape,
		tflite.OpSqueeze:         convReshape,
		tflite.OpExpandDims:      convReshape,
		tflite.OpConcatenation:   convConcat,
		tflite.OpDequantize:      convDequantize,
		tflite.OpStridedSlice:    convStridedSlice,
		tflite.OpFullyConnected:  convFullyConnected,
		tflite.OpSoftmax:         convSoftmax,
	}
}

// Fused activation function codes (schema enum ActivationFunctionType).
const (
	actNone      = 0
	actRelu      = 1
	actReluN1To1 = 2
	actRelu6     = 3
	actTanh      = 4
	actSignBit   = 5
)

// input returns the tensor index of operator input k, or -1 when absent.
func input(op *tflite.Operator, k int) int {
	if k >= len(op.Inputs) {
		return -1
	}
	return int(op.Inputs[k])
}

func needInputs(op *tflite.Operator, n int) error {
	if len(op.Inputs) < n || len(op.Outputs) < 1 {
		return fmt.Errorf("needs %d inputs and an output, has %d and %d", n, len(op.Inputs), len(op.Outputs))
	}
	for k := 0; k < n; k++ {
		if op.Inputs[k] < 0 {
			return fmt.Errorf("input %d is missing", k)
		}
	}
	return nil
}

// activation emits y = act(x).
func (c *conv) activation(act int8, x, y string) error {
	switch act {
	case actRelu:
		c.addNode("Relu", []string{x}, []string{y})
	case actRelu6:
		c.addNode("Clip", []string{x, c.scalarF(0), c.scalarF(6)}, []string{y})
	case actReluN1To1:
		c.addNode("Clip", []string{x, c.scalarF(-1), c.scalarF(1)}, []string{y})
	case actTanh:
		c.addNode("Tanh", []string{x}, []string{y})
	default:
		return fmt.Errorf("fused activation %d: %w", act, ErrUnsupported)
	}
	return nil
}

// withAct lets build write the op's result, then applies the fused
// activation, defining output tensor t in the given layout.
func (c *conv) withAct(act int8, t int, nchw bool, build func(out string)) error {
	if act == actNone {
		build(c.define(t, nchw))
		return nil
	}
	if act < actRelu || act > actTanh {
		return fmt.Errorf("fused activation %d: %w", act, ErrUnsupported)
	}
	tmp := c.fresh(c.names[t] + "_preact")
	build(tmp)
	return c.activation(act, tmp, c.define(t, nchw))
}

// samePads returns TFLite's padding before and after one spatial axis: SAME
// pads so that out = ceil(in/stride), putting the odd pixel after; VALID
// pads nothing.
func samePads(in, k, stride, dilation int, same bool) (before, after int) {
	if !same {
		return 0, 0
	}
	out := (in + stride - 1) / stride
	eff := (k-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return total / 2, total - total/2
}

// spatial holds the attributes shared by convolutions and pools.
type spatial struct {
	kh, kw, sh, sw, dh, dw int
	same                   bool
}

// attrs returns ONNX kernel_shape, strides, pads (and dilations) for an
// NHWC input of height h and width w.
func (s spatial) attrs(h, w int, withDilation bool) []onnxpb.Attr {
	t, b := samePads(h, s.kh, s.sh, s.dh, s.same)
	l, r := samePads(w, s.kw, s.sw, s.dw, s.same)
	a := []onnxpb.Attr{
		onnxpb.Ints("kernel_shape", int64(s.kh), int64(s.kw)),
		onnxpb.Ints("strides", int64(s.sh), int64(s.sw)),
		onnxpb.Ints("pads", int64(t), int64(l), int64(b), int64(r)),
	}
	if withDilation {
		a = append(a, onnxpb.Ints("dilations", int64(s.dh), int64(s.dw)))
	}
	return a
}

func atLeast1(v int32) int {
	if v < 1 {
		return 1
	}
	return int(v)
}

func convConv2D(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, w, b, y := input(op, 0), input(op, 1), input(op, 2), int(op.Outputs[0])
	wc, ok := c.consts[w]
	if !ok || !wc.isFloat() || len(wc.shape) != 4 {
		return fmt.Errorf("weight %q must be a constant 4-D float tensor: %w", c.tensor(w).Name, ErrUnsupported)
	}
	xs := c.shape(x)
	if len(xs) != 4 {
		return fmt.Errorf("input of rank %d: %w", len(xs), ErrUnsupported)
	}
	o := op.Options
	s := spatial{
		kh: wc.shape[1], kw: wc.shape[2],
		sw: atLeast1(o.Int(1, 1)), sh: atLeast1(o.Int(2, 1)),
		dw: atLeast1(o.Int(4, 1)), dh: atLeast1(o.Int(5, 1)),
		same: o.Byte(0, 0) == 0,
	}
	cin := xs[3]
	if wc.shape[3] == 0 || cin%wc.shape[3] != 0 {
		return fmt.Errorf("input channels %d not a multiple of weight channels %d", cin, wc.shape[3])
	}
	group := cin / wc.shape[3]
	wn := c.cached(fmt.Sprintf("oihw_%d", w), func() string {
		return c.initializer(c.names[w]+"_oihw", onnxpb.FloatTensor("", dims64i(permute(wc.shape, perm04)), transpose(wc.f, wc.shape, perm04)))
	})
	xn, err := c.value(x, true)
	if err != nil {
		return err
	}
	ins := []string{xn, wn}
	if b >= 0 {
		bn, err := c.value(b, false)
		if err != nil {
			return err
		}
		ins = append(ins, bn)
	}
	attrs := append(s.attrs(xs[1], xs[2], true), onnxpb.Int("group", int64(group)))
	return c.withAct(o.Byte(3, 0), y, true, func(out string) {
		c.addNode("Conv", ins, []string{out}, attrs...)
	})
}

func convDepthwise(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, w, b, y := input(op, 0), input(op, 1), input(op, 2), int(op.Outputs[0])
	wc, ok := c.consts[w]
	if !ok || !wc.isFloat() || len(wc.shape) != 4 || wc.shape[0] != 1 {
		return fmt.Errorf("weight %q must be a constant float tensor of shape [1,H,W,C·M]: %w", c.tensor(w).Name, ErrUnsupported)
	}
	xs := c.shape(x)
	if len(xs) != 4 {
		return fmt.Errorf("input of rank %d: %w", len(xs), ErrUnsupported)
	}
	o := op.Options
	s := spatial{
		kh: wc.shape[1], kw: wc.shape[2],
		sw: atLeast1(o.Int(1, 1)), sh: atLeast1(o.Int(2, 1)),
		dw: atLeast1(o.Int(5, 1)), dh: atLeast1(o.Int(6, 1)),
		same: o.Byte(0, 0) == 0,
	}
	cin, cm := xs[3], wc.shape[3]
	if cin == 0 || cm%cin != 0 {
		return fmt.Errorf("weight channels %d not a multiple of input channels %d", cm, cin)
	}
	// [1,KH,KW,C·M] → [C·M,1,KH,KW]: output channel o reads input channel o/M,
	// which is exactly ONNX's grouping with group = C.
	wn := c.cached(fmt.Sprintf("dw_%d", w), func() string {
		perm := []int{3, 0, 1, 2}
		return c.initializer(c.names[w]+"_m1hw", onnxpb.FloatTensor("", dims64i(permute(wc.shape, perm)), transpose(wc.f, wc.shape, perm)))
	})
	xn, err := c.value(x, true)
	if err != nil {
		return err
	}
	ins := []string{xn, wn}
	if b >= 0 {
		bn, err := c.value(b, false)
		if err != nil {
			return err
		}
		ins = append(ins, bn)
	}
	attrs := append(s.attrs(xs[1], xs[2], true), onnxpb.Int("group", int64(cin)))
	return c.withAct(o.Byte(4, 0), y, true, func(out string) {
		c.addNode("Conv", ins, []string{out}, attrs...)
	})
}

func convPool(onnxOp string) handler {
	return func(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
		if err := needInputs(op, 1); err != nil {
			return err
		}
		x, y := input(op, 0), int(op.Outputs[0])
		xs := c.shape(x)
		if len(xs) != 4 {
			return fmt.Errorf("input of rank %d: %w", len(xs), ErrUnsupported)
		}
		o := op.Options
		s := spatial{
			sw: atLeast1(o.Int(1, 1)), sh: atLeast1(o.Int(2, 1)),
			kw: atLeast1(o.Int(3, 1)), kh: atLeast1(o.Int(4, 1)),
			dh: 1, dw: 1,
			same: o.Byte(0, 0) == 0,
		}
		xn, err := c.value(x, true)
		if err != nil {
			return err
		}
		// AveragePool's default count_include_pad=0 matches TFLite, which
		// averages only the pixels inside the image.
		attrs := s.attrs(xs[1], xs[2], false)
		return c.withAct(o.Byte(5, 0), y, true, func(out string) {
			c.addNode(onnxOp, []string{xn}, []string{out}, attrs...)
		})
	}
}

// resizeMode maps TFLite's align_corners / half_pixel_centers onto ONNX
// Resize's coordinate_transformation_mode.
func resizeMode(alignCorners, halfPixel bool) string {
	switch {
	case alignCorners:
		return "align_corners"
	case halfPixel:
		return "half_pixel"
	}
	return "asymmetric"
}

func convResizeBilinear(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, sz, y := input(op, 0), input(op, 1), int(op.Outputs[0])
	xs := c.shape(x)
	szc, ok := c.consts[sz]
	if !ok || len(szc.i) != 2 || len(xs) != 4 {
		return fmt.Errorf("size must be a constant [2] on a 4-D input: %w", ErrUnsupported)
	}
	xn, err := c.value(x, true)
	if err != nil {
		return err
	}
	sizes := c.ints64(c.names[y]+"_sizes", []int64{int64(xs[0]), int64(xs[3]), szc.i[0], szc.i[1]})
	mode := resizeMode(op.Options.Bool(2, false), op.Options.Bool(3, false))
	out := c.define(y, true)
	c.addNode("Resize", []string{xn, "", "", sizes}, []string{out},
		onnxpb.Str("coordinate_transformation_mode", mode),
		onnxpb.Str("mode", "linear"))
	return nil
}

// useNCHW decides the layout of an elementwise op: NCHW when the output is
// 4-D, every non-constant input is 4-D and at least one of them already
// exists as NCHW (so no transpose is added just for this op).
func (c *conv) useNCHW(op *tflite.Operator, out int) bool {
	if c.rank(out) != 4 {
		return false
	}
	any := false
	for _, t := range op.Inputs {
		if t < 0 {
			continue
		}
		if c.isConst(int(t)) {
			if c.rank(int(t)) > 4 {
				return false
			}
			continue
		}
		if c.rank(int(t)) != 4 {
			return false
		}
		if c.hasNCHW(int(t)) {
			any = true
		}
	}
	return any
}

func convBinary(onnxOp string, fused bool) handler {
	return func(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
		if err := needInputs(op, 2); err != nil {
			return err
		}
		y := int(op.Outputs[0])
		nchw := c.useNCHW(op, y)
		a, err := c.value(input(op, 0), nchw)
		if err != nil {
			return err
		}
		b, err := c.value(input(op, 1), nchw)
		if err != nil {
			return err
		}
		var act int8
		if fused {
			act = op.Options.Byte(0, 0)
		}
		return c.withAct(act, y, nchw, func(out string) {
			c.addNode(onnxOp, []string{a, b}, []string{out})
		})
	}
}

func convUnary(kind string) handler {
	return func(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
		if err := needInputs(op, 1); err != nil {
			return err
		}
		x, y := input(op, 0), int(op.Outputs[0])
		nchw := c.rank(y) == 4 && !c.isConst(x) && c.hasNCHW(x)
		xn, err := c.value(x, nchw)
		if err != nil {
			return err
		}
		var addErr error
		build := func(out string) {
			switch kind {
			case "Relu6":
				addErr = c.activation(actRelu6, xn, out)
			case "ReluN1To1":
				addErr = c.activation(actReluN1To1, xn, out)
			case "LeakyRelu":
				c.addNode("LeakyRelu", []string{xn}, []string{out}, onnxpb.Flt("alpha", op.Options.Float(0, 0)))
			case "Cast":
				to, err := onnxType(c.tensor(y).Type)
				if err != nil {
					addErr = err
					return
				}
				c.addNode("Cast", []string{xn}, []string{out}, onnxpb.Int("to", int64(to)))
			default:
				c.addNode(kind, []string{xn}, []string{out})
			}
		}
		if err := c.withAct(actNone, y, nchw, build); err != nil {
			return err
		}
		return addErr
	}
}

func convPRelu(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, alpha, y := input(op, 0), input(op, 1), int(op.Outputs[0])
	// TFLite's alpha broadcasts against NHWC (typically [1,1,C] or [C]);
	// in NCHW it is re-laid out as [1,C,1,1] by value().
	nchw := c.rank(x) == 4 && c.hasNCHW(x) && c.isConst(alpha)
	xn, err := c.value(x, nchw)
	if err != nil {
		return err
	}
	an, err := c.value(alpha, nchw)
	if err != nil {
		return err
	}
	out := c.define(y, nchw)
	c.addNode("PRelu", []string{xn, an}, []string{out})
	return nil
}

// padList turns TFLite paddings [[before, after] per axis] into ONNX Pad's
// [begins…, ends…] with the axes in the given order.
func padList(paddings []int64, order []int) []int64 {
	r := len(order)
	out := make([]int64, 2*r)
	for i, ax := range order {
		out[i] = paddings[2*ax]
		out[r+i] = paddings[2*ax+1]
	}
	return out
}

func identityOrder(r int) []int {
	o := make([]int, r)
	for i := range o {
		o[i] = i
	}
	return o
}

func convPad(c *conv, op *tflite.Operator, code tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, p, y := input(op, 0), input(op, 1), int(op.Outputs[0])
	pc, ok := c.consts[p]
	r := c.rank(x)
	if !ok || len(pc.i) != 2*r {
		return fmt.Errorf("paddings must be a constant [%d,2]: %w", r, ErrUnsupported)
	}
	nchw := r == 4 && c.hasNCHW(x)
	order := identityOrder(r)
	if nchw {
		order = perm04
	}
	xn, err := c.value(x, nchw)
	if err != nil {
		return err
	}
	ins := []string{xn, c.ints64(c.names[y]+"_pads", padList(pc.i, order))}
	if code == tflite.OpPadv2 && input(op, 2) >= 0 {
		vc, ok := c.consts[input(op, 2)]
		if !ok || !vc.isFloat() || len(vc.f) != 1 {
			return fmt.Errorf("PADV2 value must be a constant float scalar: %w", ErrUnsupported)
		}
		ins = append(ins, c.scalarF(vc.f[0]))
	}
	out := c.define(y, nchw)
	c.addNode("Pad", ins, []string{out}, onnxpb.Str("mode", "constant"))
	return nil
}

func convReshape(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 1); err != nil {
		return err
	}
	x, y := input(op, 0), int(op.Outputs[0])
	shape := dims64(c.tensor(y).Shape)
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("output %q has a dynamic shape %v: %w", c.tensor(y).Name, shape, ErrUnsupported)
		}
	}
	xn, err := c.value(x, false)
	if err != nil {
		return err
	}
	sn := c.ints64(c.names[y]+"_shape", shape)
	c.addNode("Reshape", []string{xn, sn}, []string{c.define(y, false)})
	return nil
}

// concatAxis maps a TFLite concatenation axis of a rank-r tensor to the ONNX
// axis, remapped for NCHW when nchw is set.
func concatAxis(axis, r int, nchw bool) (int, error) {
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if nchw {
		return []int{0, 2, 3, 1}[axis], nil
	}
	return axis, nil
}

func convConcat(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 1); err != nil {
		return err
	}
	y := int(op.Outputs[0])
	nchw := c.useNCHW(op, y)
	for _, t := range op.Inputs {
		if c.isConst(int(t)) && c.rank(int(t)) != c.rank(y) {
			nchw = false
		}
	}
	axis, err := concatAxis(int(op.Options.Int(0, 0)), c.rank(y), nchw)
	if err != nil {
		return err
	}
	var ins []string
	for _, t := range op.Inputs {
		n, err := c.value(int(t), nchw)
		if err != nil {
			return err
		}
		ins = append(ins, n)
	}
	return c.withAct(op.Options.Byte(1, 0), y, nchw, func(out string) {
		c.addNode("Concat", ins, []string{out}, onnxpb.Int("axis", int64(axis)))
	})
}

// dequantize returns the float values of a constant: fp16 widened, affine
// integers mapped through scale and zero point (per tensor or per axis).
func dequantize(cv *constVal, q *tflite.Quantization) ([]float32, error) {
	if cv.isFloat() {
		return cv.f, nil
	}
	if q == nil || len(q.Scale) == 0 {
		return nil, fmt.Errorf("integer constant without quantization parameters: %w", ErrUnsupported)
	}
	out := make([]float32, len(cv.i))
	if len(q.Scale) == 1 {
		var zp int64
		if len(q.ZeroPoint) > 0 {
			zp = q.ZeroPoint[0]
		}
		for k, v := range cv.i {
			out[k] = q.Scale[0] * float32(v-zp)
		}
		return out, nil
	}
	d := int(q.Dim)
	if d < 0 || d >= len(cv.shape) || cv.shape[d] != len(q.Scale) {
		return nil, fmt.Errorf("per-axis quantization on axis %d of %v with %d scales", d, cv.shape, len(q.Scale))
	}
	inner := 1
	for _, s := range cv.shape[d+1:] {
		inner *= s
	}
	for k, v := range cv.i {
		ch := (k / inner) % cv.shape[d]
		var zp int64
		if ch < len(q.ZeroPoint) {
			zp = q.ZeroPoint[ch]
		}
		out[k] = q.Scale[ch] * float32(v-zp)
	}
	return out, nil
}

func convDequantize(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 1); err != nil {
		return err
	}
	x, y := input(op, 0), int(op.Outputs[0])
	if cv, ok := c.consts[x]; ok {
		f, err := dequantize(cv, c.tensor(x).Quant)
		if err != nil {
			return err
		}
		c.consts[y] = &constVal{typ: tflite.Float32, shape: cv.shape, f: f}
		return nil
	}
	if c.tensor(x).Type != tflite.Float16 {
		return fmt.Errorf("DEQUANTIZE of a non-constant %s tensor: %w", c.tensor(x).Type, ErrUnsupported)
	}
	nchw := c.rank(y) == 4 && c.hasNCHW(x)
	xn, err := c.value(x, nchw)
	if err != nil {
		return err
	}
	c.addNode("Cast", []string{xn}, []string{c.define(y, nchw)}, onnxpb.Int("to", int64(onnxpb.Float)))
	return nil
}

// sliceSpec is a resolved STRIDED_SLICE for ONNX Slice.
type sliceSpec struct {
	starts, ends, steps []int64
	shrink              bool
}

// resolveStridedSlice applies TFLite's STRIDED_SLICE semantics (masks,
// negative indices, clamping, shrink_axis, offset) to a static shape and
// returns concrete ONNX Slice inputs over all axes.
func resolveStridedSlice(shape []int, begin, end, strides []int64, beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask int32, offset bool) (sliceSpec, error) {
	r := len(shape)
	if len(begin) != r || len(end) != r || len(strides) != r {
		return sliceSpec{}, fmt.Errorf("begin/end/strides of length %d/%d/%d for rank %d", len(begin), len(end), len(strides), r)
	}
	if ellipsisMask != 0 || newAxisMask != 0 {
		return sliceSpec{}, fmt.Errorf("ellipsis_mask %d / new_axis_mask %d: %w", ellipsisMask, newAxisMask, ErrUnsupported)
	}
	s := sliceSpec{starts: make([]int64, r), ends: make([]int64, r), steps: make([]int64, r)}
	for i := 0; i < r; i++ {
		dim := int64(shape[i])
		st := strides[i]
		if st == 0 {
			return sliceSpec{}, fmt.Errorf("stride 0 on axis %d", i)
		}
		clamp := func(v int64) int64 {
			if v < 0 {
				v += dim
			}
			if st > 0 {
				return min(max(v, 0), dim)
			}
			return min(max(v, -1), dim-1)
		}
		bit := int32(1) << i
		if shrinkMask&bit != 0 {
			b := begin[i]
			if b < 0 {
				b += dim
			}
			if b < 0 || b >= dim {
				return sliceSpec{}, fmt.Errorf("shrink index %d out of range on axis %d of size %d", begin[i], i, dim)
			}
			s.starts[i], s.ends[i], s.steps[i] = b, b+1, 1
			s.shrink = true
			continue
		}
		var b, e int64
		if beginMask&bit != 0 {
			if st > 0 {
				b = 0
			} else {
				b = dim - 1
			}
		} else {
			b = clamp(begin[i])
		}
		switch {
		case endMask&bit != 0:
			if st > 0 {
				e = dim
			} else {
				e = -1
			}
		case offset:
			e = clamp(begin[i] + end[i])
		default:
			e = clamp(end[i])
		}
		if st < 0 && e == -1 {
			// "before index 0" going backwards; ONNX needs a sentinel as
			// -1 would mean the last element.
			e = math.MinInt64
		}
		s.starts[i], s.ends[i], s.steps[i] = b, e, st
	}
	return s, nil
}

func convStridedSlice(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 4); err != nil {
		return err
	}
	x, y := input(op, 0), int(op.Outputs[0])
	var vecs [3][]int64
	for k := 0; k < 3; k++ {
		cv, ok := c.consts[input(op, k+1)]
		if !ok || cv.isFloat() {
			return fmt.Errorf("begin/end/strides must be integer constants: %w", ErrUnsupported)
		}
		vecs[k] = cv.i
	}
	o := op.Options
	spec, err := resolveStridedSlice(c.shape(x), vecs[0], vecs[1], vecs[2],
		o.Int(0, 0), o.Int(1, 0), o.Int(2, 0), o.Int(3, 0), o.Int(4, 0), o.Bool(5, false))
	if err != nil {
		return err
	}
	xn, err := c.value(x, false)
	if err != nil {
		return err
	}
	base := c.names[y]
	axes := make([]int64, len(spec.starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	ins := []string{xn,
		c.ints64(base+"_starts", spec.starts),
		c.ints64(base+"_ends", spec.ends),
		c.ints64(base+"_axes", axes),
		c.ints64(base+"_steps", spec.steps)}
	if !spec.shrink {
		c.addNode("Slice", ins, []string{c.define(y, false)})
		return nil
	}
	tmp := c.fresh(base + "_unshrunk")
	c.addNode("Slice", ins, []string{tmp})
	sn := c.ints64(base+"_shape", dims64(c.tensor(y).Shape))
	c.addNode("Reshape", []string{tmp, sn}, []string{c.define(y, false)})
	return nil
}

func convFullyConnected(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 2); err != nil {
		return err
	}
	x, w, b, y := input(op, 0), input(op, 1), input(op, 2), int(op.Outputs[0])
	o := op.Options
	if f := o.Byte(1, 0); f != 0 {
		return fmt.Errorf("weights_format %d: %w", f, ErrUnsupported)
	}
	ws := c.shape(w)
	if len(ws) != 2 {
		return fmt.Errorf("weights of rank %d: %w", len(ws), ErrUnsupported)
	}
	k := ws[1]
	xn, err := c.value(x, false)
	if err != nil {
		return err
	}
	base := c.names[y]
	if xs := c.shape(x); len(xs) != 2 || xs[1] != k {
		flat := c.fresh(base + "_flat")
		c.addNode("Reshape", []string{xn, c.ints64(base+"_flat_shape", []int64{-1, int64(k)})}, []string{flat})
		xn = flat
	}
	wn, err := c.value(w, false)
	if err != nil {
		return err
	}
	ins := []string{xn, wn}
	if b >= 0 {
		bn, err := c.value(b, false)
		if err != nil {
			return err
		}
		ins = append(ins, bn)
	}
	ys := c.shape(y)
	reshape := len(ys) != 2
	return c.withAct(o.Byte(0, 0), y, false, func(out string) {
		if !reshape {
			c.addNode("Gemm", ins, []string{out}, onnxpb.Int("transB", 1))
			return
		}
		g := c.fresh(base + "_gemm")
		c.addNode("Gemm", ins, []string{g}, onnxpb.Int("transB", 1))
		c.addNode("Reshape", []string{g, c.ints64(base+"_shape", dims64(c.tensor(y).Shape))}, []string{out})
	})
}

func convSoftmax(c *conv, op *tflite.Operator, _ tflite.BuiltinOp) error {
	if err := needInputs(op, 1); err != nil {
		return err
	}
	x, y := input(op, 0), int(op.Outputs[0])
	xn, err := c.value(x, false)
	if err != nil {
		return err
	}
	if beta := op.Options.Float(0, 0); beta != 1 {
		scaled := c.fresh(c.names[y] + "_scaled")
		c.addNode("Mul", []string{xn, c.scalarF(beta)}, []string{scaled})
		xn = scaled
	}
	c.addNode("Softmax", []string{xn}, []string{c.define(y, false)}, onnxpb.Int("axis", -1))
	return nil
}

func dims64i(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

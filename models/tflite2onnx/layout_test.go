package tflite2onnx

import (
	"math"
	"reflect"
	"testing"

	"livegate.dev/models/internal/tflite"
)

func TestSamePads(t *testing.T) {
	cases := []struct {
		in, k, stride, dil int
		same               bool
		before, after      int
	}{
		{128, 5, 1, 1, true, 2, 2},
		{128, 3, 2, 1, true, 0, 1}, // even input, stride 2: the odd pixel goes after
		{127, 3, 2, 1, true, 1, 1},
		{192, 3, 2, 1, true, 0, 1},
		{6, 1, 1, 1, true, 0, 0},
		{7, 3, 1, 2, true, 2, 2}, // dilation 2 → effective kernel 5
		{8, 4, 4, 1, true, 0, 0},
		{5, 4, 1, 1, true, 1, 2},
		{128, 5, 1, 1, false, 0, 0},
	}
	for _, c := range cases {
		b, a := samePads(c.in, c.k, c.stride, c.dil, c.same)
		if b != c.before || a != c.after {
			t.Errorf("samePads(in %d, k %d, s %d, d %d, same %v) = %d,%d; want %d,%d",
				c.in, c.k, c.stride, c.dil, c.same, b, a, c.before, c.after)
		}
	}
}

func TestResizeMode(t *testing.T) {
	cases := []struct {
		align, half bool
		want        string
	}{
		{false, false, "asymmetric"},
		{true, false, "align_corners"},
		{false, true, "half_pixel"},
	}
	for _, c := range cases {
		if got := resizeMode(c.align, c.half); got != c.want {
			t.Errorf("resizeMode(%v, %v) = %q, want %q", c.align, c.half, got, c.want)
		}
	}
}

func TestPadList(t *testing.T) {
	// TFLite paddings for NHWC: N(0,0) H(1,2) W(3,4) C(0,5)
	p := []int64{0, 0, 1, 2, 3, 4, 0, 5}
	if got, want := padList(p, identityOrder(4)), []int64{0, 1, 3, 0, 0, 2, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("NHWC pads = %v, want %v", got, want)
	}
	if got, want := padList(p, perm04), []int64{0, 0, 1, 3, 0, 5, 2, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("NCHW pads = %v, want %v", got, want)
	}
}

func TestConcatAxis(t *testing.T) {
	cases := []struct {
		axis, rank int
		nchw       bool
		want       int
		err        bool
	}{
		{3, 4, true, 1, false},
		{-1, 4, true, 1, false},
		{1, 4, true, 2, false},
		{2, 4, true, 3, false},
		{0, 4, true, 0, false},
		{1, 3, false, 1, false},
		{-1, 3, false, 2, false},
		{4, 4, true, 0, true},
	}
	for _, c := range cases {
		got, err := concatAxis(c.axis, c.rank, c.nchw)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("concatAxis(%d, %d, %v) = %d, %v; want %d (err %v)", c.axis, c.rank, c.nchw, got, err, c.want, c.err)
		}
	}
}

func TestResolveStridedSlice(t *testing.T) {
	const minI = math.MinInt64
	cases := []struct {
		name                   string
		shape                  []int
		begin, end, strides    []int64
		bm, em, el, na, shrink int32
		offset                 bool
		want                   sliceSpec
		err                    bool
	}{
		{name: "whole via masks", shape: []int{1, 2048}, begin: []int64{0, 0}, end: []int64{0, 0}, strides: []int64{1, 1}, bm: 3, em: 3,
			want: sliceSpec{starts: []int64{0, 0}, ends: []int64{1, 2048}, steps: []int64{1, 1}}},
		{name: "negative begin and end", shape: []int{10}, begin: []int64{-3}, end: []int64{-1}, strides: []int64{1},
			want: sliceSpec{starts: []int64{7}, ends: []int64{9}, steps: []int64{1}}},
		{name: "clamped", shape: []int{10}, begin: []int64{-30}, end: []int64{30}, strides: []int64{2},
			want: sliceSpec{starts: []int64{0}, ends: []int64{10}, steps: []int64{2}}},
		{name: "reverse with end mask", shape: []int{5}, begin: []int64{0}, end: []int64{0}, strides: []int64{-1}, bm: 1, em: 1,
			want: sliceSpec{starts: []int64{4}, ends: []int64{minI}, steps: []int64{-1}}},
		{name: "shrink last", shape: []int{2, 3}, begin: []int64{0, -1}, end: []int64{2, 0}, strides: []int64{1, 1}, shrink: 2,
			want: sliceSpec{starts: []int64{0, 2}, ends: []int64{2, 3}, steps: []int64{1, 1}, shrink: true}},
		{name: "offset", shape: []int{10}, begin: []int64{2}, end: []int64{3}, strides: []int64{1}, offset: true,
			want: sliceSpec{starts: []int64{2}, ends: []int64{5}, steps: []int64{1}}},
		{name: "ellipsis unsupported", shape: []int{4}, begin: []int64{0}, end: []int64{1}, strides: []int64{1}, el: 1, err: true},
		{name: "new axis unsupported", shape: []int{4}, begin: []int64{0}, end: []int64{1}, strides: []int64{1}, na: 1, err: true},
		{name: "zero stride", shape: []int{4}, begin: []int64{0}, end: []int64{1}, strides: []int64{0}, err: true},
		{name: "shrink out of range", shape: []int{4}, begin: []int64{4}, end: []int64{5}, strides: []int64{1}, shrink: 1, err: true},
		{name: "rank mismatch", shape: []int{4, 4}, begin: []int64{0}, end: []int64{1}, strides: []int64{1}, err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolveStridedSlice(c.shape, c.begin, c.end, c.strides, c.bm, c.em, c.el, c.na, c.shrink, c.offset)
			if c.err {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestTranspose(t *testing.T) {
	// OHWI [2,1,2,3] → OIHW [2,3,1,2]
	in := make([]float32, 12)
	for i := range in {
		in[i] = float32(i)
	}
	got := transpose(in, []int{2, 1, 2, 3}, perm04)
	want := []float32{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OHWI→OIHW = %v, want %v", got, want)
	}
	// depthwise [1,2,2,2] → [2,1,2,2]
	got = transpose(in[:8], []int{1, 2, 2, 2}, []int{3, 0, 1, 2})
	want = []float32{0, 2, 4, 6, 1, 3, 5, 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("1HWC→C1HW = %v, want %v", got, want)
	}
	// round trip through both layouts
	back := transpose(transpose(in, []int{1, 2, 3, 2}, perm04), permute([]int{1, 2, 3, 2}, perm04), perm40)
	if !reflect.DeepEqual(back, in) {
		t.Errorf("NHWC→NCHW→NHWC = %v", back)
	}
}

func TestDequantize(t *testing.T) {
	cases := []struct {
		name string
		cv   constVal
		q    *tflite.Quantization
		want []float32
		err  bool
	}{
		{name: "fp16 already widened", cv: constVal{typ: tflite.Float16, shape: []int{2}, f: []float32{1, -0.5}}, want: []float32{1, -0.5}},
		{name: "int8 per tensor", cv: constVal{typ: tflite.Int8, shape: []int{3}, i: []int64{-128, 0, 127}},
			q: &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{-1}}, want: []float32{-63.5, 0.5, 64}},
		{name: "uint8 per axis 0", cv: constVal{typ: tflite.Uint8, shape: []int{2, 2}, i: []int64{10, 20, 10, 20}},
			q: &tflite.Quantization{Scale: []float32{1, 0.1}, ZeroPoint: []int64{10, 0}, Dim: 0}, want: []float32{0, 10, 1, 2}},
		{name: "per axis 1", cv: constVal{typ: tflite.Int8, shape: []int{2, 2}, i: []int64{1, 1, 2, 2}},
			q: &tflite.Quantization{Scale: []float32{1, 2}, ZeroPoint: []int64{0, 0}, Dim: 1}, want: []float32{1, 2, 2, 4}},
		{name: "no parameters", cv: constVal{typ: tflite.Int8, shape: []int{1}, i: []int64{1}}, err: true},
		{name: "bad axis", cv: constVal{typ: tflite.Int8, shape: []int{2}, i: []int64{1, 1}},
			q: &tflite.Quantization{Scale: []float32{1, 2, 3}, Dim: 0}, err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := dequantize(&c.cv, c.q)
			if (err != nil) != c.err {
				t.Fatalf("err = %v", err)
			}
			if !c.err && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

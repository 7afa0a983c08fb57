package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/internal/tflite"
	"livegate.dev/models/internal/tflite/tflitetest"
	"livegate.dev/models/tflite2onnx"
)

// tinyModel is a one-op TFLite model: y = relu(x + c).
func tinyModel() []byte {
	c := make([]byte, 8)
	binary.LittleEndian.PutUint32(c, math.Float32bits(1))
	binary.LittleEndian.PutUint32(c[4:], math.Float32bits(-1))
	return tflitetest.Build(tflitetest.Model{
		OpCodes: []tflitetest.OpCode{tflitetest.Code(int32(tflite.OpAdd))},
		Tensors: []tflitetest.Tensor{
			{Name: "x", Shape: []int32{1, 2}, Type: int8(tflite.Float32)},
			{Name: "c", Shape: []int32{2}, Type: int8(tflite.Float32), Data: c},
			{Name: "y", Shape: []int32{1, 2}, Type: int8(tflite.Float32)},
		},
		Inputs: []int32{0}, Outputs: []int32{2},
		Ops: []tflitetest.Op{{Opcode: 0, Inputs: []int32{0, 1}, Outputs: []int32{2}, Options: []tflitetest.Field{tflitetest.B(0, 1)}}},
	})
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	src := tinyModel()
	if err := os.WriteFile(filepath.Join(dir, "tiny.tflite"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := tflite2onnx.Convert("tiny", src)
	if err != nil {
		t.Fatal(err)
	}
	entry := assets.ModelEntry{Name: "tiny", Format: "tflite", File: "tiny.tflite", SHA256: hexSum(src),
		ONNXFile: "tiny.onnx", ONNXSHA256: hexSum(want)}
	skip := assets.ModelEntry{Name: "ready", Format: "onnx", File: "absent.onnx", ONNXFile: "absent.onnx"}
	entries := []assets.ModelEntry{entry, skip}

	steps := []struct {
		name     string
		prepare  func()
		entries  []assets.ModelEntry
		printAll bool
		action   string
		errPart  string
	}{
		{name: "first conversion", entries: entries, action: "(converted)"},
		{name: "up to date", entries: entries, action: "(up to date)"},
		{name: "print mode converts again", entries: entries, printAll: true, action: "(unchanged)"},
		{name: "damaged output is rewritten", prepare: func() {
			os.WriteFile(filepath.Join(dir, "tiny.onnx"), []byte("junk"), 0o644)
		}, entries: entries, action: "(converted)"},
		{name: "pinned hash differs", entries: []assets.ModelEntry{func() assets.ModelEntry {
			e := entry
			e.ONNXSHA256 = strings.Repeat("0", 64)
			return e
		}()}, errPart: "converter's output changed"},
		{name: "source hash differs", entries: []assets.ModelEntry{func() assets.ModelEntry {
			e := entry
			e.SHA256 = strings.Repeat("1", 64)
			e.ONNXSHA256 = ""
			return e
		}()}, errPart: "make setup"},
		{name: "source missing", entries: []assets.ModelEntry{func() assets.ModelEntry {
			e := entry
			e.File = "gone.tflite"
			e.ONNXFile = "gone.onnx"
			return e
		}()}, errPart: "make setup"},
	}
	for _, s := range steps {
		if s.prepare != nil {
			s.prepare()
		}
		var out bytes.Buffer
		err := run(&out, s.entries, dir, s.printAll, false)
		if s.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), s.errPart) {
				t.Fatalf("%s: err = %v, want one containing %q", s.name, err, s.errPart)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !strings.Contains(out.String(), s.action) || strings.Contains(out.String(), "ready") {
			t.Fatalf("%s: output %q, want %q for tiny only", s.name, out.String(), s.action)
		}
		got, err := os.ReadFile(filepath.Join(dir, "tiny.onnx"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: tiny.onnx differs from Convert's output (err %v)", s.name, err)
		}
	}
	var ops bytes.Buffer
	if err := run(&ops, entries, dir, false, true); err != nil || !strings.Contains(ops.String(), "tiny: ADD×1") {
		t.Fatalf("ops listing = %q, %v", ops.String(), err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
}

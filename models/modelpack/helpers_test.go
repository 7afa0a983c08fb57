package modelpack_test

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"livegate.dev/models/ort"
)

func modelpackORT() ort.Options { return ort.Options{} }

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// largestRawData returns the offset and length of the largest raw_data of
// an initializer in an ONNX model (ModelProto.graph = 7,
// GraphProto.initializer = 5, TensorProto.raw_data = 9).
func largestRawData(t *testing.T, model []byte) (off, n int) {
	t.Helper()
	field := func(b []byte, base int, want protowire.Number, each func(off int, v []byte)) {
		for pos := 0; pos < len(b); {
			num, typ, l := protowire.ConsumeTag(b[pos:])
			if l < 0 {
				t.Fatalf("onnx: bad tag at %d", base+pos)
			}
			pos += l
			if typ == protowire.BytesType {
				v, m := protowire.ConsumeBytes(b[pos:])
				if m < 0 {
					t.Fatalf("onnx: bad bytes at %d", base+pos)
				}
				if num == want {
					each(base+pos+m-len(v), v)
				}
				pos += m
				continue
			}
			m := protowire.ConsumeFieldValue(num, typ, b[pos:])
			if m < 0 {
				t.Fatalf("onnx: bad field at %d", base+pos)
			}
			pos += m
		}
	}
	field(model, 0, 7, func(goff int, g []byte) {
		field(g, goff, 5, func(toff int, tensor []byte) {
			field(tensor, toff, 9, func(roff int, raw []byte) {
				if len(raw) > n {
					off, n = roff, len(raw)
				}
			})
		})
	})
	if n == 0 {
		t.Fatal("onnx: no raw_data initializer")
	}
	return off, n
}

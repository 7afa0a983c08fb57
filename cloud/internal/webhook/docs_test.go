package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The integrator's guide; its verification snippets are run against
// signatures made by Sign, so the documentation cannot drift from the code.
const docPath = "../../../docs/webhooks.md"

type vector struct {
	Header string `json:"h"`
	Body   string `json:"b"` // hex
	Secret string `json:"s"`
	Now    int64  `json:"now"`
	Want   bool   `json:"-"`
}

func docVectors(t *testing.T, doc string) []vector {
	now := time.Unix(1772366400, 0)
	body := []byte(`{"id":"evt_1","type":"session.completed","created":1772366400,"data":{"verdict":"pass"}}`)
	binBody := []byte{0xff, 0x00, '{', 0xfe}
	s, other := "whsec_right", "whsec_other"
	sign := func(b []byte, secrets ...string) string {
		var ks [][]byte
		for _, k := range secrets {
			ks = append(ks, []byte(k))
		}
		return Sign(ks, now, b)
	}
	v := func(h string, b []byte, secret string, at time.Time, want bool) vector {
		return vector{Header: h, Body: hex.EncodeToString(b), Secret: secret, Now: at.Unix(), Want: want}
	}
	good := sign(body, s)
	out := []vector{
		v(good, body, s, now, true),
		v(sign(body, other, s), body, s, now, true),
		v(sign(binBody, s), binBody, s, now, true),
		v(good+",v0=abc", body, s, now, true),
		v(strings.Replace(good, ",v1=", ",v1="+strings.Repeat("z", 64)+",v1=", 1), body, s, now, true),
		v(good, body, s, now.Add(299*time.Second), true),
		v(good, append(append([]byte{}, body...), ' '), s, now, false),
		v(good, body, other, now, false),
		v(good, body, s, now.Add(301*time.Second), false),
		v(good, body, s, now.Add(-301*time.Second), false),
		v("garbage", body, s, now, false),
		v("", body, s, now, false),
		v("t=1772366400", body, s, now, false),
		v(strings.Replace(good, "t=1772366400", "t=1772366401", 1), body, s, now, false),
	}
	// The example request in the guide verifies with its example secret.
	hm := regexp.MustCompile(`Livegate-Signature: (t=\d+,v1=[0-9a-f]{64})\n\n(\{[^\n]*\})\n`).FindStringSubmatch(doc)
	if hm == nil {
		t.Fatal("example request not found in the guide")
	}
	if err := Verify(hm[1], []byte(hm[2]), []byte("whsec_example"), 0, now); err != nil {
		t.Fatalf("the guide's example signature does not verify: %v", err)
	}
	out = append(out, v(hm[1], []byte(hm[2]), "whsec_example", now, true))
	// Go's own Verify agrees with every vector.
	for i, x := range out {
		b, _ := hex.DecodeString(x.Body)
		err := Verify(x.Header, b, []byte(x.Secret), 300*time.Second, time.Unix(x.Now, 0))
		if (err == nil) != x.Want {
			t.Fatalf("vector %d: Verify = %v, want ok=%v", i, err, x.Want)
		}
	}
	return out
}

// block returns the first fenced code block of the given language.
func block(t *testing.T, doc, lang string) string {
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no %s block in %s", lang, docPath)
	}
	return m[1]
}

func runSnippet(t *testing.T, vs []vector, name string, args ...string) {
	t.Helper()
	in, _ := json.Marshal(vs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s snippet: %v\n%s", name, err, out)
	}
	got := strings.Fields(string(out))
	if len(got) != len(vs) {
		t.Fatalf("%s snippet printed %q for %d vectors", name, out, len(vs))
	}
	for i, v := range vs {
		if want := map[bool]string{true: "1", false: "0"}[v.Want]; got[i] != want {
			t.Errorf("%s snippet, vector %d (%q): got %s, want %s", name, i, v.Header, got[i], want)
		}
	}
}

func TestDocSnippetsVerify(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("reading the webhook guide: %v", err)
	}
	doc := string(raw)
	vs := docVectors(t, doc)
	dir := t.TempDir()

	t.Run("python", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		src := block(t, doc, "python") + `
import json, sys
for v in json.load(sys.stdin):
    print("1" if verify_livegate(v["h"], bytes.fromhex(v["b"]), v["s"].encode(), 300, v["now"]) else "0")
`
		f := filepath.Join(dir, "verify.py")
		os.WriteFile(f, []byte(src), 0o600)
		runSnippet(t, vs, "python", py, f)
	})
	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not installed")
		}
		src := block(t, doc, "js") + `
const vs = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
for (const v of vs) console.log(verifyLivegate(v.h, Buffer.from(v.b, "hex"), v.s, 300, v.now) ? "1" : "0");
`
		f := filepath.Join(dir, "verify.js")
		os.WriteFile(f, []byte(src), 0o600)
		runSnippet(t, vs, "node", node, f)
	})
	t.Run("go", func(t *testing.T) {
		goBin, err := exec.LookPath("go")
		if err != nil {
			t.Skip("go not in PATH")
		}
		gdir := filepath.Join(dir, "gosnippet")
		os.MkdirAll(gdir, 0o700)
		os.WriteFile(filepath.Join(gdir, "verify.go"), []byte(block(t, doc, "go")), 0o600)
		os.WriteFile(filepath.Join(gdir, "main.go"), []byte(`package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

func main() {
	var vs []struct {
		H, B, S string
		Now    int64
	}
	if err := json.NewDecoder(os.Stdin).Decode(&vs); err != nil {
		panic(err)
	}
	for _, v := range vs {
		b, _ := hex.DecodeString(v.B)
		if verifyLivegate(v.H, b, []byte(v.S), 5*time.Minute, time.Unix(v.Now, 0)) == nil {
			fmt.Println("1")
		} else {
			fmt.Println("0")
		}
	}
}
`), 0o600)
		runSnippet(t, vs, "go", goBin, "run", filepath.Join(gdir, "verify.go"), filepath.Join(gdir, "main.go"))
	})
}

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"livegate.dev/models/assets"
	"livegate.dev/models/internal/tflite"
	"livegate.dev/models/tflite2onnx"
)

// result is what happened to one model.
type result struct {
	Name   string
	Path   string
	SHA256 string
	Action string // "up to date", "converted", "unchanged"
}

func main() {
	dir := flag.String("dir", assets.ModelsDir(), "models directory")
	printOnly := flag.Bool("print", false, "convert and print each model's onnx sha256 without checking the manifest's")
	ops := flag.Bool("ops", false, "print the TFLite operators each model uses and exit")
	flag.Parse()
	m, err := assets.Manifest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "convertmodels:", err)
		os.Exit(1)
	}
	if err := run(os.Stdout, m.Models, *dir, *printOnly, *ops); err != nil {
		fmt.Fprintln(os.Stderr, "convertmodels:", err)
		os.Exit(1)
	}
}

// run converts (or with ops, lists the operators of) every TFLite model of
// entries found in dir, reporting one line per model to w.
func run(w io.Writer, entries []assets.ModelEntry, dir string, printOnly, ops bool) error {
	var errs []error
	for _, e := range entries {
		if e.Format != "tflite" || e.ONNXFile == "" {
			continue
		}
		if ops {
			if err := listOps(w, dir, e); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		r, err := convertOne(dir, e, printOnly)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "%-28s %s  %s (%s)\n", r.Name, r.SHA256, r.Path, r.Action)
	}
	return errors.Join(errs...)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func convertOne(dir string, e assets.ModelEntry, printOnly bool) (result, error) {
	src := filepath.Join(dir, e.File)
	dst := filepath.Join(dir, e.ONNXFile)
	r := result{Name: e.Name, Path: dst}
	if !printOnly && e.ONNXSHA256 != "" {
		if got, err := sha256File(dst); err == nil && got == e.ONNXSHA256 {
			r.SHA256, r.Action = got, "up to date"
			return r, nil
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return r, fmt.Errorf("%s: read source: %w (run `make setup`)", e.Name, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); e.SHA256 != "" && got != e.SHA256 {
		return r, fmt.Errorf("%s: source %s has sha256 %s, manifest pins %s (run `make setup`)", e.Name, src, got, e.SHA256)
	}
	onnx, err := tflite2onnx.Convert(e.Name, data)
	if err != nil {
		return r, err
	}
	osum := sha256.Sum256(onnx)
	r.SHA256 = hex.EncodeToString(osum[:])
	if !printOnly && e.ONNXSHA256 != "" && r.SHA256 != e.ONNXSHA256 {
		return r, fmt.Errorf("%s: converted model has sha256 %s, manifest pins onnx_sha256 %s: the converter's output changed; check it against the TFLite reference and update models/manifest.json (see docs/converter.md)", e.Name, r.SHA256, e.ONNXSHA256)
	}
	if old, err := sha256File(dst); err == nil && old == r.SHA256 {
		r.Action = "unchanged"
		return r, nil
	}
	if err := writeAtomic(dst, onnx); err != nil {
		return r, fmt.Errorf("%s: %w", e.Name, err)
	}
	r.Action = "converted"
	return r, nil
}

// writeAtomic writes data to path through a temp file in the same directory,
// fsyncs it and renames it into place.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

func listOps(w io.Writer, dir string, e assets.ModelEntry) error {
	data, err := os.ReadFile(filepath.Join(dir, e.File))
	if err != nil {
		return fmt.Errorf("%s: %w (run `make setup`)", e.Name, err)
	}
	m, err := tflite.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	count := map[string]int{}
	for _, sg := range m.Subgraphs {
		for _, op := range sg.Operators {
			count[m.OpCodes[op.OpcodeIndex].Builtin.String()]++
		}
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s×%d", n, count[n])
	}
	fmt.Fprintf(w, "%s: %s\n", e.Name, strings.Join(parts, ", "))
	return nil
}

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"livegate.dev/models/assets"
	"livegate.dev/models/modelpack"
)

// packCmd builds a models pack: the payload of a kind=models OTA artifact
// (sign it with `livegate-ota sign --kind models --payload PACK`).
func packCmd(g *globals) *cobra.Command {
	var from, selftest, out string
	var noManifest bool
	c := &cobra.Command{
		Use:   "pack --selftest IMAGE -o PACK.tar",
		Short: "Build a models pack (engine models + self-test vector) for an OTA models update",
		Long: `Build a models pack: an uncompressed tar of index.json (every file's size and SHA-256),
the three ONNX models the engine runs (detector, face mesh, MobileFaceNet), selftest.json and
the reference image. The expected self-test
outputs are measured with the models being packed. Each model is first checked against its
onnx_sha256 in models/manifest.json (--no-manifest-check for locally converted models).
The reference image ships in the pack: use one you may distribute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if selftest == "" || out == "" {
				return fmt.Errorf("pack: --selftest and -o are required")
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			ix, v, err := modelpack.Build(cmd.Context(), tmp, modelpack.BuildOptions{ModelsDir: from, SelfTestImage: selftest,
				ORT: g.ortOptions(), NoManifestCheck: noManifest})
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]any{"pack": out, "size": fi.Size(), "index": ix, "selftest": v})
			}
			fmt.Fprintf(g.out, "%s: %d bytes, %d files\n", out, fi.Size(), len(ix.Files))
			for _, f := range ix.Files {
				fmt.Fprintf(g.out, "  %-34s %10d  %s\n", f.Name, f.Size, f.SHA256)
			}
			fmt.Fprintf(g.out, "self-test (format %d): box %.1f,%.1f %.1f×%.1f (± %.1f px) score %.3f, %d landmarks, centroid %.1f,%.1f (± %.1f px)\n",
				v.Format, v.Detector.Box[0], v.Detector.Box[1], v.Detector.Box[2], v.Detector.Box[3], v.Detector.BoxTolerance, v.Detector.Score,
				v.Landmarks.Count, v.Landmarks.Centroid[0], v.Landmarks.Centroid[1], v.Landmarks.CentroidTolerance)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", assets.ModelsDir(), "directory with the ONNX models")
	c.Flags().StringVar(&selftest, "selftest", "", "reference image with one face (JPEG or PNG)")
	c.Flags().StringVarP(&out, "output", "o", "", "pack file to write")
	c.Flags().BoolVar(&noManifest, "no-manifest-check", false, "do not check the models against models/manifest.json")
	return c
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"livegate.dev/models/tflite2onnx"
)

func convertCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "convert IN.tflite OUT.onnx",
		Short: "Convert a TFLite model to ONNX (deterministic)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read model: %w", err)
			}
			name := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			out, err := tflite2onnx.Convert(name, data)
			if err != nil {
				return err
			}
			if err := os.WriteFile(args[1], out, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", args[1], err)
			}
			if g.json {
				return g.printJSON(map[string]any{"model": name, "out": args[1], "bytes": len(out)})
			}
			fmt.Fprintf(g.out, "%s → %s (%d bytes)\n", args[0], args[1], len(out))
			return nil
		},
	}
}

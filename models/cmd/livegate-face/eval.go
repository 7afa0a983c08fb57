package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"livegate.dev/models/eval"
	"livegate.dev/models/liveness"
	"livegate.dev/models/ort"
)

func evalCmd(g *globals) *cobra.Command {
	var workers int
	var threshold, maxBPCER float64
	var det string
	var gate bool
	c := &cobra.Command{
		Use:   "eval DIR",
		Short: "Run a labelled corpus through the liveness analyzer: APCER per species, BPCER, ACER, DET curve",
		Long: `Reads DIR/labels.jsonl (see docs/evaluation.md), runs every sample through the
liveness analyzer in the mode its label names, and prints ISO/IEC 30107-3
figures at the operating threshold: APCER per attack species, BPCER, ACER.
The DET curve is written as a PNG (default DIR/det.png). With --gate the
command fails when any attack species has APCER > 0 or BPCER exceeds
--max-bpcer (the CI gate).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			rep, err := eval.Run(cmd.Context(), eval.Options{
				Dir: dir, Workers: workers, Threshold: threshold, Log: log,
				Models: liveness.ModelOptions{ORT: ort.Options{IntraOpThreads: g.threads}},
			})
			if err != nil {
				return err
			}
			if det == "" {
				det = filepath.Join(dir, "det.png")
			}
			f, err := os.Create(det)
			if err != nil {
				return fmt.Errorf("DET curve: %w", err)
			}
			if err := rep.WriteDET(f); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("DET curve: %w", err)
			}
			if g.json {
				if err := g.printJSON(rep); err != nil {
					return err
				}
			} else {
				if err := rep.WriteTable(g.out); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "DET curve: %s\n", det)
			}
			if gate {
				var bad []string
				for _, s := range rep.Species {
					if s.Accepted > 0 {
						bad = append(bad, fmt.Sprintf("%s: %d of %d accepted", s.Species, s.Accepted, s.Samples))
					}
				}
				if rep.BPCER > maxBPCER {
					bad = append(bad, fmt.Sprintf("BPCER %.1f%% above %.1f%%", 100*rep.BPCER, 100*maxBPCER))
				}
				if len(bad) > 0 {
					return fmt.Errorf("evaluation gate failed: %v", bad)
				}
			}
			return nil
		},
	}
	c.Flags().IntVar(&workers, "workers", 2, "samples evaluated in parallel (each worker loads its own models)")
	c.Flags().Float64Var(&threshold, "threshold", eval.DefaultThreshold, "operating threshold (confidence accepted as live)")
	c.Flags().StringVar(&det, "det", "", "DET curve PNG (default DIR/det.png)")
	c.Flags().BoolVar(&gate, "gate", false, "fail when any attack is accepted or BPCER exceeds --max-bpcer")
	c.Flags().Float64Var(&maxBPCER, "max-bpcer", 0.10, "largest BPCER --gate accepts")
	return c
}

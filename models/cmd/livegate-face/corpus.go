package main

import (
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/models/corpus"
)

func corpusCmd(g *globals) *cobra.Command {
	var out, size string
	var seed uint64
	var workers int
	var only []string
	c := &cobra.Command{
		Use:   "corpus --out DIR",
		Short: "Build a labelled evaluation corpus (bona fide windows and made attacks) from the real media",
		Long: `Cuts bona fide windows from the three real face clips and makes attacks
from them the way attackers do: a still printed and moved as a flat plane, a
clip or still replayed on a screen and re-filmed, injected frames (a repeated
still, a short loop), blinks re-timed outside the challenge window, a
light sequence ignored, and more (cut-outs, full-frame screens, noisy loops,
prints on a stand, paper masks with eye holes worn over a real face). Each sample is a 320×240 MJPEG AVI; labels.jsonl
lists them (docs/evaluation.md). The same --seed gives the same corpus.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			start := time.Now()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			labels, err := corpus.Generate(cmd.Context(), corpus.Options{Out: out, Size: size, Seed: seed, Workers: workers, Log: log, Only: only})
			if err != nil {
				return err
			}
			kinds := map[string]int{}
			for _, l := range labels {
				k := l.Label + "/" + l.Mode
				if l.Light != "" {
					k = l.Label + "/light"
				}
				if l.Species != "" {
					k = l.Species
				}
				kinds[k]++
			}
			if g.json {
				return g.printJSON(map[string]any{"out": out, "samples": len(labels), "kinds": kinds, "seconds": time.Since(start).Seconds()})
			}
			names := make([]string, 0, len(kinds))
			for k := range kinds {
				names = append(names, k)
			}
			sort.Strings(names)
			fmt.Fprintf(g.out, "%d samples in %s (%.0f s)\n", len(labels), out, time.Since(start).Seconds())
			for _, k := range names {
				fmt.Fprintf(g.out, "  %-32s %d\n", k, kinds[k])
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "corpus folder to create")
	c.Flags().StringVar(&size, "size", corpus.Small, "small (a few dozen samples), medium (about 130) or full (about 400)")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed (same seed, same corpus)")
	c.Flags().IntVar(&workers, "workers", 2, "samples rendered in parallel")
	c.Flags().StringSliceVar(&only, "only", nil, "render only these attack species and bona fide kinds (comma-separated); each sample is the one the whole corpus holds")
	return c
}

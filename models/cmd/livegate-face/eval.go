package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"livegate.dev/models/corpus"
	"livegate.dev/models/eval"
	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
	"livegate.dev/models/ort"
)

func evalCmd(g *globals) *cobra.Command {
	var workers int
	var threshold, maxBPCER, maxAPCER float64
	var det, conditions, sweep, reflection, filter, skipSpecies string
	var gate, legacyTint bool
	var cues float64
	c := &cobra.Command{
		Use:   "eval DIR",
		Short: "Run a labelled corpus through the liveness analyzer: APCER per species, BPCER, ACER, DET curve",
		Long: `Reads DIR/labels.jsonl (see docs/evaluation.md), runs every sample through the
liveness analyzer and prints ISO/IEC 30107-3 figures at the operating
threshold: APCER per attack species (worst first), BPCER per bona fide kind,
ACER. The DET curve is written as a PNG (default DIR/det.png).

--conditions evaluates the samples under each listed condition and reports
each one's figures:
  labelled       every sample as its label says (the default)
  passive        passive samples recorded without light, no light emitted
  passive-light  passive samples with the analyzer's light sequence emitted:
                 bona fide faces lit by the reflection model (lightsim,
                 skin), prints, cut-outs and masks as paper, screens as
                 glass, injected streams not at all; light-labelled
                 samples keep their meaning
  active         the samples labelled active
--reflection sets the reflection model: phone (default), laptop, kiosk, or a
JSON file of lightsim parameters (docs/liveness.md).

--light-sweep S1,S2,… evaluates the bona fide passive samples under
passive-light at each relative strength (the face's brightness change at
full white) and prints BPCER per strength and the weakest strength from
which on BPCER stays ≤ 5 %. Without --conditions only the sweep runs.

With --gate the command fails when any attack species (in any condition) has
APCER above --max-apcer or a condition's BPCER exceeds --max-bpcer (the CI
gate), and lists what failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			conds, err := eval.ParseConditions(conditions)
			if err != nil {
				return fmt.Errorf("--conditions: %w", err)
			}
			if conditions != "" && len(conds) == 0 {
				return fmt.Errorf("--conditions %q: no condition", conditions)
			}
			strengths, err := eval.ParseStrengths(sweep)
			if err != nil {
				return fmt.Errorf("--light-sweep: %w", err)
			}
			refl, err := reflectionParams(reflection)
			if err != nil {
				return err
			}
			var keep func(corpus.Label) bool
			if filter != "" {
				re, err := regexp.Compile(filter)
				if err != nil {
					return fmt.Errorf("--filter: %w", err)
				}
				keep = func(l corpus.Label) bool { return re.MatchString(l.Path) }
			}
			if skipSpecies != "" {
				skip := map[string]bool{}
				for _, sp := range strings.Split(skipSpecies, ",") {
					sp = strings.TrimSpace(sp)
					if !slices.Contains(corpus.Species, sp) {
						return fmt.Errorf("--skip-species: %q is not a species (%s)", sp, strings.Join(corpus.Species, ", "))
					}
					skip[sp] = true
				}
				prev := keep
				keep = func(l corpus.Label) bool { return !skip[l.Species] && (prev == nil || prev(l)) }
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			rep, err := eval.Run(cmd.Context(), eval.Options{
				Dir: dir, Workers: workers, Threshold: threshold, Log: log, Filter: keep,
				Conditions: conds, Reflection: refl, LegacyTint: legacyTint, LightSweep: strengths,
				Models: liveness.ModelOptions{ORT: ort.Options{IntraOpThreads: g.threads}},
			})
			if err != nil {
				return err
			}
			if rep.Samples > 0 {
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
			}
			if g.json {
				if err := g.printJSON(rep); err != nil {
					return err
				}
			} else {
				if err := rep.WriteTable(g.out); err != nil {
					return err
				}
				if cues > 0 {
					fmt.Fprintln(g.out)
					if err := eval.WriteCues(g.out, rep.Cues, cues, 6); err != nil {
						return err
					}
				}
				if rep.Samples > 0 {
					fmt.Fprintf(g.out, "DET curve: %s\n", det)
				}
			}
			if gate {
				if bad := rep.Gate(maxAPCER, maxBPCER); len(bad) > 0 {
					for _, b := range bad {
						fmt.Fprintln(cmd.ErrOrStderr(), "gate:", b)
					}
					return fmt.Errorf("evaluation gate failed: %s", strings.Join(bad, "; "))
				}
			}
			return nil
		},
	}
	c.Flags().IntVar(&workers, "workers", 2, "samples evaluated in parallel (each worker loads its own models)")
	c.Flags().Float64Var(&threshold, "threshold", eval.DefaultThreshold, "operating threshold (confidence accepted as live)")
	c.Flags().StringVar(&det, "det", "", "DET curve PNG (default DIR/det.png)")
	c.Flags().StringVar(&conditions, "conditions", "", "comma-separated conditions: labelled, passive, passive-light, active (default labelled)")
	c.Flags().StringVar(&sweep, "light-sweep", "", "comma-separated relative light strengths, e.g. 0.005,0.01,0.02,0.04,0.08")
	c.Flags().StringVar(&reflection, "reflection", "", "reflection model: phone, laptop, kiosk or a lightsim JSON file (default phone; labelled follow samples: their label's strength)")
	c.Flags().BoolVar(&legacyTint, "legacy-tint", false, "tint labelled follow samples with the corpus's old Gaussian tint instead of the reflection model")
	c.Flags().StringVar(&skipSpecies, "skip-species", "", "comma-separated attack species to leave out (the gate leaves out species the analyzer is known not to stop; docs/evaluation.md)")
	c.Flags().StringVar(&filter, "filter", "", "evaluate only the samples whose path matches this regular expression")
	c.Flags().Float64Var(&cues, "cues", 0, "also print, per species, the layer measures whose AUC against bona fide separates at least this well (e.g. 0.8; always in --json)")
	c.Flags().BoolVar(&gate, "gate", false, "fail when a species' APCER exceeds --max-apcer or BPCER exceeds --max-bpcer")
	c.Flags().Float64Var(&maxAPCER, "max-apcer", 0, "largest APCER of any species --gate accepts")
	c.Flags().Float64Var(&maxBPCER, "max-bpcer", 0.10, "largest BPCER --gate accepts")
	return c
}

// reflectionParams reads --reflection: a preset name or a JSON file of
// lightsim parameters; "" is nil (the evaluation's default).
func reflectionParams(v string) (*lightsim.Params, error) {
	var p lightsim.Params
	switch v {
	case "":
		return nil, nil
	case "phone":
		p = lightsim.DefaultParams()
	case "laptop":
		p = lightsim.Laptop()
	case "kiosk":
		p = lightsim.Kiosk()
	default:
		data, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("--reflection: %w", err)
		}
		p, err = lightsim.ParseParams(data)
		if err != nil {
			return nil, fmt.Errorf("--reflection %s: %w", v, err)
		}
	}
	return &p, nil
}

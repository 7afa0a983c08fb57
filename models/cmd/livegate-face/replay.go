package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// replayResult is what `livegate-face replay --json` prints.
type replayResult struct {
	File     string         `json:"file"`
	Header   replay.Header  `json:"header"`
	Stored   replay.Summary `json:"stored"`
	Replayed replay.Summary `json:"replayed"`
	// Match: the same verdict and reasons, the confidence within 1e-9.
	Match bool `json:"match"`
	// Arch is where the replay ran (GOARCH).
	Arch string `json:"arch"`
	// Warnings are caveats (another architecture than the recording's).
	Warnings []string `json:"warnings,omitempty"`
}

// errReplayDiffers makes the command exit 1 after printing both verdicts.
var errReplayDiffers = errors.New("the replayed verdict differs from the stored one")

func replayCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "replay FILE",
		Short: "Replay a stored session recording and compare its verdict with the stored one",
		Long: "Replay a session recording (livegate.dev/models/replay: the cloud's GET /api/v1/session/{id}/recording, " +
			"a kiosk's recordings directory) through the liveness engine with the recorded configuration and plans. " +
			"Prints the stored and the replayed verdict side by side with each layer; exits 0 when they match " +
			"(verdict and reasons equal, confidence within 1e-9), 1 otherwise. docs/liveness.md#replaying-a-session.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			r, err := replay.NewReader(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			models, err := liveness.LoadModels(liveness.ModelOptions{ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer models.Close()
			stored, got, err := r.Replay(cmd.Context(), models)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			res := replayResult{File: args[0], Header: r.Header(), Stored: stored, Replayed: got, Match: stored.Matches(got), Arch: runtime.GOARCH}
			if h := r.Header(); h.Arch != runtime.GOARCH {
				res.Warnings = append(res.Warnings, fmt.Sprintf("recorded on %s, replayed on %s: ONNX Runtime's floats differ slightly "+
					"across architectures, so scores may differ in their last digits and a verdict at a threshold may flip", h.Arch, runtime.GOARCH))
			}
			if g.json {
				if err := g.printJSON(res); err != nil {
					return err
				}
			} else {
				printReplay(g, res)
			}
			if !res.Match {
				return errReplayDiffers
			}
			return nil
		},
	}
}

func printReplay(g *globals, r replayResult) {
	h := r.Header
	fmt.Fprintf(g.out, "%s: session %s, recorded by %s", r.File, h.SessionID, h.Producer)
	if h.ProducerVersion != "" {
		fmt.Fprintf(g.out, " %s", h.ProducerVersion)
	}
	if h.Models != "" {
		fmt.Fprintf(g.out, " (models %s)", h.Models)
	}
	fmt.Fprintf(g.out, " on %s", h.Arch)
	if !h.Started.IsZero() {
		fmt.Fprintf(g.out, " at %s", h.Started.Format("2006-01-02 15:04:05Z07:00"))
	}
	fmt.Fprintln(g.out)
	c := h.Config
	fmt.Fprintf(g.out, "  %s mode, %d light steps of %v, challenges %v, handheld %v, thresholds pass %.2f retry %.2f; replayed on %s\n",
		c.Mode, len(c.LightPlan), c.LightStep, c.ChallengePlan, c.HandheldCamera, c.PassThreshold, c.RetryThreshold, r.Arch)
	tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\tstored\treplayed\t\n")
	fmt.Fprintf(tw, "verdict\t%s\t%s\t%s\n", r.Stored.Verdict, r.Replayed.Verdict, mark(r.Stored.Verdict == r.Replayed.Verdict))
	fmt.Fprintf(tw, "confidence\t%.9f\t%.9f\t%s\n", r.Stored.Confidence, r.Replayed.Confidence,
		mark(math.Abs(r.Stored.Confidence-r.Replayed.Confidence) <= replay.ConfidenceTolerance))
	fmt.Fprintf(tw, "frames\t%d (%d with a face)\t%d (%d with a face)\t\n", r.Stored.Frames, r.Stored.FaceFrames, r.Replayed.Frames, r.Replayed.FaceFrames)
	for _, name := range layerNames(r.Stored, r.Replayed) {
		s, okS := layerOf(r.Stored, name)
		p, okP := layerOf(r.Replayed, name)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, layerCell(s, okS), layerCell(p, okP),
			mark(okS == okP && s.Score == p.Score && s.Passed == p.Passed))
	}
	tw.Flush()
	fmt.Fprintf(g.out, "reasons stored:   %s\nreasons replayed: %s %s\n", list(r.Stored.Reasons), list(r.Replayed.Reasons),
		mark(strings.Join(r.Stored.Reasons, ",") == strings.Join(r.Replayed.Reasons, ",")))
	for _, w := range r.Warnings {
		fmt.Fprintln(g.out, "warning:", w)
	}
	if r.Match {
		fmt.Fprintln(g.out, "match: the replay gives the stored verdict")
	} else {
		fmt.Fprintln(g.out, "MISMATCH: the replay does not give the stored verdict")
	}
}

func mark(same bool) string {
	if same {
		return "="
	}
	return "≠"
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func layerCell(l replay.Layer, ok bool) string {
	if !ok {
		return "(absent)"
	}
	st := "passed"
	if !l.Passed {
		st = "failed"
	}
	return fmt.Sprintf("%.4f %s", l.Score, st)
}

// layerNames lists the layers of both summaries, stored order first.
func layerNames(a, b replay.Summary) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range []replay.Summary{a, b} {
		for _, l := range s.Layers {
			if !seen[l.Name] {
				seen[l.Name] = true
				out = append(out, l.Name)
			}
		}
	}
	return out
}

func layerOf(s replay.Summary, name string) (replay.Layer, bool) {
	for _, l := range s.Layers {
		if l.Name == name {
			return l, true
		}
	}
	return replay.Layer{}, false
}

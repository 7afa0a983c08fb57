package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"livegate.dev/models/assets"
	"livegate.dev/models/facematch"
)

func facematchEvalCmd(g *globals) *cobra.Command {
	var media string
	var accept, review float64
	c := &cobra.Command{
		Use:   "facematch-eval",
		Short: "Calibration figures of the verification face match: ROC AUC, EER, FMR/FNMR at the thresholds, the grey zone",
		Long: "Embeds every face of the calibration set (the real photos setup fetches: dlib's johns, the franck stills,\n" +
			"grace_hopper, astronaut, pigo's sample, the face-api group photos) as a verification does, scores every\n" +
			"same-person and different-people pair, and prints the figures at the accept threshold and the start of\n" +
			"the grey zone (review).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := facematch.Calibration(media)
			if err != nil {
				return err
			}
			e, err := facematch.NewEmbedder(g.ortOptions())
			if err != nil {
				return err
			}
			defer e.Close()
			faces, err := e.EmbedAll(media, set)
			if err != nil {
				return err
			}
			same, diff := facematch.Pairs(faces)
			ids := map[string]bool{}
			for _, f := range faces {
				ids[f.Identity] = true
			}
			f := facematch.Evaluate(same, diff, accept, review)
			if g.json {
				return g.printJSON(struct {
					Photos     int `json:"photos"`
					Faces      int `json:"faces"`
					Identities int `json:"identities"`
					facematch.Figures
				}{len(set), len(faces), len(ids), f})
			}
			p := func(format string, a ...any) { fmt.Fprintf(g.out, format, a...) }
			p("calibration set: %d photos, %d faces, %d identities; %d same-person and %d different-people pairs\n",
				len(set), len(faces), len(ids), f.SamePairs, f.DifferentPairs)
			p("ROC AUC %.4f   EER %.2f %% (at %.3f)   lowest threshold with FMR ≤ 1 %%: %.3f\n", f.AUC, 100*f.EER, f.EERThreshold, f.ThresholdFMR1)
			p("same person: min %.3f median %.3f   different people: max %.3f median %.3f\n", f.SameMin, f.SameMedian, f.DifferentMax, f.DiffMedian)
			p("%-28s %9s %9s\n", "threshold", "FMR", "FNMR")
			p("%-28s %8.2f%% %8.2f%%\n", fmt.Sprintf("accept %.2f (pass)", f.Accept), 100*f.FMRAccept, 100*f.FNMRAccept)
			p("%-28s %8.2f%% %8.2f%%\n", fmt.Sprintf("review from %.2f (not fail)", f.ReviewFrom), 100*f.FMRReview, 100*f.FNMRReview)
			p("grey zone [%.2f, %.2f): %.2f %% of same-person pairs, %.2f %% of different-people pairs go to review\n",
				f.ReviewFrom, f.Accept, 100*f.GreySame, 100*f.GreyDifferent)
			return nil
		},
	}
	c.Flags().StringVar(&media, "media", filepath.Join(assets.CacheDir(), "media"), "the media directory make setup fills")
	c.Flags().Float64Var(&accept, "accept", facematch.Accept, "similarity at or above which the faces match")
	c.Flags().Float64Var(&review, "review-from", facematch.ReviewFrom, "similarity from which a non-match goes to review")
	return c
}

package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/models/assets"
	"livegate.dev/models/facematch"
	"livegate.dev/models/facesearch"
)

func searchEvalCmd(g *globals) *cobra.Command {
	var media string
	var threshold float64
	var sizes []int
	var draws, candidates int
	var every time.Duration
	c := &cobra.Command{
		Use:   "search-eval",
		Short: "1:N figures of the face search: FPIR and FNIR at the threshold for several gallery sizes",
		Long: "Embeds every face of the face match's calibration set (facematch-eval's: dlib's johns, the franck stills\n" +
			"of the franck clip, grace_hopper, astronaut, pigo's sample, every face of the face-api group photos) and a\n" +
			"frame every --clip-every of the three real clips (franck's, and cap12/cap13 of one other person), then\n" +
			"for each gallery size enrols that many identities picked at random (each by its first face), searches with\n" +
			"every other face, and counts in NIST's terms: FNIR, mated searches (the probe's identity is enrolled) that\n" +
			"do not return the mate at or above the threshold within the candidate list; FPIR, non-mated searches that\n" +
			"return anyone at or above it. The set has 30 identities: the bounds printed say what it can rule out.",
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
			if every > 0 {
				cf, err := clipFaces(cmd.Context(), e, media, every)
				if err != nil {
					return err
				}
				faces = append(faces, cf...)
			}
			ids := map[string]bool{}
			for _, f := range faces {
				ids[f.Identity] = true
			}
			var figs []facesearch.Figures
			for _, n := range sizes {
				f, err := facesearch.Evaluate(faces, n, draws, threshold, candidates, facesearch.EvalSeed)
				if err != nil {
					return err
				}
				figs = append(figs, f)
			}
			if g.json {
				return g.printJSON(struct {
					Faces      int                  `json:"faces"`
					Identities int                  `json:"identities"`
					Sizes      []facesearch.Figures `json:"sizes"`
				}{len(faces), len(ids), figs})
			}
			p := func(format string, a ...any) { fmt.Fprintf(g.out, format, a...) }
			p("calibration set and clips: %d faces of %d identities; threshold %.2f, %d candidates, %d random galleries per size\n",
				len(faces), len(ids), threshold, candidates, draws)
			p("%7s %16s %7s %9s %20s %7s %9s %10s %12s\n", "gallery", "mated (faces)", "FNIR", "≤ (95%)", "non-mated (faces)", "FPIR", "≤ (95%)", "mated min", "non-mated max")
			for _, f := range figs {
				p("%7d %9d (%4d) %6.2f%% %8.1f%% %13d (%4d) %6.2f%% %8.1f%% %10.3f %12.3f\n", f.GallerySize, f.Mated, f.DistinctMated,
					100*f.FNIR, 100*f.FNIRUpper95, f.NonMated, f.DistinctNonMated, 100*f.FPIR, 100*f.FPIRUpper95, f.MatedMin, f.NonMatedMax)
			}
			return nil
		},
	}
	c.Flags().StringVar(&media, "media", filepath.Join(assets.CacheDir(), "media"), "the media directory make setup fills")
	c.Flags().Float64Var(&threshold, "threshold", facematch.Accept, "similarity at or above which a candidate is a match (a gallery's default)")
	c.Flags().IntSliceVar(&sizes, "sizes", facesearch.EvalSizes, "gallery sizes (identities enrolled; fewer than the set's)")
	c.Flags().IntVar(&draws, "draws", facesearch.EvalDraws, "random galleries per size")
	c.Flags().DurationVar(&every, "clip-every", 3*time.Second, "also embed one frame this often of each real clip ("+clipNames()+"); 0 leaves the clips out")
	c.Flags().IntVar(&candidates, "candidates", facesearch.EvalCandidates, "candidate list length L")
	return c
}

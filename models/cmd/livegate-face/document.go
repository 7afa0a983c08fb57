package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/image/font/opentype"

	"livegate.dev/models/assets"
	"livegate.dev/models/document"
)

// johnsPortraits are the dlib "johns" crops (five people, eleven each) that
// the synthetic documents carry as portraits.
func johnsPortraits() ([]string, error) {
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "johns", "*", "*.jpg"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no portraits under %s: run `%s`", filepath.Join(assets.CacheDir(), "media", "johns"), assets.FixCommand)
	}
	sort.Strings(files)
	return files, nil
}

func documentEvalCmd(g *globals) *cobra.Command {
	var n, workers int
	var seed int64
	var out, nowFlag string
	var failures bool
	c := &cobra.Command{
		Use:   "document-eval",
		Short: "Read synthetic ID documents photographed like a phone: MRZ field accuracy, full reads, decisions per defect, time",
		Long: `Generates --n synthetic documents from --seed (TD1 cards and TD3 passport
pages in OCR-B, portraits from the dlib "johns" photo set, labelled
SYNTHETIC), photographs each the way a phone would (perspective, rotation,
blur, glare, noise, JPEG), then finds, rectifies and reads each with
Tesseract and decides under the default policy (docs/document.md).

Defects come in turn: valid, tampered check digit, expired, name mismatch
against the subject, portrait of someone else (a face-match matter: the
document is expected to pass), low quality (small, blurred, glare over the
MRZ: expected review).

Prints the accuracy per MRZ field and the share of documents read in full
(low-quality ones excluded), the decision accuracy per defect with every
outcome counted, and the time per document. --out DIR writes every photo, its
rectified portrait and manifest.json (each sample's identity, MRZ lines and
shot parameters) there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			now := time.Now().UTC()
			if nowFlag != "" {
				t, err := time.Parse("2006-01-02", nowFlag)
				if err != nil {
					return fmt.Errorf("--now %q: want YYYY-MM-DD", nowFlag)
				}
				now = t
			}
			if err := (document.Tesseract{}).Check(ctx); err != nil {
				return err
			}
			ocrb, err := document.LoadOCRB()
			if err != nil {
				return err
			}
			portraits, err := johnsPortraits()
			if err != nil {
				return err
			}
			samples, err := document.Generate(n, seed, portraits, now)
			if err != nil {
				return err
			}
			reader := &document.Reader{Now: func() time.Time { return now }}
			before := childCPU()
			rep, err := document.Evaluate(ctx, samples, reader, ocrb, now, workers)
			if err != nil {
				return err
			}
			tessMS := float64((childCPU() - before).Microseconds()) / 1000 / float64(max(n, 1))
			if out != "" {
				if err := writeDocumentSet(ctx, out, samples, reader, ocrb); err != nil {
					return err
				}
			}
			if g.json {
				return g.printJSON(struct {
					*document.Report
					TesseractCPUMS float64 `json:"tesseract_cpu_ms_per_document"`
				}{rep, tessMS})
			}
			printDocumentReport(g, rep, n, seed, tessMS)
			if failures {
				printDocumentFailures(g, rep)
			}
			return nil
		},
	}
	c.Flags().IntVar(&n, "n", 200, "number of synthetic documents")
	c.Flags().Int64Var(&seed, "seed", 7, "seed of the documents and the photos")
	c.Flags().IntVar(&workers, "workers", 1, "documents read in parallel")
	c.Flags().StringVar(&out, "out", "", "write the photos, portraits and manifest.json to this directory")
	c.Flags().BoolVar(&failures, "failures", false, "list every document not read in full or not decided as expected")
	c.Flags().StringVar(&nowFlag, "now", "", "the date the documents are checked on, YYYY-MM-DD (default today)")
	return c
}

// childCPU is the user and system CPU time of the process's finished
// children: the Tesseract runs.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printDocumentReport(g *globals, rep *document.Report, n int, seed int64, tessMS float64) {
	w := g.out
	fmt.Fprintf(w, "synthetic documents: %d (seed %d), found in the photo: %.1f %%\n", n, seed, 100*rep.Found)
	fmt.Fprintf(w, "MRZ read in full (every character; low-quality excluded): %.1f %%\n", 100*rep.FullRead)
	fmt.Fprintln(w, "field accuracy (low-quality excluded):")
	for _, name := range document.FieldNames {
		if acc, ok := rep.FieldAccuracy[name]; ok {
			fmt.Fprintf(w, "  %-16s %6.1f %%\n", name, 100*acc)
		}
	}
	fmt.Fprintln(w, "decision per defect (expected → accuracy; accept/decline/review counts):")
	for _, d := range document.Defects {
		if rep.PerDefect[d] == 0 {
			continue
		}
		c := rep.Decisions[d]
		fmt.Fprintf(w, "  %-22s → %-7s %6.1f %%  (%d: %d/%d/%d)\n", d, d.Expected(), 100*rep.DecisionAccuracy[d],
			rep.PerDefect[d], c[document.Accept], c[document.Decline], c[document.Review])
	}
	fmt.Fprintf(w, "time per document (decode, find, rectify, OCR, decide): mean %.0f ms, median %.0f ms, p95 %.0f ms; Tesseract CPU %.0f ms\n",
		rep.MeanMS, rep.P50MS, rep.P95MS, tessMS)
}

// writeDocumentSet writes each sample's photo, the portrait the reader cut
// out of it (for a face match) and the manifest.
func writeDocumentSet(ctx context.Context, dir string, samples []document.Sample, r *document.Reader, ocrb *opentype.Font) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range samples {
		s := &samples[i]
		photo, _, err := s.Photo(ocrb)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, s.ID+".jpg"), photo, 0o644); err != nil {
			return err
		}
		img, err := jpeg.Decode(bytes.NewReader(photo))
		if err != nil {
			return err
		}
		res, err := r.Read(ctx, img)
		if err != nil {
			return err
		}
		if res.Portrait != nil {
			var buf bytes.Buffer
			if err := png.Encode(&buf, res.Portrait); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, s.ID+".portrait.png"), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	m, err := json.MarshalIndent(samples, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(m, '\n'), 0o644)
}

func printDocumentFailures(g *globals, rep *document.Report) {
	for _, s := range rep.Samples {
		if s.Decision.Outcome == s.Expected && (s.FullRead || s.Defect == document.DefectLowQuality) {
			continue
		}
		fmt.Fprintf(g.out, "%s %s %s: %s %v (expected %s), low %v\n", s.ID, s.Format, s.Defect, s.Status, s.Decision, s.Expected, s.LowFields)
		for i, t := range s.Truth {
			fmt.Fprintf(g.out, "    truth %s\n", t)
			if i < len(s.OCR) {
				fmt.Fprintf(g.out, "    ocr   %s\n", s.OCR[i])
			}
			if i < len(s.Read) && s.Read[i] != s.OCR[i] {
				fmt.Fprintf(g.out, "    read  %s\n", s.Read[i])
			}
		}
	}
}

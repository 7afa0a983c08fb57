//go:build !noengine

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"livegate.dev/models/corpus"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// cmdSimPrint renders a printed-photo attack for the sim board's
// camera_source: file: one frame of a clip printed on paper and held by
// hand in front of the camera, moved as a flat sheet — the evaluation
// corpus's print species (models/corpus: Print, Background, Hand,
// Scene.RenderPrint, composed as its print attack is), written as y4m.
func cmdSimPrint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim-print", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the clip (or image) whose frame is printed (y4m, MJPEG AVI, a frame folder, other formats through ffmpeg) (required)")
	at := fs.Duration("at", 0, "time of the printed frame in the clip")
	seconds := fs.Duration("duration", 10*time.Second, "length of the recording (a passive session on a print is decided in about 8 s)")
	seed := fs.Uint64("seed", 1, "random seed of the print, the room and the hand's motion")
	out := fs.String("out", "", "the recording to write (.y4m) (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("sim-print: unexpected argument %q", fs.Arg(0))}
	case *from == "" || *out == "":
		return usageError{errors.New("sim-print: --from and --out are required")}
	case filepath.Ext(*out) != ".y4m":
		return usageError{fmt.Errorf("sim-print: --out %s: want a .y4m file", *out)}
	case *seconds <= 0 || *seconds > time.Minute:
		return usageError{fmt.Errorf("sim-print: --duration %s not within (0, 1m]", *seconds)}
	}
	still, err := frameAt(ctx, *from, *at)
	if err != nil {
		return fmt.Errorf("sim-print: %w", err)
	}
	if err := writePrint(*out, still, *seconds, *seed); err != nil {
		return fmt.Errorf("sim-print: %w", err)
	}
	fmt.Fprintf(stdout, "%s: a printed photo of %s at %s, held by hand for %s (%d×%d, %d fps)\n",
		*out, *from, *at, *seconds, corpus.SampleW, corpus.SampleH, printFPS)
	return nil
}

// printFPS is the rendered recording's frame rate.
const printFPS = 25

// frameAt returns the clip's frame shown at t, cropped to 4:3 and scaled
// to the corpus's sample size.
func frameAt(ctx context.Context, path string, t time.Duration) (*imgproc.RGB, error) {
	r, err := video.Open(ctx, path, video.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s ends before %s", path, t)
		}
		if err != nil {
			return nil, err
		}
		if f.Timestamp >= t {
			still := imgproc.NewRGB(corpus.SampleW, corpus.SampleH)
			corpus.Fit43(f.Image, still)
			return still, nil
		}
	}
}

// writePrint renders d of still printed and held by hand into a y4m file:
// the composition of the corpus's print attack (print and hand drawn from
// the same ranges).
func writePrint(path string, still *imgproc.RGB, d time.Duration, seed uint64) (err error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pr := corpus.Print(still, corpus.RandomPrint(rng), rng)
	sc := &corpus.Scene{BG: corpus.Background(still, rng), Noise: 1.5 + 1.5*rng.Float64(), Gain: 0.9 + 0.25*rng.Float64(), F: 380 + 80*rng.Float64()}
	size := 0.85 + 0.3*rng.Float64() // print width over frame width
	w, h := float64(corpus.SampleW), float64(corpus.SampleH)
	hand := corpus.NewHand(rng, corpus.Pose{CX: w/2 + 10*rng.NormFloat64(), CY: h/2 + 6*rng.NormFloat64(), Scale: 1}, 0.6+0.6*rng.Float64())

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	yw, err := video.NewY4MWriter(f, corpus.SampleW, corpus.SampleH, printFPS, 1)
	if err != nil {
		return err
	}
	dst := imgproc.NewRGB(corpus.SampleW, corpus.SampleH)
	n := int(d.Seconds() * printFPS)
	for i := 0; i < n; i++ {
		sc.RenderPrint(dst, pr, w*size, h*size, hand.At(float64(i)/printFPS), rng)
		if err := yw.WriteFrame(dst); err != nil {
			return err
		}
	}
	return yw.Close()
}

package document

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"
)

// SampleResult is how one sample of an evaluation went.
type SampleResult struct {
	ID       string          `json:"id"`
	Format   Format          `json:"format"`
	Defect   Defect          `json:"defect"`
	Status   Status          `json:"status"`
	FullRead bool            `json:"full_read"` // every MRZ character right after correction
	Fields   map[string]bool `json:"fields"`    // field name → read right
	Decision Decision        `json:"decision"`
	Expected Outcome         `json:"expected"`
	Duration time.Duration   `json:"duration"`
	// Truth are the printed MRZ lines, OCR the engine's on the grid, Read
	// the lines after correction.
	Truth []string `json:"truth"`
	OCR   []string `json:"ocr,omitempty"`
	Read  []string `json:"read,omitempty"`
	// LowFields are the fields under the policy's confidence.
	LowFields []string `json:"low_fields,omitempty"`
}

// Report sums up an evaluation.
type Report struct {
	N       int            `json:"n"`
	Samples []SampleResult `json:"samples"`
	// FieldAccuracy is, per field, the share of documents of that field's
	// formats (the low-quality ones excluded) where it was read right.
	FieldAccuracy map[string]float64 `json:"field_accuracy"`
	// FullRead is the share of documents (low quality excluded) whose MRZ
	// was read right in every character.
	FullRead float64 `json:"full_read"`
	// Found is the share of photos where the document was found.
	Found float64 `json:"found"`
	// DecisionAccuracy is, per defect, the share decided as Expected says;
	// Decisions counts every outcome per defect.
	DecisionAccuracy map[Defect]float64         `json:"decision_accuracy"`
	Decisions        map[Defect]map[Outcome]int `json:"decisions"`
	PerDefect        map[Defect]int             `json:"per_defect"`
	// Time per document (photo decode, find, rectify, OCR, decide): mean,
	// median and 95th percentile, milliseconds.
	MeanMS, P50MS, P95MS float64
}

// Evaluate photographs every sample, reads it and decides, with workers
// in parallel. The truth is the sample's printed lines; the decision is
// compared with the defect's Expected outcome.
func Evaluate(ctx context.Context, samples []Sample, r *Reader, ocrb *opentype.Font, now time.Time, workers int) (*Report, error) {
	if workers < 1 {
		workers = 1
	}
	out := make([]SampleResult, len(samples))
	errs := make([]error, len(samples))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = evalOne(ctx, &samples[i], r, ocrb, now)
			}
		}()
	}
	for i := range samples {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return summarise(out), nil
}

func evalOne(ctx context.Context, s *Sample, r *Reader, ocrb *opentype.Font, now time.Time) (SampleResult, error) {
	photo, _, err := s.Photo(ocrb)
	if err != nil {
		return SampleResult{}, err
	}
	start := time.Now()
	res, err := r.ReadBytes(ctx, photo)
	if err != nil {
		return SampleResult{}, fmt.Errorf("document: read %s: %w", s.ID, err)
	}
	d := Decide(res, s.Subject, now, Policy{})
	sr := SampleResult{ID: s.ID, Format: s.Format, Defect: s.Defect, Status: res.Status, Decision: d,
		Expected: s.Defect.Expected(), Duration: time.Since(start), Fields: map[string]bool{}}
	truth, err := Parse(s.Lines, now)
	if err != nil {
		return SampleResult{}, fmt.Errorf("document: truth of %s: %w", s.ID, err)
	}
	sr.FullRead = res.MRZ != nil
	sr.Truth, sr.OCR = s.Lines, res.OCRLines
	if res.MRZ != nil {
		sr.Read = res.MRZ.Lines
		for _, f := range res.MRZ.Fields {
			if f.Confidence < (Policy{}).withDefaults().MinConfidence {
				sr.LowFields = append(sr.LowFields, fmt.Sprintf("%s %.2f", f.Name, f.Confidence))
			}
		}
	}
	for _, tf := range truth.Fields {
		ok := false
		if res.MRZ != nil {
			if f, has := res.MRZ.Field(tf.Name); has {
				ok = f.Raw == tf.Raw && f.Value == tf.Value
			}
		}
		sr.Fields[tf.Name] = ok
	}
	if res.MRZ != nil {
		for i := range s.Lines {
			if i >= len(res.MRZ.Lines) || res.MRZ.Lines[i] != s.Lines[i] {
				sr.FullRead = false
			}
		}
	}
	return sr, nil
}

func summarise(out []SampleResult) *Report {
	rep := &Report{N: len(out), Samples: out, FieldAccuracy: map[string]float64{},
		DecisionAccuracy: map[Defect]float64{}, Decisions: map[Defect]map[Outcome]int{}, PerDefect: map[Defect]int{}}
	fieldN := map[string]int{}
	fieldOK := map[string]int{}
	var readable, full, found int
	var ms []float64
	right := map[Defect]int{}
	for _, s := range out {
		ms = append(ms, float64(s.Duration.Microseconds())/1000)
		if s.Status != StatusNotFound {
			found++
		}
		rep.PerDefect[s.Defect]++
		if rep.Decisions[s.Defect] == nil {
			rep.Decisions[s.Defect] = map[Outcome]int{}
		}
		rep.Decisions[s.Defect][s.Decision.Outcome]++
		if s.Decision.Outcome == s.Expected {
			right[s.Defect]++
		}
		if s.Defect == DefectLowQuality {
			continue
		}
		readable++
		if s.FullRead {
			full++
		}
		for name, ok := range s.Fields {
			fieldN[name]++
			if ok {
				fieldOK[name]++
			}
		}
	}
	for name, n := range fieldN {
		rep.FieldAccuracy[name] = float64(fieldOK[name]) / float64(n)
	}
	for d, n := range rep.PerDefect {
		rep.DecisionAccuracy[d] = float64(right[d]) / float64(n)
	}
	if readable > 0 {
		rep.FullRead = float64(full) / float64(readable)
	}
	if len(out) > 0 {
		rep.Found = float64(found) / float64(len(out))
		sort.Float64s(ms)
		sum := 0.0
		for _, v := range ms {
			sum += v
		}
		rep.MeanMS = sum / float64(len(ms))
		rep.P50MS = ms[len(ms)/2]
		rep.P95MS = ms[min(len(ms)-1, len(ms)*95/100)]
	}
	return rep
}

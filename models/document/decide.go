package document

import (
	"fmt"
	"strings"
	"time"
)

// Outcome is a document decision.
type Outcome string

// The outcomes. Review is never a pass: a person looks.
const (
	Accept  Outcome = "accept"
	Decline Outcome = "decline"
	Review  Outcome = "review"
)

// Reasons Decide gives, documented in docs/document.md.
const (
	ReasonVerified          = "document_verified"
	ReasonNotFound          = "document_not_found"
	ReasonUnreadable        = "document_unreadable"
	ReasonLowConfidence     = "document_low_confidence"
	ReasonCheckDigit        = "document_check_digit"
	ReasonExpired           = "document_expired"
	ReasonNameMismatch      = "document_name_mismatch"
	ReasonNameUncertain     = "document_name_uncertain"
	ReasonBirthDateMismatch = "document_birth_date_mismatch"
	ReasonNumberMismatch    = "document_number_mismatch"
)

// Subject is who the integrator says the person is. Empty fields are not
// compared.
type Subject struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	IDNumber    string `json:"idNumber,omitempty"`
	DateOfBirth string `json:"dateOfBirth,omitempty"` // YYYY-MM-DD
}

// Policy is a tenant's decision rules: what each failed check leads to
// (Decline or Review) and the confidence under which a field is not trusted.
type Policy struct {
	// MinConfidence is the OCR confidence a field needs to be trusted; a
	// field under it that matters sends to review. Optional. Default: 0.80.
	MinConfidence float64
	// CheckDigit is the outcome of a check digit that does not match.
	// Optional. Default: Decline.
	CheckDigit Outcome
	// Expired is the outcome of an expired document. Optional. Default: Decline.
	Expired Outcome
	// Mismatch is the outcome of a name, birth date or number that differs
	// from the subject. Optional. Default: Decline.
	Mismatch Outcome
}

func (p Policy) withDefaults() Policy {
	if p.MinConfidence <= 0 {
		p.MinConfidence = 0.80
	}
	for _, o := range []*Outcome{&p.CheckDigit, &p.Expired, &p.Mismatch} {
		if *o == "" {
			*o = Decline
		}
	}
	return p
}

// Validate reports a policy that would let a failed check pass.
func (p Policy) Validate() error {
	p = p.withDefaults()
	if p.MinConfidence > 1 {
		return fmt.Errorf("document: policy min confidence %v: want 0–1", p.MinConfidence)
	}
	for name, o := range map[string]Outcome{"check_digit": p.CheckDigit, "expired": p.Expired, "mismatch": p.Mismatch} {
		if o != Decline && o != Review {
			return fmt.Errorf("document: policy %s %q: want decline or review", name, o)
		}
	}
	return nil
}

var rank = map[Outcome]int{Accept: 1, Review: 2, Decline: 3}

// Decision is a document's outcome and every reason that led to it.
type Decision struct {
	Outcome Outcome  `json:"outcome"`
	Reasons []string `json:"reasons"`
}

// Decide applies the policy to what was read. Failures declare themselves
// only on fields the OCR engine was sure of, and check digits only in a
// zone that reads coherently (at most one field check failing, at most two
// uncertain fields, both dates real days); the same failure otherwise
// sends to review. A subject's name that matches the MRZ
// confirms the name fields whatever their confidence. The decision is
// the worst of the findings: decline over review over accept.
func Decide(r *Result, subj Subject, now time.Time, p Policy) Decision {
	p = p.withDefaults()
	var d Decision
	add := func(o Outcome, reason string) {
		for _, x := range d.Reasons {
			if x == reason {
				return
			}
		}
		d.Reasons = append(d.Reasons, reason)
		if rank[o] > rank[d.Outcome] {
			d.Outcome = o
		}
	}
	switch {
	case r == nil || r.Status == StatusNotFound:
		add(Review, ReasonNotFound)
		return d
	case r.MRZ == nil:
		add(Review, ReasonUnreadable)
		return d
	}
	m := r.MRZ
	sure := func(f Field) bool { return f.Confidence >= p.MinConfidence }
	// A zone that reads as a whole like a misreading (more than one field
	// check failing, several uncertain fields, a date that is no day) cannot
	// decline on its check digits: it goes to review.
	failed, low := 0, 0
	for _, f := range m.Fields {
		if f.HasCheck && !f.CheckOK && f.Name != FieldComposite {
			failed++
		}
		if !sure(f) {
			low++
		}
	}
	coherent := failed <= 1 && low <= 2 && !m.BirthDate.IsZero() && !m.ExpiryDate.IsZero()
	for _, f := range m.Fields {
		if f.Name == FieldComposite && failed > 0 {
			continue // explained by the field whose own check failed
		}
		if f.HasCheck && !f.CheckOK {
			if sure(f) && coherent {
				add(p.CheckDigit, ReasonCheckDigit)
			} else {
				add(Review, ReasonLowConfidence)
			}
		}
	}
	exp, _ := m.Field(FieldExpiryDate)
	if exp.CheckOK && m.Expired(now) {
		add(p.Expired, ReasonExpired)
	}
	sur, _ := m.Field(FieldSurname)
	giv, _ := m.Field(FieldGivenNames)
	if subj.FirstName != "" || subj.LastName != "" {
		if !NameMatches(m, subj) {
			switch {
			case nameNear(m, subj):
				// One character off: as likely a misreading as another
				// person; a person decides.
				add(Review, ReasonNameUncertain)
			case sure(sur) && sure(giv):
				add(p.Mismatch, ReasonNameMismatch)
			default:
				add(Review, ReasonLowConfidence)
			}
		}
	} else if !sure(sur) || !sure(giv) {
		add(Review, ReasonLowConfidence)
	}
	if subj.DateOfBirth != "" {
		b, _ := m.Field(FieldBirthDate)
		if b.CheckOK && m.BirthDate.Format("2006-01-02") != subj.DateOfBirth {
			add(p.Mismatch, ReasonBirthDateMismatch)
		}
	}
	if subj.IDNumber != "" {
		n, _ := m.Field(FieldDocumentNumber)
		if n.CheckOK && MRZName(subj.IDNumber) != m.DocumentNumber {
			add(p.Mismatch, ReasonNumberMismatch)
		}
	}
	for _, name := range []string{FieldDocumentCode, FieldSex} {
		if f, ok := m.Field(name); ok && !sure(f) {
			add(Review, ReasonLowConfidence)
		}
	}
	// A state code is checked against the list of codes, not the engine's
	// confidence: the reader has already turned lookalikes into listed codes.
	for _, name := range []string{FieldIssuer, FieldNationality} {
		if f, ok := m.Field(name); ok && !KnownStateCode(f.Raw) {
			add(Review, ReasonLowConfidence)
		}
	}
	if d.Outcome == "" {
		add(Accept, ReasonVerified)
	}
	return d
}

// NameMatches compares the subject's names with the MRZ's after
// transliteration to the MRZ alphabet. The surname must be the MRZ's
// primary identifier, the first name the MRZ's given names or their first
// part; a name the MRZ had to cut (the name zone is full) matches on the
// part it kept.
func NameMatches(m *MRZ, subj Subject) bool {
	norm := func(s string) string {
		return strings.Join(strings.FieldsFunc(MRZName(s), func(r rune) bool { return r == '<' }), " ")
	}
	full := false
	if f, ok := m.Field(FieldSurname); ok {
		full = !strings.HasSuffix(m.Lines[f.line], "<")
	}
	match := func(want, got string, firstOnly bool) bool {
		switch {
		case want == "":
			return true
		case want == got:
			return true
		case firstOnly && strings.HasPrefix(got, want+" "):
			return true
		case full && got != "" && strings.HasPrefix(want, got):
			return true
		}
		return false
	}
	return match(norm(subj.LastName), m.Surname, false) && match(norm(subj.FirstName), m.GivenNames, true)
}

// nameNear reports a subject whose names differ from the MRZ's in one
// character (an insertion, a deletion or a substitution) in all.
func nameNear(m *MRZ, subj Subject) bool {
	norm := func(s string) string {
		return strings.Join(strings.FieldsFunc(MRZName(s), func(r rune) bool { return r == '<' }), " ")
	}
	want := norm(subj.LastName) + "<<" + norm(subj.FirstName)
	given := m.GivenNames
	if first := norm(subj.FirstName); first != "" && !strings.Contains(first, " ") {
		given, _, _ = strings.Cut(given, " ")
	}
	return len(want) >= 6 && editDistance(want, m.Surname+"<<"+given) == 1
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

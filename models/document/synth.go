package document

import (
	"fmt"
	"image"
	"math/rand"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/image/font/opentype"

	"livegate.dev/models/imgproc"
)

// Defect is what is wrong with a synthetic document, and so which decision
// the reader should come to.
type Defect string

// The defects of the synthetic set.
const (
	DefectNone          Defect = "valid"
	DefectCheckDigit    Defect = "tampered_check_digit" // one check digit changed after issue
	DefectExpired       Defect = "expired"
	DefectNameMismatch  Defect = "name_mismatch"  // the subject claims another name
	DefectOtherPortrait Defect = "other_portrait" // the portrait is someone else's: for the face match
	DefectLowQuality    Defect = "low_quality"    // small, blurred, glare over the MRZ
)

// Defects lists them in report order.
var Defects = []Defect{DefectNone, DefectCheckDigit, DefectExpired, DefectNameMismatch, DefectOtherPortrait, DefectLowQuality}

// Expected is the document decision a defect should lead to. The other
// portrait is a face-match failure: the document itself is in order.
func (d Defect) Expected() Outcome {
	switch d {
	case DefectCheckDigit, DefectExpired, DefectNameMismatch:
		return Decline
	case DefectLowQuality:
		return Review
	}
	return Accept
}

// Sample is one synthetic document and how it was photographed: the
// manifest entry of the evaluation set.
type Sample struct {
	ID      string   `json:"id"`
	Format  Format   `json:"format"`
	Defect  Defect   `json:"defect"`
	Holder  Identity `json:"holder"`
	Subject Subject  `json:"subject"`
	// Lines are the MRZ as printed (tampered for DefectCheckDigit).
	Lines []string `json:"lines"`
	// Portrait is the photo set file on the document, PortraitPerson whose
	// it is, SubjectPerson who claims the document (different for
	// DefectOtherPortrait).
	Portrait       string `json:"portrait"`
	PortraitPerson string `json:"portrait_person"`
	SubjectPerson  string `json:"subject_person"`
	Shot           Shot   `json:"shot"`
	// Tampered is the field whose check digit was changed, if any.
	Tampered string `json:"tampered,omitempty"`
}

var (
	synthSurnames = []string{"ERIKSSON", "NOVAK", "OKAFOR", "TANAKA", "MORALES", "KOWALSKI", "DUBOIS",
		"VAN DER BERG", "OLIVEIRA", "NIEMINEN", "HASSAN", "MACLEOD", "BJORK", "ZIMMERMANN", "ROSSI", "O'BRIEN"}
	synthGiven = []string{"ANNA MARIA", "JOHN", "LUCAS", "SOFIA", "AMARA", "KENJI", "MATEO", "OLGA",
		"PIETER JAN", "LEILA", "ELSE", "GRACE", "IVAN", "NOOR", "BEATRIZ", "OSKAR"}
	synthStates = []string{"UTO", "D<<", "NLD", "FRA", "ITA", "SWE", "CAN", "JPN"}
)

// Generate draws n samples from seed: formats half and half, defects in
// turn, holders with made-up names, portraits from the given photo files
// (grouped by person: the parent folder's name). Photo files are read only
// by Sample.Photo.
func Generate(n int, seed int64, portraits []string, now time.Time) ([]Sample, error) {
	byPerson := map[string][]string{}
	var people []string
	for _, p := range portraits {
		who := filepath.Base(filepath.Dir(p))
		if _, ok := byPerson[who]; !ok {
			people = append(people, who)
		}
		byPerson[who] = append(byPerson[who], p)
	}
	if len(people) < 2 {
		return nil, fmt.Errorf("document: portraits of at least two people needed, got %d", len(people))
	}
	rng := rand.New(rand.NewSource(seed))
	out := make([]Sample, 0, n)
	for i := 0; i < n; i++ {
		f := TD1
		if rng.Intn(2) == 1 {
			f = TD3
		}
		d := Defects[i%len(Defects)]
		birth := now.AddDate(-18-rng.Intn(60), -rng.Intn(12), -rng.Intn(28))
		expiry := now.AddDate(1+rng.Intn(9), rng.Intn(12), rng.Intn(28))
		if d == DefectExpired {
			expiry = now.AddDate(-rng.Intn(5), -1-rng.Intn(11), -rng.Intn(28))
		}
		num := make([]byte, 9)
		for k := range num {
			if k < 2 && rng.Intn(2) == 0 {
				num[k] = byte('A' + rng.Intn(26))
			} else {
				num[k] = byte('0' + rng.Intn(10))
			}
		}
		id := Identity{
			DocumentCode: "I", Issuer: synthStates[rng.Intn(len(synthStates))], Number: string(num),
			Surname: synthSurnames[rng.Intn(len(synthSurnames))], GivenNames: synthGiven[rng.Intn(len(synthGiven))],
			Sex: string("MF"[rng.Intn(2)]), Birth: birth, Expiry: expiry,
		}
		if f == TD3 {
			id.DocumentCode = "P"
			id.Optional = fmt.Sprintf("%08d", rng.Intn(100000000))
		}
		id.Nationality = id.Issuer
		lines, err := EncodeMRZ(f, id)
		if err != nil {
			return nil, err
		}
		s := Sample{ID: fmt.Sprintf("doc-%04d", i), Format: f, Defect: d, Holder: id}
		s.Subject = Subject{FirstName: strings.Fields(id.GivenNames)[0], LastName: id.Surname, DateOfBirth: id.Birth.Format("2006-01-02")}
		if d == DefectNameMismatch {
			for s.Subject.LastName == id.Surname {
				s.Subject.LastName = synthSurnames[rng.Intn(len(synthSurnames))]
			}
		}
		if d == DefectCheckDigit {
			s.Tampered, lines = tamperCheck(rng, f, lines)
		}
		s.Lines = lines
		who := people[rng.Intn(len(people))]
		s.SubjectPerson, s.PortraitPerson = who, who
		if d == DefectOtherPortrait {
			for s.PortraitPerson == who {
				s.PortraitPerson = people[rng.Intn(len(people))]
			}
		}
		set := byPerson[s.PortraitPerson]
		s.Portrait = set[rng.Intn(len(set))]
		s.Shot = RandomShot(rng, d == DefectLowQuality)
		out = append(out, s)
	}
	return out, nil
}

// tamperCheck changes one check digit (not the composite's alone, which
// would leave every field valid) to another digit.
func tamperCheck(rng *rand.Rand, f Format, lines []string) (string, []string) {
	var pos [][3]int // line, column, and index into names
	names := []string{FieldDocumentNumber, FieldBirthDate, FieldExpiryDate}
	switch f {
	case TD3:
		pos = [][3]int{{1, 9, 0}, {1, 19, 1}, {1, 27, 2}}
	case TD1:
		pos = [][3]int{{0, 14, 0}, {1, 6, 1}, {1, 14, 2}}
	}
	p := pos[rng.Intn(len(pos))]
	out := append([]string(nil), lines...)
	b := []byte(out[p[0]])
	b[p[1]] = byte('0' + (int(b[p[1]]-'0')+1+rng.Intn(9))%10)
	out[p[0]] = string(b)
	return names[p[2]], out
}

// Photo renders the sample's document with its portrait and photographs it:
// the JPEG a phone would send, and where the document's corners are in it.
func (s *Sample) Photo(ocrb *opentype.Font) ([]byte, Quad, error) {
	p, err := imgproc.DecodeFile(s.Portrait)
	if err != nil {
		return nil, Quad{}, fmt.Errorf("document: portrait of %s: %w", s.ID, err)
	}
	var portrait image.Image = p.ToImage()
	doc, err := Render(s.Format, s.Holder, s.Lines, portrait, ocrb, RenderOptions{})
	if err != nil {
		return nil, Quad{}, err
	}
	return Photograph(doc, s.Shot)
}

package document

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format is the layout of a machine readable zone (ICAO 9303 parts 4–6).
type Format int

const (
	// FormatUnknown is the zero Format.
	FormatUnknown Format = iota
	// TD1 is the ID-card layout: three lines of 30 characters.
	TD1
	// TD3 is the passport layout: two lines of 44 characters.
	TD3
)

func (f Format) String() string {
	switch f {
	case TD1:
		return "TD1"
	case TD3:
		return "TD3"
	}
	return "unknown"
}

// Lines and Width are the MRZ's shape for the format.
func (f Format) Lines() int {
	switch f {
	case TD1:
		return 3
	case TD3:
		return 2
	}
	return 0
}

// Width is the number of characters in each line of the format.
func (f Format) Width() int {
	switch f {
	case TD1:
		return 30
	case TD3:
		return 44
	}
	return 0
}

// Field names, in the order Parse returns them. They are the keys the
// evaluation and a report use.
const (
	FieldDocumentCode   = "document_code"
	FieldIssuer         = "issuer"
	FieldDocumentNumber = "document_number"
	FieldOptional1      = "optional1"
	FieldBirthDate      = "birth_date"
	FieldSex            = "sex"
	FieldExpiryDate     = "expiry_date"
	FieldNationality    = "nationality"
	FieldOptional2      = "optional2"
	FieldSurname        = "surname"
	FieldGivenNames     = "given_names"
	FieldComposite      = "composite"
)

// FieldNames lists every field name Parse may return, in a stable order.
var FieldNames = []string{
	FieldDocumentCode, FieldIssuer, FieldDocumentNumber, FieldOptional1, FieldBirthDate, FieldSex,
	FieldExpiryDate, FieldNationality, FieldOptional2, FieldSurname, FieldGivenNames, FieldComposite,
}

// Field is one field of an MRZ. Raw is the characters as printed (with '<'
// fillers), Value the field read for people: fillers removed, names with
// spaces. A field protected by a check digit has HasCheck set and CheckOK
// telling whether the digit printed after it matches. The composite field's
// Raw is the composite check digit itself.
type Field struct {
	Name     string `json:"name"`
	Raw      string `json:"raw"`
	Value    string `json:"value"`
	HasCheck bool   `json:"has_check"`
	CheckOK  bool   `json:"check_ok"`
	// Confidence is the OCR engine's confidence in the field's characters,
	// 0–1 (the lowest of them); 1 for an MRZ parsed from text.
	Confidence float64 `json:"confidence"`
	// Corrected counts characters changed from what the OCR engine read
	// (a letter for a digit or back), guided by the field type and the check digit.
	Corrected int `json:"corrected,omitempty"`

	// span is where Raw lies: line, start column, end column (exclusive),
	// and where the check digit is (column, -1 if none).
	line, start, end, check int
}

// MRZ is a parsed machine readable zone.
type MRZ struct {
	Format Format   `json:"format"`
	Lines  []string `json:"lines"`
	Fields []Field  `json:"fields"`

	DocumentCode   string `json:"document_code"`
	Issuer         string `json:"issuer"`
	DocumentNumber string `json:"document_number"`
	Nationality    string `json:"nationality"`
	Surname        string `json:"surname"`
	GivenNames     string `json:"given_names"`
	Sex            string `json:"sex"`
	// BirthDate and ExpiryDate are zero when the six digits are not a date.
	BirthDate  time.Time `json:"birth_date"`
	ExpiryDate time.Time `json:"expiry_date"`
}

// Errors of Parse. A check digit that does not match is not an error: it
// is a Field with CheckOK false.
var (
	// ErrShape is wrapped when the lines are not a TD1 or TD3 zone.
	ErrShape = errors.New("document: not a TD1 or TD3 machine readable zone")
	// ErrCharset is wrapped when a line holds a character outside A–Z, 0–9 and '<'.
	ErrCharset = errors.New("document: character outside the MRZ alphabet")
)

// Alphabet is every character an MRZ may hold.
const Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

// CheckDigit is the ICAO 9303 check digit of s: characters weighted 7, 3, 1
// in turn (digits their value, A–Z 10–35, '<' 0), summed modulo 10. It
// returns -1 when s holds a character outside Alphabet.
func CheckDigit(s string) int {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v := charValue(s[i])
		if v < 0 {
			return -1
		}
		sum += v * weights[i%3]
	}
	return sum % 10
}

func charValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c == '<':
		return 0
	}
	return -1
}

// layout describes where each field lies for a format.
func layout(f Format) []Field {
	switch f {
	case TD3:
		return []Field{
			{Name: FieldDocumentCode, line: 0, start: 0, end: 2, check: -1},
			{Name: FieldIssuer, line: 0, start: 2, end: 5, check: -1},
			{Name: FieldSurname, line: 0, start: 5, end: 44, check: -1},
			{Name: FieldGivenNames, line: 0, start: 5, end: 44, check: -1},
			{Name: FieldDocumentNumber, line: 1, start: 0, end: 9, check: 9},
			{Name: FieldNationality, line: 1, start: 10, end: 13, check: -1},
			{Name: FieldBirthDate, line: 1, start: 13, end: 19, check: 19},
			{Name: FieldSex, line: 1, start: 20, end: 21, check: -1},
			{Name: FieldExpiryDate, line: 1, start: 21, end: 27, check: 27},
			{Name: FieldOptional1, line: 1, start: 28, end: 42, check: 42},
			{Name: FieldComposite, line: 1, start: 43, end: 44, check: 43},
		}
	case TD1:
		return []Field{
			{Name: FieldDocumentCode, line: 0, start: 0, end: 2, check: -1},
			{Name: FieldIssuer, line: 0, start: 2, end: 5, check: -1},
			{Name: FieldDocumentNumber, line: 0, start: 5, end: 14, check: 14},
			{Name: FieldOptional1, line: 0, start: 15, end: 30, check: -1},
			{Name: FieldBirthDate, line: 1, start: 0, end: 6, check: 6},
			{Name: FieldSex, line: 1, start: 7, end: 8, check: -1},
			{Name: FieldExpiryDate, line: 1, start: 8, end: 14, check: 14},
			{Name: FieldNationality, line: 1, start: 15, end: 18, check: -1},
			{Name: FieldOptional2, line: 1, start: 18, end: 29, check: -1},
			{Name: FieldComposite, line: 1, start: 29, end: 30, check: 29},
			{Name: FieldSurname, line: 2, start: 0, end: 30, check: -1},
			{Name: FieldGivenNames, line: 2, start: 0, end: 30, check: -1},
		}
	}
	return nil
}

// compositeSpans are the [line, start, end) ranges the composite check
// digit covers.
func compositeSpans(f Format) [][3]int {
	switch f {
	case TD3:
		return [][3]int{{1, 0, 10}, {1, 13, 20}, {1, 21, 43}}
	case TD1:
		return [][3]int{{0, 5, 30}, {1, 0, 7}, {1, 8, 15}, {1, 18, 29}}
	}
	return nil
}

// DetectFormat tells the format from the number and width of the lines.
func DetectFormat(lines []string) Format {
	switch {
	case len(lines) == 3 && len(lines[0]) == 30 && len(lines[1]) == 30 && len(lines[2]) == 30:
		return TD1
	case len(lines) == 2 && len(lines[0]) == 44 && len(lines[1]) == 44:
		return TD3
	}
	return FormatUnknown
}

// Parse reads a TD1 or TD3 zone from its lines. now resolves the century of
// the two-digit years: a birth year is the latest one not after now, an
// expiry year the earliest one from 50 years before now on. Check digits are
// verified, not enforced: see Field.CheckOK and Valid.
func Parse(lines []string, now time.Time) (*MRZ, error) {
	f := DetectFormat(lines)
	if f == FormatUnknown {
		w := make([]int, len(lines))
		for i, l := range lines {
			w[i] = len(l)
		}
		return nil, fmt.Errorf("%w: %d lines of widths %v (want 3×30 or 2×44)", ErrShape, len(lines), w)
	}
	for i, l := range lines {
		if j := strings.IndexFunc(l, func(r rune) bool { return !strings.ContainsRune(Alphabet, r) }); j >= 0 {
			return nil, fmt.Errorf("%w: line %d column %d %q", ErrCharset, i+1, j+1, l[j])
		}
	}
	m := &MRZ{Format: f, Lines: append([]string(nil), lines...)}
	for _, fd := range layout(f) {
		fd.Raw = lines[fd.line][fd.start:fd.end]
		fd.Confidence = 1
		m.Fields = append(m.Fields, fd)
	}
	m.evaluate(now)
	return m, nil
}

// evaluate fills values and check results from the lines.
func (m *MRZ) evaluate(now time.Time) {
	// TD1 document numbers longer than nine characters continue in the
	// optional field: the check digit position holds '<' and the number
	// ends, with its check digit, before the first filler there.
	long := ""
	if m.Format == TD1 && m.Lines[0][14] == '<' {
		opt := m.Lines[0][15:30]
		if k := strings.IndexByte(opt, '<'); k > 1 {
			long = opt[:k]
		}
	}
	for i := range m.Fields {
		fd := &m.Fields[i]
		line := m.Lines[fd.line]
		fd.Raw = line[fd.start:fd.end]
		if fd.check >= 0 {
			fd.HasCheck = true
			printed := charValue(line[fd.check])
			switch fd.Name {
			case FieldComposite:
				var b strings.Builder
				for _, s := range compositeSpans(m.Format) {
					b.WriteString(m.Lines[s[0]][s[1]:s[2]])
				}
				fd.CheckOK = line[fd.check] >= '0' && line[fd.check] <= '9' && CheckDigit(b.String()) == printed
			case FieldOptional1:
				// TD3's personal number: an empty one may carry '<' as its digit.
				fd.CheckOK = (line[fd.check] >= '0' && line[fd.check] <= '9' && CheckDigit(fd.Raw) == printed) ||
					(line[fd.check] == '<' && strings.Trim(fd.Raw, "<") == "")
			case FieldDocumentNumber:
				if long != "" {
					full := fd.Raw + long[:len(long)-1]
					d := long[len(long)-1]
					fd.CheckOK = d >= '0' && d <= '9' && CheckDigit(full) == int(d-'0')
					fd.Raw = full
				} else {
					fd.CheckOK = line[fd.check] >= '0' && line[fd.check] <= '9' && CheckDigit(fd.Raw) == printed
				}
			default:
				fd.CheckOK = line[fd.check] >= '0' && line[fd.check] <= '9' && CheckDigit(fd.Raw) == printed
			}
		}
		switch fd.Name {
		case FieldSurname, FieldGivenNames:
			sur, given := splitName(fd.Raw)
			if fd.Name == FieldSurname {
				fd.Value = sur
			} else {
				fd.Value = given
			}
		case FieldComposite:
			fd.Value = fd.Raw
		case FieldOptional1:
			fd.Value = strings.Trim(fd.Raw, "<")
			if long != "" {
				fd.Value = strings.Trim(m.Lines[0][15+len(long):30], "<")
			}
		default:
			fd.Value = strings.ReplaceAll(strings.TrimRight(fd.Raw, "<"), "<", " ")
		}
	}
	m.DocumentCode = m.value(FieldDocumentCode)
	m.Issuer = m.value(FieldIssuer)
	m.DocumentNumber = m.value(FieldDocumentNumber)
	m.Nationality = m.value(FieldNationality)
	m.Surname = m.value(FieldSurname)
	m.GivenNames = m.value(FieldGivenNames)
	m.Sex = m.value(FieldSex)
	m.BirthDate, _ = mrzDate(m.field(FieldBirthDate).Raw, now, false)
	m.ExpiryDate, _ = mrzDate(m.field(FieldExpiryDate).Raw, now, true)
}

func (m *MRZ) field(name string) *Field {
	for i := range m.Fields {
		if m.Fields[i].Name == name {
			return &m.Fields[i]
		}
	}
	return &Field{}
}

func (m *MRZ) value(name string) string { return m.field(name).Value }

// Field returns the named field and whether the format has it.
func (m *MRZ) Field(name string) (Field, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Valid reports whether every check digit matches.
func (m *MRZ) Valid() bool {
	for _, f := range m.Fields {
		if f.HasCheck && !f.CheckOK {
			return false
		}
	}
	return true
}

// Expired reports whether the document's last valid day is before now's
// day. An unreadable expiry date is not "expired": see Valid.
func (m *MRZ) Expired(now time.Time) bool {
	if m.ExpiryDate.IsZero() {
		return false
	}
	y, mo, d := now.Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	return m.ExpiryDate.Before(today)
}

// splitName splits the name field at its first "<<" into the primary
// identifier (surname) and the secondary one (given names); '<' inside
// each becomes a space and trailing fillers go.
func splitName(raw string) (surname, given string) {
	s := strings.TrimRight(raw, "<")
	sur, giv, _ := strings.Cut(s, "<<")
	clean := func(p string) string {
		return strings.Join(strings.FieldsFunc(p, func(r rune) bool { return r == '<' }), " ")
	}
	return clean(sur), clean(giv)
}

// mrzDate reads YYMMDD. A birth year is put in the latest century that
// keeps it not after now; an expiry year in the earliest that keeps it from
// 50 years before now on.
func mrzDate(s string, now time.Time, expiry bool) (time.Time, error) {
	if len(s) != 6 {
		return time.Time{}, fmt.Errorf("document: date %q: want YYMMDD", s)
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("document: date %q: not digits", s)
		}
	}
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	century := now.Year() / 100 * 100
	year := century + yy
	if expiry {
		if year < now.Year()-50 {
			year += 100
		} else if year >= now.Year()+50 {
			year -= 100
		}
	}
	t := time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if !expiry && t.After(now) {
		year -= 100
		t = time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	}
	if mm < 1 || mm > 12 || dd < 1 || t.Day() != dd {
		return time.Time{}, fmt.Errorf("document: date %q: no such day", s)
	}
	return t, nil
}

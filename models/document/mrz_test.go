package document

import (
	"errors"
	"testing"
	"time"
)

// The specimens of ICAO 9303 (part 4 appendix A for TD3, part 5 appendix A
// for TD1), Utopia's Anna Maria Eriksson.
var (
	specimenTD3 = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	specimenTD1 = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

func TestCheckDigit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		// 7·7 + 4·3 + 0·1 + 8·7 + 1·3 + 2·1 = 122 → 2
		{"740812", 2},
		// 1·7 + 2·3 + 0·1 + 4·7 + 1·3 + 5·1 = 49 → 9
		{"120415", 9},
		// L=21: 21·7 + 8·3 + 9·1 + 8·7 + 9·3 + 0·1 + 2·7 + C=12·3 + 3·1 = 316 → 6
		{"L898902C3", 6},
		// D=13: 13·7 + 2·3 + 3·1 + 1·7 + 4·3 + 5·1 + 8·7 + 9·3 + 0·1 = 207 → 7
		{"D23145890", 7},
		// fillers count 0: 5·7 + 2·3 = 41 → 1
		{"52<<<<", 1},
		{"<<<<<<<<<", 0},
		{"", 0},
		// Z=35: 35·7 = 245 → 5
		{"Z", 5},
		{"ab", -1},
		{"12 4", -1},
	} {
		if got := CheckDigit(tc.in); got != tc.want {
			t.Errorf("CheckDigit(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseSpecimens(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  map[string]string
		fmt   Format
	}{
		{"TD3", specimenTD3, map[string]string{
			FieldDocumentCode: "P", FieldIssuer: "UTO", FieldSurname: "ERIKSSON", FieldGivenNames: "ANNA MARIA",
			FieldDocumentNumber: "L898902C3", FieldNationality: "UTO", FieldBirthDate: "740812", FieldSex: "F",
			FieldExpiryDate: "120415", FieldOptional1: "ZE184226B", FieldComposite: "0",
		}, TD3},
		{"TD1", specimenTD1, map[string]string{
			FieldDocumentCode: "I", FieldIssuer: "UTO", FieldDocumentNumber: "D23145890", FieldOptional1: "",
			FieldBirthDate: "740812", FieldSex: "F", FieldExpiryDate: "120415", FieldNationality: "UTO",
			FieldOptional2: "", FieldComposite: "6", FieldSurname: "ERIKSSON", FieldGivenNames: "ANNA MARIA",
		}, TD1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.lines, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != tc.fmt {
				t.Errorf("format %v, want %v", m.Format, tc.fmt)
			}
			if !m.Valid() {
				t.Errorf("specimen not valid: %+v", m.Fields)
			}
			for name, want := range tc.want {
				f, ok := m.Field(name)
				if !ok {
					t.Errorf("no field %s", name)
					continue
				}
				if f.Value != want {
					t.Errorf("%s = %q, want %q", name, f.Value, want)
				}
			}
			if got := m.BirthDate.Format("2006-01-02"); got != "1974-08-12" {
				t.Errorf("birth %s", got)
			}
			if got := m.ExpiryDate.Format("2006-01-02"); got != "2012-04-15" {
				t.Errorf("expiry %s", got)
			}
			if !m.Expired(testNow) {
				t.Error("a 2012 expiry is expired in 2026")
			}
		})
	}
}

// tamper replaces the character at line l, column c.
func tamper(lines []string, l, c int, b byte) []string {
	out := append([]string(nil), lines...)
	s := []byte(out[l])
	s[c] = b
	out[l] = string(s)
	return out
}

func TestParseTampered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		bad   []string // fields whose check fails; every other checked field passes
	}{
		{"TD3 number digit", tamper(specimenTD3, 1, 9, '7'), []string{FieldDocumentNumber, FieldComposite}},
		{"TD3 number char", tamper(specimenTD3, 1, 0, 'M'), []string{FieldDocumentNumber, FieldComposite}},
		{"TD3 birth", tamper(specimenTD3, 1, 15, '1'), []string{FieldBirthDate, FieldComposite}},
		{"TD3 birth digit letter", tamper(specimenTD3, 1, 19, 'Z'), []string{FieldBirthDate, FieldComposite}},
		{"TD3 expiry moved", tamper(specimenTD3, 1, 22, '3'), []string{FieldExpiryDate, FieldComposite}},
		{"TD3 personal number", tamper(specimenTD3, 1, 28, 'X'), []string{FieldOptional1, FieldComposite}},
		{"TD3 composite only", tamper(specimenTD3, 1, 43, '1'), []string{FieldComposite}},
		// The name is not covered by any check digit: a changed name stays valid.
		{"TD3 name", tamper(specimenTD3, 0, 5, 'A'), nil},
		{"TD3 sex", tamper(specimenTD3, 1, 20, 'M'), nil},
		{"TD1 number", tamper(specimenTD1, 0, 14, '8'), []string{FieldDocumentNumber, FieldComposite}},
		{"TD1 optional1 in composite", tamper(specimenTD1, 0, 20, 'B'), []string{FieldComposite}},
		{"TD1 expiry", tamper(specimenTD1, 1, 13, '6'), []string{FieldExpiryDate, FieldComposite}},
		{"TD1 optional2 in composite", tamper(specimenTD1, 1, 20, '1'), []string{FieldComposite}},
		{"TD1 nationality outside composite", tamper(specimenTD1, 1, 15, 'D'), nil},
		{"TD1 composite", tamper(specimenTD1, 1, 29, '5'), []string{FieldComposite}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.lines, testNow)
			if err != nil {
				t.Fatal(err)
			}
			bad := map[string]bool{}
			for _, b := range tc.bad {
				bad[b] = true
			}
			for _, f := range m.Fields {
				if !f.HasCheck {
					continue
				}
				if f.CheckOK == bad[f.Name] {
					t.Errorf("%s: check ok %v, want %v", f.Name, f.CheckOK, !bad[f.Name])
				}
			}
			if m.Valid() != (len(tc.bad) == 0) {
				t.Errorf("Valid() = %v", m.Valid())
			}
		})
	}
}

func TestParseLongTD1Number(t *testing.T) {
	// A 12-character number: nine in place, '<' at the check digit, the
	// rest and its check digit in the optional field.
	num := "D23145890AB1"
	d := CheckDigit(num)
	line1 := "I<UTO" + num[:9] + "<" + num[9:] + string(rune('0'+d)) + "<<<<<<<<<<<"
	line2 := "7408122F1204159UTO<<<<<<<<<<<"
	comp := CheckDigit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
	lines := []string{line1, line2 + string(rune('0'+comp)), "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}
	m, err := Parse(lines, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentNumber != num || !m.Valid() {
		t.Fatalf("number %q valid %v: %+v", m.DocumentNumber, m.Valid(), m.Fields)
	}
	m, _ = Parse(tamper(lines, 0, 17, byte('0'+(d+1)%10)), testNow)
	if f, _ := m.Field(FieldDocumentNumber); f.CheckOK {
		t.Fatal("a wrong check digit of a long number passed")
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  error
	}{
		{"no lines", nil, ErrShape},
		{"one line", specimenTD3[:1], ErrShape},
		{"short line", []string{specimenTD3[0], specimenTD3[1][:43]}, ErrShape},
		{"TD1 two lines", specimenTD1[:2], ErrShape},
		{"lower case", tamper(specimenTD3, 0, 6, 'r'), ErrCharset},
		{"space", tamper(specimenTD1, 2, 8, ' '), ErrCharset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.lines, testNow); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDates(t *testing.T) {
	for _, tc := range []struct {
		in     string
		expiry bool
		want   string
	}{
		{"740812", false, "1974-08-12"},
		{"260101", false, "2026-01-01"},
		{"261208", false, "1926-12-08"}, // tomorrow's date cannot be a birth date
		{"000229", false, "2000-02-29"},
		{"301231", true, "2030-12-31"},
		{"751231", true, "2075-12-31"}, // within 50 years ahead
		{"760101", true, "1976-01-01"}, // 50 years ahead or more is in the past century
		{"990101", true, "1999-01-01"},
		{"010229", false, ""},
		{"741301", false, ""},
		{"7408AB", false, ""},
		{"<<<<<<", true, ""},
	} {
		got, err := mrzDate(tc.in, testNow, tc.expiry)
		s := ""
		if err == nil {
			s = got.Format("2006-01-02")
		}
		if s != tc.want {
			t.Errorf("mrzDate(%q, expiry %v) = %q (%v), want %q", tc.in, tc.expiry, s, err, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ raw, sur, given string }{
		{"ERIKSSON<<ANNA<MARIA<<<<<<<<<<", "ERIKSSON", "ANNA MARIA"},
		{"VAN<DER<BERG<<JAN<<<<<<<<<<<<", "VAN DER BERG", "JAN"},
		{"MONONYM<<<<<<<<<<<<<<<<<<<<<<<", "MONONYM", ""},
		{"<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "", ""},
		{"SMITH<<JOHN<<<<<<<<<<<<<<<<<<", "SMITH", "JOHN"},
	} {
		sur, given := splitName(tc.raw)
		if sur != tc.sur || given != tc.given {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", tc.raw, sur, given, tc.sur, tc.given)
		}
	}
}

package document

import (
	"testing"
	"time"
)

// mrzOf parses lines and sets every field's confidence to conf, then the
// named fields' to low.
func mrzOf(t *testing.T, lines []string, conf float64, low ...string) *Result {
	t.Helper()
	m, err := Parse(lines, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Fields {
		m.Fields[i].Confidence = conf
		for _, l := range low {
			if m.Fields[i].Name == l {
				m.Fields[i].Confidence = 0.3
			}
		}
	}
	return &Result{Status: StatusRead, MRZ: m}
}

func encode(t *testing.T, f Format, id Identity) []string {
	t.Helper()
	l, err := EncodeMRZ(f, id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDecide(t *testing.T) {
	id := Identity{DocumentCode: "P", Issuer: "UTO", Number: "L898902C3", Surname: "Eriksson", GivenNames: "Anna Maria",
		Nationality: "UTO", Sex: "F", Birth: time.Date(1974, 8, 12, 0, 0, 0, 0, time.UTC),
		Expiry: time.Date(2030, 4, 15, 0, 0, 0, 0, time.UTC), Optional: "ZE184226B"}
	td3 := encode(t, TD3, id)
	idCard := id
	idCard.DocumentCode = "I"
	td1 := encode(t, TD1, idCard)
	expired := id
	expired.Expiry = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) // yesterday
	lastDay := id
	lastDay.Expiry = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) // valid through today
	anna := Subject{FirstName: "Anna", LastName: "Eriksson"}
	for _, tc := range []struct {
		name    string
		res     *Result
		subj    Subject
		policy  Policy
		want    Outcome
		reasons []string
	}{
		{"valid TD3", mrzOf(t, td3, 0.95), anna, Policy{}, Accept, []string{ReasonVerified}},
		{"valid TD1", mrzOf(t, td1, 0.95), anna, Policy{}, Accept, []string{ReasonVerified}},
		{"both given names", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna Maria", LastName: "ERIKSSON"}, Policy{}, Accept, []string{ReasonVerified}},
		{"accents and case", mrzOf(t, td3, 0.95), Subject{FirstName: "Änna", LastName: "eriksson"}, Policy{}, Accept, []string{ReasonVerified}},
		{"no subject", mrzOf(t, td3, 0.95), Subject{}, Policy{}, Accept, []string{ReasonVerified}},
		{"birth date and number match", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Eriksson", DateOfBirth: "1974-08-12", IDNumber: "l898902c3"}, Policy{}, Accept, []string{ReasonVerified}},
		{"tampered check digit", mrzOf(t, tamper(td3, 1, 9, '7'), 0.95), anna, Policy{}, Decline, []string{ReasonCheckDigit}},
		{"tampered, tenant reviews", mrzOf(t, tamper(td3, 1, 9, '7'), 0.95), anna, Policy{CheckDigit: Review}, Review, []string{ReasonCheckDigit}},
		{"check fails on an uncertain field", mrzOf(t, tamper(td3, 1, 9, '7'), 0.95, FieldDocumentNumber), anna, Policy{}, Review, []string{ReasonLowConfidence}},
		{"two field checks fail: a misreading", mrzOf(t, tamper(tamper(td3, 1, 9, '7'), 1, 19, '0'), 0.95), anna, Policy{}, Review, []string{ReasonLowConfidence}},
		{"expired", mrzOf(t, encode(t, TD3, expired), 0.95), anna, Policy{}, Decline, []string{ReasonExpired}},
		{"expires today", mrzOf(t, encode(t, TD3, lastDay), 0.95), anna, Policy{}, Accept, []string{ReasonVerified}},
		{"expired, tenant reviews", mrzOf(t, encode(t, TD3, expired), 0.95), anna, Policy{Expired: Review}, Review, []string{ReasonExpired}},
		{"other surname", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Novak"}, Policy{}, Decline, []string{ReasonNameMismatch}},
		{"other first name", mrzOf(t, td1, 0.95), Subject{FirstName: "Maria", LastName: "Eriksson"}, Policy{}, Decline, []string{ReasonNameMismatch}},
		{"one letter off", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Eriksen"}, Policy{}, Decline, []string{ReasonNameMismatch}},
		{"one letter off: near", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Erikson"}, Policy{}, Review, []string{ReasonNameUncertain}},
		{"other surname, uncertain name", mrzOf(t, td3, 0.95, FieldSurname, FieldGivenNames), Subject{FirstName: "Anna", LastName: "Novak"}, Policy{}, Review, []string{ReasonLowConfidence}},
		{"matching name confirms uncertain name fields", mrzOf(t, td3, 0.95, FieldSurname, FieldGivenNames), anna, Policy{}, Accept, []string{ReasonVerified}},
		{"uncertain name, no subject", mrzOf(t, td3, 0.95, FieldSurname), Subject{}, Policy{}, Review, []string{ReasonLowConfidence}},
		{"uncertain nationality, a listed code", mrzOf(t, td3, 0.95, FieldNationality), anna, Policy{}, Accept, []string{ReasonVerified}},
		{"nationality not a listed code", mrzOf(t, tamper(td3, 1, 11, 'Q'), 0.95), anna, Policy{}, Review, []string{ReasonLowConfidence}},
		{"uncertain sex", mrzOf(t, td3, 0.95, FieldSex), anna, Policy{}, Review, []string{ReasonLowConfidence}},
		{"other birth date", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Eriksson", DateOfBirth: "1974-08-13"}, Policy{}, Decline, []string{ReasonBirthDateMismatch}},
		{"other number", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Eriksson", IDNumber: "L898902C4"}, Policy{}, Decline, []string{ReasonNumberMismatch}},
		{"mismatch, tenant reviews", mrzOf(t, td3, 0.95), Subject{FirstName: "Anna", LastName: "Novak"}, Policy{Mismatch: Review}, Review, []string{ReasonNameMismatch}},
		{"expired and tampered", mrzOf(t, tamper(encode(t, TD3, expired), 1, 9, '1'), 0.95), anna, Policy{}, Decline, []string{ReasonCheckDigit, ReasonExpired}},
		{"stricter confidence", mrzOf(t, td3, 0.9), Subject{}, Policy{MinConfidence: 0.95}, Review, []string{ReasonLowConfidence}},
		{"nothing found", &Result{Status: StatusNotFound}, anna, Policy{}, Review, []string{ReasonNotFound}},
		{"nothing read", &Result{Status: StatusUnreadable}, anna, Policy{}, Review, []string{ReasonUnreadable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.res, tc.subj, testNow, tc.policy)
			if d.Outcome != tc.want || len(d.Reasons) != len(tc.reasons) {
				t.Fatalf("got %v, want %s %v", d, tc.want, tc.reasons)
			}
			for i := range d.Reasons {
				if d.Reasons[i] != tc.reasons[i] {
					t.Fatalf("got %v, want %s %v", d, tc.want, tc.reasons)
				}
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p  Policy
		ok bool
	}{
		{Policy{}, true},
		{Policy{CheckDigit: Review, Expired: Review, Mismatch: Review, MinConfidence: 0.9}, true},
		{Policy{CheckDigit: Accept}, false},
		{Policy{Expired: "ignore"}, false},
		{Policy{MinConfidence: 1.5}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc.p, err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		f  Format
		id Identity
	}{
		{TD3, Identity{DocumentCode: "P", Issuer: "D", Number: "C01X00T47", Surname: "Müller-Lüdenscheidt", GivenNames: "Hans Jürgen",
			Nationality: "D", Sex: "M", Birth: time.Date(1964, 8, 12, 0, 0, 0, 0, time.UTC), Expiry: time.Date(2031, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{TD1, Identity{DocumentCode: "ID", Issuer: "FRA", Number: "X4RTBPFW4", Surname: "O'Brien", GivenNames: "Siobhán",
			Nationality: "IRL", Sex: "", Birth: time.Date(2001, 2, 28, 0, 0, 0, 0, time.UTC), Expiry: time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC), Optional: "AB12"}},
		{TD1, Identity{DocumentCode: "I", Issuer: "UTO", Number: "1", Surname: "Wolfeschlegelsteinhausenbergerdorff", GivenNames: "Hubert Blaine",
			Nationality: "UTO", Sex: "M", Birth: time.Date(1914, 2, 4, 0, 0, 0, 0, time.UTC), Expiry: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}},
	} {
		lines := encode(t, tc.f, tc.id)
		m, err := Parse(lines, testNow)
		if err != nil {
			t.Fatalf("%v: %v", lines, err)
		}
		if !m.Valid() {
			t.Errorf("%v: not valid: %+v", lines, m.Fields)
		}
		if m.DocumentNumber != tc.id.Number || m.Surname != MRZNameWords(tc.id.Surname)[:min(len(m.Surname), len(MRZNameWords(tc.id.Surname)))] ||
			!m.ExpiryDate.Equal(tc.id.Expiry) || m.Issuer != stripFill(tc.id.Issuer) || m.DocumentCode != tc.id.DocumentCode {
			t.Errorf("%v: read back %q %q %v %q %q", lines, m.DocumentNumber, m.Surname, m.ExpiryDate, m.Issuer, m.DocumentCode)
		}
		if tc.id.Birth.Year() > 1926 && !m.BirthDate.Equal(tc.id.Birth) {
			t.Errorf("%v: birth %v", lines, m.BirthDate)
		}
	}
}

// MRZNameWords is MRZName with its fillers as spaces.
func MRZNameWords(s string) string {
	m, _ := splitName(MRZName(s))
	return m
}

func stripFill(s string) string {
	sur, _ := splitName(s)
	return sur
}

func TestFixStateCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"JPN", "JPN", true},
		{"IPN", "JPN", true},
		{"UPN", "JPN", true},
		{"3PN", "JPN", true},
		{"UT0", "UTO", true},
		{"D<<", "D<<", true},
		{"0<<", "D<<", true},
		{"SWF", "SWE", true},
		{"QQQ", "", false},
	} {
		got, ok := fixStateCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("fixStateCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

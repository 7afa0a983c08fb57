package document_test

import (
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"time"

	"livegate.dev/models/document"
)

// Parse and check a passport's MRZ from text, then decide against the
// person the integrator named.
func Example() {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	m, err := document.Parse([]string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}, now)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Format, m.Surname, "/", m.GivenNames, m.BirthDate.Format("2006-01-02"), "valid:", m.Valid())
	d := document.Decide(&document.Result{Status: document.StatusRead, MRZ: m},
		document.Subject{FirstName: "Anna", LastName: "Eriksson"}, now, document.Policy{})
	fmt.Println(d.Outcome, d.Reasons)
	// Output:
	// TD3 ERIKSSON / ANNA MARIA 1974-08-12 valid: true
	// decline [document_expired]
}

// Read a photo of a document (Tesseract from `make setup`), decide, and
// keep the portrait for the face match.
func ExampleReader_Read() {
	f, err := os.Open("id-card.jpg")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &document.Reader{}
	res, err := r.Read(ctx, img)
	if err != nil {
		panic(err) // the OCR engine failed: not the document
	}
	d := document.Decide(res, document.Subject{FirstName: "Anna", LastName: "Eriksson"}, time.Now(), document.Policy{})
	fmt.Println(res.Status, d.Outcome, d.Reasons)
	if res.Portrait != nil {
		_ = res.Portrait // to the face match
	}
}

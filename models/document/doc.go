// Package document reads identity documents: the machine readable zone
// (MRZ) of ID cards (TD1) and passports (TD3) after ICAO 9303, from text
// (Parse) or from a phone's photo of the document (Reader.Read): find the
// card, rectify it, binarise its MRZ band and read it with Tesseract,
// correct the letters and digits Tesseract confuses where the field type
// and the check digits say so, and cut out the portrait for a face match.
//
// Decide turns a Result into accept, decline or review under a Policy:
// a check digit that does not match or an expired document declines, a
// name, birth date or number that differs from the subject declines, low
// OCR confidence sends to review. Review is never a pass.
//
// Synthetic documents for tests and evaluation (no real ID is ever used)
// come from Render and Photograph: TD1 cards and TD3 pages set in OCR-B
// with a portrait from the project's photo sets, labelled SYNTHETIC, then
// photographed the way a phone would, seeded.
//
// Tesseract runs as the Debian command `tesseract` (packages tesseract-ocr
// and tesseract-ocr-eng, installed by `make setup`), through stdin and
// stdout, under the caller's context.
package document

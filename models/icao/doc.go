// Package icao makes the ICAO-style portrait of a verification session: from
// the best frame (sharp, frontal within ±5° yaw and pitch and ±8° roll, eyes
// open, mouth closed) a 480×600 JPEG with the roll corrected and the head
// placed as ICAO Doc 9303 / ISO/IEC 19794-5 ask, plus a quality report that
// lists each requirement, whether it was met and why not.
//
// Geometry (output pixels, 480×600, the 35×45 mm proportion):
//
//   - eye line horizontal (roll corrected) at y = 270, 45 % of the height
//     from the top (55 % from the bottom; ISO/IEC 19794-5 asks 50–70 %);
//   - eye midpoint centred horizontally (x = 240);
//   - chin to crown 75 % of the height (450 px; ICAO: 32–36 mm of 45 mm,
//     71–80 %), so the crown sits 45 px below the top and the chin 105 px
//     above the bottom, leaving room for the neck and shoulders.
//
// The face mesh has no crown point (hair is not modelled): the crown is
// estimated with the classical head canon that puts the eye line half way
// between chin and crown, i.e. crown = eyes − (chin − eyes) along the face's
// vertical axis. With that placement the eye centres are about 120 px apart
// on an adult face, above the ≥ 90 px asked; the report also says whether the
// source had that many pixels between the eyes or was enlarged.
package icao

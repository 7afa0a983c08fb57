// Package gallery serves per-tenant face galleries and 1:N face search:
// /v1/galleries (galleries, their persons — external id, display name,
// optional validity window and zones — and each person's enrolled faces)
// and POST /v1/face/search and /v1/face/search/batch.
//
// Enrolment refuses an image that would make a poor template, saying why
// (gallery.poor_image: one face, frontal, sharp, eyes open, large and lit
// enough). A template is the face's MobileFaceNet embedding sealed with the
// tenant's data key (AES-256-GCM, tenancy.DataKey) and the keyed digest of
// its image; the image itself is never kept. Deleting a person deletes
// every template with it.
//
// A search opens the gallery's templates once and keeps them decrypted in
// memory (a facesearch.Index per gallery, the gallery's version telling
// when another replica changed it) and scans them all: about 2 ms for
// 10,000 persons on one core (docs/face.md).
package gallery

// Package captcha protects the keyless direct-session route
// (POST /api/v1/session) from abuse: one Verifier interface, with a
// self-hosted proof-of-work (PoW, in the ALTCHA style: the server signs a
// challenge, the browser searches for the number n with
// SHA-256(salt + n) = challenge, the server checks the signature, the expiry
// and one hash, and takes each solution once) and, for operators who prefer
// them, hCaptcha or Cloudflare Turnstile through their siteverify API
// (Remote).
//
// PoW needs no third party, no cookie and no user action. Its difficulty
// (maxnumber, the size of the range the browser searches: half of it on
// average) doubles for each Step solutions verified within Window, and again
// for each AddressStep from the requesting address, up to MaxNumberCap, so an
// abuser's request rate falls as load rises while a browser's single solve
// stays short. The replay cache is in memory: one
// replica takes each solution once; with N replicas behind a balancer that
// does not pin clients, a solution could be spent once per replica within
// its expiry (see docs/api.md, "Abuse protection").
package captcha

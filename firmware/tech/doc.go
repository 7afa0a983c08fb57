// Package tech is the kiosk's local technician view: a status page (state,
// last verdicts, camera preview), a JSON status and a health endpoint, and
// LED and relay test buttons that only a technician logged in with the local
// credential can use.
//
// The test actions are POST only, need a session cookie (HttpOnly,
// SameSite=Strict) from POST /login and the session's CSRF token in the
// form, and pass net/http's CrossOriginProtection; the password is checked
// against its stored hash in constant time, and five failed logins lock the
// form for a minute.
package tech

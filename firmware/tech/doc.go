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
//
// On the sim board, POST /test/walkup simulates someone walking up (the
// fake presence sensor fires) and answers with the session's verdict once
// it is decided: for loopback clients only, and, when a technician
// credential is configured, with the login and CSRF token of the other
// test actions. A client that sends Accept: application/json to /login
// gets the CSRF token as JSON instead of the page.
package tech

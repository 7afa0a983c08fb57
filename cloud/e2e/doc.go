// Package e2e drives the hosted capture page in headless Chromium with a
// fake camera playing y4m files made from the real test media: a genuine
// clip reaches the result screen and redirects, a printed photo moved as a
// plane never passes, and a desktop page follows a session handed off to a
// phone. Through the test-mode simulated camera a genuine clip answers the
// light challenge and passes, while its replay and a cut-out face do not; in
// active mode a recording passes only challenges a test-mode key fixed to
// what it performs, and fails those it does not. The API's documentation
// pages fit a phone's width, and /docs/api's try-it panel creates a session
// with a test key. TestScreens draws every screen of the page on a desktop
// and a phone, in English and in Arabic with a tenant's brand, and checks
// each. LIVEGATE_UPDATE_SCREENSHOTS=1 writes the screenshots to docs/img
// (TestScreens's to docs/img/screens).
package e2e

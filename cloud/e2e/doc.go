// Package e2e drives the hosted capture page in headless Chromium with a
// fake camera playing y4m files made from the real test media: a genuine
// clip reaches the result screen and redirects, a printed photo moved as a
// plane never passes, and a desktop page follows a session handed off to a
// phone. Through the test-mode simulated camera a genuine clip answers the
// light challenge and passes, while its replay, a cut-out face and a
// recording in active mode do not. LIVEGATE_UPDATE_SCREENSHOTS=1 writes the
// screenshots to docs/img.
package e2e

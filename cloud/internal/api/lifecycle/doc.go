// Package lifecycle is the session state machine of livegate-cloud: create,
// read (with lazy expiry), complete, cancel and expire sessions, each state
// change written together with its webhook deliveries in one store
// transaction, then the delivery worker is notified.
//
// Every surface is a thin adapter over Service: the iLive routes of seeds
// 000–002, the test-mode simulate route, and later the hosted capture page,
// kiosk ingest, and the Sovera/IDV shapes of seeds 003–004. A real capture
// and a simulated one finish through the same Complete.
package lifecycle

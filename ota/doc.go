// Package ota signs, verifies and installs livegate update artifacts
// (firmware and model packs) with two-tier ed25519 keys and A/B slots.
//
// The work is in its packages:
//
//   - sign: root keys, rotating signing keys and their certificates,
//     revocation lists, and Trust, which verifies the chain;
//   - artifact: the manifest, semantic versions, and the artifact file
//     (write, stream-verify, inspect) with a specific refusal for each fault;
//   - install: the A/B slot Layout (Sim for the sim board), and Device,
//     which installs to the inactive slot, boots on trial, runs the health
//     check under a watchdog, and commits or rolls back;
//   - download: resumable HTTPS downloads with Range requests;
//   - cmd/livegate-ota: the tool for technicians and release engineers.
//
// docs/ota.md describes the format, the keys and the state machine.
package ota

// Package ota signs, verifies and installs livegate update artifacts
// (firmware and model packs) with two-tier ed25519 keys and A/B slots.
package ota

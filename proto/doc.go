// Package proto is the device↔cloud contract of livegate: the MQTT topic
// layout under livegate/v1/devices/{device_id}/… and the versioned JSON
// payloads exchanged on it. It is used by the firmware and by the cloud and
// imports nothing of the project.
package proto

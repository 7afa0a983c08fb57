package proto

import (
	"fmt"
	"strings"
)

// Root is the prefix of every livegate topic.
const Root = "livegate/v1/devices"

// Topic kinds under a device's root.
const (
	TopicStatus       = "status"
	TopicSessions     = "sessions"
	TopicAcks         = "acks"
	TopicCommands     = "commands"
	TopicCommandsResp = "commands/resp"
	TopicTelemetry    = "telemetry"
)

// Status values published (retained) on the status topic.
const (
	StatusOnline  = "online"  // birth message after connect
	StatusOffline = "offline" // last will, published by the broker on an unclean disconnect
	StatusStopped = "stopped" // published by the device before a clean disconnect
)

// Topic returns the topic of kind for device id.
func Topic(deviceID, kind string) string { return Root + "/" + deviceID + "/" + kind }

// DeviceFilter returns the subscription filter covering every topic of one device.
func DeviceFilter(deviceID string) string { return Root + "/" + deviceID + "/#" }

// AllDevices returns the subscription filter for one kind across all devices
// (the cloud subscribes to sessions, commands/resp, status and telemetry).
func AllDevices(kind string) string { return Root + "/+/" + kind }

// ParseTopic splits a topic into its device id and kind.
func ParseTopic(topic string) (deviceID, kind string, err error) {
	rest, ok := strings.CutPrefix(topic, Root+"/")
	if !ok {
		return "", "", fmt.Errorf("proto: topic %q is not under %s", topic, Root)
	}
	deviceID, kind, ok = strings.Cut(rest, "/")
	if !ok || deviceID == "" || kind == "" {
		return "", "", fmt.Errorf("proto: topic %q has no device id and kind", topic)
	}
	if err := ValidDeviceID(deviceID); err != nil {
		return "", "", err
	}
	switch kind {
	case TopicStatus, TopicSessions, TopicAcks, TopicCommands, TopicCommandsResp, TopicTelemetry:
		return deviceID, kind, nil
	}
	return "", "", fmt.Errorf("proto: topic %q has unknown kind %q", topic, kind)
}

// ValidDeviceID checks a device id: 1–64 characters of [A-Za-z0-9_-], so it
// can never contain MQTT wildcards or level separators.
func ValidDeviceID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("proto: device id must be 1–64 characters, got %d", len(id))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("proto: device id %q has character %q; allowed: letters, digits, _ and -", id, r)
		}
	}
	return nil
}

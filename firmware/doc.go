// Package firmware is the kiosk daemon livegate-kiosk: the capture loop, the
// kiosk state machine, on-device verdicts, the bbolt outbox, MQTT sync and
// the OTA agent. It never imports the cloud module.
package firmware

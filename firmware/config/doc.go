// Package config is livegate-kiosk's configuration: a YAML file, validated
// with errors that name the offending key, then overridden by environment
// variables named after the key path (LIVEGATE_KIOSK_RELAY_PULSE for
// relay_pulse, LIVEGATE_KIOSK_STORE_PATH for store.path, …).
//
// Every field is optional except board.board; Default documents the values
// used when a key is absent. The technician credential is stored only as a
// PBKDF2-SHA256 hash (HashPassword, CheckPassword).
package config

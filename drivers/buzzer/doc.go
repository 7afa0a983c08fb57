// Package buzzer drives an active buzzer (one that sounds when powered) on
// a GPIO pin. A beep is a relay-style pulse with its own maximum length, so
// a stuck caller cannot leave it sounding.
package buzzer

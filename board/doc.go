// Package board describes the boards livegate runs on (Raspberry Pi 4 and 5,
// NXP i.MX8M Plus, Rockchip RK3588, and sim): which pins, buses, camera
// device and inference options each has, and how to open them.
package board

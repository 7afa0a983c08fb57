package install_test

import (
	"context"
	"log"
	"os"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
)

// A U-Boot board: rootfs A and B on the eMMC, the state on /data, the
// boot variables through libubootenv's tools. At power-on the kiosk runs
// Start, and reboots if it rolled back while the failed slot still runs.
func ExampleNewUBoot() {
	layout, err := install.NewUBoot(install.UBootConfig{
		A:         install.UBootSlot{Device: "/dev/mmcblk0p2"},
		B:         install.UBootSlot{Device: "/dev/mmcblk0p3"},
		StateDir:  "/data/livegate/ota/uboot",
		EnvConfig: "/etc/fw_env.config",
	})
	if err != nil {
		log.Fatal(err)
	}
	var trust *sign.Trust // the firmware's baked-in roots
	dev, err := install.New(install.Config{
		Layout: layout, Trust: trust, Kind: artifact.KindFirmware, Board: "rpi5", Arch: "arm64",
		Health:      func(ctx context.Context, run install.Running) error { return nil },
		MaxAttempts: layout.BootLimit(),
	})
	if err != nil {
		log.Fatal(err)
	}
	run, err := dev.Start(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	if booted, err := install.BootedSlot(string(cmdline)); err == nil && booted != run.Slot {
		log.Print("rolled back: rebooting into slot ", run.Slot) // e.g. systemctl reboot
	}
}

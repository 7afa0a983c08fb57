// Package ubootenvtest stands in for the hardware side of install.UBoot in
// tests: a redundant U-Boot environment kept in two files in the format
// U-Boot and libubootenv use, fake fw_printenv and fw_setenv tools that read
// and write it the way libubootenv does, and Bootloader, which applies the
// boot script of docs/ota.md at each simulated power-on.
//
// The fake tools are the test binary itself under another name: call
// MaybeRun first thing in the test binary (TestMain or an init function),
// and Tools makes fw_printenv and fw_setenv links to it.
package ubootenvtest

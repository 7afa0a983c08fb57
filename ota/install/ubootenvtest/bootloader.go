package ubootenvtest

import (
	"fmt"
	"strconv"
)

// The variables of the boot script (install.UBootVar*; a test checks they
// agree).
const (
	VarSlot      = "livegate_slot"
	VarUpgrade   = "upgrade_available"
	VarBootCount = "bootcount"
	VarBootLimit = "bootlimit"
)

// Boot is what the bootloader did at one power-on.
type Boot struct {
	Slot     string // the slot whose kernel and rootfs it started
	Counted  bool   // a trial boot was counted
	FellBack bool   // it gave up on the trial slot and started the other
	Count    int    // bootcount after this boot
}

// PowerOn applies the boot script of docs/ota.md ("Real boards: U-Boot
// layout") to the environment, line for line, before any Linux runs:
//
//	if upgrade_available = 1:
//	    bootcount += 1
//	    if bootcount > bootlimit: livegate_slot = other; upgrade_available = 0
//	    saveenv
//	boot livegate_slot (a if unset)
//
// bootlimit defaults to 3 when unset, as in the script.
func PowerOn(e *Env) (Boot, error) {
	vars, err := e.Load()
	if err != nil {
		return Boot{}, fmt.Errorf("ubootenvtest: power on: %w", err)
	}
	slot := vars[VarSlot]
	if slot == "" {
		slot = "a"
	}
	b := Boot{Slot: slot}
	if vars[VarUpgrade] != "1" {
		b.Count, _ = strconv.Atoi(vars[VarBootCount])
		return b, nil
	}
	limit := 3
	if v, ok := vars[VarBootLimit]; ok {
		if limit, err = strconv.Atoi(v); err != nil {
			return Boot{}, fmt.Errorf("ubootenvtest: bootlimit %q", v)
		}
	}
	count, _ := strconv.Atoi(vars[VarBootCount])
	count++
	b.Counted, b.Count = true, count
	vars[VarBootCount] = strconv.Itoa(count)
	if count > limit {
		if slot == "b" {
			slot = "a"
		} else {
			slot = "b"
		}
		vars[VarSlot], vars[VarUpgrade] = slot, "0"
		b.Slot, b.FellBack = slot, true
	}
	if err := e.Save(vars); err != nil {
		return Boot{}, fmt.Errorf("ubootenvtest: saveenv: %w", err)
	}
	return b, nil
}

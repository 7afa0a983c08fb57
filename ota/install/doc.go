// Package install applies verified artifacts to a device with two slots
// (A/B) and rolls back by itself when the new version does not prove healthy.
//
// One Layout interface covers both kinds of device: on real boards the
// slots are root-filesystem partitions and the boot environment lives in the
// bootloader's (redundant) environment; on the sim board (Sim) the slots are
// two directories and the boot environment is a pointer file written
// atomically. A models Device uses the same machinery with its own Layout,
// so model packs get the same guarantees as firmware; a Sim opened with
// UnpackTrees unpacks a verified models pack (a tar with an index, see
// TreeIndex) into the slot and re-checks the unpacked files at VerifySlot.
//
// The state machine (Env in the boot environment):
//
//	good(A) ──Install──▶ writing(B) ──image durable──▶ trial(B), fallback A
//	trial(B) ──Boot──▶ attempts+1 (or, past MaxAttempts, rollback to A)
//	trial(B) ──Confirm: health ok──▶ good(B)
//	trial(B) ──Confirm: health failed / watchdog──▶ bad(B), good(A) active
//
// Every transition is one atomic write of the boot environment, so a power
// cut anywhere leaves either the old slot active, or the new slot on trial
// with the old one as fallback; Boot and Confirm then finish the job.
package install

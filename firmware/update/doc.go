// Package update is the kiosk's OTA agent: it acts on the cloud's update
// commands (proto.CommandUpdate with proto.UpdateArgs), downloads the
// signed artifact resumably (ota/download), installs it into the inactive
// A/B slot (ota/install), restarts into it, and reports progress and the
// final result as further answers to the same command
// (proto.UpdateResult), the final one after the restart.
//
// # State machine
//
//	                HandleCommand
//	 refused ◀── validate args, device, busy? ──▶ accepted (downloading)   pending.json: downloading
//	(failed)                                         │ download (resume from .part), progress every 10 % or 5 s
//	                                                 │   error ─▶ failed (old version runs; pending kept until delivered)
//	                                                 ▼
//	                                installing   pending.json: installing   (fsynced before Install)
//	                                                 │ Install: verify everything, write inactive slot, switch
//	                                                 │   refusal ─▶ failed "refused (<reason>): …" (slot untouched)
//	                                                 ▼
//	                                rebooting    pending.json: rebooting    (fsynced before Restart)
//	                                                 │ Restart (reboot / process exit / test function)
//	                                                 ▼
//	next start: install.Device.Start (Boot, Confirm with the health check) ─▶ ReportPending:
//	    running == version      ─▶ done,   succeeded
//	    rolled back from it     ─▶ failed, rolled_back (the boot environment's reason)
//	    never switched          ─▶ failed, failed ("interrupted by a restart while <phase>")
//	pending.json removed only after the final answer was acknowledged (PUBACK).
//
// # What survives a power cut
//
//   - A failure decided before any restart (download, verification) is
//     stored in the pending file with its answer until the broker took
//     it; a restart before that reports the same answer.
//   - Before the pending file is written (HandleCommand): nothing was
//     accepted; the cloud's command is redelivered (QoS 1) or times out.
//   - During the download: the old version runs; the partial download
//     (fsynced every 8 MiB) stays, and the next start reports "failed:
//     interrupted while downloading". A new command for the same artifact
//     resumes from the partial file with a Range request.
//   - During the install, before the switch: the old version runs (the
//     inactive slot is marked "writing", never bootable); reported as
//     failed, interrupted while installing.
//   - After the switch, before or during the restart, or during the health
//     check: the new version boots on trial; a passing health check marks
//     it good (succeeded), a failing one, a hang past the watchdog, or
//     MaxAttempts boots killed during it return to the old slot
//     (rolled_back). Either way one final answer is reported.
//   - After the final answer was acknowledged, before the pending file was
//     removed: the same answer (same bytes, so the same message id through
//     the sync client) is reported again at the next start. Final answers
//     are delivered at least once; consumers key them by command id.
//
// A redelivered command (same message id) gets the latest answer, never a
// second update: from memory while the update runs, from the pending file
// after a restart, and from Dir/reported.json (the final answers of the
// last 16 updates) after the report.
//
// The pending file is replaced atomically (temp file, fsync, rename, fsync
// the directory), so it is either the old or the new record, never torn.
//
// # Use
//
// The kiosk builds one install.Device per artifact kind it takes
// (firmware; models when its engine loads packs from a slot), runs
// Start on each before it serves, creates the Agent with its sync client
// as Responder, routes update commands to Agent.HandleCommand and calls
// Agent.ReportPending once the sync client runs. A fleet simulation does
// the same with sim layouts in temporary directories and a Restart that
// closes the Agent and starts a new one over the same directories;
// package updatetest makes the keys, signed artifacts, sim devices and
// failing health checks it needs (fleet_test.go runs such a fleet over
// Mosquitto with the real sync client).
package update

// Package releases stores signed OTA release artifacts in the cloud and
// drives staged rollouts of them to the fleet.
//
// An upload is verified with livegate.dev/ota/artifact against the
// configured trusted root keys before anything is stored: unsigned,
// untrusted, tampered or truncated artifacts are refused with the
// artifact's reason. Accepted artifacts go to a Blobs — written atomically
// under <data>/releases/ (DiskBlobs), or put in an S3-compatible object
// store (S3Blobs) — and their manifest metadata is kept in a Repo (bbolt in
// <data>/releases.db, or PostgreSQL in a table of this package's own).
// Devices download them through the cloud, by range, from either store.
//
// A Rollout sends one release to the devices that fit it (board,
// architecture, labels, older firmware), in stages of cumulative
// percentages. A device's cohort is a stable hash of the rollout id and the
// device id, so a device keeps its place for the whole rollout. A rollout
// aborts by itself when failures in the current stage reach a count or a
// percentage, and stops when an operator says so. Devices are told through
// a Notifier (the fleet's MQTT command channel, via fleet.Link) and their
// answers come back through Service.CommandResponse, keyed by the rollout id
// they echo, into Service.Report, which never moves a device backwards,
// and Service.ReportDownload, which keeps their latest download figures.
// Boards (from telemetry) and operator labels are kept as DeviceFacts in the
// package's own Repo. See docs/ota-cloud.md.
package releases

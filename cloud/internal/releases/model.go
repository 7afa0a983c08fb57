package releases

import (
	"errors"
	"time"

	"livegate.dev/ota/artifact"
)

// Errors of the package. Upload refusals wrap the artifact package's errors
// instead (artifact.Reason names them).
var (
	// ErrNotFound: no release or rollout with this id.
	ErrNotFound = errors.New("not found")
	// ErrExists: the same artifact (same SHA-256) was already uploaded.
	ErrExists = errors.New("already exists")
	// ErrTooLarge: the upload is larger than Config.MaxArtifactSize.
	ErrTooLarge = errors.New("artifact larger than the upload limit")
	// ErrInUse: the release has a running rollout.
	ErrInUse = errors.New("release has a running rollout")
	// ErrFinished: the rollout is no longer running.
	ErrFinished = errors.New("rollout is not running")
	// ErrInvalid: a rollout request or device report is invalid.
	ErrInvalid = errors.New("invalid")
	// ErrClosed: the repository is closed.
	ErrClosed = errors.New("repository closed")
)

// Release is an uploaded, verified artifact.
type Release struct {
	ID string `json:"id" doc:"rel_ followed by the first 16 hex digits of the artifact's SHA-256."`
	// Manifest is the signed manifest, as verified at upload.
	Manifest     artifact.Manifest `json:"manifest"`
	SigningKeyID string            `json:"signing_key_id" doc:"The signing key that signed the manifest."`
	Size         int64             `json:"size" doc:"Size of the whole artifact file in bytes (what devices download)."`
	SHA256       string            `json:"sha256" doc:"SHA-256 of the whole artifact file, hex."`
	UploadedAt   time.Time         `json:"uploaded_at"`
}

// Rollout states.
const (
	RolloutRunning   = "running"
	RolloutCompleted = "completed" // last stage reached and every device in it finished
	RolloutAborted   = "aborted"   // the failure threshold tripped
	RolloutStopped   = "stopped"   // an operator stopped it
)

// Device progress states.
const (
	StatePending     = "pending"     // in a started stage, not yet told (or telling failed; retried)
	StateNotified    = "notified"    // the update command was sent, no answer yet (sent again until one comes)
	StateDownloading = "downloading" // reported by the device
	StateInstalling  = "installing"  // reported by the device
	StateSucceeded   = "succeeded"   // the device runs the new version and confirmed it
	StateFailed      = "failed"      // the device refused or failed to install
	StateRolledBack  = "rolled_back" // installed, then the device went back to the old slot
)

// reportable are the states a device may report.
var reportable = map[string]bool{StateDownloading: true, StateInstalling: true, StateSucceeded: true, StateFailed: true, StateRolledBack: true}

// rank orders a device's progress: a report never moves a device to a
// lower rank (answers arrive repeated and out of order), except that a
// failure may follow a success (a version that passed, then crash-looped).
func rank(s string) int {
	switch s {
	case StateDownloading:
		return 1
	case StateInstalling:
		return 2
	case StateSucceeded, StateFailed, StateRolledBack:
		return 3
	}
	return 0 // pending, notified
}

// terminal are the states that end a device's part in a rollout.
func terminal(s string) bool { return s == StateSucceeded || s == StateFailed || s == StateRolledBack }

// failure are the states that count against the abort threshold.
func failure(s string) bool { return s == StateFailed || s == StateRolledBack }

// DeviceFacts are what rollouts know about a device beyond the main
// store's registry: the board it reports in its telemetry and the labels
// an operator gave it. Cohorts select on them. Devices do not report their
// architecture: a rollout includes them whatever the release's archs, and
// a device that does not fit refuses the artifact itself (reported failed).
type DeviceFacts struct {
	DeviceID  string            `json:"device_id"`
	Board     string            `json:"board,omitempty" doc:"As the device reports it in its telemetry (sim, rpi5, …); empty until the first telemetry."`
	Labels    map[string]string `json:"labels" doc:"Labels set by an operator; a rollout with labels takes only devices carrying all of them."`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Rollout is a staged rollout of one release.
type Rollout struct {
	ID        string            `json:"id" doc:"rol_…"`
	ReleaseID string            `json:"release_id"`
	Labels    map[string]string `json:"labels,omitempty" doc:"Only devices carrying all these labels take part."`
	// Stages are cumulative percentages of the eligible devices, increasing,
	// the last one ≤ 100 (e.g. 1, 10, 50, 100).
	Stages []float64 `json:"stages"`
	// Stage is the index in Stages of the current stage.
	Stage int `json:"stage"`
	// AbortFailures aborts when the current stage has this many failed or
	// rolled-back devices. 0 disables it.
	AbortFailures int `json:"abort_failures"`
	// AbortPercent aborts when failed or rolled-back devices are at least
	// this percentage of the current stage's devices. 0 disables it.
	AbortPercent float64 `json:"abort_percent"`
	// AutoAdvanceAfter, when positive, advances to the next stage this long
	// after every device of the current stage finished without tripping the
	// abort threshold. 0: stages advance only through Advance.
	AutoAdvanceAfter time.Duration `json:"auto_advance_after_ns,omitempty"`
	// ReportTimeout, when positive, marks a told device failed when it has
	// not reported for this long (a device that never comes back counts
	// against the abort threshold and does not hold a stage forever).
	ReportTimeout time.Duration `json:"report_timeout_ns,omitempty"`
	State         string        `json:"state" doc:"running, completed, aborted or stopped."`
	Reason        string        `json:"reason,omitempty" doc:"Why it aborted or stopped."`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	// StageDoneAt is when every device of the current stage finished (zero while some have not).
	StageDoneAt time.Time `json:"stage_done_at,omitempty"`
	// Devices are the eligible devices (by id) and their progress.
	Devices map[string]*Progress `json:"devices"`
}

// Progress is one device's progress in a rollout.
type Progress struct {
	// Bucket is the device's stable place in [0, 10000): it is in stage s
	// when Bucket < Stages[s]×100.
	Bucket int    `json:"bucket"`
	Stage  int    `json:"stage" doc:"The stage that included the device; -1 while no started stage includes it."`
	State  string `json:"state"`
	Error  string `json:"error,omitempty"`
	// BytesDone and BytesTotal are the latest download figures the device
	// reported (proto.UpdateResult); completed when it reached installing
	// (it verified the whole file), kept where a failed download stopped.
	BytesDone  int64 `json:"bytes_done,omitempty" doc:"Bytes of the artifact the device had downloaded at its latest progress answer (0: no figure yet, or a device that does not send them)."`
	BytesTotal int64 `json:"bytes_total,omitempty" doc:"The artifact's size as the device reported it with bytes_done."`
	// Command is the message id of the device's update command, chosen
	// before it is first sent and kept for every repeat (a device with no
	// session on the broker does not get it; the device answers a
	// repeated id from its records and never installs twice).
	Command string `json:"command_id,omitempty" doc:"The update command's message id, the same for every repeat (empty before it was first sent, and in rollouts recorded before repeats existed)."`
	// CommandExpiresAt is the command's expiry: a device that gets it
	// later refuses it.
	CommandExpiresAt time.Time `json:"command_expires_at,omitzero" optional:"true" doc:"When the update command expires; a device still notified then is marked failed."`
	// SentAt and Sends: when the command was last handed to the broker,
	// and how many times (repeats included).
	SentAt    time.Time `json:"sent_at,omitzero" optional:"true" doc:"When the update command was last sent (first send or repeat)."`
	Sends     int       `json:"sends,omitempty" doc:"How many times the update command was sent, repeats included."`
	UpdatedAt time.Time `json:"updated_at"`
}

package releases

import (
	"encoding/json"

	"livegate.dev/proto"
)

// UpdateResult is the optional Result of a device's CommandResponse to an
// update command: a progress state finer than the response status.
type UpdateResult struct {
	State string `json:"state"` // downloading, installing, succeeded, failed or rolled_back
}

// StateFromResponse maps a device's response to an update command to a
// progress state for Report: a reportable UpdateResult.State wins;
// otherwise accepted → downloading, done → succeeded, failed and refused →
// failed. ok is false when the response says nothing usable.
func StateFromResponse(r proto.CommandResponse) (state string, ok bool) {
	if len(r.Result) > 0 {
		var res UpdateResult
		if json.Unmarshal(r.Result, &res) == nil && reportable[res.State] {
			return res.State, true
		}
	}
	switch r.Status {
	case "accepted":
		return StateDownloading, true
	case "done":
		return StateSucceeded, true
	case "failed", "refused":
		return StateFailed, true
	}
	return "", false
}

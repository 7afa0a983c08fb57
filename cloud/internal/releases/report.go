package releases

import (
	"encoding/json"

	"livegate.dev/proto"
)

// StateFromResponse maps a device's response to an update command to a
// progress state for Report: a reportable proto.UpdateResult.State wins;
// otherwise accepted → downloading, done → succeeded, failed and refused →
// failed. ok is false when the response says nothing usable.
func StateFromResponse(r proto.CommandResponse) (state string, ok bool) {
	if len(r.Result) > 0 {
		var res proto.UpdateResult
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

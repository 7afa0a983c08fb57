package update

// SetHook replaces the step hook (child processes of the kill tests block
// at a named step).
func SetHook(f func(step string)) { hookStep = f }

package fleetapi

import (
	"errors"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
)

// RoutesHook is the type of daemon.Options.Routes.
type RoutesHook = func(daemon.Parts) ([]api.Route, func() error, error)

// Chain combines several daemon.Options.Routes hooks (nil ones are
// skipped): their routes in order, their close functions in reverse order.
// If one fails, those already built are closed.
func Chain(hooks ...RoutesHook) RoutesHook {
	return func(p daemon.Parts) ([]api.Route, func() error, error) {
		var routes []api.Route
		var closers []func() error
		closeAll := func() error {
			var errs []error
			for i := len(closers) - 1; i >= 0; i-- {
				if closers[i] != nil {
					errs = append(errs, closers[i]())
				}
			}
			return errors.Join(errs...)
		}
		for _, h := range hooks {
			if h == nil {
				continue
			}
			rs, cl, err := h(p)
			if err != nil {
				return nil, nil, errors.Join(err, closeAll())
			}
			routes = append(routes, rs...)
			closers = append(closers, cl)
		}
		return routes, closeAll, nil
	}
}

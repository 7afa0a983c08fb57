// Package fleetapi mounts the fleet on livegate-cloud: a daemon.Options.Routes
// hook that starts the fleet (device CA, embedded broker or external
// broker, ingest) beside the API and serves its routes through the API's
// one route table (same middleware, errors and OpenAPI document):
//
//	POST /admin/v1/devices/enrollments   one-time enrollment token (admin)
//	POST /api/v1/devices/enroll          token → credentials (the device)
//	GET  /admin/v1/devices               the registry (admin)
//	POST /admin/v1/devices/{id}/revoke   revoke a device (admin)
//	POST /admin/v1/devices/{id}/assign   send an existing pending session to a kiosk (admin)
//
// The ingest wakes the daemon's webhook worker (daemon.Parts.Webhooks) once a
// device's result is stored with its session.completed delivery, so the
// webhook leaves then, not at the worker's next poll.
package fleetapi

// Package ingest is the cloud's MQTT consumer of the device fleet. It
// subscribes, with a persistent session, to every device's sessions,
// status, telemetry and command responses, and publishes acks and commands.
//
// A SessionResult becomes a completed core.Session of the device's tenant,
// stored by its session id together with its session.completed webhook
// delivery (webhook.NewDelivery, the same path as web sessions) in one store
// call; only after the store returned is the Ack published. A result whose
// session id is already stored (store.ErrExists) is a redelivery: it is
// acknowledged again with Duplicate set and nothing else happens, so each
// result is stored, and each webhook queued, exactly once. An assigned
// session (flow 3: a pending session with this device_id) is completed with
// UpdateSession instead.
//
// The PUBACK of an incoming result is sent by the client only after the
// handler returned, so a cloud killed mid-ingest gets the message again from
// the broker, and the device republishes whatever is not acked.
package ingest

package sync_test

import (
	"context"
	"errors"
	"log"
	"time"

	"livegate.dev/firmware/outbox"
	"livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// The kiosk daemon's use: load the credentials from enrollment, open the
// outbox, run the client, and submit each decided session before opening
// the gate.
func Example() {
	cr, err := sync.LoadCredentials("/var/lib/livegate/credentials")
	if err != nil {
		log.Fatal(err) // not enrolled yet: sync.Enroll, then sync.SaveCredentials
	}
	tlsConf, err := cr.TLSConfig()
	if err != nil {
		log.Fatal(err)
	}
	ob, err := outbox.Open("/var/lib/livegate/outbox.db", outbox.Options{MaxEntries: 50000})
	if err != nil {
		log.Fatal(err)
	}
	defer ob.Close()
	c, err := sync.New(sync.Config{DeviceID: cr.DeviceID, BrokerURL: cr.BrokerURL, TLS: tlsConf,
		Username: cr.Username, Password: cr.Password, Outbox: ob})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)

	now := time.Now()
	_, err = c.Submit(&proto.SessionResult{SessionID: "ses_local_1", Mode: "passive", Verdict: "pass",
		Confidence: 0.93, StartedAt: now.Add(-3 * time.Second), DecidedAt: now})
	switch {
	case errors.Is(err, outbox.ErrFull):
		// Refuse new sessions ("out of service") until acks free space.
	case err != nil:
		log.Print(err)
	default:
		// Durable: open the gate.
	}
}

package webhook_test

import (
	"fmt"
	"time"

	"livegate.dev/cloud/internal/webhook"
)

// An integrator's receiver verifies the raw body with its webhook secret.
func ExampleVerify() {
	secret := []byte("whsec_example")
	body := []byte(`{"id":"evt_1","type":"session.completed","created":1772366400,"data":{"verdict":"pass"}}`)
	sent := time.Unix(1772366400, 0)
	header := webhook.Sign([][]byte{secret}, sent, body)

	fmt.Println(webhook.Verify(header, body, secret, 5*time.Minute, sent.Add(time.Minute)))
	fmt.Println(webhook.Verify(header, body, []byte("whsec_other"), 5*time.Minute, sent))
	fmt.Println(webhook.Verify(header, body, secret, 5*time.Minute, sent.Add(time.Hour)))
	// Output:
	// <nil>
	// webhook: no valid v1 signature for this body and secret
	// webhook: signature timestamp outside tolerance: signed 1h0m0s ago (tolerance 5m0s)
}

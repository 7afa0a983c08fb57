package api_test

import (
	"context"
	"testing"

	"livegate.dev/cloud/internal/captcha"
)

// BenchmarkDirectSessionCaptcha compares, in one run, POST /api/v1/session
// over HTTP on bbolt without a captcha and with --captcha pow (the
// solution's verification and its replay check included; the solving is
// done before the timer, at a tiny maxnumber, and the difficulty never
// rises). The difference is the server's cost of the proof of work per
// request; BenchmarkPoWVerify in internal/captcha measures it alone.
func BenchmarkDirectSessionCaptcha(b *testing.B) {
	b.Run("none", func(b *testing.B) {
		e := startWith(nil)(b)
		b.ResetTimer()
		for range b.N {
			if r := e.do("POST", "/api/v1/session", `{}`); r.status != 201 {
				b.Fatalf("%d %s", r.status, r.body)
			}
		}
	})
	b.Run("pow", func(b *testing.B) {
		e := startWith(nil)(b, withPoW(16, 1<<30))
		payloads := make([]string, b.N)
		for i := range payloads {
			var err error
			if payloads[i], _, err = captcha.Solve(context.Background(), e.challenge()); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			if r := e.do("POST", "/api/v1/session", `{}`, "X-Captcha", payloads[i]); r.status != 201 {
				b.Fatalf("%d %s", r.status, r.body)
			}
		}
	})
}

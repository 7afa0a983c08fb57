package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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

// BenchmarkAbuserRate is the load test of the proof of work: one client
// doing what an abuser's script does — fetch a challenge, solve it in Go,
// create a session — as fast as it can, over HTTP, at fixed difficulties.
// Its sessions/s falls as maxnumber rises (the server's automatic raise
// under load moves along this curve).
func BenchmarkAbuserRate(b *testing.B) {
	for _, max := range []int64{50_000, 200_000, 800_000} {
		b.Run(fmt.Sprintf("maxnumber=%d", max), func(b *testing.B) {
			e := startWith(nil)(b, withPoW(max, 1<<30))
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				if r := e.do("POST", "/api/v1/session", `{}`, "X-Captcha", e.solved()); r.status != 201 {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
		})
	}
}

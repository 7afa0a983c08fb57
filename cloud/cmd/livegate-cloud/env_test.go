package main

import (
	"testing"
	"time"
)

func TestServeFlagsFromEnvironment(t *testing.T) {
	cases := []struct {
		env, args []string
		flag      string
		want      string
	}{
		{nil, nil, "addr", ":8000"},
		{nil, nil, "data", "./data"},
		{nil, nil, "store", "bbolt"},
		{nil, nil, "session-ttl", (30 * time.Minute).String()},
		{nil, nil, "rate-limit", "600"},
		{nil, nil, "dev", "false"},
		{[]string{"LIVEGATE_ADDR", "127.0.0.1:9999"}, nil, "addr", "127.0.0.1:9999"},
		{[]string{"LIVEGATE_SESSION_TTL", "5m"}, nil, "session-ttl", "5m0s"},
		{[]string{"LIVEGATE_STORE", "postgres"}, nil, "store", "postgres"},
		{[]string{"LIVEGATE_POSTGRES_DSN", "postgres://x"}, nil, "postgres-dsn", "postgres://x"},
		{[]string{"LIVEGATE_RATE_LIMIT", "42"}, nil, "rate-limit", "42"},
		{[]string{"LIVEGATE_DEV", "true"}, nil, "dev", "true"},
		{[]string{"LIVEGATE_PUBLIC_URL", "https://v.example.com"}, nil, "public-url", "https://v.example.com"},
		{[]string{"LIVEGATE_ADDR", ":1"}, []string{"--addr", ":2"}, "addr", ":2"}, // the flag wins
	}
	for _, c := range cases {
		t.Run(c.flag+"="+c.want, func(t *testing.T) {
			for i := 0; i+1 < len(c.env); i += 2 {
				t.Setenv(c.env[i], c.env[i+1])
			}
			cmd := serveCmd()
			if err := cmd.Flags().Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if err := bindEnv(cmd.Flags()); err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup(c.flag).Value.String(); got != c.want {
				t.Fatalf("--%s = %q, want %q", c.flag, got, c.want)
			}
		})
	}
	t.Setenv("LIVEGATE_SESSION_TTL", "soon")
	if err := bindEnv(serveCmd().Flags()); err == nil {
		t.Fatal("bad duration in the environment accepted")
	}
}

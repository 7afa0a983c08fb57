package postgres

import (
	"context"
	"testing"

	"livegate.dev/cloud/internal/store/storetest"
)

// BenchmarkCreateSession measures CreateSession on a throwaway PostgreSQL
// server (fsync on, synchronous_commit on) under 64 concurrent writers
// sharing a pool of 32 connections.
//
//	go test -run '^$' -bench CreateSession -benchtime 3s ./internal/store/postgres/
func BenchmarkCreateSession(b *testing.B) {
	s, err := Open(context.Background(), newDatabase(b), Options{MaxConns: 32})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchCreateSession(b, s, 32)
}

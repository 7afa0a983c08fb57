package api_test

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/webhook"
)

// TestAPIPostgres runs the whole HTTP suite against PostgreSQL: one
// throwaway server (initdb + pg_ctl in a temp dir, free port), one database,
// a fresh schema per test (search_path), so the store migrates from scratch
// each time without paying for CREATE DATABASE.
func TestAPIPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := postgresServer(t)
	dsn, err := pg.NewDatabase("api_suite")
	if err != nil {
		t.Fatal(err)
	}
	start := startPostgres(dsn, "t")
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}

// TestTwoReplicasOnePostgres: two servers share one database and master
// key: a session created on one is read (by token) and simulated on the
// other, its webhook is delivered once, and a key revoked on one stops on
// the other within the auth cache TTL.
func TestTwoReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := postgresServer(t)
	dsn, err := pg.NewDatabase("replicas")
	if err != nil {
		t.Fatal(err)
	}
	const master = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	shared := func(t testing.TB, o *daemon.Options) {
		o.Store, o.PostgresDSN, o.MasterKeyHex = daemon.StorePostgres, dsn, master
	}
	a := startWith(shared)(t)
	b := startWith(shared)(t, func(o *daemon.Options) { o.Clock = a.clk })
	rcv := newReceiver(t)
	tc := a.tenant("test")
	sc := a.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	b.do("GET", "/api/v1/session/"+sc.SessionID+"/result?token="+url.QueryEscape(sc.Token), nil).want(t, 200, "")
	b.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	d := rcv.next(t)
	if err := webhook.Verify(d.header.Get("Livegate-Signature"), d.body, []byte(tc.WebhookSecret), 0, a.clk.Now()); err != nil {
		t.Fatal(err)
	}
	a.do("GET", "/api/v1/session/"+sc.SessionID+"/photo?token="+url.QueryEscape(sc.Token), nil).want(t, 200, "")
	// Revoke on A: A refuses at once, B within the auth cache TTL.
	b.session(tc.APIKey, nil)
	a.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/"+tc.KeyID+"/revoke", nil, bearer(adminToken)...).want(t, 200, "")
	a.do("POST", "/api/v1/managed-session", nil, bearer(tc.APIKey)...).want(t, 401, "auth.invalid")
	a.clk.Advance(tenancy.AuthCacheTTL)
	b.do("POST", "/api/v1/managed-session", nil, bearer(tc.APIKey)...).want(t, 401, "auth.invalid")
	rcv.none(t)
}

// startPostgres starts daemons on database dsn, each in a schema of its own
// (prefix and a count name it): a fresh store each time without paying for
// CREATE DATABASE.
func startPostgres(dsn, prefix string) starter {
	var n atomic.Int64
	return startWith(func(t testing.TB, o *daemon.Options) {
		schema := fmt.Sprintf("%s%d", prefix, n.Add(1))
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		o.Store, o.PostgresDSN = daemon.StorePostgres, dsn+"&search_path="+schema
	})
}

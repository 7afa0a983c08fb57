-- livegate-cloud store, version 1. Each object's full JSON is in doc (bytea:
-- exact round trip, no re-parsing on insert); the columns beside it are what
-- queries select, order and lock on.

CREATE TABLE tenants (
    id  text PRIMARY KEY,
    doc bytea NOT NULL
);

CREATE TABLE api_keys (
    id        text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    hash      bytea NOT NULL,
    doc       bytea NOT NULL,
    CONSTRAINT api_keys_hash_key UNIQUE (hash)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE sessions (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL,
    idempotency_key text NOT NULL,
    terminal        boolean NOT NULL,
    expires_at      timestamptz NOT NULL,
    version         bigint NOT NULL,
    doc             bytea NOT NULL
);
CREATE UNIQUE INDEX sessions_idempotency ON sessions (tenant_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX sessions_expiring ON sessions (expires_at, id) WHERE NOT terminal;

CREATE TABLE photos (
    session_id text PRIMARY KEY REFERENCES sessions (id),
    jpeg       bytea NOT NULL
);

CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    session_id      text NOT NULL,
    tenant_id       text NOT NULL,
    state           text NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz NOT NULL,
    doc             bytea NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_session ON deliveries (session_id, id);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_state ON deliveries (state, id);

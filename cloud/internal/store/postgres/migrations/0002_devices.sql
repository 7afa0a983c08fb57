-- livegate-cloud store, version 2: the fleet (devices and their one-time
-- enrollment tokens). Same layout as version 1: the full JSON in doc.

CREATE TABLE devices (
    id        text PRIMARY KEY,
    tenant_id text NOT NULL,
    doc       bytea NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id, id);

CREATE TABLE enrollments (
    hash      bytea PRIMARY KEY,
    device_id text NOT NULL,
    doc       bytea NOT NULL
);

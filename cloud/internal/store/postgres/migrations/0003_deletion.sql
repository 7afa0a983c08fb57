-- livegate-cloud store, version 5: data deletion. Sessions get the columns
-- the retention sweeper and the externalUserId search select on, and each
-- tenant an append-only, hash-chained trail of signed deletion receipts.

ALTER TABLE sessions ADD COLUMN created_at timestamptz;
ALTER TABLE sessions ADD COLUMN user_id text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN verification boolean NOT NULL DEFAULT false;
-- erased: 0 nothing deleted, 1 biometric data deleted, 2 every personal field.
ALTER TABLE sessions ADD COLUMN erased smallint NOT NULL DEFAULT 0;
UPDATE sessions SET created_at = (convert_from(doc, 'UTF8')::jsonb->>'created_at')::timestamptz,
    user_id = coalesce(convert_from(doc, 'UTF8')::jsonb->>'user_id', ''),
    verification = convert_from(doc, 'UTF8')::jsonb->'flow' IS NOT NULL;
ALTER TABLE sessions ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX sessions_user ON sessions (tenant_id, user_id, id) WHERE verification AND user_id <> '';
CREATE INDEX sessions_retain_biometrics ON sessions (tenant_id, created_at, id) WHERE erased < 1;
CREATE INDEX sessions_retain_all ON sessions (tenant_id, created_at, id) WHERE erased < 2;

-- scrubbed: the body was rewritten by a redaction; a worker saving an
-- attempt keeps it.
ALTER TABLE deliveries ADD COLUMN scrubbed boolean NOT NULL DEFAULT false;

CREATE TABLE deletion_receipts (
    tenant_id  text NOT NULL,
    seq        bigint NOT NULL,
    id         text NOT NULL UNIQUE,
    session_id text NOT NULL,
    doc        bytea NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- Append-only: no row of the trail is ever changed or removed.
CREATE FUNCTION deletion_receipts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deletion_receipts is append-only';
END $$;
CREATE TRIGGER deletion_receipts_append_only BEFORE UPDATE OR DELETE ON deletion_receipts
    FOR EACH ROW EXECUTE FUNCTION deletion_receipts_append_only();

-- The newest receipt whose deletion the table files are known to be free
-- of (Scrub): any replica scrubs what another redacted.
CREATE TABLE scrub_state (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    scrubbed_through text NOT NULL DEFAULT ''
);
INSERT INTO scrub_state DEFAULT VALUES;

CREATE TABLE IF NOT EXISTS ota_releases (
    id          text PRIMARY KEY,
    uploaded_at timestamptz NOT NULL,
    body        jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS ota_rollouts (
    id         text PRIMARY KEY,
    release_id text NOT NULL,
    created_at timestamptz NOT NULL,
    body       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS ota_rollouts_release ON ota_rollouts (release_id);

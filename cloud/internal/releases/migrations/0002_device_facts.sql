-- Device facts for rollout cohorts: the board a device reports, its
-- architecture when known, and operator labels (DeviceFacts as JSON).
CREATE TABLE IF NOT EXISTS ota_devices (
    id   text PRIMARY KEY,
    body jsonb NOT NULL
);

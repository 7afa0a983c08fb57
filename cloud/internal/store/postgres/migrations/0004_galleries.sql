-- livegate-cloud store, version 6: face galleries and their enrolled
-- persons. Same layout as version 1: the full JSON in doc (a person's
-- templates hold embeddings sealed with the tenant's data key, never clear).

CREATE TABLE galleries (
    id        text PRIMARY KEY,
    tenant_id text NOT NULL,
    doc       bytea NOT NULL
);
CREATE INDEX galleries_tenant ON galleries (tenant_id, id);

CREATE TABLE persons (
    id          text PRIMARY KEY,
    gallery_id  text NOT NULL REFERENCES galleries (id),
    external_id text NOT NULL,
    doc         bytea NOT NULL,
    UNIQUE (gallery_id, external_id)
);
CREATE INDEX persons_gallery ON persons (gallery_id, id);

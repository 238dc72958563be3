-- aite history, schema version 2: how many of the profile's requirements an
-- assessment left out of scope (`aite latency --profile P` judges only what it
-- measured), so a scoped PASS is never listed as the profile's PASS.
-- Portable SQL (SQLite and PostgreSQL).

ALTER TABLE runs ADD COLUMN out_of_scope INTEGER NOT NULL DEFAULT 0;

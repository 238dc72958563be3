-- aite history, schema version 4: which suite reported a finding and a rule status:
-- `security` (the static scan, `suites.security`) or `network` (`aite probe`,
-- `suites.network`). Rows recorded before are the static scan's: an older aite recorded
-- no network findings. Network rule ids (AITE-NET-*) never collide with static ones, so
-- security_rules keeps its key.
-- Portable SQL (SQLite and PostgreSQL).

ALTER TABLE findings ADD COLUMN suite TEXT NOT NULL DEFAULT 'security';
ALTER TABLE security_rules ADD COLUMN suite TEXT NOT NULL DEFAULT 'security';

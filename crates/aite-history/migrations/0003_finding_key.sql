-- aite history, schema version 3: what tells a finding from its rule's other findings on
-- the same subject (`suites.security.findings[].key`: an account, a certificate's subject, a
-- component and vulnerability), so the release diff follows a finding when its message is
-- reworded. NULL: recorded from a results.json without the field (an older aite); '' : the
-- rule reports at most one finding per subject.
-- Portable SQL (SQLite and PostgreSQL).

ALTER TABLE findings ADD COLUMN finding_key TEXT;

/**
 * Schema version 2: the audit trail of the officers' console. Who looked at what, and who
 * decrypted which manifest, when and from where (EurAsEC 2009 Art. 11: monitoring how the
 * customs IT is used; CTOP Protocol Art. 6: the information is used only for customs
 * control, so every use of it is accountable).
 *
 * Append-only: the database refuses any UPDATE, and any DELETE of a row younger than the
 * traceability period (5 years, traceability agreement), whatever code path tries it.
 */
export const SCHEMA_V2 = `
CREATE TABLE audit (
  audit_id INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  -- the officer's user name; '-' when the attempt named no known account
  officer  TEXT NOT NULL CHECK (length(officer) BETWEEN 1 AND 64),
  -- lower-case token: login, login_failed, logout, view, decrypt, ...
  action   TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 32),
  -- what was looked at: a console path, a manifest id
  target   TEXT CHECK (target IS NULL OR length(target) <= 512),
  outcome  TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  detail   TEXT CHECK (detail IS NULL OR length(detail) <= 1000),
  -- the client address as the console saw it
  remote   TEXT CHECK (remote IS NULL OR length(remote) <= 64)
) STRICT;
CREATE INDEX audit_at ON audit (at);
-- rowid is the index's trailing key: an officer's rows come out newest first without a sort
CREATE INDEX audit_officer ON audit (officer);

CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: the audit trail is append-only'); END;

CREATE TRIGGER audit_keep_traceability_period BEFORE DELETE ON audit
WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) - 157766400) * 1000
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: audit rows are kept for the traceability period (5 years)'); END;
`;

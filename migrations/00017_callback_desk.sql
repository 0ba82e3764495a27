-- +goose Up
-- Issue 16 §4: the resident's phone is shown only to the command center's
-- callback desk (回访席). A duty is a task given to an account on top of its
-- role; today the one duty is callback, for command-center accounts only
-- (access.DutyCallback, access.Scope.SeesReporter).
ALTER TABLE users ADD COLUMN duties text[] NOT NULL DEFAULT '{}'
    CHECK (duties <@ ARRAY['callback']::text[] AND (cardinality(duties) = 0 OR role = 'command'));

-- +goose Down
ALTER TABLE users DROP COLUMN duties;

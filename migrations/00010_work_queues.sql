-- +goose Up
-- The workbench's queues (issue 14, whistle/work.go) walk whistles and
-- unraised clues in keyset order (the sort key, then id): these indexes
-- give each queue its order without sorting the whole jurisdiction.

-- a township's clues in no whistle, newest first (待处理线索)
CREATE INDEX clues_unraised_idx ON clues (township_id, reported_at DESC, id DESC) WHERE whistle_id IS NULL;
-- a township's whistles by deadline and by raise
CREATE INDEX whistles_township_due_idx ON whistles (township_id, resolve_due, id);
CREATE INDEX whistles_township_raised_idx ON whistles (township_id, raised_at, id);
-- the district's whistles by deadline (the command center's queues)
CREATE INDEX whistles_resolve_due_idx ON whistles (resolve_due, id);

-- +goose Down
DROP INDEX clues_unraised_idx, whistles_township_due_idx, whistles_township_raised_idx, whistles_resolve_due_idx;

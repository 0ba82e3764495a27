-- +goose Up
-- Keyset paging (package keyset): every list page is "the rows after
-- (key, id) in (key, id) order, LIMIT n", which a b-tree on (key, id)
-- answers by a range scan in either direction, so a deep page costs what
-- the first costs. The composite indexes replace the single-column ones
-- on the same key (they serve the same range scans).
CREATE INDEX clues_reported_id_idx ON clues (reported_at, id);
DROP INDEX clues_reported_idx;
CREATE INDEX whistles_raised_id_idx ON whistles (raised_at, id);
DROP INDEX whistles_raised_idx;
-- sort=deadline of GET /api/v1/whistles: the resolve deadline, soonest first
CREATE INDEX whistles_resolve_due_id_idx ON whistles (resolve_due, id);

-- +goose Down
DROP INDEX whistles_resolve_due_id_idx;
CREATE INDEX whistles_raised_idx ON whistles (raised_at);
DROP INDEX whistles_raised_id_idx;
CREATE INDEX clues_reported_idx ON clues (reported_at);
DROP INDEX clues_reported_id_idx;

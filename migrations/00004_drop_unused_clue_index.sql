-- +goose Up
-- clues.h3 is shown with a clue but never searched on (the hotspot
-- analysis bins the points itself), and every clue paid for the index.
DROP INDEX clues_h3_idx;

-- +goose Down
CREATE INDEX clues_h3_idx ON clues (h3);

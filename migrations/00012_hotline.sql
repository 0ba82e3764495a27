-- +goose Up
-- 12345 hotline orders, the gazetteer's named places and the import jobs
-- (issue 15).

-- A clue matched to a village by name only (a hotline order saying
-- "常家营村" and nothing finer) is put in the village: its grid is the
-- village grid and its chain stops there. grid_level follows the grid the
-- clue is put in (a trigger keeps it, so whistle_intake needs no change).
ALTER TABLE clues DROP CONSTRAINT clues_grid_level_check;
ALTER TABLE clues ADD CONSTRAINT clues_grid_level_check CHECK (grid_level IN ('household', 'village'));

-- +goose StatementBegin
CREATE FUNCTION clues_grid_level() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.grid_level = 'household' THEN
        SELECT g.level INTO NEW.grid_level FROM grids g WHERE g.id = NEW.grid_id;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER clues_grid_level BEFORE INSERT ON clues FOR EACH ROW EXECUTE FUNCTION clues_grid_level();

-- places: named places of the gazetteer (residential compounds 小区, roads,
-- landmarks), loaded by `whistlegrid import places`; a point (WGS-84) in
-- its village, and the names callers use for it.
CREATE TABLE places (
    id          bigserial PRIMARY KEY,
    name        text   NOT NULL CHECK (name <> ''),
    kind        text   NOT NULL CHECK (kind IN ('compound', 'road', 'landmark')),
    aliases     text[] NOT NULL DEFAULT '{}',
    township_id bigint NOT NULL REFERENCES grids (id),
    village_id  bigint NOT NULL REFERENCES grids (id),
    location    geometry(Point, 4326) NOT NULL,
    UNIQUE (township_id, name)
);

-- imports: one file brought in, by the CLI or the browser, with its report.
CREATE TABLE imports (
    id          bigserial PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('hotline', 'places', 'grids', 'people')),
    file_name   text        NOT NULL DEFAULT '',
    mode        text        NOT NULL DEFAULT '',
    dry_run     boolean     NOT NULL DEFAULT false,
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    started_by  text        NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    rows_read   bigint      NOT NULL DEFAULT 0,
    report      jsonb,
    rejects     text        -- the rejects file (CSV row,column,reason) of an import from the browser
);

-- hotline_orders: every 12345 work order ever imported, once per 工单编号,
-- with where it was placed (precision household, place, village,
-- township or none; matched the text it matched; reason why it was not
-- placed finer). clue_id NULL: unplaced, waiting in the review queue
-- (/import/review) in township_id's queue (NULL: the command center's).
CREATE TABLE hotline_orders (
    id            bigserial PRIMARY KEY,
    order_no      text        NOT NULL UNIQUE CHECK (order_no <> ''),
    import_id     bigint      REFERENCES imports (id),
    mode          text        NOT NULL CHECK (mode IN ('history', 'live')),
    received_at   timestamptz NOT NULL,
    caller_name   text,
    caller_phone  text,
    address       text        NOT NULL DEFAULT '',
    content       text        NOT NULL DEFAULT '',
    category_id   bigint      NOT NULL REFERENCES categories (id),
    category_text text        NOT NULL DEFAULT '',
    handler       text        NOT NULL DEFAULT '',
    due_at        timestamptz,
    resolved      boolean,
    satisfaction  text        NOT NULL DEFAULT '',
    precision     text        NOT NULL CHECK (precision IN ('household', 'place', 'village', 'township', 'none')),
    method        text        NOT NULL CHECK (method IN ('coordinates', 'address', 'pin')),
    matched       text        NOT NULL DEFAULT '',
    reason        text        NOT NULL DEFAULT '',
    township_id   bigint      REFERENCES grids (id),
    clue_id       bigint      REFERENCES clues (id),
    placed_by     text,
    placed_at     timestamptz
);
CREATE INDEX hotline_orders_unplaced_idx ON hotline_orders (township_id, received_at) WHERE clue_id IS NULL;
CREATE INDEX hotline_orders_import_idx ON hotline_orders (import_id);

-- +goose Down
DROP TABLE hotline_orders;
DROP TABLE imports;
DROP TABLE places;
DROP TRIGGER clues_grid_level ON clues;
DROP FUNCTION clues_grid_level();
ALTER TABLE clues DROP CONSTRAINT clues_grid_level_check;
ALTER TABLE clues ADD CONSTRAINT clues_grid_level_check CHECK (grid_level = 'household');

-- +goose Up
-- Issue 15: a hotline history import at a quarter of COPY's rate for every
-- database role. The two per-row plpgsql triggers of clues (BEFORE INSERT,
-- one function call and, for the grid level, one query per row) become
-- set-wise, so a batch of 5,000 clues costs one statement, whoever writes
-- it; the importer's superuser-only path (session_replication_role =
-- replica) is gone with them.
--
-- ONE definition each:
--
-- reporter_phone_hash is a STORED generated column: PostgreSQL computes it
-- in C for every row written, by any writer (INSERT, COPY, UPDATE OF
-- reporter_phone), with no trigger. The expression must be IMMUTABLE, and
-- sha256(convert_to(phone, 'UTF8')) is not (convert_to is STABLE). Nor is
-- textsend: it converts to the client's encoding (a GBK client gets GBK
-- bytes), so the hash would depend on who wrote the row. In a UTF8
-- database decode(replace(phone, '\', '\\'), 'escape') is the text's own
-- bytes, immutably: escape decoding copies every byte but a backslash, and
-- the backslashes were doubled first. It equals convert_to(phone, 'UTF8')
-- byte for byte (checked below on every stored phone, and by
-- TestClueSetwiseColumns on Chinese text and backslashes), so
-- whistle/risk.go's lookup, sha256(convert_to($1, 'UTF8')), keeps matching.
-- The migration refuses a database that is not UTF8.
--
-- grid_level: a clue put in a village grid (a hotline order matched to a
-- village by name) has grid_level 'village', so that the foreign key
-- (grid_id, grid_level) -> grids (id, level) holds. Writers that know the
-- level set it (the importer); writers that do not name it (whistle_intake,
-- which another change owns, the pin of the review queue, the demo's COPY)
-- get the default 'household'. A generated column cannot read grids, so a
-- statement-level AFTER INSERT trigger with a transition table corrects,
-- in one UPDATE per statement, the rows inserted with the default into a
-- grid whose level is another (in practice: the few village clues of
-- live intake); for a batch whose levels are right it is one join of the
-- batch with grids that changes nothing. For the trigger to come first,
-- the foreign key is checked at commit (DEFERRABLE INITIALLY DEFERRED): the
-- row as inserted is then no longer the live version and only the
-- corrected one is checked. A clue in a grid that does not exist, or in a
-- zone or township grid (the CHECK), is still refused, at the INSERT or at
-- COMMIT.
--
-- No index of clues is dropped: each is read by a query (grid_idx by the
-- joins from grids by code prefix and by the foreign key's checks when a
-- grid changes, whistle_idx by every whistle's clues, reported_id_idx by
-- keyset paging, unraised_idx by the work queues, location_idx and
-- reporter_phone_hash_idx by the risk rules, reported_by_idx by 我的上报).

-- +goose StatementBegin
DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'whistlegrid needs a UTF8 database (clues.reporter_phone_hash), this one is %', current_setting('server_encoding');
    END IF;
END $$;
-- +goose StatementEnd

DROP TRIGGER clues_phone_hash ON clues;
DROP FUNCTION clues_phone_hash();
ALTER TABLE clues DROP COLUMN reporter_phone_hash;
ALTER TABLE clues ADD COLUMN reporter_phone_hash bytea
    GENERATED ALWAYS AS (sha256(decode(replace(reporter_phone, E'\\', E'\\\\'), 'escape'))) STORED;
CREATE INDEX clues_reporter_phone_hash_idx ON clues (reporter_phone_hash, reported_at) WHERE reporter_phone_hash IS NOT NULL;

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM clues WHERE reporter_phone_hash IS DISTINCT FROM sha256(convert_to(reporter_phone, 'UTF8'))) THEN
        RAISE EXCEPTION 'clues.reporter_phone_hash differs from sha256(convert_to(reporter_phone, ''UTF8''))';
    END IF;
END $$;
-- +goose StatementEnd

DROP TRIGGER clues_grid_level ON clues;
DROP FUNCTION clues_grid_level();
ALTER TABLE clues ALTER CONSTRAINT clues_grid_id_grid_level_fkey DEFERRABLE INITIALLY DEFERRED;

-- +goose StatementBegin
CREATE FUNCTION clues_grid_level() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE clues c SET grid_level = g.level
    FROM new_clues n JOIN grids g ON g.id = n.grid_id
    WHERE c.id = n.id AND n.grid_level = 'household' AND g.level <> 'household';
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER clues_grid_level AFTER INSERT ON clues REFERENCING NEW TABLE AS new_clues
    FOR EACH STATEMENT EXECUTE FUNCTION clues_grid_level();

-- +goose Down
DROP TRIGGER clues_grid_level ON clues;
DROP FUNCTION clues_grid_level();
ALTER TABLE clues ALTER CONSTRAINT clues_grid_id_grid_level_fkey NOT DEFERRABLE;
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

ALTER TABLE clues DROP COLUMN reporter_phone_hash;
ALTER TABLE clues ADD COLUMN reporter_phone_hash bytea;
UPDATE clues SET reporter_phone_hash = sha256(convert_to(reporter_phone, 'UTF8')) WHERE reporter_phone IS NOT NULL;
-- +goose StatementBegin
CREATE FUNCTION clues_phone_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.reporter_phone_hash := sha256(convert_to(NEW.reporter_phone, 'UTF8'));
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER clues_phone_hash BEFORE INSERT OR UPDATE OF reporter_phone ON clues
    FOR EACH ROW EXECUTE FUNCTION clues_phone_hash();
CREATE INDEX clues_reporter_phone_hash_idx ON clues (reporter_phone_hash, reported_at) WHERE reporter_phone_hash IS NOT NULL;

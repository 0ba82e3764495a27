-- +goose Up
-- The whole data model (README: Data model). SRID 4326 everywhere, lon/lat order.
-- Constraints make bad states impossible; the application relies on them.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- grids: one row per grid (district, township, zone, village, household grid).
-- geom is the current outline; grid_versions keeps every outline the grid has
-- had, with valid_from / valid_to, so "where was this grid on 3 March" is a query.
CREATE TABLE grids (
    id         bigserial PRIMARY KEY,
    code       text        NOT NULL UNIQUE CHECK (code ~ '^[0-9]{6}([0-9]{3}(P[0-9]{2}|[0-9]{3}([0-9]{3})?)?)?$'),
    level      text        NOT NULL CHECK (level IN ('district', 'township', 'zone', 'village', 'household')),
    kind       text        NOT NULL CHECK (kind IN ('district', 'subdistrict', 'town', 'township', 'zone', 'village', 'community', 'household')),
    name       text        NOT NULL CHECK (name <> ''),
    parent_id  bigint      REFERENCES grids (id),
    parent_level text,
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    UNIQUE (id, level),
    FOREIGN KEY (parent_id, parent_level) REFERENCES grids (id, level),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    -- the hierarchy: district > township > zone > village > household grid
    CHECK ((level = 'district'  AND parent_id IS NULL AND parent_level IS NULL)
        OR (level = 'township'  AND parent_id IS NOT NULL AND parent_level = 'district')
        OR (level = 'zone'      AND parent_id IS NOT NULL AND parent_level = 'township')
        OR (level = 'village'   AND parent_id IS NOT NULL AND parent_level = 'zone')
        OR (level = 'household' AND parent_id IS NOT NULL AND parent_level = 'village')),
    CHECK ((level = 'district'  AND length(code) = 6)
        OR (level = 'township'  AND length(code) = 9)
        OR (level = 'zone'      AND code ~ 'P[0-9]{2}$')
        OR (level = 'village'   AND length(code) = 12 AND code !~ 'P')
        OR (level = 'household' AND length(code) = 15)),
    CHECK ((level = 'district'  AND kind = 'district')
        OR (level = 'township'  AND kind IN ('subdistrict', 'town', 'township'))
        OR (level = 'zone'      AND kind = 'zone')
        OR (level = 'village'   AND kind IN ('village', 'community'))
        OR (level = 'household' AND kind = 'household'))
);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);
CREATE INDEX grids_parent_idx ON grids (parent_id);
CREATE INDEX grids_level_idx ON grids (level);
CREATE INDEX grids_code_prefix_idx ON grids (code text_pattern_ops);

CREATE TABLE grid_versions (
    grid_id    bigint      NOT NULL REFERENCES grids (id),
    geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    changed_by text,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    EXCLUDE USING gist (grid_id WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE INDEX grid_versions_geom_idx ON grid_versions USING gist (geom);

-- Every outline a grid has had, the current one included, is kept in
-- grid_versions by trigger. grids.valid_from is when the current outline
-- took effect: an update that moves valid_from forward closes the open
-- version there and opens the next; an update of geom alone corrects the
-- open version in place; setting valid_to retires the grid.
-- +goose StatementBegin
CREATE FUNCTION grid_versions_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO grid_versions (grid_id, geom, valid_from, valid_to) VALUES (NEW.id, NEW.geom, NEW.valid_from, NEW.valid_to);
    ELSIF NEW.valid_from > OLD.valid_from THEN
        UPDATE grid_versions SET valid_to = NEW.valid_from WHERE grid_id = NEW.id AND valid_to IS NULL;
        INSERT INTO grid_versions (grid_id, geom, valid_from, valid_to) VALUES (NEW.id, NEW.geom, NEW.valid_from, NEW.valid_to);
    ELSE
        UPDATE grid_versions SET geom = NEW.geom, valid_to = NEW.valid_to WHERE grid_id = NEW.id AND valid_from = OLD.valid_from;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER grid_versions_keep AFTER INSERT OR UPDATE OF geom, valid_from, valid_to ON grids
    FOR EACH ROW EXECUTE FUNCTION grid_versions_keep();

-- units: departments, field stations and utilities.
CREATE TABLE units (
    id    bigserial PRIMARY KEY,
    code  text NOT NULL UNIQUE CHECK (code ~ '^[DSU][0-9]{3}$'),
    name  text NOT NULL UNIQUE CHECK (name <> ''),
    kind  text NOT NULL CHECK (kind IN ('department', 'station', 'utility')),
    phone text CHECK (phone ~ '^[0-9-]{7,20}$'),
    CHECK (left(code, 1) = CASE kind WHEN 'department' THEN 'D' WHEN 'station' THEN 'S' ELSE 'U' END)
);

-- unit_townships: the townships a field station or utility serves.
CREATE TABLE unit_townships (
    unit_id        bigint NOT NULL REFERENCES units (id),
    township_id    bigint NOT NULL,
    township_level text   NOT NULL DEFAULT 'township' CHECK (township_level = 'township'),
    PRIMARY KEY (unit_id, township_id),
    FOREIGN KEY (township_id, township_level) REFERENCES grids (id, level)
);

-- people: everyone who can be on duty. Phones are personal data: masked in
-- every answer unless the caller's role needs them.
CREATE TABLE people (
    id      bigserial PRIMARY KEY,
    name    text   NOT NULL CHECK (name <> ''),
    role    text   NOT NULL CHECK (role IN ('zone_leader', 'village_cadre', 'party_member', 'grid_worker', 'unit_staff')),
    phone   text   CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    unit_id bigint REFERENCES units (id),
    CHECK ((role = 'unit_staff') = (unit_id IS NOT NULL))
);

-- assignments: who is responsible for which grid, when.
-- duty: zone (领导包片), village (干部包村), household (党员包户), patrol (网格员巡查).
CREATE TABLE assignments (
    id         bigserial PRIMARY KEY,
    grid_id    bigint      NOT NULL,
    grid_level text        NOT NULL,
    person_id  bigint      NOT NULL REFERENCES people (id),
    duty       text        NOT NULL CHECK (duty IN ('zone', 'village', 'household', 'patrol')),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    FOREIGN KEY (grid_id, grid_level) REFERENCES grids (id, level),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((duty = 'zone' AND grid_level = 'zone')
        OR (duty = 'village' AND grid_level = 'village')
        OR (duty = 'household' AND grid_level = 'household')
        OR (duty = 'patrol' AND grid_level = 'village')),
    -- one person per grid and duty at any moment
    EXCLUDE USING gist (grid_id WITH =, duty WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE INDEX assignments_person_idx ON assignments (person_id);

-- households: points inside their household grid.
CREATE TABLE households (
    id              bigserial PRIMARY KEY,
    grid_id         bigint NOT NULL,
    grid_level      text   NOT NULL DEFAULT 'household' CHECK (grid_level = 'household'),
    address         text   NOT NULL CHECK (address <> ''),
    location        geometry(Point, 4326) NOT NULL CHECK (NOT ST_IsEmpty(location)),
    size            int    NOT NULL CHECK (size BETWEEN 1 AND 30),
    contact_name    text,
    contact_phone   text CHECK (contact_phone ~ '^1[3-9][0-9]{9}$'),
    party_member_id bigint REFERENCES people (id),
    FOREIGN KEY (grid_id, grid_level) REFERENCES grids (id, level)
);
CREATE INDEX households_grid_idx ON households (grid_id);
CREATE INDEX households_location_idx ON households USING gist (location);

-- categories: a two- or three-level tree, each with a default grade and deadlines.
CREATE TABLE categories (
    id                bigserial PRIMARY KEY,
    code              text   NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9.]+$'),
    name              text   NOT NULL CHECK (name <> ''),
    parent_id         bigint REFERENCES categories (id),
    depth             int    NOT NULL CHECK (depth BETWEEN 1 AND 3),
    style             text   NOT NULL CHECK (style IN ('city', 'hotline')),
    default_grade     text   NOT NULL CHECK (default_grade IN ('routine', 'priority', 'hard')),
    report_in_minutes int    NOT NULL CHECK (report_in_minutes > 0),
    resolve_minutes   int    NOT NULL CHECK (resolve_minutes > 0),
    CHECK ((depth = 1) = (parent_id IS NULL)),
    CHECK (report_in_minutes < resolve_minutes)
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

-- duties: the responsibility list (权责清单). township_id NULL is the
-- district-wide default row for the category.
CREATE TABLE duties (
    id             bigserial PRIMARY KEY,
    category_id    bigint NOT NULL REFERENCES categories (id),
    township_id    bigint,
    township_level text   CHECK (township_level = 'township'),
    lead_unit_id   bigint NOT NULL REFERENCES units (id),
    FOREIGN KEY (township_id, township_level) REFERENCES grids (id, level),
    CHECK ((township_id IS NULL) = (township_level IS NULL)),
    UNIQUE NULLS NOT DISTINCT (category_id, township_id)
);

CREATE TABLE duty_assists (
    duty_id bigint NOT NULL REFERENCES duties (id) ON DELETE CASCADE,
    unit_id bigint NOT NULL REFERENCES units (id),
    PRIMARY KEY (duty_id, unit_id)
);

-- users and tokens: identity and jurisdiction.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text   NOT NULL UNIQUE CHECK (username ~ '^[a-zA-Z0-9_.-]{1,64}$'),
    password_hash text   NOT NULL,
    role          text   NOT NULL CHECK (role IN ('command', 'township', 'unit', 'grid_worker', 'party_member', 'screen')),
    display_name  text   NOT NULL DEFAULT '',
    grid_id       bigint,
    grid_level    text,
    unit_id       bigint REFERENCES units (id),
    person_id     bigint REFERENCES people (id),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (grid_id, grid_level) REFERENCES grids (id, level),
    CHECK ((role IN ('command', 'screen') AND grid_id IS NOT NULL AND grid_level = 'district' AND unit_id IS NULL)
        OR (role = 'township' AND grid_id IS NOT NULL AND grid_level = 'township' AND unit_id IS NULL)
        OR (role = 'grid_worker' AND grid_id IS NOT NULL AND grid_level = 'village' AND unit_id IS NULL)
        OR (role = 'party_member' AND grid_id IS NOT NULL AND grid_level = 'household' AND unit_id IS NULL)
        OR (role = 'unit' AND grid_id IS NULL AND unit_id IS NOT NULL))
);

CREATE TABLE tokens (
    id         bigserial PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

-- whistles: the case a raised whistle opens.
CREATE TABLE whistles (
    id              bigserial PRIMARY KEY,
    township_id     bigint      NOT NULL,
    township_level  text        NOT NULL DEFAULT 'township' CHECK (township_level = 'township'),
    grid_id         bigint      REFERENCES grids (id),
    category_id     bigint      NOT NULL REFERENCES categories (id),
    grade           text        NOT NULL CHECK (grade IN ('routine', 'priority', 'hard')),
    status          text        NOT NULL DEFAULT 'raised' CHECK (status IN ('raised', 'in_progress', 'awaiting_approval', 'closed')),
    location        geometry(Point, 4326),
    note            text        NOT NULL DEFAULT '',
    raised_by       bigint      REFERENCES users (id),
    raised_at       timestamptz NOT NULL DEFAULT now(),
    report_in_due   timestamptz NOT NULL,
    resolve_due     timestamptz NOT NULL,
    closed_at       timestamptz,
    outcome         text        CHECK (outcome IN ('resolved', 'partly', 'unresolved')),
    report_in_overdue_at timestamptz,
    resolve_overdue_at   timestamptz,
    FOREIGN KEY (township_id, township_level) REFERENCES grids (id, level),
    CHECK (report_in_due > raised_at AND resolve_due >= report_in_due),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (closed_at IS NULL OR closed_at >= raised_at)
);
CREATE INDEX whistles_township_idx ON whistles (township_id, status);
CREATE INDEX whistles_location_idx ON whistles USING gist (location);
CREATE INDEX whistles_open_idx ON whistles (category_id, raised_at) WHERE status <> 'closed';

-- clues: every signal, placed. Unique per (source, external_id): imports are idempotent.
CREATE TABLE clues (
    id                  bigserial PRIMARY KEY,
    source              text        NOT NULL CHECK (source IN ('patrol', 'hotline', 'app', 'forum', 'hotspot', 'sensor')),
    external_id         text        NOT NULL CHECK (external_id <> ''),
    category_id         bigint      NOT NULL REFERENCES categories (id),
    text                text        NOT NULL DEFAULT '',
    received_lon        double precision NOT NULL,
    received_lat        double precision NOT NULL,
    datum               text        NOT NULL CHECK (datum IN ('wgs84', 'gcj02', 'bd09')),
    location            geometry(Point, 4326) NOT NULL,
    h3                  bigint,
    grid_id             bigint      NOT NULL,
    grid_level          text        NOT NULL DEFAULT 'household' CHECK (grid_level = 'household'),
    township_id         bigint      NOT NULL,
    township_level      text        NOT NULL DEFAULT 'township' CHECK (township_level = 'township'),
    boundary_distance_m double precision CHECK (boundary_distance_m >= 0),
    near_edge           boolean     NOT NULL DEFAULT false,
    reported_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    reporter_name       text,
    reporter_phone      text,
    whistle_id          bigint      REFERENCES whistles (id),
    FOREIGN KEY (grid_id, grid_level) REFERENCES grids (id, level),
    FOREIGN KEY (township_id, township_level) REFERENCES grids (id, level),
    UNIQUE (source, external_id),
    CHECK (received_lon BETWEEN -180 AND 180 AND received_lat BETWEEN -90 AND 90)
);
CREATE INDEX clues_location_idx ON clues USING gist (location);
CREATE INDEX clues_grid_idx ON clues (grid_id);
CREATE INDEX clues_whistle_idx ON clues (whistle_id);
CREATE INDEX clues_reported_idx ON clues (reported_at);
CREATE INDEX clues_h3_idx ON clues (h3);

-- summons: whistle × unit.
CREATE TABLE summons (
    whistle_id         bigint      NOT NULL REFERENCES whistles (id),
    unit_id            bigint      NOT NULL REFERENCES units (id),
    role               text        NOT NULL CHECK (role IN ('lead', 'assist')),
    summoned_at        timestamptz NOT NULL DEFAULT now(),
    reported_in_at     timestamptz,
    person             text,
    phone              text,
    resolved_at        timestamptz,
    outcome            text        CHECK (outcome IN ('resolved', 'partly', 'unresolved')),
    rating_reported_in smallint    CHECK (rating_reported_in BETWEEN 1 AND 5),
    rating_resolved    smallint    CHECK (rating_resolved BETWEEN 1 AND 5),
    rating_satisfied   smallint    CHECK (rating_satisfied BETWEEN 1 AND 5),
    rated_at           timestamptz,
    PRIMARY KEY (whistle_id, unit_id),
    CHECK (resolved_at IS NULL OR reported_in_at IS NOT NULL),
    CHECK ((resolved_at IS NULL) = (outcome IS NULL)),
    CHECK ((rated_at IS NULL) = (rating_reported_in IS NULL)
       AND (rated_at IS NULL) = (rating_resolved IS NULL)
       AND (rated_at IS NULL) = (rating_satisfied IS NULL))
);
CREATE INDEX summons_unit_idx ON summons (unit_id);

-- whistle_events: the append-only trail of every step.
CREATE TABLE whistle_events (
    id         bigserial PRIMARY KEY,
    whistle_id bigint      NOT NULL REFERENCES whistles (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint      REFERENCES users (id),
    actor      text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('raise', 'join', 'report_in', 'resolve', 'close', 'return', 'rate', 'escalate', 'consult', 'rule', 'contest', 'overdue', 'supervise')),
    unit_id    bigint      REFERENCES units (id),
    note       text        NOT NULL DEFAULT '',
    data       jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX whistle_events_whistle_idx ON whistle_events (whistle_id, at);

-- +goose StatementBegin
CREATE FUNCTION whistle_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'whistle_events is append-only';
END $$;
-- +goose StatementEnd
CREATE TRIGGER whistle_events_no_change BEFORE UPDATE OR DELETE ON whistle_events
    FOR EACH ROW EXECUTE FUNCTION whistle_events_append_only();

-- events: the outbox the live wall map reads, written in the same transaction
-- as the change it reports; every insert notifies 'whistlegrid_events'.
CREATE TABLE events (
    seq      bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text        NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    township text,
    payload  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_at_idx ON events (at);

-- +goose StatementBegin
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('whistlegrid_events', NEW.seq::text);
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();

-- +goose Down
DROP TABLE events, whistle_events, summons, clues, whistles, tokens, users,
    duty_assists, duties, categories, households, assignments, people,
    unit_townships, units, grid_versions, grids CASCADE;
DROP FUNCTION IF EXISTS events_notify, whistle_events_append_only, grid_versions_keep;

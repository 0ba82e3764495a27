-- +goose Up
-- Whistle rules, grade deadlines, supervision notices, and the columns the
-- lifecycle needs (issue "Whistles").

-- grade_policies: the report-in and resolve deadlines of each grade.
CREATE TABLE grade_policies (
    grade             text PRIMARY KEY CHECK (grade IN ('routine', 'priority', 'hard')),
    rank              int  NOT NULL UNIQUE CHECK (rank BETWEEN 1 AND 3),
    report_in_minutes int  NOT NULL CHECK (report_in_minutes > 0),
    resolve_minutes   int  NOT NULL CHECK (resolve_minutes > report_in_minutes)
);
INSERT INTO grade_policies (grade, rank, report_in_minutes, resolve_minutes) VALUES
    ('routine', 1, 24 * 60, 7 * 24 * 60),
    ('priority', 2, 2 * 60, 3 * 24 * 60),
    ('hard', 3, 30, 15 * 24 * 60);

-- rules: what a clue does, per category and township. NULL matches any;
-- the most specific row wins (township before category, deeper category
-- before its parent). The row with both NULL is the district default.
CREATE TABLE rules (
    id             bigserial PRIMARY KEY,
    category_id    bigint   REFERENCES categories (id),
    township_id    bigint,
    township_level text     CHECK (township_level = 'township'),
    action         text     NOT NULL CHECK (action IN ('village', 'whistle')),
    join_radius_m  double precision NOT NULL DEFAULT 100 CHECK (join_radius_m >= 0 AND join_radius_m <= 5000),
    join_window    interval NOT NULL DEFAULT '7 days' CHECK (join_window >= '0' AND join_window <= '90 days'),
    escalate_after int      NOT NULL DEFAULT 3 CHECK (escalate_after >= 2),
    FOREIGN KEY (township_id, township_level) REFERENCES grids (id, level),
    CHECK ((township_id IS NULL) = (township_level IS NULL)),
    UNIQUE NULLS NOT DISTINCT (category_id, township_id)
);
INSERT INTO rules (category_id, township_id, action) VALUES (NULL, NULL, 'village');

ALTER TABLE whistles
    ADD COLUMN clue_count      int         NOT NULL DEFAULT 0 CHECK (clue_count >= 0),
    ADD COLUMN escalations     int         NOT NULL DEFAULT 0 CHECK (escalations >= 0),
    ADD COLUMN ruled_unit_id   bigint      REFERENCES units (id),
    ADD COLUMN ruled_at        timestamptz,
    ADD COLUMN contested_at    timestamptz,
    ADD COLUMN consultations   int         NOT NULL DEFAULT 0 CHECK (consultations >= 0),
    ADD COLUMN returns         int         NOT NULL DEFAULT 0 CHECK (returns >= 0),
    ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT whistles_contest_after_ruling CHECK (contested_at IS NULL OR ruled_at IS NOT NULL),
    ADD CONSTRAINT whistles_ruling_has_unit CHECK ((ruled_at IS NULL) = (ruled_unit_id IS NULL)),
    ADD CONSTRAINT whistles_outcome_when_closed CHECK ((status = 'closed') = (outcome IS NOT NULL));

ALTER TABLE summons
    ADD COLUMN report_in_overdue_at timestamptz,
    ADD COLUMN resolve_overdue_at   timestamptz;

CREATE INDEX summons_report_in_due_idx ON summons (whistle_id) WHERE reported_in_at IS NULL AND report_in_overdue_at IS NULL;
CREATE INDEX summons_resolve_due_idx ON summons (whistle_id) WHERE role = 'lead' AND resolved_at IS NULL AND resolve_overdue_at IS NULL;
CREATE INDEX whistles_open_due_idx ON whistles (report_in_due, resolve_due) WHERE status <> 'closed';
CREATE INDEX whistles_raised_idx ON whistles (raised_at);

-- supervision notices (督办): the command center presses an overdue unit.
CREATE TABLE supervision_notices (
    id         bigserial PRIMARY KEY,
    whistle_id bigint      NOT NULL REFERENCES whistles (id),
    unit_id    bigint      NOT NULL REFERENCES units (id),
    kind       text        NOT NULL CHECK (kind IN ('report_in', 'resolve')),
    at         timestamptz NOT NULL DEFAULT now(),
    note       text        NOT NULL DEFAULT '',
    UNIQUE (whistle_id, unit_id, kind)
);

-- api keys for Open311 clients.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    key_hash   bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    name       text        NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- +goose Down
DROP TABLE api_keys, supervision_notices, rules, grade_policies;
ALTER TABLE summons DROP COLUMN report_in_overdue_at, DROP COLUMN resolve_overdue_at;
ALTER TABLE whistles DROP COLUMN clue_count, DROP COLUMN escalations, DROP COLUMN ruled_unit_id,
    DROP COLUMN ruled_at, DROP COLUMN contested_at, DROP COLUMN consultations, DROP COLUMN returns,
    DROP COLUMN updated_at;

-- +goose Up
-- Issue 16, parts 4 (回访 callback), 5 (风险研判 risk rules) and 2 (村民说事
-- villagers' meetings).

-- the trail knows the new steps: callback, reopen, and the risk flag
ALTER TABLE whistle_events DROP CONSTRAINT whistle_events_action_check;
ALTER TABLE whistle_events ADD CONSTRAINT whistle_events_action_check CHECK (action IN ('raise', 'join', 'report_in',
    'resolve', 'close', 'return', 'rate', 'escalate', 'consult', 'rule', 'contest', 'overdue', 'supervise',
    'callback', 'reopen', 'risk'));

-- a villagers' meeting's matter is a clue of source meeting
ALTER TABLE clues DROP CONSTRAINT clues_source_check;
ALTER TABLE clues ADD CONSTRAINT clues_source_check
    CHECK (source IN ('patrol', 'hotline', 'app', 'forum', 'hotspot', 'sensor', 'meeting'));

-- whistle_callbacks: the command center's call back to the resident after
-- a case closes (回访). The latest per whistle counts in the residents'
-- satisfaction rate (居民满意率, whistle/stats.go).
CREATE TABLE whistle_callbacks (
    id         bigserial PRIMARY KEY,
    whistle_id bigint      NOT NULL REFERENCES whistles (id),
    at         timestamptz NOT NULL,
    actor_id   bigint      REFERENCES users (id),
    actor      text        NOT NULL,
    result     text        NOT NULL CHECK (result IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    note       text        NOT NULL DEFAULT ''
);
CREATE INDEX whistle_callbacks_whistle_idx ON whistle_callbacks (whistle_id, at);

-- risk (风险研判): the rules the command center edits, one row; the
-- reasons a clue was flagged, on the clue and its whistle
CREATE TABLE risk_rules (
    id         int         PRIMARY KEY CHECK (id = 1),
    rules      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL DEFAULT 'system'
);
INSERT INTO risk_rules (id, rules) VALUES (1, '{
    "keywords": ["燃气泄漏", "煤气泄漏", "坠落", "坍塌", "触电", "爆炸"],
    "self_harm": ["跳楼", "自杀", "轻生", "不想活", "寻短见", "喝药"],
    "wage_keywords": ["欠薪", "拖欠工资", "讨薪"],
    "wage_amount": 100000,
    "wage_people": 10,
    "categories": [],
    "caller_repeats": 3,
    "caller_window_days": 30,
    "place_clues": 5,
    "place_radius_m": 100,
    "place_window_days": 7
}');
ALTER TABLE clues
    ADD COLUMN risk jsonb,
    -- the reporter's phone as a hash: the repeat-caller rule counts by it
    ADD COLUMN reporter_phone_hash bytea;
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
ALTER TABLE whistles ADD COLUMN risk jsonb;

-- villagers' meetings (村民说事) and their matters, each a clue
CREATE TABLE meetings (
    id         bigserial PRIMARY KEY,
    village_id bigint      NOT NULL REFERENCES grids (id),
    held_at    timestamptz NOT NULL,
    place      text        NOT NULL CHECK (place <> ''),
    host       text        NOT NULL CHECK (host <> ''),
    attendees  int         NOT NULL CHECK (attendees >= 0),
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_village_idx ON meetings (village_id, held_at);
CREATE TABLE meeting_matters (
    meeting_id   bigint      NOT NULL REFERENCES meetings (id),
    n            int         NOT NULL CHECK (n >= 1),
    text         text        NOT NULL CHECK (text <> ''),
    category     text        NOT NULL,
    clue_id      bigint      NOT NULL REFERENCES clues (id),
    -- 说事 → 议事 → 办事 → 评事
    stage        text        NOT NULL DEFAULT 'raised' CHECK (stage IN ('raised', 'discussed', 'done', 'judged')),
    decision     text        NOT NULL DEFAULT '',
    done_note    text        NOT NULL DEFAULT '',
    whistle_id   bigint      REFERENCES whistles (id),
    verdict      text        CHECK (verdict IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    verdict_note text        NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, n)
);

-- +goose Down
DROP TABLE meeting_matters, meetings, risk_rules, whistle_callbacks;
ALTER TABLE whistles DROP COLUMN risk;
DROP TRIGGER clues_phone_hash ON clues;
DROP FUNCTION clues_phone_hash;
ALTER TABLE clues DROP COLUMN risk, DROP COLUMN reporter_phone_hash;
ALTER TABLE clues DROP CONSTRAINT clues_source_check;
ALTER TABLE clues ADD CONSTRAINT clues_source_check
    CHECK (source IN ('patrol', 'hotline', 'app', 'forum', 'hotspot', 'sensor'));
ALTER TABLE whistle_events DROP CONSTRAINT whistle_events_action_check;
ALTER TABLE whistle_events ADD CONSTRAINT whistle_events_action_check CHECK (action IN ('raise', 'join', 'report_in',
    'resolve', 'close', 'return', 'rate', 'escalate', 'consult', 'rule', 'contest', 'overdue', 'supervise'));

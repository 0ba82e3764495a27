-- +goose Up
-- 整改台账 (the rectification ledger, package ledger) and 你说我办 (the
-- public message board, package board). Both are scoped by grid code in
-- SQL (access.PrefixClause over grid_code / township_code).

-- ledger_items: one rectification item. level is the supervision level it
-- has risen to (三级督办: township → department → command); status open →
-- writeoff_requested (销账 asked) → closed (approved), or back to open
-- (rejected, the reason kept in ledger_entries). Exactly one responsible
-- party: a township (code) or a unit.
CREATE TABLE ledger_items (
    id                   bigserial   PRIMARY KEY,
    title                text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    problem              text        NOT NULL DEFAULT '' CHECK (length(problem) <= 4000),
    grid_id              bigint      NOT NULL REFERENCES grids (id),
    grid_code            text        NOT NULL,
    township_code        text        NOT NULL,
    source               text        NOT NULL CHECK (source IN ('inspection', 'assessment', 'hotspot', 'complaints', 'person')),
    responsible_township text        CHECK (responsible_township ~ '^[0-9]{9}$'),
    responsible_unit_id  bigint      REFERENCES units (id),
    supervising_unit_id  bigint      REFERENCES units (id),
    level                text        NOT NULL DEFAULT 'township' CHECK (level IN ('township', 'department', 'command')),
    status               text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'writeoff_requested', 'closed')),
    whistle_id           bigint      REFERENCES whistles (id),
    hotspot_cell         text        CHECK (hotspot_cell ~ '^[0-9a-f]{15}$'),
    created_by           bigint      REFERENCES users (id),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    closed_at            timestamptz,
    CHECK ((responsible_township IS NULL) <> (responsible_unit_id IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX ledger_items_grid_idx ON ledger_items (grid_code text_pattern_ops);
CREATE INDEX ledger_items_status_idx ON ledger_items (status, level);
CREATE UNIQUE INDEX ledger_items_whistle_idx ON ledger_items (whistle_id) WHERE whistle_id IS NOT NULL;

-- ledger_visible is the one jurisdiction rule over a ledger item
-- (ledger.Store's every read selects through it): the command center and
-- the wall screen see every item, a township the items in its township or
-- that it is responsible for, a unit those it is responsible for or
-- supervises, a grid worker or party member those in their grid.
-- +goose StatementBegin
CREATE FUNCTION ledger_visible(i ledger_items, p_role text, p_prefixes text[], p_unit bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_role IN ('command', 'screen') THEN true
        WHEN p_role = 'unit' THEN coalesce(i.responsible_unit_id = p_unit OR i.supervising_unit_id = p_unit, false)
        WHEN p_role = 'township' THEN i.township_code LIKE ANY (p_prefixes) OR coalesce(i.responsible_township, '') LIKE ANY (p_prefixes)
        ELSE i.grid_code LIKE ANY (p_prefixes)
    END
$$;
-- +goose StatementEnd

-- ledger_measures: the measures of an item, numbered from 1, each with its
-- deadline. overdue_at marks the sweep's first rise for the measure (its
-- deadline passed), late_at the second (still not done
-- ledger.LateAfter after it): each mark is set once, by whichever sweep
-- gets the row lock first (UPDATE … WHERE … IS NULL), as whistles' are.
CREATE TABLE ledger_measures (
    item_id    bigint      NOT NULL REFERENCES ledger_items (id),
    n          integer     NOT NULL CHECK (n >= 1),
    text       text        NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    due        timestamptz NOT NULL,
    done_at    timestamptz,
    overdue_at timestamptz,
    late_at    timestamptz,
    PRIMARY KEY (item_id, n)
);
CREATE INDEX ledger_measures_due_idx ON ledger_measures (due) WHERE done_at IS NULL;

-- ledger_rises: each level an item rose to, once (the primary key).
CREATE TABLE ledger_rises (
    item_id bigint      NOT NULL REFERENCES ledger_items (id),
    level   text        NOT NULL CHECK (level IN ('department', 'command')),
    at      timestamptz NOT NULL,
    n       integer     NOT NULL,
    PRIMARY KEY (item_id, level)
);

-- ledger_entries: the item's trail: created, progress, writeoff (asked,
-- with evidence), approve, reject (with the reason), rise, edit.
CREATE TABLE ledger_entries (
    id          bigserial   PRIMARY KEY,
    item_id     bigint      NOT NULL REFERENCES ledger_items (id),
    at          timestamptz NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('created', 'progress', 'writeoff', 'approve', 'reject', 'rise', 'edit')),
    actor_id    bigint      REFERENCES users (id),
    actor       text        NOT NULL DEFAULT '',
    note        text        NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
    attachments text[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX ledger_entries_item_idx ON ledger_entries (item_id, at);

-- ledger_notices: the supervision notices (督办通知) of each rise, one to
-- the responsible party and one to the new level.
CREATE TABLE ledger_notices (
    id        bigserial   PRIMARY KEY,
    item_id   bigint      NOT NULL REFERENCES ledger_items (id),
    level     text        NOT NULL,
    recipient text        NOT NULL,
    at        timestamptz NOT NULL,
    note      text        NOT NULL,
    UNIQUE (item_id, level, recipient)
);

-- board_messages: a resident's message on 你说我办. phone is personal data,
-- never in a public answer; receipt is the writer's secret handle to look
-- the message up. status pending → accepted (clue_id: a clue of source
-- forum) or rejected (reason, shown to the writer). reply is the public
-- reply, written by the township when the case is closed.
CREATE TABLE board_messages (
    id          bigserial   PRIMARY KEY,
    receipt     text        NOT NULL UNIQUE CHECK (receipt ~ '^[0-9a-f]{32}$'),
    text        text        NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    category    text        NOT NULL REFERENCES categories (code),
    lon         double precision,
    lat         double precision,
    phone       text        CHECK (phone ~ '^[0-9+-]{7,20}$'),
    created_at  timestamptz NOT NULL,
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    reason      text        CHECK (length(reason) <= 500),
    clue_id     bigint      REFERENCES clues (id),
    screened_by bigint      REFERENCES users (id),
    screened_at timestamptz,
    reply       text        CHECK (length(reply) <= 2000),
    replied_by  bigint      REFERENCES users (id),
    replied_at  timestamptz,
    CHECK ((lon IS NULL) = (lat IS NULL)),
    CHECK ((status = 'accepted') = (clue_id IS NOT NULL)),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
CREATE INDEX board_messages_status_idx ON board_messages (status, created_at DESC);

-- board_posts: one row per message posted, per client address, for the
-- rate limit (board.Limits: a minute's and a day's), in the database so
-- every instance counts the same; rows older than a day are deleted.
CREATE TABLE board_posts (
    addr text        NOT NULL CHECK (length(addr) <= 100),
    at   timestamptz NOT NULL
);
CREATE INDEX board_posts_addr_idx ON board_posts (addr, at);

-- +goose Down
DROP FUNCTION ledger_visible;
DROP TABLE board_posts, board_messages, ledger_notices, ledger_entries, ledger_rises, ledger_measures, ledger_items;

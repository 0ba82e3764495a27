-- +goose Up
-- One definition of a whistle's summary, of "overdue" and of a whistle's
-- jurisdiction (issue 11): every reader of whistles (the list and one
-- whistle, events, intake, statistics, the assessment, the wall map's
-- snapshot and its tiles) selects from whistle_summaries instead of
-- repeating the rules.
--
-- Overdue (超期) has two meanings, each under its own name in SQL, Go and
-- JSON. At a time `at` (the reader's now):
--
--   overdue_now   (超期中) the whistle is open (not closed) and
--                   - a deadline sweep has marked it (report_in_overdue_at
--                     or resolve_overdue_at), or
--                   - its resolve deadline has passed, or
--                   - its report-in deadline has passed while a summoned
--                     unit has not reported in.
--                 What the wall map counts and colours red.
--
--   ever_overdue  (曾超期) overdue_now, or, whatever its status now,
--                   - a deadline sweep marked it, or
--                   - it was closed after its resolve deadline.
--                 What a period's statistics count. overdue_now is exactly
--                 ever_overdue of an open whistle, so for the open whistles
--                 of the wall map the two agree, and a whistle that was
--                 overdue now once stays ever overdue: the sweep
--                 (whistle/sweep.go, every 30 s by default) marks a missed
--                 report-in for good, and a missed resolve deadline shows in
--                 closed_at. The one gap is a report-in made late but within
--                 the same sweep interval, which nothing records (it still
--                 counts against the unit's report-in rate).
--
-- The sweep marks only the units' failures (it notices and escalates
-- them): a missed report-in, and a lead unit not resolved by the resolve
-- deadline while the whistle is raised or in progress. A whistle whose lead
-- units resolved in time but which the township closes after the resolve
-- deadline is overdue by the rules above (it was not done in time) yet
-- never marked, and no unit is to blame for it.
--
-- Per unit (statistics by=unit): a unit's summons is ever overdue when the
-- sweep marked it (report-in or resolve), or its whistle is open and the
-- unit has not reported in by the report-in deadline or, as lead, has not
-- resolved by the resolve deadline; overdue now when, besides, its whistle
-- is open (summons_ever_overdue, summons_overdue_now).
--
-- The API names them overdue_now and ever_overdue (JSON fields and list
-- filters); the older field and filter "overdue" is ever_overdue, which on
-- the wall map's open whistles is overdue_now too.
--
-- Jurisdiction (a caller's role, grid code and unit, as access.Scope has
-- them): the command center and the wall screen see every whistle; a
-- township the whistles of its township (code equal to its grid code); a
-- unit the whistles it is summoned to; a grid worker or party member the
-- whistles whose grid lies in its grid (code prefix); any other role none.
-- The Go mirrors for rows already in memory are whistle.Visible and
-- live.Visible.
--
-- whistle_summaries is a SQL function of one SELECT, so PostgreSQL inlines
-- it into the query that calls it: a reader pays only for the columns it
-- reads, and filters, joins and indexes work as on the tables (keep it
-- inlinable: LANGUAGE sql, STABLE, not STRICT, no SET clause, one SELECT).

-- the summons not reported in: few (a unit reports in within hours), read
-- by every summary that says whether it is overdue
CREATE INDEX summons_unreported_idx ON summons (whistle_id) WHERE reported_in_at IS NULL;

-- whistle_summaries: the whistles the caller may see (p_role, p_grid,
-- p_unit: access.Scope's Role, GridCode and UnitID) with their summary as
-- of p_at. location is WGS-84 (SRID 4326), NULL when the whistle has none;
-- grid is '' when it has none; units are the lead units' codes.
-- +goose StatementBegin
CREATE FUNCTION whistle_summaries(p_at timestamptz, p_role text, p_grid text, p_unit bigint)
RETURNS TABLE (id bigint, township text, township_name text, grid text, grade text, status text,
    category text, category_name text, location geometry, raised_at timestamptz,
    report_in_due timestamptz, resolve_due timestamptz, closed_at timestamptz, outcome text, clue_count int,
    overdue_now boolean, ever_overdue boolean, units text[],
    note text, escalations int, returns int, ruled_unit_id bigint, contested_at timestamptz)
LANGUAGE sql STABLE AS $$
SELECT w.id, t.code, t.name, coalesce(g.code, ''), w.grade, w.status, cat.code, cat.name, w.location, w.raised_at,
    w.report_in_due, w.resolve_due, w.closed_at, w.outcome, w.clue_count,
    w.status <> 'closed' AND o.ever_overdue,
    o.ever_overdue,
    ARRAY(SELECT u.code FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = w.id AND s.role = 'lead' ORDER BY u.code),
    w.note, w.escalations, w.returns, w.ruled_unit_id, w.contested_at
FROM whistles w
JOIN grids t ON t.id = w.township_id
LEFT JOIN grids g ON g.id = w.grid_id
JOIN categories cat ON cat.id = w.category_id
-- p_unit's summons to the whistle, as a join (one row at most, by the
-- primary key; removed when the role is not unit), not a subquery per
-- whistle: the planner costs that per row, enough to JIT-compile a list
LEFT JOIN summons summoned ON summoned.whistle_id = w.id AND summoned.unit_id = p_unit
-- "a summoned unit has not reported in" looks the whistle up in the ids of
-- the summons not reported in, read once per query (an InitPlan, and only
-- for an open whistle past its report-in deadline): a subquery per
-- whistle would be costed per row as above, and a join would lose the
-- raised_at order a list page walks
CROSS JOIN LATERAL (
    SELECT w.report_in_overdue_at IS NOT NULL OR w.resolve_overdue_at IS NOT NULL
        OR w.resolve_due < coalesce(w.closed_at, p_at)
        OR (w.status <> 'closed' AND w.report_in_due < p_at
            AND w.id = ANY (ARRAY(SELECT s.whistle_id FROM summons s WHERE s.reported_in_at IS NULL))) AS ever_overdue
) o
WHERE CASE p_role
    WHEN 'command' THEN true
    WHEN 'screen' THEN true
    WHEN 'township' THEN t.code = p_grid
    WHEN 'unit' THEN summoned.whistle_id IS NOT NULL
    WHEN 'grid_worker' THEN p_grid <> '' AND starts_with(g.code, p_grid)
    WHEN 'party_member' THEN p_grid <> '' AND starts_with(g.code, p_grid)
    ELSE false
END
$$;
-- +goose StatementEnd

-- summons_ever_overdue: the unit's summons s, on a whistle with status
-- p_status and deadlines p_report_in_due, p_resolve_due, is ever overdue
-- as of p_at (the per-unit rule above).
-- +goose StatementBegin
CREATE FUNCTION summons_ever_overdue(s summons, p_status text, p_report_in_due timestamptz, p_resolve_due timestamptz, p_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT s.report_in_overdue_at IS NOT NULL OR s.resolve_overdue_at IS NOT NULL
    OR (p_status <> 'closed' AND ((s.reported_in_at IS NULL AND p_report_in_due < p_at)
        OR (s.role = 'lead' AND s.resolved_at IS NULL AND p_resolve_due < p_at)))
$$;
-- +goose StatementEnd

-- summons_overdue_now: summons_ever_overdue on an open whistle.
-- +goose StatementBegin
CREATE FUNCTION summons_overdue_now(s summons, p_status text, p_report_in_due timestamptz, p_resolve_due timestamptz, p_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT p_status <> 'closed' AND summons_ever_overdue(s, p_status, p_report_in_due, p_resolve_due, p_at)
$$;
-- +goose StatementEnd

-- whistle_summary keeps its shape (whistle_intake returns its rows): its
-- overdue column is ever_overdue, and intake only ever returns open
-- whistles, for which that is overdue_now too.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION whistle_summary(p_id bigint)
RETURNS TABLE (id bigint, township text, township_name text, grid text, grade text, status text,
    category text, category_name text, lon double precision, lat double precision,
    raised_at timestamptz, report_in_due timestamptz, resolve_due timestamptz, closed_at timestamptz,
    outcome text, clue_count int, overdue boolean, units text[])
LANGUAGE sql STABLE AS $$
SELECT w.id, w.township, w.township_name, w.grid, w.grade, w.status, w.category, w.category_name,
    coalesce(ST_X(w.location), 0), coalesce(ST_Y(w.location), 0), w.raised_at, w.report_in_due, w.resolve_due,
    w.closed_at, w.outcome, w.clue_count, w.ever_overdue, w.units
FROM whistle_summaries(now(), 'command', '', NULL) w
WHERE w.id = p_id
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION whistle_summary(p_id bigint)
RETURNS TABLE (id bigint, township text, township_name text, grid text, grade text, status text,
    category text, category_name text, lon double precision, lat double precision,
    raised_at timestamptz, report_in_due timestamptz, resolve_due timestamptz, closed_at timestamptz,
    outcome text, clue_count int, overdue boolean, units text[])
LANGUAGE sql STABLE AS $$
SELECT w.id, t.code, t.name, coalesce(g.code, ''), w.grade, w.status, cat.code, cat.name,
    coalesce(ST_X(w.location), 0), coalesce(ST_Y(w.location), 0), w.raised_at, w.report_in_due, w.resolve_due,
    w.closed_at, w.outcome, w.clue_count,
    (w.report_in_overdue_at IS NOT NULL OR w.resolve_overdue_at IS NOT NULL
        OR (w.status <> 'closed' AND (w.resolve_due < now()
            OR (w.report_in_due < now() AND EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.reported_in_at IS NULL))))),
    ARRAY(SELECT u.code FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = w.id AND s.role = 'lead' ORDER BY u.code)
FROM whistles w
JOIN grids t ON t.id = w.township_id
LEFT JOIN grids g ON g.id = w.grid_id
JOIN categories cat ON cat.id = w.category_id
WHERE w.id = p_id
$$;
-- +goose StatementEnd
DROP FUNCTION summons_overdue_now, summons_ever_overdue, whistle_summaries;
DROP INDEX summons_unreported_idx;

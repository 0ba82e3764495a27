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

-- whistle_summaries keeps its meaning (migration 00005 explains it); only
-- its lead units' codes are read another way. As a join, the planner
-- hashed the whole units table once per whistle (about 0.35 ms a row, 18
-- ms of a 50-row queue page, most of its time); as a lookup of each
-- summons' unit by its primary key it costs microseconds. The body is
-- 00005's otherwise, word for word.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION whistle_summaries(p_at timestamptz, p_role text, p_grid text, p_unit bigint)
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
    ARRAY(SELECT (SELECT u.code FROM units u WHERE u.id = s.unit_id) AS code FROM summons s WHERE s.whistle_id = w.id AND s.role = 'lead' ORDER BY 1),
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION whistle_summaries(p_at timestamptz, p_role text, p_grid text, p_unit bigint)
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
DROP INDEX clues_unraised_idx, whistles_township_due_idx, whistles_township_raised_idx, whistles_resolve_due_idx;

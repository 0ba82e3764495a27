-- +goose Up
-- Clue intake in one call (issue "Whistles", `whistlegrid bench clues`):
-- the rule lookup, the advisory lock, the search for an open whistle to
-- join, the raise, join or escalation with their trail rows, and the clue
-- insert, all in the database, so intake is two round trips instead of a
-- dozen. The caller (whistle/intake.go) places the clue, names the units on
-- the duty list, and writes the events outbox rows in the same transaction
-- from the whistle summaries this function returns; clues arriving
-- together share one transaction, each with its own call.

-- whistle_summary: a whistle as lists and events show it; the columns of
-- summaryColumns in whistle/read.go, in the same order (change both
-- together).
-- +goose StatementBegin
CREATE FUNCTION whistle_summary(p_id bigint)
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

-- whistle_intake stores one placed clue and applies the rules: the most
-- specific rule of the category (or its parents) and township, else the
-- district default (stay in the village, 100 m, 7 days, escalate after 3).
-- Under a transaction-scoped advisory lock on category/township it joins
-- the nearest open whistle of the same category within the rule's radius
-- (metres) and window (seconds either side of reported_at) of the clue
-- (哨随事动), escalating a routine whistle to priority once it holds
-- escalate_after clues; or, when the rule says whistle and p_raise is set,
-- raises a whistle summoning p_units with p_roles. Every whistle step adds
-- its trail row.
--
-- It returns one row per whistle step, in order, each with the whistle's
-- summary just after the step (o_kind whistle.raised, whistle.joined or
-- whistle.escalated; o_count the whistle's clue count; o_from the grade
-- before an escalation; o_note the step's note), then a last row with
-- o_kind 'clue': o_clue_id the new clue and id the whistle it raised or
-- joined, if any. When (p_source, p_external_id) is already stored, that
-- last row is the only one and its o_clue_id is NULL: nothing changed.
--
-- Points are WGS-84 (SRID 4326), lon/lat order; p_received_* are as sent.
-- +goose StatementBegin
CREATE FUNCTION whistle_intake(
    p_source text, p_external_id text, p_category text, p_text text,
    p_received_lon double precision, p_received_lat double precision, p_datum text,
    p_lon double precision, p_lat double precision, p_h3 bigint,
    p_grid_id bigint, p_township_id bigint, p_township_code text,
    p_edge_m double precision, p_near_edge boolean,
    p_reported_at timestamptz, p_now timestamptz,
    p_reporter_name text, p_reporter_phone text,
    p_raise boolean, p_units text[], p_roles text[])
RETURNS TABLE (o_kind text, o_clue_id bigint, o_count int, o_from text, o_note text,
    id bigint, township text, township_name text, grid text, grade text, status text,
    category text, category_name text, lon double precision, lat double precision,
    raised_at timestamptz, report_in_due timestamptz, resolve_due timestamptz, closed_at timestamptz,
    outcome text, clue_count int, overdue boolean, units text[])
LANGUAGE plpgsql
-- planning the join search costs more than running it (about 1.5 ms):
-- plan each statement once per connection (replanned when the statistics
-- change)
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_pt      geometry := ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326);
    v_cat     bigint;
    v_stored  boolean;
    v_clue    bigint;
    v_action  text;
    v_radius  double precision;
    v_window  double precision; -- seconds
    v_after   int;
    v_deg     double precision;
    v_whistle bigint;
    v_count   int;
    v_grade   text;
    v_note    text;
BEGIN
    -- The category, whether the clue is stored already, and the rule that
    -- applies, in one statement. A clue already stored changes nothing; one
    -- stored meanwhile by a concurrent intake fails the insert at the end
    -- with unique_violation on clues_source_external_id_key.
    -- With no rule at all a clue stays in its village (100 m, 7 days,
    -- escalate after 3).
    SELECT c.id, EXISTS (SELECT 1 FROM clues k WHERE k.source = p_source AND k.external_id = p_external_id),
        coalesce(r.action, 'village'), coalesce(r.join_radius_m, 100), coalesce(r.window_s, 7 * 24 * 3600), coalesce(r.escalate_after, 3)
    INTO v_cat, v_stored, v_action, v_radius, v_window, v_after
    FROM categories c
    LEFT JOIN (
        WITH RECURSIVE cat AS (
            SELECT c.id, c.parent_id, c.depth FROM categories c WHERE c.code = p_category
            UNION ALL
            SELECT c.id, c.parent_id, c.depth FROM categories c JOIN cat ON c.id = cat.parent_id
        )
        SELECT r.action, r.join_radius_m, extract(epoch FROM r.join_window)::float8 AS window_s, r.escalate_after
        FROM rules r
        LEFT JOIN cat ON cat.id = r.category_id
        WHERE (r.category_id IS NULL OR cat.id IS NOT NULL)
          AND (r.township_id IS NULL OR r.township_id = p_township_id)
        ORDER BY r.township_id IS NULL, cat.depth DESC NULLS LAST
        LIMIT 1
    ) r ON true
    WHERE c.code = p_category;
    IF v_cat IS NULL OR v_stored THEN
        o_kind := 'clue';
        RETURN NEXT;
        RETURN;
    END IF;
    -- One clue at a time per category and township decides join-or-raise,
    -- so two clues at the same spot cannot both raise a whistle.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_category || '/' || p_township_code, 0));

    IF v_radius > 0 AND v_window > 0 THEN
        -- the bounding box in degrees that surely holds the radius: a degree
        -- of longitude is shortest, 111,320 m × cos(lat); the geography test
        -- after it is exact
        v_deg := v_radius / (111320 * cos(p_lat * pi() / 180)) * 1.01;
        -- "+ 0" keeps the category and time out of the plan's index
        -- choice: the plan is made once per connection, often while
        -- whistles is still empty, and a plan that walks whistles_raised_idx
        -- or whistles_open_idx reads every whistle of the window once there
        -- are thousands; the location index reads only those nearby
        SELECT w.id INTO v_whistle
        FROM whistles w
        WHERE w.category_id + 0 = v_cat AND w.status <> 'closed'
          AND w.raised_at + interval '0 s' BETWEEN p_reported_at - v_window * interval '1 second' AND p_reported_at + v_window * interval '1 second'
          AND w.location && ST_Expand(v_pt, v_deg)
          AND ST_DWithin(w.location::geography, v_pt::geography, v_radius)
        ORDER BY ST_Distance(w.location::geography, v_pt::geography), w.id
        LIMIT 1
        FOR UPDATE OF w;
    END IF;

    v_clue := nextval('clues_id_seq');
    IF v_whistle IS NOT NULL THEN
        -- the join and its trail row in one statement
        WITH u AS (
            UPDATE whistles w SET clue_count = w.clue_count + 1, updated_at = p_now WHERE w.id = v_whistle
            RETURNING w.clue_count, w.grade
        ), t AS (
            INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
            SELECT v_whistle, p_now, 'system', 'join', format('线索 #%s 并入（第 %s 条）', v_clue, u.clue_count), jsonb_build_object('clue_id', v_clue)
            FROM u
            RETURNING whistle_events.note
        )
        SELECT u.clue_count, u.grade, t.note INTO STRICT v_count, v_grade, v_note FROM u, t;
        RETURN QUERY SELECT 'whistle.joined'::text, v_clue, v_count, NULL::text, v_note, s.* FROM whistle_summary(v_whistle) s;

        IF v_count >= v_after AND v_grade = 'routine' THEN
            -- the deadlines still ahead tighten to priority's, counted from
            -- now, never later than they were; a missed one stays
            v_note := format('同一处 %s 条线索，升级为重点哨', v_count);
            UPDATE whistles w SET grade = 'priority', escalations = w.escalations + 1, updated_at = p_now,
                report_in_due = CASE WHEN w.report_in_due > p_now
                    THEN LEAST(w.report_in_due, p_now + make_interval(mins => g.report_in_minutes)) ELSE w.report_in_due END,
                resolve_due = CASE WHEN w.resolve_due > p_now
                    THEN GREATEST(LEAST(w.resolve_due, p_now + make_interval(mins => g.resolve_minutes)), w.report_in_due) ELSE w.resolve_due END
            FROM grade_policies g
            WHERE w.id = v_whistle AND g.grade = 'priority';
            INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
            VALUES (v_whistle, p_now, 'system', 'escalate', v_note, jsonb_build_object('from', v_grade, 'to', 'priority'));
            RETURN QUERY SELECT 'whistle.escalated'::text, v_clue, v_count, v_grade, v_note, s.* FROM whistle_summary(v_whistle) s;
        END IF;
    ELSIF v_action = 'whistle' AND p_raise THEN
        v_note := format('线索 #%s 自动吹哨', v_clue);
        -- the whistle, its summons and its trail row in one statement
        WITH w AS (
            INSERT INTO whistles (township_id, grid_id, category_id, grade, status, location, note, raised_at,
                report_in_due, resolve_due, clue_count, updated_at)
            SELECT p_township_id, p_grid_id, c.id, g.grade, 'raised', v_pt, v_note, p_now,
                p_now + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.report_in_minutes ELSE g.report_in_minutes END),
                p_now + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.resolve_minutes ELSE g.resolve_minutes END),
                1, p_now
            FROM categories c JOIN grade_policies g ON g.grade = c.default_grade
            WHERE c.id = v_cat
            RETURNING whistles.id
        ), s AS (
            INSERT INTO summons (whistle_id, unit_id, role, summoned_at)
            SELECT w.id, u.id, x.role, p_now FROM w, unnest(p_units, p_roles) AS x(code, role) JOIN units u ON u.code = x.code
        ), t AS (
            INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
            SELECT w.id, p_now, 'system', 'raise', v_note, jsonb_build_object('clue_ids', jsonb_build_array(v_clue)) FROM w
        )
        SELECT w.id INTO STRICT v_whistle FROM w;
        RETURN QUERY SELECT 'whistle.raised'::text, v_clue, 1, NULL::text, v_note, s.* FROM whistle_summary(v_whistle) s;
    END IF;

    -- the clue last, already with its whistle: one write of the row
    INSERT INTO clues (id, source, external_id, category_id, text, received_lon, received_lat, datum, location, h3,
        grid_id, township_id, boundary_distance_m, near_edge, reported_at, received_at, reporter_name, reporter_phone, whistle_id)
    VALUES (v_clue, p_source, p_external_id, v_cat, p_text, p_received_lon, p_received_lat, p_datum, v_pt, p_h3,
        p_grid_id, p_township_id, p_edge_m, p_near_edge, p_reported_at, p_now, p_reporter_name, p_reporter_phone, v_whistle);

    o_kind := 'clue';
    o_clue_id := v_clue;
    id := v_whistle;
    RETURN NEXT;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION whistle_intake;
DROP FUNCTION whistle_summary;

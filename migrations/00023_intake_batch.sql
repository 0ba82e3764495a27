-- +goose Up
-- Clue intake a lane's batch at a time (issue 12: durable intake at
-- ≥ 1,000 clues/s). whistle/intake.go gathers the clues that arrive while
-- a lane's transaction runs and sends them in one call of
-- whistle_intake_batch, which replaces one whistle_intake call and one
-- risk-count statement per clue:
--
--   - the category, whether the clue is stored already (in the table, or
--     earlier in the same batch) and the rule that applies are read for the
--     whole batch in one statement;
--   - the advisory locks on category/township of the whole batch, in one
--     order, and the search for an open whistle to join for every clue;
--   - then, clue by clue in the batch's order, the join, escalation or
--     raise with its trail row, exactly as whistle_intake did (a later clue
--     of the batch joins the whistle an earlier one raised when that one is
--     nearer); a raise answers its summary from what it wrote instead of
--     reading it back;
--   - the clues, each with its whistle, in one INSERT;
--   - the risk counts of every clue in one statement: the clues of its
--     reporter's phone and those at its place within the rules' windows,
--     counting the clue itself and every clue stored before it (committed,
--     or earlier in the batch), not those after it in the batch, as when
--     each clue was counted right after its own insert.
--
-- whistle_intake (00003) is dropped: this is the one definition of intake.
-- The per-row triggers on clues (clues_grid_level, clues_phone_hash, or the
-- set-wise forms that replace them) run as on any insert.

-- +goose StatementBegin
DROP FUNCTION whistle_intake;
-- +goose StatementEnd

-- whistles_resolve_due_idx (00010) is whistles_resolve_due_id_idx (00009)
-- again, column for column: every whistle raised paid for both.
DROP INDEX whistles_resolve_due_idx;

-- whistle_intake_batch stores the placed clues of a batch and applies the
-- rules (see whistle_intake in 00003 for the rules themselves: the most
-- specific rule of the category or its parents and the township, else the
-- district default; join the nearest open whistle of the category within
-- the radius (metres) and window (seconds either side of reported_at),
-- escalating a routine whistle to priority once it holds escalate_after
-- clues; else raise one when the rule says whistle and p_raise is set).
--
-- Each array has one element per clue, the clue's place in the batch its
-- index (1-based); p_unit_ord, p_unit_code and p_unit_role list the units a
-- raise would summon, each with the index of its clue. Points are WGS-84
-- (SRID 4326), lon/lat order; p_received_* are as sent. p_risk_version is
-- the version of the risk rules the caller holds (risk_rules' xmin).
--
-- It returns one row per whistle step, in order (o_kind whistle.raised,
-- whistle.joined or whistle.escalated, o_ord the clue's index, o_count the
-- whistle's clue count, o_from the grade before an escalation, o_note the
-- step's note, then the whistle's summary just after the step, the columns
-- of whistle_summary), then one row of o_kind 'clue' per clue in order:
-- o_clue_id the new clue (NULL when its key was stored already: nothing
-- changed for it), id the whistle it raised or joined, o_caller_clues and
-- o_place_clues its risk counts (0 when a rule is off), o_risk_version the
-- risk rules' version and o_risk_rules the rules, only when that version is
-- not p_risk_version.
-- +goose StatementBegin
CREATE FUNCTION whistle_intake_batch(
    p_source text[], p_external_id text[], p_category text[], p_text text[],
    p_received_lon double precision[], p_received_lat double precision[], p_datum text[],
    p_lon double precision[], p_lat double precision[], p_h3 bigint[],
    p_grid_id bigint[], p_township_id bigint[], p_township_code text[],
    p_edge_m double precision[], p_near_edge boolean[],
    p_reported_at timestamptz[], p_now timestamptz[],
    p_reporter_name text[], p_reporter_phone text[],
    p_raise boolean[], p_unit_ord int[], p_unit_code text[], p_unit_role text[],
    p_risk_version text)
RETURNS TABLE (o_ord int, o_kind text, o_clue_id bigint, o_count int, o_from text, o_note text,
    id bigint, township text, township_name text, grid text, grade text, status text,
    category text, category_name text, lon double precision, lat double precision,
    raised_at timestamptz, report_in_due timestamptz, resolve_due timestamptz, closed_at timestamptz,
    outcome text, clue_count int, overdue boolean, units text[],
    o_caller_clues int, o_place_clues int, o_risk_version text, o_risk_rules jsonb)
LANGUAGE plpgsql
-- planning the join search costs more than running it: plan each
-- statement once per connection (replanned when the statistics change)
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    n         int := cardinality(p_source);
    v_cat     bigint[];
    v_skip    boolean[]; -- stored already, or an unknown category
    v_action  text[];
    v_radius  double precision[];
    v_window  double precision[]; -- seconds
    v_after   int[];
    v_clue    bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_wid     bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_caller  int[];
    v_place   int[];
    v_pt      geometry;
    v_found   bigint[];           -- the whistle found in the table for each clue
    v_dist    double precision[]; -- its distance, metres
    v_raised  bigint[] := array_fill(NULL::bigint, ARRAY[n]); -- the whistle each clue raised
    v_best    double precision;
    v_d       double precision;
    v_whistle bigint;
    v_count   int;
    v_grade   text;
    v_note    text;
    r_version text;
    r_rules   jsonb;
    r_cw      int;
    r_pw      int;
    r_pr      double precision;
    r_pn      int;
    r_cn      int;
BEGIN
    -- The category, whether the clue is stored already (or comes twice in
    -- the batch: the first one counts) and the rule, for the whole batch.
    -- A clue stored meanwhile by a concurrent intake fails the insert below
    -- with unique_violation on clues_source_external_id_key.
    SELECT array_agg(c.id ORDER BY x.ord),
        array_agg(c.id IS NULL OR x.dup > 1 OR EXISTS (SELECT 1 FROM clues k WHERE k.source = x.src AND k.external_id = x.ext) ORDER BY x.ord),
        array_agg(coalesce(r.action, 'village') ORDER BY x.ord), array_agg(coalesce(r.join_radius_m, 100) ORDER BY x.ord),
        array_agg(coalesce(r.window_s, 7 * 24 * 3600) ORDER BY x.ord), array_agg(coalesce(r.escalate_after, 3) ORDER BY x.ord)
    INTO v_cat, v_skip, v_action, v_radius, v_window, v_after
    FROM (
        SELECT u.*, row_number() OVER (PARTITION BY u.src, u.ext ORDER BY u.ord) AS dup
        FROM unnest(p_category, p_township_id, p_source, p_external_id) WITH ORDINALITY AS u(cat, town, src, ext, ord)
    ) x
    LEFT JOIN categories c ON c.code = x.cat
    -- its parent and grandparent: categories are at most 3 deep (a check)
    LEFT JOIN categories c1 ON c1.id = c.parent_id
    LEFT JOIN LATERAL (
        SELECT r.action, r.join_radius_m, extract(epoch FROM r.join_window)::float8 AS window_s, r.escalate_after
        FROM rules r
        WHERE (r.category_id IS NULL OR r.category_id IN (c.id, c.parent_id, c1.parent_id))
          AND (r.township_id IS NULL OR r.township_id = x.town)
        ORDER BY r.township_id IS NULL,
            CASE r.category_id WHEN c.id THEN 0 WHEN c.parent_id THEN 1 WHEN c1.parent_id THEN 2 ELSE 3 END
        LIMIT 1
    ) r ON true;

    -- One clue at a time per category and township decides join-or-raise,
    -- so two clues at the same spot cannot both raise a whistle: the locks
    -- of the whole batch, in one order.
    PERFORM pg_advisory_xact_lock(k.key)
    FROM (SELECT DISTINCT hashtextextended(x.cat || '/' || x.town, 0) AS key
        FROM unnest(p_category, p_township_code, v_skip) AS x(cat, town, skip) WHERE NOT x.skip ORDER BY 1) k;

    -- The open whistle of its category nearest to each clue within the
    -- rule's radius (metres) and window, locked. The bounding box in degrees
    -- surely holds the radius (a degree of longitude is shortest, 111,320 m
    -- × cos(lat)); the geography test after it is exact. "+ 0" keeps the
    -- category and time out of the plan's index choice (see 00003): the
    -- location index reads only the whistles nearby. A whistle raised by an
    -- earlier clue of the batch is not in the table's snapshot of this
    -- statement: the loop below weighs those.
    SELECT array_agg(f.id ORDER BY x.ord), array_agg(f.dist ORDER BY x.ord)
    INTO v_found, v_dist
    FROM unnest(v_skip, v_cat, v_radius, v_window, p_lon, p_lat, p_reported_at) WITH ORDINALITY AS x(skip, cat, radius, win, lon, lat, rep, ord)
    LEFT JOIN LATERAL (
        SELECT w.id, ST_Distance(w.location::geography, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography) AS dist
        FROM whistles w
        WHERE NOT x.skip AND x.radius > 0 AND x.win > 0
          AND w.category_id + 0 = x.cat AND w.status <> 'closed'
          AND w.raised_at + interval '0 s' BETWEEN x.rep - x.win * interval '1 second' AND x.rep + x.win * interval '1 second'
          AND w.location && ST_Expand(ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326), x.radius / (111320 * cos(x.lat * pi() / 180)) * 1.01)
          AND ST_DWithin(w.location::geography, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography, x.radius)
        ORDER BY 2, w.id
        LIMIT 1
        FOR UPDATE OF w
    ) f ON true;

    FOR i IN 1 .. n LOOP
        CONTINUE WHEN v_skip[i];
        v_pt := ST_SetSRID(ST_MakePoint(p_lon[i], p_lat[i]), 4326);
        v_whistle := v_found[i];
        v_best := v_dist[i];
        IF v_radius[i] > 0 AND v_window[i] > 0 THEN
            -- a whistle an earlier clue of the batch raised, nearer (its id
            -- is higher than any found in the table: on a tie that one wins)
            FOR j IN 1 .. i - 1 LOOP
                CONTINUE WHEN v_raised[j] IS NULL OR v_cat[j] <> v_cat[i]
                    OR p_now[j] NOT BETWEEN p_reported_at[i] - v_window[i] * interval '1 second' AND p_reported_at[i] + v_window[i] * interval '1 second';
                v_d := ST_Distance(ST_SetSRID(ST_MakePoint(p_lon[j], p_lat[j]), 4326)::geography, v_pt::geography);
                IF v_d <= v_radius[i] AND (v_best IS NULL OR v_d < v_best OR (v_d = v_best AND v_raised[j] < v_whistle)) THEN
                    v_whistle := v_raised[j];
                    v_best := v_d;
                END IF;
            END LOOP;
        END IF;

        v_clue[i] := nextval('clues_id_seq');
        IF v_whistle IS NOT NULL THEN
            -- the join and its trail row in one statement
            WITH u AS (
                UPDATE whistles w SET clue_count = w.clue_count + 1, updated_at = p_now[i] WHERE w.id = v_whistle
                RETURNING w.clue_count, w.grade
            ), t AS (
                INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
                SELECT v_whistle, p_now[i], 'system', 'join', format('线索 #%s 并入（第 %s 条）', v_clue[i], u.clue_count),
                    jsonb_build_object('clue_id', v_clue[i])
                FROM u
                RETURNING whistle_events.note
            )
            SELECT u.clue_count, u.grade, t.note INTO STRICT v_count, v_grade, v_note FROM u, t;
            RETURN QUERY SELECT i, 'whistle.joined'::text, v_clue[i], v_count, NULL::text, v_note, s.*,
                NULL::int, NULL::int, NULL::text, NULL::jsonb FROM whistle_summary(v_whistle) s;

            IF v_count >= v_after[i] AND v_grade = 'routine' THEN
                -- the deadlines still ahead tighten to priority's, counted
                -- from now, never later than they were; a missed one stays
                v_note := format('同一处 %s 条线索，升级为重点哨', v_count);
                UPDATE whistles w SET grade = 'priority', escalations = w.escalations + 1, updated_at = p_now[i],
                    report_in_due = CASE WHEN w.report_in_due > p_now[i]
                        THEN LEAST(w.report_in_due, p_now[i] + make_interval(mins => g.report_in_minutes)) ELSE w.report_in_due END,
                    resolve_due = CASE WHEN w.resolve_due > p_now[i]
                        THEN GREATEST(LEAST(w.resolve_due, p_now[i] + make_interval(mins => g.resolve_minutes)), w.report_in_due) ELSE w.resolve_due END
                FROM grade_policies g
                WHERE w.id = v_whistle AND g.grade = 'priority';
                INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
                VALUES (v_whistle, p_now[i], 'system', 'escalate', v_note, jsonb_build_object('from', v_grade, 'to', 'priority'));
                RETURN QUERY SELECT i, 'whistle.escalated'::text, v_clue[i], v_count, v_grade, v_note, s.*,
                    NULL::int, NULL::int, NULL::text, NULL::jsonb FROM whistle_summary(v_whistle) s;
            END IF;
        ELSIF v_action[i] = 'whistle' AND p_raise[i] THEN
            v_note := format('线索 #%s 自动吹哨', v_clue[i]);
            -- the whistle, its summons and its trail row in one statement,
            -- answering the whistle's summary (whistle_summary's columns) from
            -- the rows it wrote: a whistle just raised has no clue but this
            -- one, is not closed and not marked overdue; it is overdue only
            -- when its deadlines are past already (a replayed history)
            WITH w AS (
                INSERT INTO whistles (township_id, grid_id, category_id, grade, status, location, note, raised_at,
                    report_in_due, resolve_due, clue_count, updated_at)
                SELECT p_township_id[i], p_grid_id[i], c.id, g.grade, 'raised', v_pt, v_note, p_now[i],
                    p_now[i] + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.report_in_minutes ELSE g.report_in_minutes END),
                    p_now[i] + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.resolve_minutes ELSE g.resolve_minutes END),
                    1, p_now[i]
                FROM categories c JOIN grade_policies g ON g.grade = c.default_grade
                WHERE c.id = v_cat[i]
                RETURNING whistles.id, whistles.grade, whistles.status, whistles.raised_at, whistles.report_in_due, whistles.resolve_due
            ), s AS (
                INSERT INTO summons (whistle_id, unit_id, role, summoned_at)
                SELECT w.id, u.id, x.role, p_now[i]
                FROM w, unnest(p_unit_ord, p_unit_code, p_unit_role) AS x(ord, code, role) JOIN units u ON u.code = x.code
                WHERE x.ord = i
                RETURNING summons.unit_id, summons.role
            ), t AS (
                INSERT INTO whistle_events (whistle_id, at, actor, action, note, data)
                SELECT w.id, p_now[i], 'system', 'raise', v_note, jsonb_build_object('clue_ids', jsonb_build_array(v_clue[i])) FROM w
            )
            SELECT i, 'whistle.raised'::text, v_clue[i], 1, NULL::text, v_note,
                w.id, tw.code, tw.name, coalesce(gw.code, ''), w.grade, w.status, cat.code, cat.name,
                p_lon[i], p_lat[i], w.raised_at, w.report_in_due, w.resolve_due, NULL::timestamptz, NULL::text, 1,
                w.resolve_due < now() OR (w.report_in_due < now() AND EXISTS (SELECT 1 FROM s)),
                ARRAY(SELECT un.code FROM s JOIN units un ON un.id = s.unit_id WHERE s.role = 'lead' ORDER BY un.code),
                NULL::int, NULL::int, NULL::text, NULL::jsonb
            INTO STRICT o_ord, o_kind, o_clue_id, o_count, o_from, o_note, id, township, township_name, grid, grade, status,
                category, category_name, lon, lat, raised_at, report_in_due, resolve_due, closed_at, outcome, clue_count, overdue, units,
                o_caller_clues, o_place_clues, o_risk_version, o_risk_rules
            FROM w
            JOIN grids tw ON tw.id = p_township_id[i]
            LEFT JOIN grids gw ON gw.id = p_grid_id[i]
            JOIN categories cat ON cat.id = v_cat[i];
            RETURN NEXT;
            v_whistle := id;
            v_raised[i] := id;
        END IF;
        v_wid[i] := v_whistle;
    END LOOP;

    -- the clues, each already with its whistle: one write of each row
    INSERT INTO clues (id, source, external_id, category_id, text, received_lon, received_lat, datum, location, h3,
        grid_id, township_id, boundary_distance_m, near_edge, reported_at, received_at, reporter_name, reporter_phone, whistle_id)
    SELECT x.clue, x.src, x.ext, x.cat, x.txt, x.rlon, x.rlat, x.datum, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326), x.h3,
        x.grid, x.town, x.edge, x.near, x.rep, x.now, x.rname, x.rphone, x.wid
    FROM unnest(v_clue, p_source, p_external_id, v_cat, p_text, p_received_lon, p_received_lat, p_datum, p_lon, p_lat, p_h3,
        p_grid_id, p_township_id, p_edge_m, p_near_edge, p_reported_at, p_now, p_reporter_name, p_reporter_phone, v_wid)
        WITH ORDINALITY AS x(clue, src, ext, cat, txt, rlon, rlat, datum, lon, lat, h3, grid, town, edge, near, rep, now, rname, rphone, wid, ord)
    WHERE x.clue IS NOT NULL
    ORDER BY x.ord;

    -- The risk counts, each only when its rule is on, of every clue but
    -- the later ones of this batch. The place count finds the place's clues
    -- by the location index and checks the window on those few: the
    -- OFFSET 0 fences the location scan off from the window, so no plan
    -- reads the clues by reported_at instead (whistle/risk_plan_test.go).
    SELECT r.xmin::text, r.rules,
        coalesce((r.rules->>'caller_window_days')::int, 0), coalesce((r.rules->>'place_window_days')::int, 0),
        coalesce((r.rules->>'place_radius_m')::float8, 0), coalesce((r.rules->>'place_clues')::int, 0),
        coalesce((r.rules->>'caller_repeats')::int, 0)
    INTO r_version, r_rules, r_cw, r_pw, r_pr, r_pn, r_cn
    FROM risk_rules r WHERE r.id = 1;
    SELECT array_agg(coalesce(k.caller, 0) ORDER BY b.ord), array_agg(coalesce(k.place, 0) ORDER BY b.ord)
    INTO v_caller, v_place
    FROM unnest(v_clue, p_reporter_phone, p_reported_at, p_lon, p_lat) WITH ORDINALITY AS b(clue, phone, rep, lon, lat, ord)
    LEFT JOIN LATERAL (
        SELECT CASE WHEN coalesce(b.phone, '') = '' OR r_cn = 0 THEN 0 ELSE (
                SELECT count(*) FROM clues c
                WHERE c.reporter_phone_hash = sha256(convert_to(b.phone, 'UTF8'))
                  AND c.reported_at > b.rep - make_interval(days => r_cw) AND c.reported_at <= b.rep
                  AND c.id <> ALL (array_remove(v_clue[b.ord + 1:], NULL))) END AS caller,
            CASE WHEN r_pn = 0 THEN 0 ELSE (
                SELECT count(*) FROM (SELECT c.id, c.location, c.reported_at FROM clues c
                    WHERE c.location && ST_Expand(ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326), r_pr / (111320 * cos(b.lat * pi() / 180)) * 1.01)
                    OFFSET 0) c
                WHERE ST_DWithin(c.location::geography, ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326)::geography, r_pr)
                  AND c.reported_at > b.rep - make_interval(days => r_pw) AND c.reported_at <= b.rep
                  AND c.id <> ALL (array_remove(v_clue[b.ord + 1:], NULL))) END AS place
        WHERE b.clue IS NOT NULL
    ) k ON true;

    RETURN QUERY
    SELECT x.ord::int, 'clue'::text, x.clue, NULL::int, NULL::text, NULL::text, x.wid,
        NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
        NULL::float8, NULL::float8, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz,
        NULL::text, NULL::int, NULL::boolean, NULL::text[],
        x.caller, x.place, r_version, CASE WHEN r_version IS DISTINCT FROM p_risk_version THEN r_rules END
    FROM unnest(v_clue, v_wid, v_caller, v_place) WITH ORDINALITY AS x(clue, wid, caller, place, ord)
    ORDER BY x.ord;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION whistle_intake_batch;
CREATE INDEX whistles_resolve_due_idx ON whistles (resolve_due, id);
-- whistle_intake as 00003 made it
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

package demo

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

const insertUnitRows = `
INSERT INTO units (code, name, kind, phone)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ORDER BY 1`

const insertUnitTownships = `
INSERT INTO unit_townships (unit_id, township_id)
SELECT u.id, g.id
FROM unnest($1::text[], $2::text[]) AS s(unit, township)
JOIN units u ON u.code = s.unit
JOIN grids g ON g.code = s.township AND g.level = 'township'`

// insertUnits writes the departments, stations and utilities and the
// townships each station or utility serves.
func (l *loader) insertUnits(ctx context.Context) error {
	var codes, names, kinds, phones, serveUnit, serveTown []string
	for _, u := range l.units {
		codes, names, kinds, phones = append(codes, u.code), append(names, u.name), append(kinds, u.kind), append(phones, u.phone)
		for _, t := range u.townships {
			serveUnit, serveTown = append(serveUnit, u.code), append(serveTown, t)
		}
	}
	if err := l.execN(ctx, "units", len(codes), insertUnitRows, codes, names, kinds, phones); err != nil {
		return err
	}
	if err := l.execN(ctx, "unit townships", len(serveUnit), insertUnitTownships, serveUnit, serveTown); err != nil {
		return err
	}
	rows, err := l.tx.Query(ctx, `SELECT code, id FROM units`)
	if err != nil {
		return err
	}
	l.unitID = map[string]int64{}
	var code string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&code, &id}, func() error {
		l.unitID[code] = id
		return nil
	})
	return err
}

// insertPeople writes the people on duty and their assignments, all from
// validFrom: a zone leader per zone (duty zone), a village cadre (duty
// village) and a grid worker (duty patrol) per village, a party member per
// household grid (duty household).
func (l *loader) insertPeople(ctx context.Context) error {
	type row struct {
		name, role, phone, grid, level, duty string
	}
	r := stream(l.seed, "people")
	var rows []row
	add := func(role, grid, level, duty string) {
		rows = append(rows, row{personName(r), role, mobilePhone(r), grid, level, duty})
	}
	for _, z := range l.zones {
		add("zone_leader", z.code, "zone", "zone")
	}
	for _, v := range l.villages {
		add("village_cadre", v.code, "village", "village")
		add("grid_worker", v.code, "village", "patrol")
	}
	for _, v := range l.villages {
		for i := range v.grids {
			add("party_member", householdGridCode(v.code, i+1), "household", "household")
		}
	}
	// ids are taken from the sequence first so the rows can be copied in
	idRows, err := l.tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('people', 'id')) AS id FROM generate_series(1, $1) ORDER BY id`, len(rows))
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(idRows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	people := make([][]any, len(rows))
	assignments := make([][]any, len(rows))
	l.zoneLeader, l.gridWorker, l.partyMember = map[string]person{}, map[string]person{}, map[string]person{}
	for i, p := range rows {
		gid, ok := l.gridID[p.grid]
		if !ok {
			return fmt.Errorf("no grid %s", p.grid)
		}
		people[i] = []any{ids[i], p.name, p.role, p.phone}
		assignments[i] = []any{gid, p.level, ids[i], p.duty, validFrom()}
		who := person{id: ids[i], name: p.name, phone: p.phone}
		switch p.role {
		case "zone_leader":
			l.zoneLeader[p.grid] = who
		case "grid_worker":
			l.gridWorker[p.grid] = who
		case "party_member":
			l.partyMember[p.grid] = who
		}
	}
	if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{"people"}, []string{"id", "name", "role", "phone"}, pgx.CopyFromRows(people)); err != nil {
		return fmt.Errorf("people: %w", err)
	}
	if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{"assignments"}, []string{"grid_id", "grid_level", "person_id", "duty", "valid_from"}, pgx.CopyFromRows(assignments)); err != nil {
		return fmt.Errorf("assignments: %w", err)
	}
	return nil
}

// householdGridCode is a village code and a three-digit sequence.
func householdGridCode(village string, n int) string { return fmt.Sprintf("%s%03d", village, n) }

const createHouseholdStage = `
CREATE TEMP TABLE demo_household (
    grid_code text, ord int, address text, size int,
    contact_name text, contact_phone text, party_member_id bigint,
    PRIMARY KEY (grid_code, ord)) ON COMMIT DROP`

// placeHouseholds puts each staged household at a seeded random point of
// its household grid (ST_GeneratePoints keeps them inside; extra points,
// see seedVillages, find no staged household).
const placeHouseholds = `
INSERT INTO households (grid_id, address, location, size, contact_name, contact_phone, party_member_id)
SELECT g.id, s.address, p.pt, s.size, s.contact_name, s.contact_phone, s.party_member_id
FROM unnest($1::text[], $2::int[], $3::int[]) AS c(code, n, seed)
JOIN grids g ON g.code = c.code AND g.level = 'household'
CROSS JOIN LATERAL (
    SELECT coalesce(d.path[1], 1) AS ord, d.geom AS pt
    FROM ST_Dump(ST_GeneratePoints(g.geom, c.n + ST_NumGeometries(g.geom), c.seed)) AS d) p
JOIN demo_household s ON s.grid_code = c.code AND s.ord = p.ord
ORDER BY c.code, p.ord`

// insertHouseholds writes the households: numbered addresses within each
// village, a size of 1–6, a contact (personal data) and the party member of
// their household grid.
func (l *loader) insertHouseholds(ctx context.Context) error {
	var err error
	if l.households, err = planHouseholdCounts(l.villages, l.seed); err != nil {
		return err
	}
	townName := map[string]string{}
	for _, t := range l.townships {
		townName[t.code] = t.name
	}
	r := stream(l.seed, "households")
	var stage [][]any
	var codes []string
	var ns, seeds []int32
	for vi, v := range l.villages {
		number := 0
		for gi, n := range l.households[vi] {
			code := householdGridCode(v.code, gi+1)
			pm, ok := l.partyMember[code]
			if !ok {
				return fmt.Errorf("no party member for %s", code)
			}
			codes, ns, seeds = append(codes, code), append(ns, int32(n)), append(seeds, pgSeed(l.seed, "households "+code))
			for k := range n {
				number++
				stage = append(stage, []any{code, int32(k + 1), address(townName[v.township], v, number),
					int32(householdSize(r)), personName(r), mobilePhone(r), pm.id})
			}
		}
	}
	if err := l.exec(ctx, "household stage", createHouseholdStage); err != nil {
		return err
	}
	if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{"demo_household"},
		[]string{"grid_code", "ord", "address", "size", "contact_name", "contact_phone", "party_member_id"},
		pgx.CopyFromRows(stage)); err != nil {
		return err
	}
	return l.execN(ctx, "households", len(stage), placeHouseholds, codes, ns, seeds)
}

// address writes the n-th household of a village: 康庄镇小丰营村 12号, or in
// a community 百泉街道湖南社区 3号楼2单元101室 (24 flats a building, 8 a
// stairway, 2 a floor).
func address(town string, v village, n int) string {
	if v.kind != "community" {
		return fmt.Sprintf("%s%s %d号", town, v.name, n)
	}
	k := n - 1
	building, flat := k/24+1, k%24
	stair, floor, door := flat/8+1, flat%8/2+1, flat%2+1
	return fmt.Sprintf("%s%s %d号楼%d单元%d%02d室", town, v.name, building, stair, floor, door)
}

// insertCategoryLevel writes categories of one depth; each gets its
// default grade's deadlines from grade_policies (the migrations set them,
// the rules read them), so a category's own deadlines start as its grade's.
const insertCategoryLevel = `
INSERT INTO categories (code, name, parent_id, depth, style, default_grade, report_in_minutes, resolve_minutes)
SELECT c.code, c.name, p.id, c.depth, c.style, c.grade, g.report_in_minutes, g.resolve_minutes
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[])
     AS c(code, name, parent, depth, style, grade)
JOIN grade_policies g ON g.grade = c.grade
LEFT JOIN categories p ON p.code = c.parent
ORDER BY c.code`

const insertDuties = `
INSERT INTO duties (category_id, township_id, township_level, lead_unit_id)
SELECT c.id, g.id, CASE WHEN g.id IS NOT NULL THEN 'township' END, u.id
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS d(category, township, lead, ord)
JOIN categories c ON c.code = d.category
JOIN units u ON u.code = d.lead
LEFT JOIN grids g ON g.code = nullif(d.township, '') AND g.level = 'township'
ORDER BY d.ord`

const insertDutyAssists = `
INSERT INTO duty_assists (duty_id, unit_id)
SELECT du.id, u.id
FROM unnest($1::text[], $2::text[], $3::text[]) AS a(category, township, unit)
JOIN categories c ON c.code = a.category
JOIN units u ON u.code = a.unit
LEFT JOIN grids g ON g.code = nullif(a.township, '') AND g.level = 'township'
JOIN duties du ON du.category_id = c.id AND du.township_id IS NOT DISTINCT FROM g.id`

// insertCategories writes the category tree, level by level, and the
// responsibility list.
func (l *loader) insertCategories(ctx context.Context) error {
	for depth := 1; depth <= 3; depth++ {
		var codes, names, parents, styles, grades []string
		var depths []int32
		for _, c := range l.categories {
			if c.depth != depth {
				continue
			}
			codes, names, parents = append(codes, c.code), append(names, c.name), append(parents, c.parent)
			styles, grades = append(styles, c.style()), append(grades, c.grade)
			depths = append(depths, int32(depth))
		}
		if err := l.execN(ctx, fmt.Sprintf("categories of depth %d", depth), len(codes), insertCategoryLevel,
			codes, names, parents, depths, styles, grades); err != nil {
			return err
		}
	}
	var cats, towns, leads, aCats, aTowns, aUnits []string
	for _, d := range l.duties {
		cats, towns, leads = append(cats, d.category), append(towns, d.township), append(leads, d.lead)
		for _, a := range d.assists {
			aCats, aTowns, aUnits = append(aCats, d.category), append(aTowns, d.township), append(aUnits, a)
		}
	}
	if err := l.execN(ctx, "duties", len(cats), insertDuties, cats, towns, leads); err != nil {
		return err
	}
	return l.execN(ctx, "duty assists", len(aCats), insertDutyAssists, aCats, aTowns, aUnits)
}

// insertUsers writes a user for every role, all with the one password
// hash: command, callback (the command center's callback desk, duty
// callback) and screen (the district), t<township code>, u<unit code>,
// w<village code> (the village's grid worker) and p<household grid code>
// (its party member).
func (l *loader) insertUsers(ctx context.Context) error {
	var rows [][]any
	add := func(username, role, display string, grid string, level string, unitID, personID any) {
		var gid any
		if grid != "" {
			gid = l.gridID[grid]
		}
		var lvl any
		if level != "" {
			lvl = level
		}
		rows = append(rows, []any{username, l.hash, role, display, gid, lvl, unitID, personID})
	}
	add("command", "command", "区城市服务管理指挥中心 值班员", l.district.Code, "district", nil, nil)
	add("callback", "command", "区城市服务管理指挥中心 回访席", l.district.Code, "district", nil, nil)
	add("screen", "screen", "指挥中心大屏", l.district.Code, "district", nil, nil)
	for _, t := range l.townships {
		add("t"+t.code, "township", t.name+" 操作员", t.code, "township", nil, nil)
	}
	for _, u := range l.units {
		add("u"+u.code, "unit", u.name, "", "", l.unitID[u.code], nil)
	}
	for _, v := range l.villages {
		w := l.gridWorker[v.code]
		add("w"+v.code, "grid_worker", v.name+" 网格员 "+w.name, v.code, "village", nil, w.id)
	}
	for _, v := range l.villages {
		for i := range v.grids {
			code := householdGridCode(v.code, i+1)
			p := l.partyMember[code]
			add("p"+code, "party_member", fmt.Sprintf("%s第%d户网格 党员 %s", v.name, i+1, p.name), code, "household", nil, p.id)
		}
	}
	_, err := l.tx.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"username", "password_hash", "role", "display_name", "grid_id", "grid_level", "unit_id", "person_id"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	// the command center's callback desk (回访席) sees the residents' phones
	_, err = l.tx.Exec(ctx, `UPDATE users SET duties = '{callback}' WHERE username = 'callback'`)
	return err
}

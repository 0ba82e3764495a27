package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
)

// ContactMap is the party-member contact map (党员联系群众网格图) of one
// village: its outline, its household grids, every household with the
// party member who looks after it, the party members with their grids and
// household counts, and the people on duty for the village. Geometries are
// GeoJSON straight from ST_AsGeoJSON (WGS-84, SRID 4326, lon/lat).
type ContactMap struct {
	Village      ContactVillage     `json:"village"`
	At           time.Time          `json:"at"` // the database's time the map is true at
	Grids        []ContactGrid      `json:"grids"`
	Households   []ContactHousehold `json:"households"`
	PartyMembers []ContactMember    `json:"party_members"`
	// Cadre (包村干部), GridWorker (网格员, 巡查) and ZoneLeader (包片领导)
	// on duty now; nil when nobody holds the duty.
	Cadre      *ContactPerson `json:"cadre"`
	GridWorker *ContactPerson `json:"grid_worker"`
	ZoneLeader *ContactPerson `json:"zone_leader"`
	// ResidentsMasked is true when at least one household's contact came
	// masked (see ContactHousehold.Masked).
	ResidentsMasked bool `json:"residents_masked"`
	// DutyPhonesMasked is true when the phones of the people on duty and
	// of the party members are masked for this caller.
	DutyPhonesMasked bool `json:"duty_phones_masked"`
}

// ContactVillage names the village and its zone and township.
type ContactVillage struct {
	Code         string          `json:"code"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"` // village or community
	ZoneCode     string          `json:"zone_code"`
	ZoneName     string          `json:"zone_name"`
	TownshipCode string          `json:"township_code"`
	TownshipName string          `json:"township_name"`
	AreaKM2      float64         `json:"area_km2"` // on the WGS-84 ellipsoid
	Geometry     json.RawMessage `json:"geometry"` // MultiPolygon
}

// ContactGrid is one household grid of the village.
type ContactGrid struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// PartyMemberID is the person on household duty (包户) for the grid
	// now, nil when nobody is.
	PartyMemberID *int64          `json:"party_member_id"`
	Households    int             `json:"households"`
	Geometry      json.RawMessage `json:"geometry"` // MultiPolygon
}

// ContactHousehold is one household of the village.
type ContactHousehold struct {
	ID           int64   `json:"id"`
	GridCode     string  `json:"grid_code"`
	Address      string  `json:"address"`
	Size         int     `json:"size"` // people living in it
	ContactName  string  `json:"contact_name"`
	ContactPhone string  `json:"contact_phone"`
	Masked       bool    `json:"masked"` // contact name and phone are masked for this caller
	PartyMember  *int64  `json:"party_member_id"`
	Lon          float64 `json:"lon"`
	Lat          float64 `json:"lat"`
}

// ContactMember is a party member of the village: on household duty now
// for one of its household grids, or named as the party member of one of
// its households.
type ContactMember struct {
	PersonID   int64    `json:"person_id"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`      // masked unless the caller sees duty phones
	GridCodes  []string `json:"grid_codes"` // household grids of the village they are on duty for now
	Households int      `json:"households"` // households of the village they look after
}

// ContactPerson is a person on duty for the village or its zone.
type ContactPerson struct {
	Name  string `json:"name"`
	Phone string `json:"phone"` // masked unless the caller sees duty phones
}

// contactVillage: $1 the village code, $2 the scope's prefixes (the %s).
const contactVillage = `
SELECT v.id, z.id, v.code, v.name, v.kind, z.code, z.name, t.code, t.name,
	ST_Area(v.geom::geography) / 1e6, ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), 6), now()
FROM grids v
JOIN grids z ON z.id = v.parent_id
JOIN grids t ON t.id = z.parent_id
WHERE v.code = $1 AND v.level = 'village' AND v.valid_to IS NULL AND %s`

// contactGrids: $1 the village id, $2 the time of duty.
const contactGrids = `
SELECT g.code, g.name, a.person_id, (SELECT count(*) FROM households h WHERE h.grid_id = g.id), ST_AsGeoJSON(ST_ForcePolygonCCW(g.geom), 6)
FROM grids g
LEFT JOIN assignments a ON a.grid_id = g.id AND a.duty = 'household'
	AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
WHERE g.parent_id = $1 AND g.level = 'household' AND g.valid_to IS NULL
ORDER BY g.code`

// contactHouseholds: $1 the village id.
const contactHouseholds = `
SELECT h.id, g.code, h.address, h.size, coalesce(h.contact_name, ''), coalesce(h.contact_phone, ''),
	h.party_member_id, ST_X(h.location), ST_Y(h.location)
FROM grids g
JOIN households h ON h.grid_id = g.id
WHERE g.parent_id = $1 AND g.level = 'household' AND g.valid_to IS NULL
ORDER BY g.code, h.id`

// contactMembers: $1 the village id, $2 the time of duty. Members in the
// order of their first household grid, so colours follow the grid codes.
const contactMembers = `
WITH hg AS (
	SELECT id, code FROM grids WHERE parent_id = $1 AND level = 'household' AND valid_to IS NULL
), duty AS (
	SELECT a.person_id AS pid, hg.code FROM hg
	JOIN assignments a ON a.grid_id = hg.id AND a.duty = 'household'
	WHERE a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
), n AS (
	SELECT h.party_member_id AS pid, count(*) AS n, min(hg.code) AS first
	FROM hg JOIN households h ON h.grid_id = hg.id
	WHERE h.party_member_id IS NOT NULL GROUP BY h.party_member_id
), dc AS (
	SELECT pid, array_agg(code ORDER BY code) AS codes FROM duty GROUP BY pid
), m AS (SELECT pid FROM n UNION SELECT pid FROM dc)
SELECT pe.id, pe.name, coalesce(pe.phone, ''), coalesce(dc.codes, ARRAY[]::text[]), coalesce(n.n, 0)
FROM m
JOIN people pe ON pe.id = m.pid AND pe.role = 'party_member'
LEFT JOIN n ON n.pid = m.pid
LEFT JOIN dc ON dc.pid = m.pid
ORDER BY coalesce(dc.codes[1], n.first), pe.id`

// contactDuty: $1 the village id, $2 the zone id, $3 the time of duty.
const contactDuty = `
SELECT a.duty, pe.name, coalesce(pe.phone, '')
FROM assignments a
JOIN people pe ON pe.id = a.person_id
WHERE ((a.grid_id = $1 AND a.duty IN ('village', 'patrol')) OR (a.grid_id = $2 AND a.duty = 'zone'))
  AND a.valid_from <= $3 AND (a.valid_to IS NULL OR a.valid_to > $3)`

// contactPrefixes is the jurisdiction a contact map is read in: the
// caller's, except that a party member, whose own grid is one household
// grid, may read the map of the village that grid lies in.
func contactPrefixes(sc access.Scope) []string {
	if sc.Role == access.RolePartyMember && len(sc.GridCode) == 15 {
		return []string{access.CodePrefix(sc.GridCode[:12])}
	}
	return sc.Prefixes()
}

// seesContact reports whether the caller sees the contact name and phone
// of a household in the household grid gridCode: a role that may see
// residents (SeesResidents) whose own jurisdiction covers the grid, so a
// township and the village's grid worker see every household of the
// village, a party member only the households of their own grid.
func seesContact(sc access.Scope, gridCode string) bool {
	return sc.SeesResidents() && sc.Covers(gridCode)
}

// ContactMap reads the party-member contact map of the village code, as it
// is now, in one repeatable-read snapshot. The village must lie in the
// caller's jurisdiction (a party member's: the village of their household
// grid), else ErrNotFound. Residents' names and phones are masked
// (MaskName, MaskPhone) unless seesContact; the phones of party members
// and of the people on duty unless the caller's role sees duty phones.
func (s *Store) ContactMap(ctx context.Context, sc access.Scope, code string) (*ContactMap, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("grid: contact map: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	cm := &ContactMap{DutyPhonesMasked: !sc.SeesDutyPhones()}
	v := &cm.Village
	var villageID, zoneID int64
	var geom string
	err = tx.QueryRow(ctx, fmt.Sprintf(contactVillage, access.PrefixClause("v.code", "$2")), code, contactPrefixes(sc)).
		Scan(&villageID, &zoneID, &v.Code, &v.Name, &v.Kind, &v.ZoneCode, &v.ZoneName, &v.TownshipCode, &v.TownshipName, &v.AreaKM2, &geom, &cm.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Errorf(ErrNotFound, "no village %s in your jurisdiction", code)
	}
	if err != nil {
		return nil, fmt.Errorf("grid: contact map: %w", err)
	}
	v.Geometry = json.RawMessage(geom)
	at := cm.At
	phone := func(p string) string {
		if cm.DutyPhonesMasked {
			return access.MaskPhone(p)
		}
		return p
	}

	if cm.Grids, err = contactRows(ctx, tx, "household grids", contactGrids, []any{villageID, at}, func(r pgx.CollectableRow) (ContactGrid, error) {
		var g ContactGrid
		var geom string
		err := r.Scan(&g.Code, &g.Name, &g.PartyMemberID, &g.Households, &geom)
		g.Geometry = json.RawMessage(geom)
		return g, err
	}); err != nil {
		return nil, err
	}
	if cm.Households, err = contactRows(ctx, tx, "households", contactHouseholds, []any{villageID}, func(r pgx.CollectableRow) (ContactHousehold, error) {
		var h ContactHousehold
		err := r.Scan(&h.ID, &h.GridCode, &h.Address, &h.Size, &h.ContactName, &h.ContactPhone, &h.PartyMember, &h.Lon, &h.Lat)
		if !seesContact(sc, h.GridCode) {
			h.ContactName, h.ContactPhone, h.Masked = access.MaskName(h.ContactName), access.MaskPhone(h.ContactPhone), true
			cm.ResidentsMasked = true
		}
		return h, err
	}); err != nil {
		return nil, err
	}
	if cm.PartyMembers, err = contactRows(ctx, tx, "party members", contactMembers, []any{villageID, at}, func(r pgx.CollectableRow) (ContactMember, error) {
		var m ContactMember
		err := r.Scan(&m.PersonID, &m.Name, &m.Phone, &m.GridCodes, &m.Households)
		m.Phone = phone(m.Phone)
		return m, err
	}); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, contactDuty, villageID, zoneID, at)
	if err != nil {
		return nil, fmt.Errorf("grid: contact map: on duty: %w", err)
	}
	var duty, name, ph string
	if _, err := pgx.ForEachRow(rows, []any{&duty, &name, &ph}, func() error {
		p := &ContactPerson{Name: name, Phone: phone(ph)}
		switch duty {
		case "village":
			cm.Cadre = p
		case "patrol":
			cm.GridWorker = p
		case "zone":
			cm.ZoneLeader = p
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("grid: contact map: on duty: %w", err)
	}
	return cm, nil
}

// contactRows runs one query of the contact map and collects its rows,
// never nil.
func contactRows[T any](ctx context.Context, tx pgx.Tx, what, q string, args []any, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("grid: contact map: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("grid: contact map: %s: %w", what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

package grid

import (
	"context"
	"errors"
	"fmt"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// NewGrid is a grid to create: its code, name, level, kind and parent.
type NewGrid struct {
	Code, Name, Level, Kind string
	ParentCode              string // empty only for the district
}

// LevelOfCode is the level a grid code's structure gives (district 6
// digits, township 9, zone 9 digits + P + 2, village 12, household 15),
// and the code of its parent (the district: none). ok is false for a code
// of no level.
func LevelOfCode(code string) (level, parent string, ok bool) {
	digits := func(s string) bool {
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return s != ""
	}
	switch {
	case len(code) == 6 && digits(code):
		return "district", "", true
	case len(code) == 9 && digits(code):
		return "township", code[:6], true
	case len(code) == 12 && code[9] == 'P' && digits(code[:9]) && digits(code[10:]):
		return "zone", code[:9], true
	case len(code) == 12 && digits(code):
		// a village's zone is not in its code; the caller names it
		return "village", "", true
	case len(code) == 15 && digits(code):
		return "household", code[:12], true
	}
	return "", "", false
}

const createParent = `SELECT id, level FROM grids WHERE code = $1 AND valid_to IS NULL`

const createInsert = `
INSERT INTO grids (code, level, kind, name, parent_id, parent_level, geom)
VALUES ($1, $2, $3, $4, nullif($5, 0), $6, ST_Multi(ST_GeomFromWKB($7, 4326)))
RETURNING id, valid_from, ST_Area(geom::geography)`

const createEvent = `
INSERT INTO events (kind, township, payload)
VALUES ('grid.created', $1, json_build_object('code', $2::text, 'level', $3::text, 'actor', $4::text, 'note', $5::text)::jsonb)`

// CreateTx adds grid g with outline inside tx, for the command center only,
// under the refusal rules of Edit (checkOutline: the one definition). Its
// first version in grid_versions is written by trigger, with the actor.
func CreateTx(ctx context.Context, tx pgx.Tx, sc access.Scope, g NewGrid, outline orb.MultiPolygon, note string) (*Edited, error) {
	if sc.Role != access.RoleCommand {
		return nil, fault.Errorf(ErrForbidden, "only the command center adds grids")
	}
	geom, err := wkb.Marshal(outline)
	if err != nil {
		return nil, &Refusal{Rule: RuleGeoJSON, Reason: "geometry cannot be encoded: " + err.Error()}
	}
	var parentID int64
	var parentLevel *string
	if g.ParentCode != "" {
		var pl string
		err := tx.QueryRow(ctx, createParent, g.ParentCode).Scan(&parentID, &pl)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fault.FieldErrorf(ErrInvalid, "parent", "parent grid %s does not exist", g.ParentCode)
		}
		if err != nil {
			return nil, fmt.Errorf("grid: create: %w", err)
		}
		parentLevel = &pl
		if _, err := tx.Exec(ctx, `SELECT 1 FROM grids WHERE id = $1 FOR UPDATE`, parentID); err != nil {
			return nil, fmt.Errorf("grid: create: lock: %w", err)
		}
	}
	if err := checkOutline(ctx, tx, geom, 0, parentID, g.Level); err != nil {
		return nil, err
	}
	ed := &Edited{Code: g.Code, Level: g.Level, Warnings: []Warning{}}
	var id int64
	if _, err := tx.Exec(ctx, "SAVEPOINT grid_create"); err != nil {
		return nil, fmt.Errorf("grid: create: %w", err)
	}
	if err := tx.QueryRow(ctx, createInsert, g.Code, g.Level, g.Kind, g.Name, parentID, parentLevel, geom).Scan(&id, &ed.ValidFrom, &ed.AreaM2); err != nil {
		_, _ = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT grid_create")
		// the table's checks (code structure, level, kind, parent level)
		return nil, fault.Errorf(ErrInvalid, "grid %s cannot be added: %v", g.Code, err)
	}
	if _, err := tx.Exec(ctx, editChangedBy, id, sc.Username); err != nil {
		return nil, fmt.Errorf("grid: create: version: %w", err)
	}
	var township *string
	if len(g.Code) >= 9 {
		t := g.Code[:9]
		township = &t
	}
	if _, err := tx.Exec(ctx, createEvent, township, g.Code, g.Level, sc.Username, note); err != nil {
		return nil, fmt.Errorf("grid: create: event: %w", err)
	}
	return ed, nil
}

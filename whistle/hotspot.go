package whistle

import (
	"context"
	"time"

	"whistlegrid/access"
)

// FileHotspot takes in a clue of source hotspot found by the hotspot scan
// (hotspot.Filer): placed, stored and run through the rules like any
// other, so it may raise or join a whistle before anyone complains. It is
// idempotent on externalID; filed is false when the clue was already
// there.
func (s *Store) FileHotspot(ctx context.Context, externalID, category, text string, lon, lat float64, at time.Time) (filed bool, err error) {
	// the system files them, for the command center
	sc := access.Scope{Role: access.RoleCommand, Username: "未诉先办研判"}
	r, err := s.Intake(ctx, sc, ClueInput{
		Source: "hotspot", ExternalID: externalID, Category: category, Text: text,
		Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: at.Format(time.RFC3339Nano),
	})
	if err != nil {
		return false, err
	}
	return !r.Existing, nil
}

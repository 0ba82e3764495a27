package geo

import (
	"fmt"
	"time"
)

// Beijing is the district's clock: China Standard Time, UTC+8, with no
// daylight saving. Days, ISO weeks and months of statistics, deadlines and
// the hotspot scan are cut in it; SQL uses 'Asia/Shanghai', the same offset.
var Beijing = time.FixedZone("CST", 8*3600)

// ParseTime reads an RFC 3339 time (2026-11-25T09:30:00+08:00, fractional
// seconds allowed) whose zone offset is a real one. time.Parse takes an
// offset of "+24:00" or "+23:60", which no clock shows and which
// time.Time's MarshalJSON then refuses, so a time stored from it could not
// be answered; ParseTime refuses them (see ValidZone).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	if err := ValidZone(t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// ValidZone refuses a time whose zone offset is 24 hours or more either
// way.
func ValidZone(t time.Time) error {
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return fmt.Errorf("geo: zone offset %+d:%02d is not under 24 hours", off/3600, abs(off%3600)/60)
	}
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

package whistle

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"whistlegrid/fault"
	"whistlegrid/geo"
)

func TestStatsQueryNormalize(t *testing.T) {
	cst := geo.Beijing
	now := time.Date(2026, time.November, 25, 20, 0, 0, 0, time.UTC) // 26 Nov 04:00 in Beijing
	jan1 := func(y int) time.Time { return time.Date(y, time.January, 1, 0, 0, 0, 0, cst) }
	tests := []struct {
		name     string
		in       StatsQuery
		from, to time.Time
		by       string
		field    string
	}{
		{"defaults: this year by township", StatsQuery{}, jan1(2026), now, "township", ""},
		{"to alone picks its year", StatsQuery{To: jan1(2026), By: "month"}, jan1(2025), jan1(2026), "month", ""},
		{"both given", StatsQuery{From: jan1(2024), To: jan1(2025), By: "unit"}, jan1(2024), jan1(2025), "unit", ""},
		{"unknown grouping", StatsQuery{By: "street"}, time.Time{}, time.Time{}, "", "by"},
		{"empty period", StatsQuery{From: jan1(2025), To: jan1(2025)}, time.Time{}, time.Time{}, "", "to"},
		{"backwards period", StatsQuery{From: jan1(2025), To: jan1(2024)}, time.Time{}, time.Time{}, "", "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, groups, err := tt.in.normalize(now)
			if tt.field != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want invalid %s", err, tt.field)
				}
				return
			}
			if err != nil || groups == "" {
				t.Fatalf("err %v", err)
			}
			if !q.From.Equal(tt.from) || !q.To.Equal(tt.to) || q.By != tt.by {
				t.Errorf("got %s – %s by %s, want %s – %s by %s", q.From, q.To, q.By, tt.from, tt.to, tt.by)
			}
			if _, off := q.From.Zone(); off != 8*3600 {
				t.Errorf("from %s is not in Beijing time", q.From)
			}
		})
	}
	for _, by := range StatsGroupings() {
		if _, ok := statsGroups(by); !ok {
			t.Errorf("grouping %s has no SQL", by)
		}
	}
}

func score(v *float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAssessmentScoreUnit(t *testing.T) {
	tests := []struct {
		name  string
		f     UnitFigures
		score string
	}{
		{"perfect", UnitFigures{Rated: 4, ReportedInMean: 5, ResolvedMean: 5, SatMean: 5, ReportInDue: 4, ReportInOnTime: 4, Outcomes: 4, OutcomesResolved: 4}, "100"},
		// 60×4.5/5 + 20×2/3 + 20×0.75
		{"mixed", UnitFigures{Rated: 2, ReportedInMean: 4.5, ResolvedMean: 4.5, SatMean: 4.5, ReportInDue: 3, ReportInOnTime: 2, Outcomes: 2, OutcomesResolved: 1, OutPartly: 1}, "82.33"},
		// (36 + 20/3) / 80 × 100 − 2: no outcome, the rest scaled up
		{"scaled, with a notice", UnitFigures{Rated: 1, ReportedInMean: 3, ResolvedMean: 3, SatMean: 3, ReportInDue: 3, ReportInOnTime: 1, Notices: 1}, "51.33"},
		{"only the report-in part", UnitFigures{ReportInDue: 2, ReportInOnTime: 1}, "50"},
		{"nothing measurable", UnitFigures{}, "null"},
		{"never below zero", UnitFigures{ReportInDue: 5, Notices: 10}, "0"},
		// the three ratings weigh 20 each
		{"ratings apart", UnitFigures{Rated: 1, ReportedInMean: 5, ResolvedMean: 1, SatMean: 3}, "60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := ScoreUnit(tt.f)
			if score(s) != tt.score {
				t.Errorf("score %s, want %s (parts %+v)", score(s), tt.score, p)
			}
			if p.Deduction != 2*float64(tt.f.Notices) || (p.Ratings == nil) != (tt.f.Rated == 0) {
				t.Errorf("parts %+v", p)
			}
		})
	}
}

func TestAssessmentScoreTownship(t *testing.T) {
	tests := []struct {
		name  string
		f     TownshipFigures
		score string
	}{
		{"perfect", TownshipFigures{Closed: 3, ClosedWithoutReturn: 3, Approvals: 3, ApprovedInTime: 3, RatingsDue: 5, RatedInTime: 5}, "100"},
		// 40×½ + 30×½ + 30×½
		{"half of each", TownshipFigures{Closed: 2, ClosedWithoutReturn: 1, Approvals: 2, ApprovedInTime: 1, RatingsDue: 4, RatedInTime: 2}, "50"},
		// only approvals measurable: one whistle waiting too long for approval
		{"waiting for approval", TownshipFigures{Approvals: 1}, "0"},
		// 40 + 30 over 70, no rating due yet
		{"no rating due yet", TownshipFigures{Closed: 1, ClosedWithoutReturn: 1, Approvals: 1, ApprovedInTime: 1}, "100"},
		{"nothing closed", TownshipFigures{}, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := ScoreTownship(tt.f)
			if score(s) != tt.score {
				t.Errorf("score %s, want %s (parts %+v)", score(s), tt.score, p)
			}
		})
	}
}

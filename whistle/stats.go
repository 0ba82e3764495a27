package whistle

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"

	"github.com/jackc/pgx/v5"
)

// StatsQuery selects the statistics: the whistles raised in [From, To)
// grouped By one of StatsGroupings. A zero To is now; a zero From is the
// start of To's year in Beijing time; an empty By is township. The
// filters narrow the whistles: Township (a township code), Unit (a unit
// code: whistles it was summoned to), Category (a category code and the
// codes under it), Source (the source of the whistle's first clue, or
// "none") and Grade; empty selects all.
type StatsQuery struct {
	From, To                                time.Time
	By                                      string
	Township, Unit, Category, Source, Grade string
}

// Figures are the statistics of one group of whistles (or of all of them).
// Rates are fractions 0–1, rounded to 4 decimals, null when their
// denominator is 0; turnarounds are hours, rounded to 2 decimals, null
// when nothing in the group is closed.
//
//   - Raised, Closed, Open: whistles raised in the period, of them closed
//     and not (yet) closed.
//   - EverOverdue (曾超期), OverdueNow (超期中): the whistles ever overdue
//     and overdue now, as a whistle's own ever_overdue and overdue_now
//     (Summary). For by=unit: the whistles on which that unit was ever
//     overdue (its summons marked by the sweep, or, the whistle open, still
//     owing a report-in or, as lead, a resolution past the deadline), and
//     of them those still open. migrations/00005_whistle_summaries.sql
//     defines both, per whistle and per unit.
//   - Clues: the clues attached to the group's whistles, of every source.
//   - ReportInRate (响应率): summons reported in by the whistle's
//     report_in_due ÷ summons that reported in or whose report-in deadline
//     has passed.
//   - ResolutionRate (解决率): (closed whistles with outcome resolved + ½ ×
//     those with outcome partly) ÷ closed whistles.
//   - SatisfactionRate (满意率): rated summons whose satisfied rating is 4
//     or 5 ÷ rated summons.
//   - ResidentSatisfactionRate (居民满意率): the residents' own answer at
//     the command center's callback (回访), not the township's rating of
//     the units: whistles whose latest callback is satisfied or basically
//     satisfied ÷ whistles with a callback (Callbacks). CallbackResult.
//     Satisfied is the same rule in Go.
//   - TurnaroundMeanH, TurnaroundP90H (办理时长): mean and 90th percentile
//     (percentile_cont, interpolated) of closed_at − raised_at of the
//     closed whistles, in hours.
//   - Supervised (督办): whistles with a supervision notice (for by=unit:
//     a notice to that unit).
//
// Summons figures (report-in, satisfaction) count every summoned unit of
// the group's whistles; for by=unit only that unit's own summons.
type Figures struct {
	Key              string   `json:"key"`
	Name             string   `json:"name"`
	Raised           int      `json:"raised"`
	Closed           int      `json:"closed"`
	Open             int      `json:"open"`
	EverOverdue      int      `json:"ever_overdue"`
	OverdueNow       int      `json:"overdue_now"`
	Clues            int      `json:"clues"`
	ReportInRate     *float64 `json:"report_in_rate"`
	ResolutionRate   *float64 `json:"resolution_rate"`
	SatisfactionRate *float64 `json:"satisfaction_rate"`
	// Callbacks and ResidentSatisfactionRate: the residents' answers
	Callbacks                int      `json:"callbacks"`
	ResidentSatisfactionRate *float64 `json:"resident_satisfaction_rate"`
	TurnaroundMeanH          *float64 `json:"turnaround_mean_h"`
	TurnaroundP90H           *float64 `json:"turnaround_p90_h"`
	Supervised               int      `json:"supervised"`
}

// Stats is the answer of GET /api/v1/stats. Groups hold only groups with
// at least one whistle, ordered by key (grades routine, priority, hard).
// Total is all the selected whistles counted once each, so for by=unit it
// is not the sum of the groups (a whistle counts once per summoned unit).
type Stats struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	By     string    `json:"by"`
	Groups []Figures `json:"groups"`
	Total  Figures   `json:"total"`
}

// StatsGroupings are the values of StatsQuery.By: township, village (the
// village of the whistle's grid), unit (each summoned unit), category
// (the leaf category), source, day, week (ISO weeks from Monday, keyed by
// the Monday), month (all in Beijing time), grade, and turnaround (the
// closed whistles by closed_at − raised_at in buckets of StatsTurnaround,
// the open ones as "open").
func StatsGroupings() []string {
	return []string{"township", "village", "unit", "category", "source", "day", "week", "month", "grade", "turnaround"}
}

// statsTurnaround are the upper bounds, in hours, of the turnaround
// buckets of by=turnaround; the last bucket has none.
var statsTurnaround = []int{24, 48, 72, 120, 168, 336}

// statsGroups is the SQL that puts each selected whistle (the CTE sel)
// into its group: key, name, sort, whistle id and, for by=unit, the unit
// whose summons the row counts.
func statsGroups(by string) (string, bool) {
	switch by {
	case "township":
		return `SELECT false, township, township_name, 0, id, NULL::bigint FROM sel`, true
	case "category":
		return `SELECT false, category, category_name, 0, id, NULL::bigint FROM sel`, true
	case "source":
		return `SELECT false, source, source, 0, id, NULL::bigint FROM sel`, true
	case "month":
		return `SELECT false, to_char(raised_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'),
			to_char(raised_at AT TIME ZONE 'Asia/Shanghai', 'YYYY"年"FMMM"月"'), 0, id, NULL::bigint FROM sel`, true
	case "village":
		return `SELECT false, left(grid, 12), coalesce((SELECT g.name FROM grids g WHERE g.code = left(sel.grid, 12) ORDER BY g.id DESC LIMIT 1), left(grid, 12)),
			0, id, NULL::bigint FROM sel`, true
	case "day":
		return `SELECT false, to_char(raised_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
			to_char(raised_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), 0, id, NULL::bigint FROM sel`, true
	case "week":
		return `SELECT false, to_char(date_trunc('week', raised_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD'),
			to_char(raised_at AT TIME ZONE 'Asia/Shanghai', 'IYYY"年第"IW"周"'), 0, id, NULL::bigint FROM sel`, true
	case "turnaround":
		return `SELECT false, CASE WHEN b.sort = 99 THEN 'open' ELSE 'b' || b.sort END, '', b.sort, id, NULL::bigint FROM sel
			CROSS JOIN LATERAL (SELECT CASE WHEN closed_at IS NULL THEN 99
				ELSE width_bucket(extract(epoch FROM closed_at - raised_at)::float8 / 3600, ` + turnaroundBounds() + `) END AS sort) b`, true
	case "grade":
		return `SELECT false, grade, grade, CASE grade WHEN 'routine' THEN 1 WHEN 'priority' THEN 2 ELSE 3 END, id, NULL::bigint FROM sel`, true
	case "unit":
		return `SELECT false, u.code, u.name, 0, sel.id, s.unit_id FROM sel JOIN summons s ON s.whistle_id = sel.id JOIN units u ON u.id = s.unit_id`, true
	}
	return "", false
}

// statsSelect is the selection: $1 now, $2 from, $3 to; the FROM clause
// (summaries, the jurisdiction's binds from $4 on) and the period follow.
const statsSelect = `
WITH sel AS (
	SELECT w.id, w.status, w.outcome, w.grade, w.raised_at, w.closed_at, w.report_in_due, w.resolve_due,
		w.township, w.township_name, w.category, w.category_name, w.ever_overdue, w.overdue_now, w.grid,
		(SELECT count(*) FROM clues c WHERE c.whistle_id = w.id) AS clues,
		coalesce((SELECT c.source FROM clues c WHERE c.whistle_id = w.id ORDER BY c.reported_at, c.id LIMIT 1), 'none') AS source,
		(SELECT cb.result FROM whistle_callbacks cb WHERE cb.whistle_id = w.id ORDER BY cb.at DESC, cb.id DESC LIMIT 1) AS callback`

// statsPeriod limits the selection to the period; the filters follow.
const statsPeriod = `
	WHERE w.raised_at >= $2 AND w.raised_at < $3`

// statsGroupsStart ends the selection and starts the groups.
const statsGroupsStart = `
),
k (total, key, name, sort, whistle_id, unit_id) AS (
	`

// statsFigures aggregates each group and the total (k.total) in one pass.
// sm is the row's summons: all of the whistle's, or for by=unit the
// unit's own.
const statsFigures = `
	UNION ALL
	SELECT true, NULL, NULL, 0, id, NULL::bigint FROM sel
)
SELECT k.total, coalesce(k.key, ''), coalesce(k.name, ''),
	count(*),
	count(*) FILTER (WHERE sel.status = 'closed'),
	count(*) FILTER (WHERE sel.status <> 'closed'),
	count(*) FILTER (WHERE CASE WHEN k.unit_id IS NULL THEN sel.ever_overdue ELSE sm.ever_overdue END),
	count(*) FILTER (WHERE CASE WHEN k.unit_id IS NULL THEN sel.overdue_now ELSE sm.overdue_now END),
	coalesce(sum(sel.clues), 0),
	round(sum(sm.on_time) / nullif(sum(sm.due), 0), 4)::float8,
	round((count(*) FILTER (WHERE sel.outcome = 'resolved') + 0.5 * count(*) FILTER (WHERE sel.outcome = 'partly'))
		/ nullif(count(*) FILTER (WHERE sel.status = 'closed'), 0), 4)::float8,
	round(sum(sm.satisfied) / nullif(sum(sm.rated), 0), 4)::float8,
	count(*) FILTER (WHERE sel.callback IS NOT NULL),
	round(count(*) FILTER (WHERE sel.callback IN ('satisfied', 'basically_satisfied'))::numeric
		/ nullif(count(*) FILTER (WHERE sel.callback IS NOT NULL), 0), 4)::float8,
	round(avg(h.hours)::numeric, 2)::float8,
	round((percentile_cont(0.9) WITHIN GROUP (ORDER BY h.hours))::numeric, 2)::float8,
	count(*) FILTER (WHERE EXISTS (SELECT 1 FROM supervision_notices n WHERE n.whistle_id = sel.id AND (k.unit_id IS NULL OR n.unit_id = k.unit_id)))
FROM k
JOIN sel ON sel.id = k.whistle_id
CROSS JOIN LATERAL (SELECT extract(epoch FROM sel.closed_at - sel.raised_at)::float8 / 3600 AS hours) h
CROSS JOIN LATERAL (
	SELECT count(*) FILTER (WHERE s.reported_in_at IS NOT NULL OR sel.report_in_due < $1) AS due,
		count(*) FILTER (WHERE s.reported_in_at <= sel.report_in_due) AS on_time,
		count(*) FILTER (WHERE s.rated_at IS NOT NULL) AS rated,
		count(*) FILTER (WHERE s.rating_satisfied >= 4) AS satisfied,
		coalesce(bool_or(summons_ever_overdue(s, sel.status, sel.report_in_due, sel.resolve_due, $1)), false) AS ever_overdue,
		coalesce(bool_or(summons_overdue_now(s, sel.status, sel.report_in_due, sel.resolve_due, $1)), false) AS overdue_now
	FROM summons s WHERE s.whistle_id = k.whistle_id AND (k.unit_id IS NULL OR s.unit_id = k.unit_id)
) sm
GROUP BY k.total, k.key, k.name, k.sort
ORDER BY k.total, k.sort, k.key`

// normalize checks the query and fills its defaults as of now.
func (q StatsQuery) normalize(now time.Time) (StatsQuery, string, error) {
	if q.By == "" {
		q.By = "township"
	}
	groups, ok := statsGroups(q.By)
	if !ok {
		return q, "", invalid("by", "by must be one of %s", strings.Join(StatsGroupings(), ", "))
	}
	if q.Source != "" && q.Source != "none" && !ValidSource(q.Source) {
		return q, "", invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor, none")
	}
	if q.Grade != "" && Grade(q.Grade).Rank() == 0 {
		return q, "", invalid("grade", "grade must be routine, priority or hard")
	}
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		y := q.To.Add(-time.Nanosecond).In(geo.Beijing).Year()
		q.From = time.Date(y, time.January, 1, 0, 0, 0, 0, geo.Beijing)
	}
	if !q.To.After(q.From) {
		return q, "", invalid("to", "to must be after from")
	}
	q.From, q.To = q.From.In(geo.Beijing), q.To.In(geo.Beijing)
	return q, groups, nil
}

// Stats computes the figures of the whistles raised in the period, in the
// caller's jurisdiction (a township its own, a unit the whistles it is
// summoned to, the command center and the wall screen all), grouped as
// q.By says, in one query. See Figures for the definitions.
func (s *Store) Stats(ctx context.Context, sc access.Scope, q StatsQuery) (Stats, error) {
	now := s.now()
	q, groups, err := q.normalize(now)
	if err != nil {
		return Stats{}, err
	}
	args := []any{now, q.From, q.To}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	sql := statsSelect + summaries("$1", sc, arg) + statsPeriod + q.filters(arg) + statsGroupsStart + groups + statsFigures
	out := Stats{From: q.From, To: q.To, By: q.By, Groups: []Figures{}, Total: Figures{Key: "total", Name: "合计"}}
	err = s.withoutJIT(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f Figures
			var total bool
			if err := rows.Scan(&total, &f.Key, &f.Name, &f.Raised, &f.Closed, &f.Open, &f.EverOverdue, &f.OverdueNow, &f.Clues,
				&f.ReportInRate, &f.ResolutionRate, &f.SatisfactionRate, &f.Callbacks, &f.ResidentSatisfactionRate, &f.TurnaroundMeanH, &f.TurnaroundP90H, &f.Supervised); err != nil {
				return err
			}
			if total {
				f.Key, f.Name = out.Total.Key, out.Total.Name
				out.Total = f
				continue
			}
			switch q.By {
			case "source":
				f.Name = SourceName(f.Key)
			case "grade":
				f.Name = Grade(f.Key).Name()
			case "turnaround":
				f.Name = turnaroundName(f.Key)
			}
			out.Groups = append(out.Groups, f)
		}
		return rows.Err()
	})
	if err != nil {
		return Stats{}, fmt.Errorf("whistle: stats: %w", err)
	}
	return out, nil
}

// filters is the SQL of the query's filters over whistle_summaries w, each
// an AND clause with its binds added by arg.
func (q StatsQuery) filters(arg func(any) string) string {
	var b strings.Builder
	if q.Township != "" {
		b.WriteString(" AND w.township = " + arg(q.Township))
	}
	if q.Unit != "" {
		b.WriteString(" AND EXISTS (SELECT 1 FROM summons fs JOIN units fu ON fu.id = fs.unit_id WHERE fs.whistle_id = w.id AND fu.code = " + arg(q.Unit) + ")")
	}
	if q.Category != "" {
		b.WriteString(" AND w.category LIKE " + arg(q.Category+"%"))
	}
	if q.Grade != "" {
		b.WriteString(" AND w.grade = " + arg(q.Grade))
	}
	if q.Source != "" {
		b.WriteString(" AND coalesce((SELECT c.source FROM clues c WHERE c.whistle_id = w.id ORDER BY c.reported_at, c.id LIMIT 1), 'none') = " + arg(q.Source))
	}
	return b.String()
}

// turnaroundBounds is statsTurnaround as the bounds of SQL width_bucket,
// whose result i (0 to len) keys bucket "b<i>".
func turnaroundBounds() string {
	parts := make([]string, len(statsTurnaround))
	for i, h := range statsTurnaround {
		parts[i] = strconv.Itoa(h)
	}
	return "ARRAY[" + strings.Join(parts, ",") + "]::float8[]"
}

// turnaroundName is a turnaround bucket's Chinese name: "b0" 24小时以内,
// "b1" 24–48小时, ..., the last 336小时以上, "open" 未结案.
func turnaroundName(key string) string {
	i, err := strconv.Atoi(strings.TrimPrefix(key, "b"))
	switch {
	case key == "open":
		return "未结案"
	case err != nil || i < 0 || i > len(statsTurnaround):
		return key
	case i == 0:
		return fmt.Sprintf("%d小时以内", statsTurnaround[0])
	case i == len(statsTurnaround):
		return fmt.Sprintf("%d小时以上", statsTurnaround[i-1])
	}
	return fmt.Sprintf("%d–%d小时", statsTurnaround[i-1], statsTurnaround[i])
}

// SourceName is a clue source's Chinese name; "none" (a whistle with no
// clue) is 无线索.
func SourceName(source string) string {
	switch source {
	case "patrol":
		return "网格巡查"
	case "hotline":
		return "12345热线"
	case "app":
		return "你说我办"
	case "forum":
		return "村民说事"
	case "hotspot":
		return "未诉先办"
	case "sensor":
		return "物联感知"
	case "meeting":
		return "村民说事（议事会）"
	case "none":
		return "无线索"
	}
	return source
}

// Name is the grade's Chinese name: 普通哨, 重点哨, 疑难哨.
func (g Grade) Name() string {
	switch g {
	case Routine:
		return "普通哨"
	case Priority:
		return "重点哨"
	case Hard:
		return "疑难哨"
	}
	return string(g)
}

// The two-way assessment's thresholds.
const (
	// ApprovalWithin is how soon after the last lead unit's resolution a
	// township should approve (close) a whistle.
	ApprovalWithin = 48 * time.Hour
	// RatingWithin is how soon after the close a township should rate each
	// summoned unit.
	RatingWithin = 72 * time.Hour
	// NoticeDeduction is the points a unit loses per supervision notice.
	NoticeDeduction = 2.0
)

// Assessment is the year-end two-way assessment (双向考核): townships'
// scores of units and units' scores of townships.
type Assessment struct {
	Year      int                  `json:"year"`
	Units     []UnitAssessment     `json:"units"`
	Townships []TownshipAssessment `json:"townships"`
}

// UnitAssessment is a unit's score as the townships gave it (see
// ScoreUnit). Score is null when nothing about the unit is measurable yet.
type UnitAssessment struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Whistles int       `json:"whistles"`
	Score    *float64  `json:"score"`
	Parts    UnitParts `json:"parts"`
}

// UnitParts are the inputs and the points of a unit's score. Means are
// 1–5, rates 0–1; a part's points are null when it has no data.
type UnitParts struct {
	Rated          int      `json:"rated"`
	ReportedInMean *float64 `json:"reported_in_mean"`
	ResolvedMean   *float64 `json:"resolved_mean"`
	SatisfiedMean  *float64 `json:"satisfied_mean"`
	Ratings        *float64 `json:"ratings"` // points of 60
	ReportInRate   *float64 `json:"report_in_rate"`
	ReportIn       *float64 `json:"report_in"` // points of 20
	ResolutionRate *float64 `json:"resolution_rate"`
	Resolution     *float64 `json:"resolution"` // points of 20
	Notices        int      `json:"notices"`
	Deduction      float64  `json:"deduction"`
}

// UnitFigures are what the database counts for a unit's score.
type UnitFigures struct {
	Rated                                 int
	ReportedInMean, ResolvedMean, SatMean float64 // over the rated summons
	ReportInDue, ReportInOnTime           int
	Outcomes, OutcomesResolved, OutPartly int // its own outcomes on closed whistles
	Notices                               int
}

// TownshipAssessment is a township's score as the units gave it (see
// ScoreTownship). Score is null when nothing is measurable yet.
type TownshipAssessment struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Whistles int           `json:"whistles"`
	Score    *float64      `json:"score"`
	Parts    TownshipParts `json:"parts"`
}

// TownshipParts are the inputs and the points of a township's score; a
// part's points are null when it has no data.
type TownshipParts struct {
	Closed              int      `json:"closed"`
	ClosedWithoutReturn int      `json:"closed_without_return"`
	NoReturnRate        *float64 `json:"no_return_rate"`
	NoReturn            *float64 `json:"no_return"` // points of 40
	Approvals           int      `json:"approvals"`
	ApprovedInTime      int      `json:"approved_in_time"`
	ApprovalRate        *float64 `json:"approval_rate"`
	Approval            *float64 `json:"approval"` // points of 30
	RatingsDue          int      `json:"ratings_due"`
	RatedInTime         int      `json:"rated_in_time"`
	RatingRate          *float64 `json:"rating_rate"`
	Rating              *float64 `json:"rating"` // points of 30
}

// TownshipFigures are what the database counts for a township's score.
type TownshipFigures struct {
	Closed, ClosedWithoutReturn int
	Approvals, ApprovedInTime   int
	RatingsDue, RatedInTime     int
}

// part is one part of a score: points earned and the part's maximum, or
// nothing when the part has no data.
type part struct {
	ok          bool
	points, max float64
}

// frac is n/d, ok false when d is 0.
func frac(n, d float64) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return n / d, true
}

// total scales the parts with data to 100 and takes off the deduction,
// never below 0, rounded to 2 decimals; nil when no part has data.
func total(parts []part, deduction float64) *float64 {
	var got, most float64
	for _, p := range parts {
		if p.ok {
			got, most = got+p.points, most+p.max
		}
	}
	if most == 0 {
		return nil
	}
	return ptr(round(math.Max(0, 100*got/most-deduction), 2))
}

func (p part) value() *float64 {
	if !p.ok {
		return nil
	}
	return ptr(round(p.points, 2))
}

func ptr(v float64) *float64 { return &v }

func round(v float64, places int) float64 {
	m := math.Pow(10, float64(places))
	return math.Round(v*m) / m
}

func optRate(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return ptr(round(v, 4))
}

// ScoreUnit is the townships' score of a unit, out of 100:
//
//	ratings    60  20 × mean/5 of each of the three ratings (一哨三评:
//	               reported-in, resolved, satisfied) the townships gave
//	               the unit's summons
//	report_in  20  20 × the unit's on-time report-in rate: summons reported
//	               in by the report-in deadline ÷ summons that reported in
//	               or whose deadline has passed
//	resolution 20  20 × (its own outcomes resolved + ½ × partly) ÷ its own
//	               outcomes, on closed whistles
//	deduction      −2 per supervision notice (督办) it received
//
// A part with no data (nothing rated, no deadline passed, no outcome yet)
// is left out and the remaining parts are scaled up to 100 before the
// deduction; the score never goes below 0 and is nil when no part has
// data. Points are rounded to 2 decimals.
func ScoreUnit(f UnitFigures) (*float64, UnitParts) {
	p := UnitParts{Rated: f.Rated, Notices: f.Notices, Deduction: NoticeDeduction * float64(f.Notices)}
	ratings := part{ok: f.Rated > 0, max: 60}
	if ratings.ok {
		p.ReportedInMean, p.ResolvedMean, p.SatisfiedMean = ptr(round(f.ReportedInMean, 2)), ptr(round(f.ResolvedMean, 2)), ptr(round(f.SatMean, 2))
		ratings.points = 20 * (f.ReportedInMean + f.ResolvedMean + f.SatMean) / 5
	}
	ri, ok := frac(float64(f.ReportInOnTime), float64(f.ReportInDue))
	reportIn := part{ok: ok, points: 20 * ri, max: 20}
	p.ReportInRate = optRate(ri, ok)
	res, ok := frac(float64(f.OutcomesResolved)+0.5*float64(f.OutPartly), float64(f.Outcomes))
	resolution := part{ok: ok, points: 20 * res, max: 20}
	p.ResolutionRate = optRate(res, ok)
	p.Ratings, p.ReportIn, p.Resolution = ratings.value(), reportIn.value(), resolution.value()
	return total([]part{ratings, reportIn, resolution}, p.Deduction), p
}

// ScoreTownship is the units' score of a township, out of 100, from how it
// treated the units it summoned (units give no explicit ratings):
//
//	no_return 40  40 × closed whistles the township closed without
//	              returning them (退回) ÷ its closed whistles
//	approval  30  30 × whistles closed within ApprovalWithin (48 h) of the
//	              last lead unit's resolution ÷ (closed whistles + whistles
//	              awaiting approval for longer than that now)
//	rating    30  30 × summons on closed whistles rated within
//	              RatingWithin (72 h) of the close ÷ (summons on closed
//	              whistles rated, or closed longer ago than that)
//
// A part with no data is left out and the rest scaled up to 100; the
// score is nil when no part has data. Points are rounded to 2 decimals.
func ScoreTownship(f TownshipFigures) (*float64, TownshipParts) {
	p := TownshipParts{Closed: f.Closed, ClosedWithoutReturn: f.ClosedWithoutReturn, Approvals: f.Approvals,
		ApprovedInTime: f.ApprovedInTime, RatingsDue: f.RatingsDue, RatedInTime: f.RatedInTime}
	nr, ok := frac(float64(f.ClosedWithoutReturn), float64(f.Closed))
	noReturn := part{ok: ok, points: 40 * nr, max: 40}
	p.NoReturnRate = optRate(nr, ok)
	ap, ok := frac(float64(f.ApprovedInTime), float64(f.Approvals))
	approval := part{ok: ok, points: 30 * ap, max: 30}
	p.ApprovalRate = optRate(ap, ok)
	ra, ok := frac(float64(f.RatedInTime), float64(f.RatingsDue))
	rating := part{ok: ok, points: 30 * ra, max: 30}
	p.RatingRate = optRate(ra, ok)
	p.NoReturn, p.Approval, p.Rating = noReturn.value(), approval.value(), rating.value()
	return total([]part{noReturn, approval, rating}, 0), p
}

// assessWhistles is the year's whistles in the caller's jurisdiction: $1
// now, $2 from, $3 to, $4 the unit whose own summons alone count (NULL:
// every unit's); the FROM clause (summaries, the jurisdiction's binds after
// the query's own) and assessPeriod follow.
const assessWhistles = `
WITH sel AS (
	SELECT w.id, w.status, w.raised_at, w.closed_at, w.report_in_due, w.returns, w.township, w.township_name`

const assessPeriod = `
	WHERE w.raised_at >= $2 AND w.raised_at < $3`

// assessUnits counts each unit's figures over its summons on the selection.
const assessUnits = `
)
SELECT u.code, u.name, u.kind, count(*),
	count(*) FILTER (WHERE s.rated_at IS NOT NULL),
	coalesce(avg(s.rating_reported_in), 0)::float8, coalesce(avg(s.rating_resolved), 0)::float8, coalesce(avg(s.rating_satisfied), 0)::float8,
	count(*) FILTER (WHERE s.reported_in_at IS NOT NULL OR sel.report_in_due < $1),
	count(*) FILTER (WHERE s.reported_in_at <= sel.report_in_due),
	count(*) FILTER (WHERE sel.status = 'closed' AND s.outcome IS NOT NULL),
	count(*) FILTER (WHERE sel.status = 'closed' AND s.outcome = 'resolved'),
	count(*) FILTER (WHERE sel.status = 'closed' AND s.outcome = 'partly'),
	(SELECT count(*) FROM supervision_notices n JOIN sel ns ON ns.id = n.whistle_id WHERE n.unit_id = u.id)
FROM sel
JOIN summons s ON s.whistle_id = sel.id
JOIN units u ON u.id = s.unit_id
WHERE ($4::bigint IS NULL OR s.unit_id = $4)
GROUP BY u.id
ORDER BY u.code`

// assessTownships counts each township's figures over the selection; $5 is
// ApprovalWithin and $6 RatingWithin, in hours.
const assessTownships = `
)
SELECT sel.township, sel.township_name, count(*),
	count(*) FILTER (WHERE sel.status = 'closed'),
	count(*) FILTER (WHERE sel.status = 'closed' AND sel.returns = 0),
	count(*) FILTER (WHERE sel.status = 'closed' OR (sel.status = 'awaiting_approval' AND lr.last < $1::timestamptz - $5 * interval '1 hour')),
	count(*) FILTER (WHERE sel.status = 'closed' AND sel.closed_at <= lr.last + $5 * interval '1 hour'),
	coalesce(sum(r.due), 0),
	coalesce(sum(r.in_time), 0)
FROM sel
CROSS JOIN LATERAL (SELECT max(s.resolved_at) AS last FROM summons s WHERE s.whistle_id = sel.id AND s.role = 'lead') lr
CROSS JOIN LATERAL (
	SELECT count(*) FILTER (WHERE s.rated_at IS NOT NULL OR sel.closed_at < $1::timestamptz - $6 * interval '1 hour') AS due,
		count(*) FILTER (WHERE s.rated_at <= sel.closed_at + $6 * interval '1 hour') AS in_time
	FROM summons s WHERE s.whistle_id = sel.id AND sel.status = 'closed' AND ($4::bigint IS NULL OR s.unit_id = $4)
) r
GROUP BY sel.township, sel.township_name
ORDER BY sel.township`

// Assessment is the year-end two-way assessment (双向考核) over the
// whistles raised in the year (Beijing time): each summoned unit's score
// from the townships (ScoreUnit) and each township's score from the units
// (ScoreTownship), highest first, a null score last.
//
// Jurisdiction: the command center and the wall screen see every unit and
// township. A township sees its own row, and the units' scores computed
// from its own whistles only (the scores it gave). A unit sees its own
// row, and the townships' scores computed from the whistles it was
// summoned to, their rating promptness from its own summons (the scores
// it gave). Grid workers and party members may not see it.
func (s *Store) Assessment(ctx context.Context, sc access.Scope, year int) (Assessment, error) {
	if year < 2000 || year > 2100 {
		return Assessment{}, invalid("year", "year must be a year YYYY between 2000 and 2100")
	}
	switch sc.Role {
	case access.RoleCommand, access.RoleScreen, access.RoleTownship, access.RoleUnit:
	default:
		return Assessment{}, fault.Errorf(ErrForbidden, "the assessment is for the command center, townships and units")
	}
	from := time.Date(year, time.January, 1, 0, 0, 0, 0, geo.Beijing)
	var unit any
	if sc.Role == access.RoleUnit {
		unit = sc.UnitID
	}
	out := Assessment{Year: year}
	err := s.withoutJIT(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = s.assess(ctx, tx, sc, year, from, unit)
		return err
	})
	if err != nil {
		return out, err
	}
	if out.Units == nil {
		out.Units = []UnitAssessment{}
	}
	if out.Townships == nil {
		out.Townships = []TownshipAssessment{}
	}
	sort.SliceStable(out.Units, func(i, j int) bool { return higher(out.Units[i].Score, out.Units[j].Score) })
	sort.SliceStable(out.Townships, func(i, j int) bool { return higher(out.Townships[i].Score, out.Townships[j].Score) })
	return out, nil
}

// assess runs the assessment's two queries in tx.
func (s *Store) assess(ctx context.Context, tx pgx.Tx, sc access.Scope, year int, from time.Time, unit any) (Assessment, error) {
	now, to := s.now(), from.AddDate(1, 0, 0)
	query := func(tail string, args ...any) (pgx.Rows, error) {
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		in := summaries("$1", sc, arg)
		return tx.Query(ctx, assessWhistles+in+assessPeriod+tail, args...)
	}
	out := Assessment{Year: year}
	rows, err := query(assessUnits, now, from, to, unit)
	if err != nil {
		return out, fmt.Errorf("whistle: assessment: %w", err)
	}
	out.Units, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (UnitAssessment, error) {
		var a UnitAssessment
		var f UnitFigures
		err := r.Scan(&a.Code, &a.Name, &a.Kind, &a.Whistles, &f.Rated, &f.ReportedInMean, &f.ResolvedMean, &f.SatMean,
			&f.ReportInDue, &f.ReportInOnTime, &f.Outcomes, &f.OutcomesResolved, &f.OutPartly, &f.Notices)
		a.Score, a.Parts = ScoreUnit(f)
		return a, err
	})
	if err != nil {
		return out, fmt.Errorf("whistle: assessment: %w", err)
	}
	rows, err = query(assessTownships, now, from, to, unit, ApprovalWithin.Hours(), RatingWithin.Hours())
	if err != nil {
		return out, fmt.Errorf("whistle: assessment: %w", err)
	}
	out.Townships, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TownshipAssessment, error) {
		var a TownshipAssessment
		var f TownshipFigures
		err := r.Scan(&a.Code, &a.Name, &a.Whistles, &f.Closed, &f.ClosedWithoutReturn, &f.Approvals, &f.ApprovedInTime,
			&f.RatingsDue, &f.RatedInTime)
		a.Score, a.Parts = ScoreTownship(f)
		return a, err
	})
	if err != nil {
		return out, fmt.Errorf("whistle: assessment: %w", err)
	}
	return out, nil
}

// higher orders scores highest first, nil last.
func higher(a, b *float64) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return *a > *b
}

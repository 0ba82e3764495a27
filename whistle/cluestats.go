package whistle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
)

// ClueCount is the clues of one group: all of them, and of them those
// attached to a whistle.
type ClueCount struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Clues    int    `json:"clues"`
	Whistled int    `json:"whistled"`
}

// ClueCounts is the answer of GET /api/v1/stats/clues: the clues reported
// in [From, To) in the caller's jurisdiction (as Clues selects them),
// grouped By, ordered by key; Total counts them all.
type ClueCounts struct {
	From   time.Time   `json:"from"`
	To     time.Time   `json:"to"`
	By     string      `json:"by"`
	Groups []ClueCount `json:"groups"`
	Total  ClueCount   `json:"total"`
}

// ClueGroupings are the values of ClueCounts' By.
func ClueGroupings() []string {
	return []string{"township", "village", "category", "source", "day", "week", "month"}
}

// clueGroup is the key and the name of a clue's group, over clueFrom's
// aliases.
func clueGroup(by string) (key, name string, ok bool) {
	const local = "(c.reported_at AT TIME ZONE 'Asia/Shanghai')"
	switch by {
	case "township":
		return "t.code", "t.name", true
	case "village":
		return "v.code", "v.name", true
	case "category":
		return "cat.code", "cat.name", true
	case "source":
		return "c.source", "c.source", true
	case "day":
		return "to_char(" + local + ", 'YYYY-MM-DD')", "to_char(" + local + ", 'YYYY-MM-DD')", true
	case "week":
		return "to_char(date_trunc('week', " + local + "), 'YYYY-MM-DD')", "to_char(date_trunc('week', " + local + "), 'IYYY\"年第\"IW\"周\"')", true
	case "month":
		return "to_char(" + local + ", 'YYYY-MM')", "to_char(" + local + ", 'YYYY\"年\"FMMM\"月\"')", true
	}
	return "", "", false
}

// CountClues counts the clues of q's period and filters (Township,
// Category, Source; Unit and Grade select the clues of whistles the unit
// was summoned to, of that grade), grouped by q.By (an empty By is day),
// in the caller's jurisdiction (the clue list's: a unit sees the clues of
// the whistles it is summoned to, the others their grids').
func (s *Store) CountClues(ctx context.Context, sc access.Scope, q StatsQuery) (ClueCounts, error) {
	if q.By == "" {
		q.By = "day"
	}
	key, name, ok := clueGroup(q.By)
	if !ok {
		return ClueCounts{}, invalid("by", "by must be one of %s", strings.Join(ClueGroupings(), ", "))
	}
	by := q.By
	q.By = "township" // the period and filters are checked as the statistics' are
	q, _, err := q.normalize(s.now())
	if err != nil {
		return ClueCounts{}, err
	}
	if q.Source == "none" {
		return ClueCounts{}, invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor")
	}
	where, args := clueWhere(sc, ClueFilter{Township: q.Township, Source: q.Source, Category: q.Category, From: q.From, To: q.To})
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q.Unit != "" {
		where += " AND EXISTS (SELECT 1 FROM summons fs JOIN units fu ON fu.id = fs.unit_id WHERE fs.whistle_id = c.whistle_id AND fu.code = " + arg(q.Unit) + ")"
	}
	if q.Grade != "" {
		where += " AND EXISTS (SELECT 1 FROM whistles fw WHERE fw.id = c.whistle_id AND fw.grade = " + arg(q.Grade) + ")"
	}
	sql := `SELECT grouping(` + key + `) = 1, ` + key + `, ` + name + `, count(*), count(c.whistle_id)` + clueFrom + where +
		` GROUP BY GROUPING SETS ((` + key + `, ` + name + `), ()) ORDER BY 1, 2`
	out := ClueCounts{From: q.From, To: q.To, By: by, Groups: []ClueCount{}, Total: ClueCount{Key: "total", Name: "合计"}}
	err = s.withoutJIT(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var total bool
			var key, name *string
			var g ClueCount
			if err := rows.Scan(&total, &key, &name, &g.Clues, &g.Whistled); err != nil {
				return err
			}
			if total {
				out.Total.Clues, out.Total.Whistled = g.Clues, g.Whistled
				continue
			}
			if key != nil {
				g.Key = *key
			}
			if name != nil {
				g.Name = *name
			}
			if by == "source" {
				g.Name = SourceName(g.Key)
			}
			out.Groups = append(out.Groups, g)
		}
		return rows.Err()
	})
	if err != nil {
		return ClueCounts{}, fmt.Errorf("whistle: clue counts: %w", err)
	}
	return out, nil
}

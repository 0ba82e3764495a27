package ledger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/geo"
	"whistlegrid/internal/xlsx"
)

// ReviewRow is an item in a period's review, with what it did in the
// period: a measure fell due (Due), it was closed (Closed), a measure was
// overdue at some time in the period (Overdue), a 销账 was rejected
// (Rejected, with the latest reason).
type ReviewRow struct {
	Item
	Due          bool   `json:"due"`
	Closed       bool   `json:"closed"`
	OverdueIn    bool   `json:"overdue_in_period"`
	Rejected     bool   `json:"rejected"`
	RejectReason string `json:"reject_reason"`
}

// ReviewCounts counts the items of each kind in a period.
type ReviewCounts struct {
	Due      int `json:"due"`
	Closed   int `json:"closed"`
	Overdue  int `json:"overdue"`
	Rejected int `json:"rejected"`
}

// Review is the monthly or quarterly review (月度/季度销账审核) of a
// period.
type Review struct {
	Period string       `json:"period"`
	Title  string       `json:"title"`
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Counts ReviewCounts `json:"counts"`
	Items  []ReviewRow  `json:"items"`
}

// reviewFlags are the period's flags of an item i: $5 from, $6 to, $1 now.
const reviewFlags = `,
	EXISTS (SELECT 1 FROM ledger_measures m WHERE m.item_id = i.id AND m.due >= $5 AND m.due < $6),
	coalesce(i.closed_at >= $5 AND i.closed_at < $6, false),
	EXISTS (SELECT 1 FROM ledger_measures m WHERE m.item_id = i.id AND m.due < least($6::timestamptz, $1::timestamptz)
		AND coalesce(m.done_at, i.closed_at, 'infinity') > greatest(m.due, $5::timestamptz)),
	coalesce((SELECT e.note FROM ledger_entries e WHERE e.item_id = i.id AND e.kind = 'reject' AND e.at >= $5 AND e.at < $6
		ORDER BY e.at DESC, e.id DESC LIMIT 1), '')`

// Review answers the items the caller sees that fell due, closed, were
// overdue or had a 销账 rejected in period p, oldest first.
func (s *Store) Review(ctx context.Context, sc access.Scope, p Period) (Review, error) {
	out := Review{Period: p.Name, Title: p.Title(), From: p.From, To: p.To, Items: []ReviewRow{}}
	args := append([]any{s.now()}, scopeArgs(sc)...)
	args = append(args, p.From, p.To)
	q := "SELECT * FROM (SELECT " + itemColumns + ", coalesce(ru.name, '') AS unit_name" + reviewFlags + itemFrom + ") x ORDER BY 21, 1"
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return out, fmt.Errorf("ledger: review: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReviewRow, error) {
		var rr ReviewRow
		it := &rr.Item
		var su *int64
		var suCode, suName, measures, unitName string
		err := r.Scan(&it.ID, &it.Title, &it.Problem, &it.Grid.Code, &it.Grid.Name, &it.Township.Code, &it.Township.Name, &it.Source,
			&it.party.ResponsibleTownship, &it.Responsible.Name, &it.responsibleUnit, &it.Responsible.Code, &unitName,
			&su, &suCode, &suName, &it.Level, &it.Status, &it.WhistleID, &it.HotspotCell, &it.CreatedAt, &it.UpdatedAt, &it.ClosedAt, &measures,
			new(string), &rr.Due, &rr.Closed, &rr.OverdueIn, &rr.RejectReason)
		if err != nil {
			return rr, err
		}
		rr.Rejected = rr.RejectReason != ""
		if err := it.finish(su, suCode, suName, measures); err != nil {
			return rr, err
		}
		fixResponsible(it, unitName)
		return rr, nil
	})
	if err != nil {
		return out, fmt.Errorf("ledger: review: %w", err)
	}
	for _, r := range all {
		if !(r.Due || r.Closed || r.OverdueIn || r.Rejected) {
			continue
		}
		out.Items = append(out.Items, r)
		if r.Due {
			out.Counts.Due++
		}
		if r.Closed {
			out.Counts.Closed++
		}
		if r.OverdueIn {
			out.Counts.Overdue++
		}
		if r.Rejected {
			out.Counts.Rejected++
		}
	}
	return out, nil
}

// reviewColumns are the spreadsheet's columns, in Chinese.
var reviewColumns = []xlsx.Column{{Header: "编号", Kind: xlsx.Int}, {Header: "事项"}, {Header: "来源"}, {Header: "网格编码"}, {Header: "网格"},
	{Header: "乡镇编码"}, {Header: "乡镇"}, {Header: "责任主体"}, {Header: "督办层级"}, {Header: "状态"}, {Header: "措施数", Kind: xlsx.Int},
	{Header: "已完成措施", Kind: xlsx.Int}, {Header: "最近期限", Kind: xlsx.DateTime}, {Header: "本期到期"}, {Header: "本期销账"}, {Header: "本期逾期"},
	{Header: "本期驳回"}, {Header: "驳回理由"}, {Header: "建立时间", Kind: xlsx.DateTime}, {Header: "销账时间", Kind: xlsx.DateTime}}

// Filename is the spreadsheet's file name: 整改台账审核_2026年11月.xlsx.
func (r Review) Filename() string { return "整改台账审核_" + r.Title + ".xlsx" }

// XLSX writes the review as a spreadsheet: one sheet named after the
// period, Chinese headers in a frozen bold first row, codes as text (so a
// spreadsheet does not turn 110119101 into a number), times in Beijing
// time.
func (r Review) XLSX() ([]byte, error) {
	w, err := xlsx.New(r.Title, reviewColumns, geo.Beijing)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer func() { _ = w.Close() }()
	yes := func(b bool) string {
		if b {
			return "是"
		}
		return ""
	}
	for _, it := range r.Items {
		done := 0
		for _, m := range it.Measures {
			if m.DoneAt != nil {
				done++
			}
		}
		err := w.Row(it.ID, it.Title, it.SourceName, it.Grid.Code, it.Grid.Name, it.Township.Code, it.Township.Name,
			it.Responsible.Name, it.LevelName, it.StatusName, len(it.Measures), done, it.NextDue,
			yes(it.Due), yes(it.Closed), yes(it.OverdueIn), yes(it.Rejected), it.RejectReason, it.CreatedAt, it.ClosedAt)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return buf.Bytes(), nil
}

package ledger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"whistlegrid/access"
	"whistlegrid/geo"
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

// reviewHeaders are the spreadsheet's columns, in Chinese.
var reviewHeaders = []string{"编号", "事项", "来源", "网格编码", "网格", "乡镇编码", "乡镇", "责任主体", "督办层级", "状态",
	"措施数", "已完成措施", "最近期限", "本期到期", "本期销账", "本期逾期", "本期驳回", "驳回理由", "建立时间", "销账时间"}

// Filename is the spreadsheet's file name: 整改台账审核_2026年11月.xlsx.
func (r Review) Filename() string { return "整改台账审核_" + r.Title + ".xlsx" }

// XLSX writes the review as a spreadsheet: one sheet named after the
// period, Chinese headers in a frozen bold first row, codes as text (so a
// spreadsheet does not turn 110119101 into a number), times in Beijing
// time.
func (r Review) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	sheet := r.Title
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": text
	if err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	head := make([]any, len(reviewHeaders))
	for i, h := range reviewHeaders {
		head[i] = excelize.Cell{Value: h, StyleID: bold}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	yes := func(b bool) string {
		if b {
			return "是"
		}
		return ""
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(geo.Beijing).Format("2006-01-02 15:04")
	}
	for i, it := range r.Items {
		done := 0
		for _, m := range it.Measures {
			if m.DoneAt != nil {
				done++
			}
		}
		created := it.CreatedAt
		row := []any{
			it.ID, it.Title, it.SourceName,
			excelize.Cell{Value: it.Grid.Code, StyleID: text}, it.Grid.Name,
			excelize.Cell{Value: it.Township.Code, StyleID: text}, it.Township.Name,
			it.Responsible.Name, it.LevelName, it.StatusName, len(it.Measures), done, tm(it.NextDue),
			yes(it.Due), yes(it.Closed), yes(it.OverdueIn), yes(it.Rejected), it.RejectReason, tm(&created), tm(it.ClosedAt),
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return nil, fmt.Errorf("ledger: xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("ledger: xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

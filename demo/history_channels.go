package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/geo"
	"whistlegrid/ledger"
)

// HistoryLedgerItems is how many rectification items the history keeps:
// the district's 83 (整改台账).
const HistoryLedgerItems = 83

// ChannelCounts counts what loadChannels wrote: the ledger's items by
// path and status, and the board's messages by status.
type ChannelCounts struct {
	Ledger         int
	LedgerByStatus map[string]int
	LedgerByLevel  map[string]int
	LedgerPaths    map[string]int // ontime, rejected, late, open, neverdone
	Board          map[string]int // pending, accepted, rejected
	BoardReplies   int
	Meetings       int            // villagers' meetings (村民说事)
	Matters        int            // their matters, each a clue of source meeting
	MattersByStage map[string]int // raised, discussed, done, judged
	MatterWhistles int            // matters done through a whistle
	RiskClues      int            // clues flagged by the risk rules
	RiskWhistles   int            // their whistles
}

// loadChannels writes, after the whistles' year, the year of the two
// channels of issue 16: the 83 ledger items taken down every path
// (closed on time; rejected once then closed; closed late after rising;
// open; never done and risen to the command center; from a whistle of
// repeated complaints; from a hotspot place), with their measures,
// trail, rises and notices as ledger.Store and its Sweep write them (but
// not the sweep's ledger.rose events: the outbox of the history is in
// time order with its sequence, and these would come after it); and
// the board's messages: the forum clues of the year as accepted messages
// (with the township's public reply once their case closed), others
// rejected with a reason, a few still pending. One transaction.
func loadChannels(ctx context.Context, pool *pgxpool.Pool, opts HistoryOptions, sum *HistorySummary) (ChannelCounts, error) {
	cc := ChannelCounts{LedgerByStatus: map[string]int{}, LedgerByLevel: map[string]int{}, LedgerPaths: map[string]int{}, Board: map[string]int{},
		MattersByStage: map[string]int{}}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x16))
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := ledgerHistory(ctx, tx, rng, opts.End, sum, &cc); err != nil {
			return err
		}
		if err := meetingsHistory(ctx, tx, rand.New(rand.NewPCG(uint64(opts.Seed), 0x2)), opts.End, sum, &cc); err != nil {
			return fmt.Errorf("meetings: %w", err)
		}
		if err := riskHistory(ctx, tx, &cc); err != nil {
			return fmt.Errorf("risk: %w", err)
		}
		return boardHistory(ctx, tx, rng, opts.End, &cc)
	})
	if err != nil {
		return cc, fmt.Errorf("demo: history: channels: %w", err)
	}
	opts.Logger.Info("demo: history: ledger and board", "ledger", cc.Ledger, "ledger_status", cc.LedgerByStatus, "ledger_paths", cc.LedgerPaths,
		"board", cc.Board, "board_replies", cc.BoardReplies, "meetings", cc.Meetings, "matters", cc.Matters, "matter_stages", cc.MattersByStage,
		"risk_clues", cc.RiskClues, "risk_whistles", cc.RiskWhistles)
	sum.Meetings, sum.Matters, sum.RiskClues = cc.Meetings, cc.Matters, cc.RiskClues
	return cc, nil
}

// ledgerProblems are the problems of the ledger, with their measures.
var ledgerProblems = []struct {
	title    string
	measures []string
}{
	{"村内环境卫生脏乱差", []string{"清理积存垃圾和杂物", "建立保洁员日常巡查制度", "设置分类垃圾桶"}},
	{"私搭乱建未拆除", []string{"完成违建摸底登记", "依法拆除违法建设", "拆后场地恢复绿化"}},
	{"河道沿线垃圾堆放", []string{"清理河道垃圾", "设置河道巡查责任牌", "建立河长巡河台账"}},
	{"村内道路破损坑洼", []string{"完成破损路面修补", "补设交通安全设施"}},
	{"占道经营屡禁不止", []string{"划定便民疏导点", "开展联合执法整治", "建立长效巡查机制"}},
	{"垃圾分类准确率偏低", []string{"开展入户宣传", "配齐桶站和督导员", "按月公示分类成效"}},
	{"消防通道堵塞", []string{"清理占用消防通道车辆杂物", "施划消防通道标线"}},
	{"散乱污企业整治不到位", []string{"完成企业排查建档", "关停取缔违法企业", "开展回头看"}},
	{"农村户厕改造滞后", []string{"完成改厕户摸排", "完成改厕施工", "组织验收"}},
	{"煤改电设施故障频发", []string{"排查设备运行状况", "更换故障设备", "建立报修快速响应"}},
	{"供暖季反复投诉", []string{"排查管网和换热站", "完成管网维修", "回访投诉居民"}},
	{"停车秩序混乱", []string{"施划停车位", "安装道闸和标识", "组织志愿者引导"}},
}

// ledgerPathWeights: how often each path is taken, in that order.
var ledgerPaths = []struct {
	name   string
	weight int
}{{"ontime", 30}, {"rejected", 14}, {"late", 18}, {"open", 22}, {"neverdone", 16}}

type lEntry struct {
	at          time.Time
	kind, actor string
	actorID     int64
	note        string
	attachments []string
}

type lMeasure struct {
	text                string
	due                 time.Time
	done, overdue, late *time.Time
}

func ledgerHistory(ctx context.Context, tx pgx.Tx, rng *rand.Rand, end time.Time, sum *HistorySummary, cc *ChannelCounts) error {
	start := end.AddDate(0, 0, -HistoryDays)
	type gridRow struct {
		id         int64
		code, town string
	}
	rows, err := tx.Query(ctx, `SELECT id, code, left(code, 9) FROM grids WHERE level = 'village' AND valid_to IS NULL ORDER BY code`)
	if err != nil {
		return err
	}
	villages, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gridRow, error) {
		var g gridRow
		return g, r.Scan(&g.id, &g.code, &g.town)
	})
	if err != nil || len(villages) == 0 {
		return fmt.Errorf("villages: %v (%d)", err, len(villages))
	}
	townID := map[string]int64{}
	rows, err = tx.Query(ctx, `SELECT code, id FROM grids WHERE level = 'township'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		var id int64
		if err := rows.Scan(&c, &id); err != nil {
			return err
		}
		townID[c] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	type unitRow struct {
		id         int64
		code, kind string
	}
	rows, err = tx.Query(ctx, `SELECT id, code, kind FROM units ORDER BY code`)
	if err != nil {
		return err
	}
	units, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (unitRow, error) {
		var u unitRow
		return u, r.Scan(&u.id, &u.code, &u.kind)
	})
	if err != nil {
		return err
	}
	var depts []unitRow
	for _, u := range units {
		if u.kind == "department" {
			depts = append(depts, u)
		}
	}
	users := map[string]int64{}
	rows, err = tx.Query(ctx, `SELECT username, id FROM users WHERE role IN ('command', 'township', 'unit')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			return err
		}
		users[n] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// closed whistles of repeated complaints, to become items
	type wRow struct {
		id         int64
		grid, town string
		closed     time.Time
	}
	rows, err = tx.Query(ctx, `SELECT w.id, coalesce(g.code, t.code), t.code, w.closed_at FROM whistles w JOIN grids t ON t.id = w.township_id
		LEFT JOIN grids g ON g.id = w.grid_id WHERE w.status = 'closed' AND w.clue_count >= 3 ORDER BY w.clue_count DESC, w.id LIMIT 8`)
	if err != nil {
		return err
	}
	whistles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wRow, error) {
		var w wRow
		return w, r.Scan(&w.id, &w.grid, &w.town, &w.closed)
	})
	if err != nil {
		return err
	}
	day := 24 * time.Hour
	sweepLag := 30 * time.Second // the sweep runs every 30 s
	total := 0
	for _, p := range ledgerPaths {
		total += p.weight
	}
	for i := range HistoryLedgerItems {
		created := start.Add(time.Duration(rng.Int64N(int64(300 * day)))).Truncate(time.Second)
		prob := ledgerProblems[rng.IntN(len(ledgerProblems))]
		g := villages[rng.IntN(len(villages))]
		gridID, gridCode, town := g.id, g.code, g.town
		source := []string{"inspection", "assessment", "person", "inspection", "assessment"}[rng.IntN(5)]
		title := prob.title
		var whistleID, cell any
		switch {
		case i%10 == 3 && len(whistles) > 0: // a whistle of repeated complaints, after it closed
			w := whistles[0]
			whistles = whistles[1:]
			if w.closed.Before(end.Add(-20 * day)) {
				source, whistleID, gridCode, town = "complaints", w.id, w.grid, w.town
				created = w.closed.Add(time.Duration(1+rng.IntN(10)) * day).Truncate(time.Second)
				if err := tx.QueryRow(ctx, `SELECT id FROM grids WHERE code = $1`, gridCode).Scan(&gridID); err != nil {
					return err
				}
				title = fmt.Sprintf("反复投诉问题（第%d号哨）", w.id)
			}
		case i%10 == 7 && len(sum.Clusters) > 0: // a hotspot place
			c := sum.Clusters[i%len(sum.Clusters)]
			source = "hotspot"
			cell = fmt.Sprintf("%x", geo.H3Cell(orb.Point{c.Lon, c.Lat}, geo.DefaultH3Res))
			gridCode, town, gridID = c.Township, c.Township, townID[c.Township]
			title = "热点问题：" + c.Name
		}
		if !created.Before(end.Add(-2 * day)) {
			created = end.Add(-time.Duration(3+rng.IntN(20)) * day).Truncate(time.Second)
		}
		respTown, respActor := town, "t"+town
		var respUnit, supUnit any
		var supCode string
		if rng.IntN(5) == 0 {
			u := units[rng.IntN(len(units))]
			respTown, respUnit, respActor = "", u.id, "u"+u.code
		}
		if rng.IntN(10) < 7 && len(depts) > 0 {
			d := depts[rng.IntN(len(depts))]
			if respUnit == nil || respUnit.(int64) != d.id {
				supUnit, supCode = d.id, d.code
			}
		}
		reviewer := "command"
		if supCode != "" && rng.IntN(2) == 0 {
			reviewer = "u" + supCode
		}
		// the path
		pick := rng.IntN(total)
		path := ledgerPaths[len(ledgerPaths)-1].name
		for _, p := range ledgerPaths {
			if pick < p.weight {
				path = p.name
				break
			}
			pick -= p.weight
		}
		n := 1 + rng.IntN(len(prob.measures))
		ms := make([]lMeasure, n)
		for k := range ms {
			ms[k] = lMeasure{text: prob.measures[k], due: created.Add(time.Duration(20+rng.IntN(70))*day + 16*time.Hour).Truncate(time.Hour)}
		}
		ptr := func(t time.Time) *time.Time { return &t }
		switch path {
		case "ontime", "rejected":
			for k := range ms {
				ms[k].done = ptr(ms[k].due.Add(-time.Duration(1+rng.IntN(10)) * day))
				if ms[k].done.Before(created) {
					ms[k].done = ptr(created.Add(day))
				}
			}
		case "late":
			k := rng.IntN(n)
			for j := range ms {
				ms[j].done = ptr(ms[j].due.Add(-time.Duration(1+rng.IntN(5)) * day))
				if ms[j].done.Before(created) {
					ms[j].done = ptr(created.Add(day))
				}
			}
			ms[k].done = ptr(ms[k].due.Add(time.Duration(3+rng.IntN(30)) * day))
		case "open":
			for k := range ms {
				if rng.IntN(2) == 0 {
					ms[k].done = ptr(created.Add(time.Duration(rng.Int64N(int64(ms[k].due.Sub(created))))))
				}
			}
		}
		var entries []lEntry
		add := func(at time.Time, kind, actor, note string, att ...string) {
			entries = append(entries, lEntry{at: at, kind: kind, actor: actor, actorID: users[actor], note: note, attachments: att})
		}
		add(created, "created", "command", "建立台账")
		lastDone := created
		for k, m := range ms {
			if m.done != nil {
				add(*m.done, "edit", respActor, fmt.Sprintf("措施 %d 完成", k+1))
				if m.done.After(lastDone) {
					lastDone = *m.done
				}
			}
		}
		for range 1 + rng.IntN(3) {
			at := created.Add(time.Duration(rng.Int64N(int64(lastDone.Sub(created) + 10*day))))
			add(at, "progress", respActor, "按计划推进整改，已完成阶段性工作", fmt.Sprintf("photo-%d-%d.jpg", i+1, rng.IntN(1000)))
		}
		var closed *time.Time
		status := ledger.StatusOpen
		allDone := !slices.ContainsFunc(ms, func(m lMeasure) bool { return m.done == nil })
		if allDone && path != "open" {
			ask := lastDone.Add(time.Duration(1+rng.IntN(5)) * day)
			steps := []string{"writeoff", "approve"}
			if path == "rejected" {
				steps = []string{"writeoff", "reject", "writeoff", "approve"}
			}
			at := ask
			for _, s := range steps {
				if !at.Before(end) {
					break
				}
				switch s {
				case "writeoff":
					add(at, "writeoff", respActor, "各项措施已完成，申请销账", fmt.Sprintf("evidence-%d.pdf", i+1))
					status = ledger.StatusRequested
				case "reject":
					add(at, "reject", reviewer, "整改证据不充分，请补充现场照片")
					status = ledger.StatusOpen
				case "approve":
					add(at, "approve", reviewer, "经核查整改到位，同意销账")
					status, closed = ledger.StatusClosed, ptr(at)
				}
				at = at.Add(time.Duration(2+rng.IntN(8)) * day)
			}
		}
		// the sweep's strikes, in time order, while the item is not closed
		type strike struct {
			at time.Time
			n  int
		}
		var strikes []strike
		for k := range ms {
			m := &ms[k]
			for j, limit := range []time.Time{m.due, m.due.Add(ledger.LateAfter)} {
				at := limit.Add(sweepLag)
				if (m.done != nil && !m.done.After(at)) || !at.Before(end) || (closed != nil && !at.Before(*closed)) {
					continue
				}
				if j == 0 {
					m.overdue = ptr(at)
				} else {
					m.late = ptr(at)
				}
				strikes = append(strikes, strike{at, k + 1})
			}
		}
		sort.Slice(strikes, func(a, b int) bool { return strikes[a].at.Before(strikes[b].at) })
		level := ledger.LevelTownship
		type riseRow struct {
			at    time.Time
			level string
			n     int
		}
		var rises []riseRow
		for _, s := range strikes {
			next, ok := ledger.NextLevel(level)
			if !ok {
				continue
			}
			level = next
			rises = append(rises, riseRow{s.at, level, s.n})
			add(s.at, "rise", "system", fmt.Sprintf("措施 %d 逾期未完成，升级为%s", s.n, ledger.LevelNames[level]))
		}
		sort.SliceStable(entries, func(a, b int) bool { return entries[a].at.Before(entries[b].at) })
		updated := entries[len(entries)-1].at
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO ledger_items (title, problem, grid_id, grid_code, township_code, source, responsible_township,
			responsible_unit_id, supervising_unit_id, level, status, whistle_id, hotspot_cell, created_by, created_at, updated_at, closed_at)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			title, "督查发现："+title+"，需限期整改。", gridID, gridCode, gridCode[:9], source, respTown, respUnit, supUnit, level, status,
			whistleID, cell, users["command"], created, updated, closed).Scan(&id)
		if err != nil {
			return fmt.Errorf("ledger item %d: %w", i, err)
		}
		for k, m := range ms {
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_measures (item_id, n, text, due, done_at, overdue_at, late_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, k+1, m.text, m.due, m.done, m.overdue, m.late); err != nil {
				return err
			}
		}
		for _, e := range entries {
			if e.attachments == nil {
				e.attachments = []string{}
			}
			var actorID any
			if e.actorID != 0 {
				actorID = e.actorID
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_entries (item_id, at, kind, actor_id, actor, note, attachments) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, e.at, e.kind, actorID, e.actor, e.note, e.attachments); err != nil {
				return err
			}
		}
		resp := respTown
		var respUnitCode string
		if resp == "" {
			respUnitCode = respActor[1:]
			resp = "unit:" + respUnitCode
		}
		for _, r := range rises {
			to := "command"
			if r.level == ledger.LevelDepartment && supCode != "" {
				to = "unit:" + supCode
			}
			note := fmt.Sprintf("措施 %d 逾期未完成，升级为%s", r.n, ledger.LevelNames[r.level])
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_rises (item_id, level, at, n) VALUES ($1, $2, $3, $4)`, id, r.level, r.at, r.n); err != nil {
				return err
			}
			for _, rc := range []string{resp, to} {
				_, err := tx.Exec(ctx, `INSERT INTO ledger_notices (item_id, level, recipient, at, note) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
					id, r.level, rc, r.at, note)
				if err != nil {
					return err
				}
			}
		}
		cc.Ledger++
		cc.LedgerByStatus[status]++
		cc.LedgerByLevel[level]++
		cc.LedgerPaths[path]++
		if whistleID != nil {
			cc.LedgerPaths["from_whistle"]++
		}
		if cell != nil {
			cc.LedgerPaths["from_hotspot"]++
		}
	}
	return nil
}

// boardRejects are messages the command center does not accept, with the
// reason the writer sees.
var boardRejects = []struct{ text, reason string }{
	{"出售二手家电，价格优惠，有意者联系", "广告信息，不属于留言受理范围"},
	{"请问社保卡在哪里办理？", "咨询类问题，请拨打 12345 热线或到政务服务中心咨询"},
	{"外区小区物业不作为，请帮忙处理", "问题发生地不在延庆区，已建议向属地反映"},
	{"同一问题昨天已经留言过了", "与您此前的留言重复，已合并办理"},
	{"对法院判决结果不服", "涉诉事项请依法通过司法途径解决"},
}

func boardHistory(ctx context.Context, tx pgx.Tx, rng *rand.Rand, end time.Time, cc *ChannelCounts) error {
	type clueRow struct {
		id       int64
		text     string
		cat      string
		lon, lat float64
		at       time.Time
		town     string
		wstatus  string
		closedAt *time.Time
	}
	rows, err := tx.Query(ctx, `SELECT c.id, c.text, cat.code, ST_X(c.location), ST_Y(c.location), c.reported_at, t.code,
		coalesce(w.status, ''), w.closed_at
		FROM clues c JOIN categories cat ON cat.id = c.category_id JOIN grids t ON t.id = c.township_id
		LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE c.source = 'forum' ORDER BY c.id`)
	if err != nil {
		return err
	}
	clues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clueRow, error) {
		var c clueRow
		return c, r.Scan(&c.id, &c.text, &c.cat, &c.lon, &c.lat, &c.at, &c.town, &c.wstatus, &c.closedAt)
	})
	if err != nil {
		return err
	}
	users := map[string]int64{}
	rows, err = tx.Query(ctx, `SELECT username, id FROM users WHERE role IN ('command', 'township')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			return err
		}
		users[n] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// a board message for one forum clue in three, at most 1,500
	step := max(1, len(clues)/1500, 3)
	var out [][]any
	receipt := func() string {
		return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	}
	phone := func() any {
		if rng.IntN(4) == 0 {
			return nil
		}
		return fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000))
	}
	var cats []string
	for k := 0; k < len(clues); k += step {
		c := clues[k]
		text := c.text
		if text == "" {
			text = "请尽快处理"
		}
		if utf8.RuneCountInString(text) > 1000 {
			text = string([]rune(text)[:1000])
		}
		created := c.at.Add(-time.Duration(2+rng.IntN(60)) * time.Minute)
		var reply, repliedBy, repliedAt any
		if c.wstatus == "closed" && c.closedAt != nil && rng.IntN(5) != 0 {
			at := c.closedAt.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
			if at.Before(end) {
				reply, repliedBy, repliedAt = "您反映的问题已办结："+firstRunes(text, 20)+"……，感谢您对我们工作的支持与监督。", users["t"+c.town], at
				cc.BoardReplies++
			}
		}
		out = append(out, []any{receipt(), text, c.cat, c.lon, c.lat, phone(), created, "accepted", nil, c.id, users["command"], c.at, reply, repliedBy, repliedAt})
		cats = append(cats, c.cat)
		cc.Board["accepted"]++
	}
	if len(cats) == 0 {
		var c string
		if err := tx.QueryRow(ctx, `SELECT code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY code LIMIT 1`).Scan(&c); err != nil {
			return err
		}
		cats = []string{c}
	}
	start := end.AddDate(0, 0, -HistoryDays)
	rejects := max(20, cc.Board["accepted"]/4)
	for range rejects {
		r := boardRejects[rng.IntN(len(boardRejects))]
		created := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start) - 48*time.Hour))))
		out = append(out, []any{receipt(), r.text, cats[rng.IntN(len(cats))], nil, nil, phone(), created, "rejected", r.reason, nil,
			users["command"], created.Add(time.Duration(1+rng.IntN(20)) * time.Hour), nil, nil, nil})
		cc.Board["rejected"]++
	}
	for k := range 6 {
		created := end.Add(-time.Duration(k*5+1) * time.Hour)
		out = append(out, []any{receipt(), "小区南门路灯不亮，晚上出行不便，请尽快维修", cats[rng.IntN(len(cats))], nil, nil, phone(), created, "pending",
			nil, nil, nil, nil, nil, nil, nil})
		cc.Board["pending"]++
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"board_messages"},
		[]string{"receipt", "text", "category", "lon", "lat", "phone", "created_at", "status", "reason", "clue_id", "screened_by", "screened_at", "reply", "replied_by", "replied_at"},
		pgx.CopyFromRows(out))
	return err
}

func firstRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

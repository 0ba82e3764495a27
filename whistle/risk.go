package whistle

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// Risk is why a clue (and its whistle) was judged high-risk (风险研判).
type Risk struct {
	Reasons []string `json:"reasons"`
}

// RiskRules are the rules the command center edits (GET/PUT
// /api/v1/risk-rules), one row of risk_rules. A clue is flagged when its
// text holds a keyword or a self-harm phrase, a wage phrase with a large
// number (an amount in yuan of at least WageAmount, 万 counted, or at
// least WagePeople people), its category is one of Categories (a code or
// the code of a parent), its reporter's phone (counted by its hash) has
// reported CallerRepeats times within CallerWindowDays, or its place
// (within PlaceRadiusM) has PlaceClues clues within PlaceWindowDays. A
// count of 0 turns its rule off.
type RiskRules struct {
	Keywords         []string `json:"keywords"`
	SelfHarm         []string `json:"self_harm"`
	WageKeywords     []string `json:"wage_keywords"`
	WageAmount       float64  `json:"wage_amount"`
	WagePeople       int      `json:"wage_people"`
	Categories       []string `json:"categories"`
	CallerRepeats    int      `json:"caller_repeats"`
	CallerWindowDays int      `json:"caller_window_days"`
	PlaceClues       int      `json:"place_clues"`
	PlaceRadiusM     float64  `json:"place_radius_m"`
	PlaceWindowDays  int      `json:"place_window_days"`
}

// Limits of the risk rules.
const (
	MaxRiskPhrases   = 200
	MaxRiskPhraseLen = 32
)

// Validate checks the rules (ErrInvalid naming the field).
func (r RiskRules) Validate(knownCategory func(string) bool) error {
	for _, l := range []struct {
		name string
		v    []string
	}{{"keywords", r.Keywords}, {"self_harm", r.SelfHarm}, {"wage_keywords", r.WageKeywords}, {"categories", r.Categories}} {
		if len(l.v) > MaxRiskPhrases {
			return invalid(l.name, "at most %d %s", MaxRiskPhrases, l.name)
		}
		for i, p := range l.v {
			if strings.TrimSpace(p) == "" || utf8.RuneCountInString(p) > MaxRiskPhraseLen {
				return invalid(fmt.Sprintf("%s[%d]", l.name, i), "a phrase has 1 to %d characters", MaxRiskPhraseLen)
			}
		}
	}
	for i, c := range r.Categories {
		if !knownCategory(c) {
			return invalid(fmt.Sprintf("categories[%d]", i), "unknown category %q", c)
		}
	}
	for _, n := range []struct {
		name   string
		v, max float64
	}{{"wage_amount", r.WageAmount, 1e12}, {"wage_people", float64(r.WagePeople), 1e6},
		{"caller_repeats", float64(r.CallerRepeats), 1000}, {"caller_window_days", float64(r.CallerWindowDays), 365},
		{"place_clues", float64(r.PlaceClues), 1000}, {"place_radius_m", r.PlaceRadiusM, 5000}, {"place_window_days", float64(r.PlaceWindowDays), 365}} {
		if n.v < 0 || n.v > n.max || math.IsNaN(n.v) {
			return invalid(n.name, "%s must be 0 to %g", n.name, n.max)
		}
	}
	if r.CallerRepeats > 0 && r.CallerWindowDays == 0 {
		return invalid("caller_window_days", "caller_window_days is needed with caller_repeats")
	}
	if r.PlaceClues > 0 && (r.PlaceWindowDays == 0 || r.PlaceRadiusM == 0) {
		return invalid("place_window_days", "place_window_days and place_radius_m are needed with place_clues")
	}
	return nil
}

// RiskFacts is what the rules judge of one clue: its text and category,
// and the counts the database makes, this clue included.
type RiskFacts struct {
	Text, Category string
	CallerClues    int // clues of the reporter's phone within the window
	PlaceClues     int // clues at the place within the window
}

// number: an amount, with 万 counted, or a count of people (人/名).
var riskNumber = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*(万)?\s*(元|块|人|名|个人|位)?`)

// Judge is the reasons the rules flag a clue for, none when it is not.
func (r RiskRules) Judge(f RiskFacts) []string {
	var out []string
	for _, k := range r.Keywords {
		if strings.Contains(f.Text, k) {
			out = append(out, "关键词："+k)
		}
	}
	for _, k := range r.SelfHarm {
		if strings.Contains(f.Text, k) {
			out = append(out, "自伤风险："+k)
		}
	}
	for _, k := range r.WageKeywords {
		if !strings.Contains(f.Text, k) {
			continue
		}
		for _, m := range riskNumber.FindAllStringSubmatch(f.Text, -1) {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				continue
			}
			people := m[3] == "人" || m[3] == "名" || m[3] == "个人" || m[3] == "位"
			if m[2] == "万" {
				v *= 10000
			}
			if people && r.WagePeople > 0 && v >= float64(r.WagePeople) {
				out = append(out, fmt.Sprintf("%s涉及人数多：%s", k, m[0]))
			} else if !people && r.WageAmount > 0 && v >= r.WageAmount {
				out = append(out, fmt.Sprintf("%s金额大：%s", k, m[0]))
			}
		}
		break
	}
	for _, c := range r.Categories {
		if f.Category == c || strings.HasPrefix(f.Category, c+".") {
			out = append(out, "高风险类别："+c)
		}
	}
	if r.CallerRepeats > 0 && f.CallerClues >= r.CallerRepeats {
		out = append(out, fmt.Sprintf("同一来电 %d 天内第 %d 次", r.CallerWindowDays, f.CallerClues))
	}
	if r.PlaceClues > 0 && f.PlaceClues >= r.PlaceClues {
		out = append(out, fmt.Sprintf("同一地点（%g 米内）%d 天内 %d 条线索", r.PlaceRadiusM, r.PlaceWindowDays, f.PlaceClues))
	}
	return out
}

// RiskRulesOf reads the risk rules.
func (s *Store) RiskRulesOf(ctx context.Context) (RiskRules, error) {
	var r RiskRules
	if err := s.pool.QueryRow(ctx, `SELECT rules FROM risk_rules WHERE id = 1`).Scan(&r); err != nil {
		return r, fmt.Errorf("whistle: risk rules: %w", err)
	}
	return r, nil
}

// PutRiskRules replaces the risk rules: the command center only.
func (s *Store) PutRiskRules(ctx context.Context, sc access.Scope, r RiskRules) (RiskRules, error) {
	if sc.Role != access.RoleCommand {
		return r, fault.Errorf(ErrForbidden, "only the command center edits the risk rules")
	}
	if err := r.Validate(s.placer.KnownCategory); err != nil {
		return r, err
	}
	for _, l := range []*[]string{&r.Keywords, &r.SelfHarm, &r.WageKeywords, &r.Categories} {
		if *l == nil {
			*l = []string{}
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return r, err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE risk_rules SET rules = $1, updated_at = $2, updated_by = $3 WHERE id = 1`, b, s.now(), sc.Username); err != nil {
		return r, fmt.Errorf("whistle: risk rules: %w", err)
	}
	return r, nil
}

// riskRulesCache is the risk rules as last read, by version (the xmin of
// risk_rules' row). whistle_intake_batch counts, inside the intake
// transaction and once the batch's clues are stored, the clues of each
// reporter's phone and those at each place within the rules' windows
// (each clue with every clue stored before it, committed or earlier in the
// batch), and answers the rules themselves only when their version is not
// the one the caller holds: the rules are parsed once per change, and every
// server instance sees a change at its next clue.
type riskRulesCache struct {
	version string
	rules   RiskRules
}

// riskCheck is what the rules judge of one clue besides the counts the
// database makes.
type riskCheck struct {
	text string
	cat  string
}

// newRiskCheck prepares the judgement of a clue: its counts are made by
// whistle_intake_batch in the intake transaction.
func (s *Store) newRiskCheck(v *validated) *riskCheck {
	return &riskCheck{text: v.in.Text, cat: v.in.Category}
}

// judge judges the clue by rules with its counts (which hold the clue
// itself: it is stored already): nil when it is not flagged.
func (c *riskCheck) judge(rules *riskRulesCache, caller, place int) *Risk {
	reasons := rules.rules.Judge(RiskFacts{Text: c.text, Category: c.cat, CallerClues: caller, PlaceClues: place})
	if len(reasons) == 0 {
		return nil
	}
	return &Risk{Reasons: reasons}
}

// flagRisks marks the clues just taken in that the rules flagged (jobs,
// in the batch's order, each with its risk), and their whistles,
// high-risk, in the intake transaction q: each whistle is at least
// priority, with the deadlines still ahead tightened to the category's
// fastest (Policies.RiskPolicy, Tighten); its trail says why, and each job
// gets its whistle.risk or whistle.escalated event (with the whistle's
// summary just after its step) and its clue.risk event, and riskWhistle
// set. It takes one round trip for the batch: every whistle's update and
// trail rows, each followed by its summary. What it starts from needs no
// read: whistle_intake_batch locked each whistle it joined and raised, and
// latest holds each one's summary after its last step of the batch; pol
// holds the deadlines of the batch's categories. The clues' own risk
// column is written by the statement clueRisks returns, sent with the
// events.
func flagRisks(ctx context.Context, q batchTx, jobs []*intakeJob, latest map[int64]Summary, pol Policies) error {
	type state struct {
		grade    Grade
		ri, rs   time.Time
		category string
	}
	whistles := map[int64]*state{}
	b := &pgx.Batch{}
	sums := make([]Summary, len(jobs))
	escalated := make([]Grade, len(jobs)) // the grade before, when the flag raised it
	notes := make([]string, len(jobs))
	for i, j := range jobs {
		if j.whistleID == 0 {
			continue
		}
		st := whistles[j.whistleID]
		if st == nil {
			w, ok := latest[j.whistleID]
			if !ok {
				return fault.Errorf(ErrNotFound, "no whistle %d in the batch", j.whistleID)
			}
			st = &state{grade: w.Grade, ri: w.ReportInDue, rs: w.ResolveDue, category: w.Category}
			whistles[j.whistleID] = st
		}
		notes[i] = "风险研判：" + strings.Join(j.risk.Reasons, "；")
		if _, ok := pol.Categories[st.category]; !ok { // not the clue's category after all
			more, err := loadPolicies(ctx, q, st.category)
			if err != nil {
				return err
			}
			maps.Copy(pol.Categories, more.Categories)
		}
		to, esc := st.grade, 0
		if st.grade.Rank() < Priority.Rank() {
			to, esc = Priority, 1
			escalated[i] = st.grade
		}
		st.ri, st.rs = Tighten(j.now.Truncate(time.Microsecond), st.ri, st.rs, pol.RiskPolicy(st.category))
		st.grade = to
		reasons, _ := json.Marshal(j.risk.Reasons)
		b.Queue(flagWhistle, j.whistleID, reasons, string(to), st.ri, st.rs, esc, j.now)
		args, err := trailArgs(j.whistleID, 0, "system", "risk", 0, notes[i], map[string]any{"clue_id": j.clueID, "reasons": j.risk.Reasons}, j.now)
		if err != nil {
			return err
		}
		b.Queue(trailInsert, args...)
		if esc == 1 {
			if args, err = trailArgs(j.whistleID, 0, "system", "escalate", 0, notes[i], map[string]any{"from": escalated[i], "to": to}, j.now); err != nil {
				return err
			}
			b.Queue(trailInsert, args...)
		}
		b.Queue(summaryByID, j.whistleID).QueryRow(func(r pgx.Row) error {
			w, err := scanSummaryOf(r, j.whistleID)
			sums[i] = w
			return err
		})
	}
	if b.Len() > 0 {
		if err := q.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("whistle: risk: %w", err)
		}
	}
	for i, j := range jobs {
		if j.whistleID != 0 {
			kind := "whistle.risk"
			extra := map[string]any{"clue_id": j.clueID, "reasons": j.risk.Reasons, "actor": "system"}
			if escalated[i] != "" {
				kind = "whistle.escalated"
				extra["from"], extra["to"], extra["reason"] = escalated[i], Priority, notes[i]
			}
			j.ev.addWhistle(kind, sums[i], extra)
			w := sums[i]
			j.riskWhistle = &w
		}
		p := map[string]any{"clue_id": j.clueID, "clue": j.clue, "reasons": j.risk.Reasons}
		if j.whistleID != 0 {
			p["whistle_id"] = j.whistleID
		}
		j.ev.add("clue.risk", j.township, p)
	}
	return nil
}

// flagWhistle flags whistle $1 high-risk: its risk's reasons get those of
// $2 (a JSON array) that it lacks, in their order, after its own; its
// grade and deadlines become $3, $4 and $5, its escalations grow by $6,
// and it was updated at $7.
const flagWhistle = `UPDATE whistles w SET risk = jsonb_build_object('reasons', coalesce(w.risk->'reasons', '[]') || coalesce(
		(SELECT jsonb_agg(x.r ORDER BY x.n) FROM (SELECT DISTINCT ON (e.r) e.r, e.n FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY e.r, e.n) x
		WHERE NOT coalesce(w.risk->'reasons', '[]') @> jsonb_build_array(x.r)), '[]')),
	grade = $3, report_in_due = $4, resolve_due = $5, escalations = w.escalations + $6, updated_at = $7
WHERE w.id = $1`

// batchTx is a connection or transaction that also takes batches.
type batchTx interface {
	dbtx
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// clueRisks is the statement that writes the flagged clues' risk column,
// one statement for the batch, and its arguments.
func clueRisks(jobs []*intakeJob) (string, []any) {
	ids, risks := make([]int64, len(jobs)), make([]string, len(jobs))
	for i, j := range jobs {
		b, _ := json.Marshal(j.risk)
		ids[i], risks[i] = j.clueID, string(b)
	}
	return `UPDATE clues c SET risk = x.risk::jsonb FROM unnest($1::bigint[], $2::text[]) AS x(id, risk) WHERE c.id = x.id`, []any{ids, risks}
}

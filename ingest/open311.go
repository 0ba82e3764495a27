package ingest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// Open311 constants.
const (
	// Specification is the token of GeoReport v2 in the discovery document.
	Specification = "http://wiki.open311.org/GeoReport_v2"
	// Changeset is when the Open311 mapping (services, definitions) last
	// changed, sortable as the discovery spec asks. Bump it when the
	// category tree or this mapping changes so clients refresh.
	Changeset = "2026-11-25 00:00"
	// VillageDays is how long a request no whistle took stays open: the
	// village handles it, reports no closing back, and after the routine
	// resolve period (7 days) it counts as closed.
	VillageDays = 7
)

// Text is an optional string: JSON null when empty (the spec's JSON
// examples show empty fields as null), an empty element in XML.
type Text string

// MarshalJSON writes null for an empty Text.
func (t Text) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(t))
}

// Discovery is the service discovery document.
type Discovery struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
	// Paging documents how GET requests pages (not a field of the spec:
	// clients that do not know it ignore it).
	Paging Paging `json:"paging" xml:"paging"`
}

// Paging is how GET requests pages its answer: page (from 1) and
// page_size, newest first, ties by service_request_id, within at most 90
// days; a page_size above the maximum is a 400.
type Paging struct {
	Parameters      string `json:"parameters" xml:"parameters"`
	DefaultPageSize int    `json:"default_page_size" xml:"default_page_size"`
	MaxPageSize     int    `json:"max_page_size" xml:"max_page_size"`
	Order           string `json:"order" xml:"order"`
	MaxDays         int    `json:"max_days" xml:"max_days"`
}

// Endpoint is one API endpoint of the discovery document.
type Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"` // production or test
	Formats       []string `json:"formats" xml:"formats>format"`
}

// NewDiscovery is the discovery document of the GeoReport v2 endpoint at
// url (e.g. https://host/open311/v2), which answers XML and JSON.
func NewDiscovery(url string) Discovery {
	return Discovery{
		Changeset:  Changeset,
		Contact:    "延庆区城市服务管理指挥中心 (the district command center) runs this endpoint; ask it for help with the API.",
		KeyService: "API keys for posting service requests are issued by 延庆区城市服务管理指挥中心 (the district command center). Reading needs no key.",
		Endpoints: []Endpoint{{
			Specification: Specification, URL: url, Changeset: Changeset, Type: "production",
			Formats: []string{"text/xml", "application/json"},
		}},
		Paging: Paging{
			Parameters:      "page (from 1), page_size; a page with more after it has a Link header rel=next to the next one",
			DefaultPageSize: DefaultPageSize, MaxPageSize: MaxPageSize,
			Order:   "requested_datetime descending, then service_request_id descending",
			MaxDays: int(MaxSpan / (24 * time.Hour)),
		},
	}
}

// Service is a request type: a leaf category.
type Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	Code        string   `json:"service_code" xml:"service_code"`
	Name        string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"` // always false: no service has attributes
	Type        string   `json:"type" xml:"type"`         // always realtime: the id comes back at once
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"` // the parent category's name
}

// ServiceDefinition is a service's extra form fields. Every service here
// has none: the definition answers with an empty attribute list.
type ServiceDefinition struct {
	XMLName    xml.Name    `json:"-" xml:"service_definition"`
	Code       string      `json:"service_code" xml:"service_code"`
	Attributes []Attribute `json:"attributes" xml:"attributes>attribute"`
}

// Attribute is one form field of a service definition.
type Attribute struct {
	Variable            bool             `json:"variable" xml:"variable"`
	Code                string           `json:"code" xml:"code"`
	Datatype            string           `json:"datatype" xml:"datatype"`
	Required            bool             `json:"required" xml:"required"`
	DatatypeDescription Text             `json:"datatype_description" xml:"datatype_description"`
	Order               int              `json:"order" xml:"order"`
	Description         string           `json:"description" xml:"description"`
	Values              []AttributeValue `json:"values" xml:"values>value"`
}

// AttributeValue is one option of a list attribute.
type AttributeValue struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// ServiceRequest is a clue as Open311 shows it. No reporter data.
type ServiceRequest struct {
	XMLName           xml.Name            `json:"-" xml:"request"`
	ID                string              `json:"service_request_id" xml:"service_request_id"` // the clue id
	Status            string              `json:"status" xml:"status"`                         // open or closed
	StatusNotes       Text                `json:"status_notes" xml:"status_notes"`
	ServiceName       string              `json:"service_name" xml:"service_name"`
	ServiceCode       string              `json:"service_code" xml:"service_code"`
	Description       Text                `json:"description" xml:"description"`
	AgencyResponsible Text                `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     Text                `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string              `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string              `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  Text                `json:"expected_datetime" xml:"expected_datetime"`
	Address           Text                `json:"address" xml:"address"`
	AddressID         Text                `json:"address_id" xml:"address_id"`
	Zipcode           Text                `json:"zipcode" xml:"zipcode"`
	Lat               float64             `json:"lat" xml:"lat"`   // WGS-84
	Long              float64             `json:"long" xml:"long"` // WGS-84
	MediaURL          Text                `json:"media_url" xml:"media_url"`
	Extended          *ExtendedAttributes `json:"extended_attributes,omitempty" xml:"extended_attributes,omitempty"`
}

// ExtendedAttributes are the platform's own fields of a request (the
// GeoReport v2 "extended attributes" extension).
type ExtendedAttributes struct {
	GridCode  string   `json:"grid_code" xml:"grid_code"` // the household grid
	Source    string   `json:"source" xml:"source"`       // patrol, hotline, app, forum, hotspot, sensor
	Grade     Text     `json:"grade" xml:"grade"`         // the whistle's grade, null without whistle
	WhistleID *int64   `json:"whistle_id" xml:"whistle_id,omitempty"`
	Ratings   *Ratings `json:"ratings" xml:"ratings,omitempty"` // the lead unit's, once rated
}

// Ratings are the three ratings (一哨三评) the township gave the lead unit, 1–5.
type Ratings struct {
	ReportedIn int `json:"reported_in" xml:"reported_in"`
	Resolved   int `json:"resolved" xml:"resolved"`
	Satisfied  int `json:"satisfied" xml:"satisfied"`
}

// RequestCreated answers POST requests.
type RequestCreated struct {
	XMLName       xml.Name `json:"-" xml:"request"`
	ID            string   `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice Text     `json:"service_notice" xml:"service_notice"`
	AccountID     Text     `json:"account_id" xml:"account_id"`
}

// Open311Error is one error of the spec's error answer.
type Open311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

// Open311 answers Open311 GeoReport v2 from the categories and clues, and
// takes posted requests in as clues.
type Open311 struct {
	pool     *pgxpool.Pool
	grids    *grid.Store
	whistles *whistle.Store
	now      func() time.Time
	gaz      func(context.Context) (*Gazetteer, error)
}

// Open311Options tunes Open311.
type Open311Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Gazetteer places a request sent with address_string only (e.g.
	// Importer.Gazetteer); nil refuses such a request.
	Gazetteer func(context.Context) (*Gazetteer, error)
}

// NewOpen311 returns the Open311 reader on pool. whistles takes posted
// requests in; nil makes Submit ErrUnavailable.
func NewOpen311(pool *pgxpool.Pool, whistles *whistle.Store, opts Open311Options) *Open311 {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Open311{pool: pool, grids: grid.NewStore(pool), whistles: whistles, now: opts.Now, gaz: opts.Gazetteer}
}

// Services lists the leaf categories as services, by code.
func (o *Open311) Services(ctx context.Context) ([]Service, error) {
	roots, err := o.grids.Categories(ctx)
	if err != nil {
		return nil, err
	}
	out := []Service{}
	var walk func(c *grid.Category, path []*grid.Category)
	walk = func(c *grid.Category, path []*grid.Category) {
		if len(c.Children) > 0 {
			for _, ch := range c.Children {
				walk(ch, append(path, c))
			}
			return
		}
		out = append(out, service(c, path))
	}
	for _, r := range roots {
		walk(r, nil)
	}
	return out, nil
}

// service describes a leaf category under its ancestors path (root first).
func service(c *grid.Category, path []*grid.Category) Service {
	var names, keywords []string
	for _, p := range path {
		names = append(names, p.Name)
		keywords = append(keywords, p.Name)
	}
	names = append(names, c.Name)
	keywords = append(keywords, c.Code)
	s := Service{
		Code: c.Code, Name: c.Name, Type: "realtime", Keywords: strings.Join(keywords, ", "),
		Description: fmt.Sprintf("%s。默认%s：%s内报到，%s内解决。", strings.Join(names, " › "), gradeName(c.DefaultGrade),
			minutes(c.ReportInMinutes), minutes(c.ResolveMinutes)),
	}
	if len(path) > 0 {
		s.Group = path[len(path)-1].Name
	}
	return s
}

// minutes writes a duration in minutes the way a deadline is said: days
// from two days up, else hours, else minutes.
func minutes(m int) string {
	switch {
	case m >= 2*24*60 && m%(24*60) == 0:
		return strconv.Itoa(m/(24*60)) + " 天"
	case m%60 == 0:
		return strconv.Itoa(m/60) + " 小时"
	}
	return strconv.Itoa(m) + " 分钟"
}

func gradeName(g string) string {
	switch whistle.Grade(g) {
	case whistle.Priority:
		return "重点哨"
	case whistle.Hard:
		return "疑难哨"
	}
	return "普通哨"
}

// ServiceDefinition is the definition of service code, with no
// attributes; an unknown code, or one of a group, is ErrNotFound.
func (o *Open311) ServiceDefinition(ctx context.Context, code string) (ServiceDefinition, error) {
	if err := o.checkService(ctx, code); err != nil {
		return ServiceDefinition{}, err
	}
	return ServiceDefinition{Code: code, Attributes: []Attribute{}}, nil
}

// checkService reports ErrNotFound unless code is a leaf category.
func (o *Open311) checkService(ctx context.Context, code string) error {
	var leaf bool
	err := o.pool.QueryRow(ctx, `
		SELECT NOT EXISTS (SELECT 1 FROM categories ch WHERE ch.parent_id = c.id) FROM categories c WHERE c.code = $1`, code).Scan(&leaf)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Errorf(ErrNotFound, "service_code %s not found (see services.json)", code)
	}
	if err != nil {
		return fmt.Errorf("ingest: service: %w", err)
	}
	if !leaf {
		return fault.Errorf(ErrNotFound, "%s is a group of services, not a service (see services.json)", code)
	}
	return nil
}

// requestQuery reads clues as service requests. $1 is the moment before
// which a clue no whistle took counts as closed (now - VillageDays).
const requestQuery = `
SELECT c.id, c.source, cat.code, cat.name, c.text, ST_X(c.location), ST_Y(c.location),
	c.reported_at, greatest(c.reported_at, c.received_at),
	hg.code, v.name, t.name, d.name,
	w.id, w.status, w.grade, w.resolve_due, w.closed_at, w.outcome,
	greatest(c.received_at, w.updated_at, (SELECT max(e.at) FROM whistle_events e WHERE e.whistle_id = w.id)),
	ARRAY(SELECT u.name FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = w.id AND s.role = 'lead' ORDER BY u.code),
	r.rating_reported_in, r.rating_resolved, r.rating_satisfied,
	` + statusExpr + `, coalesce(c.media_url, '')
FROM ` + requestClues + `
JOIN categories cat ON cat.id = c.category_id
JOIN grids hg ON hg.id = c.grid_id
JOIN grids v ON v.id = hg.parent_id
JOIN grids t ON t.id = c.township_id
JOIN grids d ON d.id = t.parent_id
LEFT JOIN whistles w ON w.id = c.whistle_id
LEFT JOIN LATERAL (
	SELECT s.rating_reported_in, s.rating_resolved, s.rating_satisfied
	FROM summons s JOIN units u ON u.id = s.unit_id
	WHERE s.whistle_id = w.id AND s.role = 'lead' AND s.rated_at IS NOT NULL
	ORDER BY u.code LIMIT 1
) r ON true
WHERE `

// requestClues is the FROM item of requestQuery: every clue. Requests
// replaces it with its page of clue ids, joined to clues by the primary
// key, so the joins and subqueries run for that page only.
const requestClues = "clues c"

// statusExpr is a request's Open311 status: a clue in a whistle follows
// the whistle; a clue in none is closed VillageDays after it was reported.
const statusExpr = `(CASE WHEN w.id IS NOT NULL THEN CASE WHEN w.status = 'closed' THEN 'closed' ELSE 'open' END
	WHEN c.reported_at <= $1 THEN 'closed' ELSE 'open' END)`

// statusWhere selects the clues of one Open311 status, as statusExpr
// computes it ($1 is the same instant), in a form the indexes answer: the
// open ones are the few clues of the last VillageDays in no whistle (the
// index on reported_at) and those of the open whistles (read once from
// the partial index whistles_open_due_idx, then clues_whistle_idx); the
// closed ones are nearly every row, so a scan newest first stops early,
// checking each clue's whistle by its primary key. No further index is
// needed: status=closed took 980 ms because statusExpr was computed with
// the whole request for every clue the page skipped or refused (see
// Requests), and status=open because its rows are few and scattered.
var statusWhere = map[string]string{
	"open": `((c.whistle_id IS NULL AND c.reported_at > $1)
	OR c.whistle_id = ANY(ARRAY(SELECT ow.id FROM whistles ow WHERE ow.status <> 'closed')))`,
	"closed": `((c.whistle_id IS NULL AND c.reported_at <= $1)
	OR EXISTS (SELECT 1 FROM whistles cw WHERE cw.id = c.whistle_id AND cw.status = 'closed'))`,
}

// requestRow is one row of requestQuery.
type requestRow struct {
	id                                int64
	source, code, name, text          string
	lon, lat                          float64
	reportedAt, receivedAt            time.Time
	gridCode, village, township, dist string
	whistleID                         *int64
	status, grade                     *string
	resolveDue, closedAt              *time.Time
	outcome                           *string
	whistleUpdated                    time.Time
	leads                             []string
	rIn, rRes, rSat                   *int
	open311Status                     string // statusExpr
	mediaURL                          string
}

func scanRequest(r pgx.Row) (requestRow, error) {
	var q requestRow
	err := r.Scan(&q.id, &q.source, &q.code, &q.name, &q.text, &q.lon, &q.lat, &q.reportedAt, &q.receivedAt,
		&q.gridCode, &q.village, &q.township, &q.dist,
		&q.whistleID, &q.status, &q.grade, &q.resolveDue, &q.closedAt, &q.outcome, &q.whistleUpdated, &q.leads,
		&q.rIn, &q.rRes, &q.rSat, &q.open311Status, &q.mediaURL)
	return q, err
}

// Requests lists page f.Page of the service requests f selects, newest
// first, ties by id descending (a stable order), f.PageSize a page
// (DefaultPageSize when 0); more reports that a next page has rows.
//
// The page is an OFFSET, as the page= convention is, inside at most 90
// days (MaxSpan). It is chosen first on clues alone (statusWhere,
// the index on (reported_at, id)), and only its rows get the joins and
// subqueries of a request (requestQuery): an OFFSET computes every row it
// skips, so with the whole query page 20 cost 12× page 1.
func (o *Open311) Requests(ctx context.Context, f RequestFilter) (out []ServiceRequest, more bool, err error) {
	now := o.now()
	args := []any{now.Add(-VillageDays * 24 * time.Hour)}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var conds []string
	if len(f.IDs) > 0 {
		conds = append(conds, "c.id = ANY("+arg(f.IDs)+")")
	} else {
		conds = append(conds, "c.reported_at >= "+arg(f.Start), "c.reported_at <= "+arg(f.End))
		if len(f.ServiceCodes) > 0 {
			conds = append(conds, "c.category_id IN (SELECT sc.id FROM categories sc WHERE sc.code = ANY("+arg(f.ServiceCodes)+"))")
		}
		if len(f.Statuses) == 1 {
			conds = append(conds, statusWhere[f.Statuses[0]])
		}
	}
	if f.PageSize == 0 {
		f.Page, f.PageSize = 1, DefaultPageSize
	}
	const order = " ORDER BY c.reported_at DESC, c.id DESC"
	page := "(SELECT c.id FROM clues c WHERE " + strings.Join(conds, " AND ") + order +
		" LIMIT " + arg(f.PageSize+1) + " OFFSET " + arg((f.Page-1)*f.PageSize) + ") page JOIN clues c ON c.id = page.id"
	q := strings.Replace(requestQuery, "FROM "+requestClues+"\n", "FROM "+page+"\n", 1) + "true" + order
	rows, err := o.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("ingest: requests: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (requestRow, error) { return scanRequest(r) })
	if err != nil {
		return nil, false, fmt.Errorf("ingest: requests: %w", err)
	}
	if len(got) > f.PageSize {
		got, more = got[:f.PageSize], true
	}
	out = make([]ServiceRequest, len(got))
	for i, r := range got {
		out[i] = r.request()
	}
	return out, more, nil
}

// Request is one service request; an unknown id is ErrNotFound.
func (o *Open311) Request(ctx context.Context, id int64) (ServiceRequest, error) {
	now := o.now()
	r, err := scanRequest(o.pool.QueryRow(ctx, requestQuery+"c.id = $2", now.Add(-VillageDays*24*time.Hour), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ServiceRequest{}, fault.Errorf(ErrNotFound, "service_request_id %d not found", id)
	}
	if err != nil {
		return ServiceRequest{}, fmt.Errorf("ingest: request: %w", err)
	}
	return r.request(), nil
}

// request maps a row to Open311.
func (r requestRow) request() ServiceRequest {
	sr := ServiceRequest{
		ID:          strconv.FormatInt(r.id, 10),
		ServiceName: r.name, ServiceCode: r.code, Description: Text(r.text),
		RequestedDatetime: w3Time(r.reportedAt),
		// Chinese addresses run from the largest unit to the smallest.
		Address: Text(r.dist + " " + r.township + " " + r.village),
		Lat:     round6(r.lat), Long: round6(r.lon), MediaURL: Text(r.mediaURL),
		Extended: &ExtendedAttributes{GridCode: r.gridCode, Source: r.source, WhistleID: r.whistleID},
	}
	if r.rIn != nil && r.rRes != nil && r.rSat != nil {
		sr.Extended.Ratings = &Ratings{ReportedIn: *r.rIn, Resolved: *r.rRes, Satisfied: *r.rSat}
	}
	if r.whistleID == nil {
		sr.AgencyResponsible = Text(r.township)
		sr.ServiceNotice = Text(fmt.Sprintf("由%s（%s）就地处置", r.village, r.township))
		closesAt := r.reportedAt.Add(VillageDays * 24 * time.Hour)
		sr.ExpectedDatetime = Text(w3Time(closesAt))
		if r.open311Status == "open" {
			sr.Status = "open"
			sr.StatusNotes = Text(fmt.Sprintf("已交%s就地处置", r.village))
			sr.UpdatedDatetime = w3Time(r.receivedAt)
		} else {
			sr.Status = "closed"
			sr.StatusNotes = Text(fmt.Sprintf("%s就地处置，未吹哨；受理满 %d 天视为办结", r.village, VillageDays))
			sr.UpdatedDatetime = w3Time(closesAt)
		}
		return sr
	}
	grade := deref(r.grade)
	sr.Extended.Grade = Text(grade)
	leads := strings.Join(r.leads, "、")
	if leads == "" {
		leads = r.township
	}
	sr.AgencyResponsible = Text(leads)
	sr.UpdatedDatetime = w3Time(r.whistleUpdated)
	if r.resolveDue != nil {
		sr.ExpectedDatetime = Text(w3Time(*r.resolveDue))
		sr.ServiceNotice = Text(fmt.Sprintf("%s已吹哨（%s），由%s牵头处置，应于 %s 前解决", r.township, gradeName(grade), leads,
			r.resolveDue.In(geo.Beijing).Format("2006-01-02 15:04")))
	}
	switch whistle.Status(deref(r.status)) {
	case whistle.Closed:
		sr.Status = "closed"
		sr.StatusNotes = Text("已结案：" + outcomeName(deref(r.outcome)))
		if r.closedAt != nil {
			sr.UpdatedDatetime = w3Time(*r.closedAt)
		}
	case whistle.AwaitingApproval:
		sr.Status = "open"
		sr.StatusNotes = Text(fmt.Sprintf("部门已办结，等待%s审核结案", r.township))
	case whistle.InProgress:
		sr.Status = "open"
		sr.StatusNotes = "部门已报到，正在处置"
	default:
		sr.Status = "open"
		sr.StatusNotes = Text(fmt.Sprintf("已吹哨（%s），等待部门报到", gradeName(grade)))
	}
	return sr
}

func outcomeName(o string) string {
	switch whistle.Outcome(o) {
	case whistle.Resolved:
		return "已解决"
	case whistle.Partly:
		return "部分解决"
	case whistle.Unresolved:
		return "未解决"
	}
	return o
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// round6 keeps 6 decimals (about 0.1 m) of a coordinate.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// Submit takes a checked submission from client k in as a clue of source
// app at its WGS-84 point, through the whistle intake (so the rules may
// raise a whistle), by the command-center scope "open311:"+k.Name. The
// same form from the same client again returns the stored request with
// created false and changes nothing.
func (o *Open311) Submit(ctx context.Context, k APIKey, s Submission) (res RequestCreated, created bool, err error) {
	if o.whistles == nil {
		return res, false, fault.Errorf(ErrUnavailable, "the placement index is not loaded")
	}
	if err := o.checkService(ctx, s.ServiceCode); err != nil {
		return res, false, err
	}
	lon, lat := s.Long, s.Lat
	atVillage := false
	if s.Address != "" {
		if o.gaz == nil {
			return res, false, invalid("lat", "location required: lat and long (address_string is not placed here)")
		}
		g, err := o.gaz(ctx)
		if err != nil {
			return res, false, err
		}
		m := g.Match(s.Address, "", "")
		switch m.Precision {
		case PrecisionHousehold, PrecisionPlace, PrecisionVillage:
			lon, lat, atVillage = m.Point[0], m.Point[1], m.Precision == PrecisionVillage
		default:
			return res, false, invalid("address_string", "address_string %q cannot be placed finer than a township (%s): send lat and long", s.Address, m.Reason)
		}
	}
	in := whistle.ClueInput{
		Source: "app", ExternalID: ExternalID(k, s), Category: s.ServiceCode, Text: s.Description,
		Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: o.now().Format(time.RFC3339), MediaURL: s.MediaURL, AtVillage: atVillage,
	}
	if name := ReporterName(s.LastName, s.FirstName); name != "" || s.Phone != "" {
		in.Reporter = &whistle.Reporter{Name: name, Phone: s.Phone}
	}
	got, err := o.whistles.Intake(ctx, access.Scope{Role: access.RoleCommand, Username: "open311:" + k.Name}, in)
	if err != nil {
		return res, false, fromWhistle(err)
	}
	req, err := o.Request(ctx, got.Clue.ID)
	if err != nil {
		return res, false, err
	}
	return RequestCreated{ID: req.ID, ServiceNotice: req.ServiceNotice, AccountID: Text(s.AccountID)}, !got.Existing, nil
}

// fromWhistle names an intake field error by the Open311 field the client
// sent.
func fromWhistle(err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Field == "" {
		return err
	}
	field := fe.Field
	switch fe.Field {
	case "lon", "lat":
		field = "lat"
	case "category":
		field = "service_code"
	case "text":
		field = "description"
	case "reporter.phone":
		field = "phone"
	case "reporter.name":
		field = "last_name"
	}
	return invalid(field, "%s", fe.Message)
}

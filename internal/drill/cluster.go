package drill

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// clusterView is Patroni's GET /cluster: each member's role (leader,
// sync_standby, replica) and state (running, stopped, starting, ...).
type clusterView struct {
	Members []struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		State    string `json:"state"`
		Timeline int    `json:"timeline"`
	} `json:"members"`
}

// cluster asks the members' REST APIs in turn for the cluster's state.
func (d *Drill) cluster() (clusterView, error) {
	var errs []error
	for _, m := range d.members {
		var c clusterView
		err := getJSON(fmt.Sprintf("http://127.0.0.1:%d/cluster", m.RestPort), &c)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return clusterView{}, errors.Join(errs...)
}

func (c clusterView) role(name string) string {
	for _, m := range c.Members {
		if m.Name == name {
			return m.Role
		}
	}
	return ""
}

func (c clusterView) state(name string) string {
	for _, m := range c.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// leader is the member that holds the leader key with PostgreSQL running,
// or "".
func (c clusterView) leader() string {
	for _, m := range c.Members {
		if m.Role == "leader" && m.State == "running" {
			return m.Name
		}
	}
	return ""
}

func (d *Drill) member(name string) *member {
	for _, m := range d.members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// streamingStandby reports whether the primary that HAProxy reaches has
// name as a streaming standby (pg_stat_replication: Patroni sets each
// member's application_name to its name), and that standby's sync_state.
func (d *Drill) streamingStandby(ctx context.Context, name string) (bool, string, error) {
	conn, err := d.primary(ctx)
	if err != nil {
		return false, "", err
	}
	defer conn.Close(context.Background())
	var state, sync string
	err = conn.QueryRow(ctx, `SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1`, name).Scan(&state, &sync)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return state == "streaming", sync, nil
}

// haproxyUp reports which servers of HAProxy's proxy px its health checks
// count up, from `show stat` on its stats socket.
func (d *Drill) haproxyUp(px string) (map[string]bool, error) {
	conn, err := net.DialTimeout("unix", filepath.Join(d.cfg.Dir, "haproxy.sock"), time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	return parseStat(string(b), px)
}

// parseStat reads HAProxy's `show stat` CSV: the status (UP, DOWN, ...)
// of each server of proxy px.
func parseStat(text, px string) (map[string]bool, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("drill: show stat: %w", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("drill: show stat: empty")
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	pi, si, st := col["pxname"], col["svname"], col["status"]
	if st == 0 {
		return nil, errors.New("drill: show stat: no status column")
	}
	up := map[string]bool{}
	for _, rec := range recs[1:] {
		if len(rec) <= st || rec[pi] != px || rec[si] == "FRONTEND" || rec[si] == "BACKEND" {
			continue
		}
		up[rec[si]] = strings.HasPrefix(rec[st], "UP")
	}
	return up, nil
}

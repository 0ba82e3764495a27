package drill

import (
	"context"
	"errors"
	"fmt"

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

package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// attempt is one POST /api/v1/clues and what came of it.
type attempt struct {
	id     string    // the clue's external_id
	sent   time.Time // when the request left
	done   time.Time // when the answer (or the error) came
	status int       // 0: no answer
	server string    // the instance that answered (HAProxy's X-Drill-Server)
	err    string    // why there was no answer
}

// intake is the drill's clue clients: each posts clues with ids of its
// own, and sends a clue again, the same body, until it is answered 201 or
// 200 (or refused with a 4xx that a repeat cannot change).
type intake struct {
	url   string // HAProxy's web front
	token string
	runID string
	pts   [][2]float64
	cats  []string

	mu       sync.Mutex
	attempts []attempt
}

func (in *intake) record(a attempt) {
	in.mu.Lock()
	in.attempts = append(in.attempts, a)
	in.mu.Unlock()
}

// snapshot is a copy of the attempts so far.
func (in *intake) snapshot() []attempt {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]attempt(nil), in.attempts...)
}

// client k starts a new clue every interval until load is done, and
// retries each until it is acknowledged or hard is done.
func (in *intake) client(load, hard context.Context, k int, every time.Duration) {
	rnd := rand.New(rand.NewPCG(uint64(k), uint64(time.Now().UnixNano())))
	// a client of its own, as eight separate clients would have
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-load.Done():
			return
		case <-tick.C:
		}
		id := fmt.Sprintf("drill-%s-%d-%d", in.runID, k, n)
		p := in.pts[rnd.IntN(len(in.pts))]
		body, _ := json.Marshal(map[string]any{
			"source": "hotline", "external_id": id, "category": in.cats[rnd.IntN(len(in.cats))],
			"text": "故障演练线索", "lon": p[0], "lat": p[1], "reported_at": time.Now().Format(time.RFC3339),
		})
		backoff := 100 * time.Millisecond
		for {
			a := in.post(hard, hc, id, body)
			in.record(a)
			if acked(a.status) || refused(a.status) || hard.Err() != nil {
				break
			}
			select {
			case <-hard.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}
}

func (in *intake) post(ctx context.Context, hc *http.Client, id string, body []byte) attempt {
	a := attempt{id: id, sent: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, in.url+"/api/v1/clues", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+in.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		a.done, a.err = time.Now(), err.Error()
		return a
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.done, a.status, a.server = time.Now(), resp.StatusCode, resp.Header.Get("X-Drill-Server")
	return a
}

// acked: the server stored the clue (201) or already had it (200).
func acked(status int) bool { return status == http.StatusCreated || status == http.StatusOK }

// refused: a 4xx that sending the same body again cannot change.
func refused(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

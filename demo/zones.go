package demo

import (
	"math"
	"math/rand/v2"
	"sort"
)

// place is a grid seen from its parent: its code and a point of it
// (lon/lat, SRID 4326).
type place struct {
	code     string
	lon, lat float64
}

// Zone sizes, in villages: the cut aims at runs of minRun..maxRun; a zone
// never has more than maxZone, and only a township of one village has a
// zone of one.
const (
	minRun  = 3
	maxRun  = 6
	maxZone = 8
)

// groupZones cuts the villages of one township into zones of neighbouring
// villages. It walks the villages in order of angle around the township's
// centre (cx, cy), starting after the widest gap so a natural cluster is
// not split, and grows each zone from the first village not yet taken
// through villages that share an edge with it (adjacent), preferring the
// next one in that order, up to a run length of 3–6. Villages left over, and
// zones of one, join a neighbouring zone. A township of up to 8 villages is
// one zone. It returns the village codes of each zone, in order.
func groupZones(villages []place, adjacent map[string][]string, cx, cy float64, r *rand.Rand) [][]string {
	ring := angularOrder(villages, cx, cy)
	n := len(ring)
	if n <= maxZone {
		if n == 0 {
			return nil
		}
		return [][]string{ring}
	}
	pos := make(map[string]int, n)
	for i, c := range ring {
		pos[c] = i
	}
	zoneOf := make(map[string]int, n)
	var zones [][]string
	neighbours := func(z []string) []string {
		var out []string
		seen := map[string]bool{}
		for _, m := range z {
			for _, a := range adjacent[m] {
				if _, taken := zoneOf[a]; !taken && !seen[a] {
					if _, ok := pos[a]; ok {
						seen[a] = true
						out = append(out, a)
					}
				}
			}
		}
		// the next village along the ring first
		sort.Slice(out, func(i, j int) bool { return pos[out[i]] < pos[out[j]] })
		return out
	}
	for _, size := range runLengths(n, r) {
		start := ""
		for _, c := range ring {
			if _, taken := zoneOf[c]; !taken {
				start = c
				break
			}
		}
		if start == "" {
			break
		}
		z := []string{start}
		zoneOf[start] = len(zones)
		for len(z) < size {
			next := neighbours(z)
			if len(next) == 0 {
				break
			}
			z = append(z, next[0])
			zoneOf[next[0]] = len(zones)
		}
		zones = append(zones, z)
	}
	// leftovers: each joins the smallest adjacent zone with room, else
	// starts a zone of its own
	for _, c := range ring {
		if _, taken := zoneOf[c]; taken {
			continue
		}
		if best := smallestZoneAround(c, adjacent, zoneOf, zones, -1); best >= 0 {
			zones[best] = append(zones[best], c)
			zoneOf[c] = best
			continue
		}
		zoneOf[c] = len(zones)
		zones = append(zones, []string{c})
	}
	// zones of one join a neighbour (adjacent if possible, else the next
	// zone along the ring)
	for i := 0; i < len(zones); i++ {
		if len(zones[i]) != 1 {
			continue
		}
		c := zones[i][0]
		best := smallestZoneAround(c, adjacent, zoneOf, zones, i)
		if best < 0 {
			for d := 1; d < len(zones); d++ {
				j := (i + d) % len(zones)
				if len(zones[j]) > 0 && len(zones[j]) < maxZone {
					best = j
					break
				}
			}
		}
		if best < 0 {
			continue
		}
		zones[best] = append(zones[best], c)
		zoneOf[c] = best
		zones[i] = nil
	}
	out := zones[:0]
	for _, z := range zones {
		if len(z) > 0 {
			sort.Slice(z, func(a, b int) bool { return pos[z[a]] < pos[z[b]] })
			out = append(out, z)
		}
	}
	return out
}

// smallestZoneAround is the index of the smallest zone (below maxZone, not
// skip) holding a village adjacent to c, or -1.
func smallestZoneAround(c string, adjacent map[string][]string, zoneOf map[string]int, zones [][]string, skip int) int {
	best := -1
	for _, a := range adjacent[c] {
		j, ok := zoneOf[a]
		if !ok || j == skip || len(zones[j]) == 0 || len(zones[j]) >= maxZone {
			continue
		}
		if best < 0 || len(zones[j]) < len(zones[best]) || (len(zones[j]) == len(zones[best]) && j < best) {
			best = j
		}
	}
	return best
}

// angularOrder sorts the places by angle around (cx, cy), longitude
// stretched so angles are near true at that latitude, and starts the ring
// after the widest gap between neighbours.
func angularOrder(places []place, cx, cy float64) []string {
	type polar struct {
		code  string
		angle float64
	}
	ps := make([]polar, len(places))
	for i, v := range places {
		ps[i] = polar{v.code, math.Atan2(v.lat-cy, (v.lon-cx)*math.Cos(cy*math.Pi/180))}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].angle != ps[j].angle {
			return ps[i].angle < ps[j].angle
		}
		return ps[i].code < ps[j].code
	})
	start, widest := 0, -1.0
	for i := range ps {
		gap := ps[i].angle - ps[(i+len(ps)-1)%len(ps)].angle
		if gap <= 0 {
			gap += 2 * math.Pi
		}
		if gap > widest {
			start, widest = i, gap
		}
	}
	out := make([]string, 0, len(ps))
	for i := range ps {
		out = append(out, ps[(start+i)%len(ps)].code)
	}
	return out
}

// runLengths splits n items into runs of minRun..maxRun that add up to n;
// n of maxZone or less is one run.
func runLengths(n int, r *rand.Rand) []int {
	if n <= maxZone {
		return []int{n}
	}
	var runs []int
	for rem := n; rem > 0; {
		if rem <= maxRun {
			runs = append(runs, rem)
			break
		}
		s := minRun + r.IntN(maxRun-minRun+1)
		if rem-s < minRun {
			s = rem - minRun
		}
		runs = append(runs, s)
		rem -= s
	}
	return runs
}

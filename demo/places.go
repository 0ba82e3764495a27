package demo

import "context"

// insertPlaces writes a plausible set of named places for the gazetteer
// (ingest matches hotline addresses to them): in every township its
// health centre (卫生院), central school (中心小学), police station
// (派出所) and main street (大街), and in every community a compound
// (小区) named after it. Each lies in a household grid of a village of
// its township, on the grid's surface.
func (l *loader) insertPlaces(ctx context.Context) error {
	_, err := l.execTag(ctx, "places", insertPlaces)
	return err
}

const insertPlaces = `
WITH v AS (
    SELECT v.id, v.name, v.kind, left(v.code, 9) AS town_code,
        row_number() OVER (PARTITION BY left(v.code, 9) ORDER BY v.code) AS n,
        count(*) OVER (PARTITION BY left(v.code, 9)) AS total,
        (SELECT ST_PointOnSurface(h.geom) FROM grids h WHERE h.parent_id = v.id AND h.level = 'household' ORDER BY h.code DESC LIMIT 1) AS pt
    FROM grids v WHERE v.level = 'village'
), t AS (
    SELECT id, code, regexp_replace(name, '(镇|乡|街道)$', '') AS short FROM grids WHERE level = 'township'
), landmark(k, suffix, kind) AS (
    VALUES (1, '卫生院', 'landmark'), (2, '中心小学', 'landmark'), (3, '派出所', 'landmark'), (4, '大街', 'road')
)
INSERT INTO places (name, kind, aliases, township_id, village_id, location)
SELECT t.short || landmark.suffix, landmark.kind, '{}'::text[], t.id, v.id, v.pt
FROM t CROSS JOIN landmark
JOIN v ON v.town_code = t.code AND v.n = 1 + (landmark.k * 7) % v.total
WHERE v.pt IS NOT NULL
UNION ALL
SELECT regexp_replace(v.name, '社区$', '') || '小区', 'compound', '{}'::text[], t.id, v.id, v.pt
FROM v JOIN t ON t.code = v.town_code
WHERE v.kind = 'community' AND v.pt IS NOT NULL`

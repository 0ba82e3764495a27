package geo

import "time"

// Beijing is the district's clock: China Standard Time, UTC+8, with no
// daylight saving. Days, ISO weeks and months of statistics, deadlines and
// the hotspot scan are cut in it; SQL uses 'Asia/Shanghai', the same offset.
var Beijing = time.FixedZone("CST", 8*3600)

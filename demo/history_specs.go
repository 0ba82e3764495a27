package demo

import (
	"fmt"
	"strconv"
	"strings"
)

// historyCategories says, for every leaf category, how clues of it arrive
// over a year:
//
//	code|weight|sources|season|hours|place|burst|what people report (；-separated)
//
// weight is its share of the year's clues in per mille (the shares are
// normalised); sources mixes p(atrol), h(otline), a(pp), f(orum) and
// s(ensor) in per cent; season names a seasonal profile (historySeasons),
// hours a daily profile ("" for the source's own rhythm), place a spatial
// weighting of the households (all, urban, rural, mountain), optionally
// with /n: most of its clues recur at n fixed places (a badly heated
// building, a market street, a construction site); burst is how many more
// calls, on average, one incident brings from around the first (an outage
// is reported by many households within the hour).
const historyCategories = `
CM.01.01|4|p80h10a7f3|build|day|all||私自搭建彩钢房；院外违规加盖棚子；楼顶私搭乱建
CM.01.02|60|p74h13a10f3|flat||all||路边堆放生活垃圾无人清理；空地堆积建筑垃圾；垃圾堆散发异味
CM.01.03|12|p70h16a14|summereve|eve|urban/60||商贩占道摆摊卖水果；夜市摊位占用人行道；早市摊点堵塞路口
CM.01.04|45|p78h12a10|flat||all||路面泥土沙石较多；道路落叶未清扫；人行道油污
CM.01.05|7|p70h15a10f5|summer||rural||河道漂浮垃圾；沟渠水面发黑有异味
CM.01.06|14|p78h12a10|summer||urban||绿地内堆放杂物；花坛内有垃圾
CM.01.07|7|p75h15a10|flat||urban||路边长期停放僵尸车；废弃三轮车占用车位
CM.01.08|10|p70h15a10f5|burn|dusk|rural||有人焚烧树叶冒浓烟；田边焚烧秸秆；院外焚烧垃圾
CM.01.09|15|p40h40a20|flat|eve|urban||饭店油烟直排扰民；烧烤店油烟大
CM.02.01|45|p85h8a7|flat|day|urban||墙面张贴小广告；电线杆上喷涂办证广告
CM.02.02|10|p80h12a8|flat|day|urban||店铺违规设置落地广告牌；楼体广告未经审批
CM.02.03|8|p80h12a8|wind|day|urban||广告牌松动有坠落危险；招牌破损
CM.03.01|8|p20h55a25|build|night|urban/40|2|工地夜间施工扰民；工地早上五点开工
CM.03.02|9|p60h15a10s15|dust|day|all/40||工地未苫盖裸土扬尘严重；渣土车进出带泥扬尘
CM.03.03|6|p75h15a10|build|day|all/40||渣土车沿路遗撒；道路上有撒落的砂石
CM.03.04|4|p75h15a10|build|day|all/40||施工围挡占用车道；施工占道未设警示
CM.03.05|1|p80h12a8|build|day|all||有人私自挖掘路面铺管
CM.04.01|2|p50h35a15|storm|storm|all||路面塌陷出现大坑；人行道下沉开裂
CM.04.02|3|p40h45a15|freeze||urban|2|自来水管爆裂路面冒水；小区外水管破裂
CM.04.03|2|p30h50a10s10|winter||urban|1|闻到燃气味疑似燃气泄漏；燃气管线附近有异味
CM.04.04|6|p50h35a15|storm||all|1|下水道堵塞污水外溢；雨水篦子堵塞
CM.04.05|2|p40h45a15|heatleak||urban|2|热力管道破裂冒热气；检查井冒白汽
CM.04.06|6|p40h30a15s15|storm|storm|all|2|路口积水较深车辆无法通行；下凹桥积水
CM.04.07|6|p60h25a15|snow||all/150|1|道路积雪结冰未清理；人行道结冰行人滑倒
CM.04.08|3|p70h15a10f5|winter||all||楼道堆放杂物有火灾隐患；电动车楼道充电
CM.04.09|2|p60h25a15|wind||all||架空线缆垂落；通信线缆断落在路面
CM.05.01|14|p75h13a12|summereve|eve|urban/60||流动商贩沿街叫卖；三轮车卖菜占道
CM.05.02|14|p80h10a10|summer|day|urban/80||商户店外摆放货物；饭店门前摆桌经营
CM.05.03|28|p60h20a15s5|flat|day|urban/80||机动车占用消防通道；车辆停放在人行道上
CM.05.04|12|p80h10a10|flat|day|urban/60||共享单车堆放堵塞通道；电动车乱停放
CM.05.05|8|p60h20a20|summereve|night|urban/40||露天烧烤烟雾大；夜间路边烧烤扰民
CM.05.06|3|p70h20a10|flat|day|urban||有流浪人员在桥下露宿
CM.06.01|4|p60h15a10s15|storm||all||井盖缺失有行人坠落危险；井盖破损下陷
CM.06.02|24|p50h30a20|winter|eve|all||路灯不亮夜间出行不便；一排路灯全部不亮
CM.06.03|15|p70h18a12|thaw|day|all||道路坑洼不平；路面破损出现大坑
CM.06.04|5|p80h12a8|flat|day|all||道路护栏损坏倒伏
CM.06.05|10|p60h25a15|summer||all||公厕无水无法使用；公厕设施损坏
CM.06.06|10|p75h15a10|flat||all||垃圾桶破损；垃圾桶站满溢
CM.07.01|3|p40h40a20|storm|storm|all||大风刮倒树木压住道路；树枝折断悬挂
CM.07.02|5|p80h10a10|summer|day|urban||绿地被踩踏破坏；有人私自毁绿种菜
CM.07.03|1|p80h10f10|flat|day|rural||古树枝干枯死无人养护
CM.07.04|1|p80h10f10|build|day|mountain||林地内私建房屋
CM.07.05|8|p55h10a5f5s25|fire|day|mountain||山上有人上坟烧纸；林区附近有人吸烟用火
CM.08.01|5|p80h12a8|build|day|all||未经审批新建房屋；违法加层
CM.08.02|4|p50h30a10f10|rain||rural||房屋墙体开裂有倒塌危险；雨后院墙倾斜
CM.08.03|3|p70h10f20|build|day|rural||占用耕地建房；违法占地堆放物料
CM.08.04|3|p40h40a20|flat||urban||群租房人员混杂安全隐患
CM.09.01|7|p50h30a20|flat||all||夜间有可疑人员出没；小区门禁损坏
CM.09.02|14|p30h35a10f25|flat||all||邻居占用公共通道引发纠纷；宅基地边界纠纷
CM.09.03|5|p50h30a20|tourist|day|all||黑车在景区门口拉客；无牌照车辆非法营运
HL.01.01|9|p2h68a26f4|heatstart|heat|urban/80|3|家中暖气不热完全不供暖；楼内多户未供暖
HL.01.02|18|p2h68a26f4|heating|heat|urban/80|2|室温只有十二三度；暖气温度不达标；家里老人孩子冻得受不了
HL.01.03|3|p2h68a26f4|heatleak|heat|urban|1|暖气片漏水泡了地板；楼道暖气管道漏水
HL.02.01|7|p2h68a26f4|storm|storm|all|4|小区突然停水没有通知；全村停水一整天
HL.02.02|3|p2h68a26f4|summer||all|2|自来水发黄有异味；水里有沉淀物
HL.02.03|4|p2h68a26f4|summer|eve|urban/40|2|高层水压不足用不上水；早晚用水高峰水压低
HL.03.01|7|p2h68a26f4|storm|storm|all|4|小区停电没有通知；全村停电
HL.03.02|3|p2h68a26f4|hot|eve|all|2|电压不稳家电无法使用；晚上电压低空调打不开
HL.03.03|2|p5h65a25f5|flat||rural||村里电线老化私拉乱接；电线杆倾斜
HL.04.01|2|p2h70a24f4|winter||all|1|楼道内燃气味很重，疑似燃气泄漏；家中燃气表附近漏气
HL.04.02|2|p2h68a26f4|winter||urban|3|小区燃气停气没有通知
HL.04.03|1.5|p2h68a26f4|flat|day|urban||燃气费收费不合理
HL.05.01|40|p2h68a26f4|flat||urban||物业不作为楼道无人打扫；物业乱收费
HL.05.02|4|p2h68a26f4|flat||urban/60|1.5|电梯经常故障困人；电梯停运多日无人维修
HL.05.03|15|p2h68a26f4|flat||urban||楼道灯不亮；单元门损坏
HL.06.01|25|p5h65a30|build|night|urban||工地夜间施工噪音大；凌晨施工机械轰鸣
HL.06.02|20|p5h60a35|summer|night|urban||酒吧音乐声音太大；商铺外放音响扰民
HL.06.03|28|p5h60a35|summer|night|urban||楼上住户深夜噪音；广场舞音响声音过大
HL.07.01|10|p2h60a38|flat|day|all||公交车班次太少；公交站点撤销出行不便
HL.07.02|10|p2h60a38|tourist|day|all||景区周边道路拥堵严重；路口信号灯配时不合理
HL.07.03|20|p2h60a38|flat||urban||小区停车位严重不足；路边停车收费不合理
HL.08.01|30|p5h60a30f5|flat||all||垃圾多日无人清运；垃圾站满溢
HL.08.02|10|p5h60a30f5|flat||all||垃圾分类桶站设置不合理；混装混运
HL.08.03|5|p5h60a35|summer||all||公厕保洁不到位气味难闻
HL.09.01|7|p5h55a20f20|flat||mountain||村里手机信号差打不了电话；山区没有信号
HL.09.02|7|p2h68a30|flat||all||宽带经常断网；报修宽带无人上门
HL.10.01|3|p5h60a35|summer||urban||饭店食品变质吃后腹泻；超市销售过期食品
HL.10.02|5|p2h60a38|tourist||all||景区周边商户乱涨价；停车场收费不明码标价
HL.10.03|10|p2h60a38|flat||all||商家拒不退货；预付卡商家跑路
HL.11.01|25|p20h35a15f30|flat||rural||村内垃圾堆放影响人居环境；村里污水横流
HL.11.02|2|p10h40a10f40|spring|day|rural||土地流转租金未兑现；承包地被他人占用
HL.12.01|3|p5h70a25|wage|day|all||工地老板拖欠工资12万元；年底讨薪无门，30名工人工资没着落
HL.12.02|10|p2h70a28|flat|day|all||医保报销遇到问题；社保转移办理困难
`

// catSpec is one row of historyCategories.
type catSpec struct {
	weight  float64
	sources [nSources]float64 // per cent, by source index
	season  string
	hours   string
	place   string
	sites   int     // the places it recurs at (a building, a market, a site), 0 for none
	burst   float64 // more calls an incident brings, on average
	what    []string
}

// The clue sources, in the order of their index.
const (
	srcPatrol = iota
	srcHotline
	srcApp
	srcForum
	srcSensor
	srcHotspot
	nSources
)

var sourceNames = [nSources]string{"patrol", "hotline", "app", "forum", "sensor", "hotspot"}

// parseCatSpecs reads historyCategories.
func parseCatSpecs() (map[string]*catSpec, error) {
	out := map[string]*catSpec{}
	for _, l := range lines(historyCategories) {
		f := strings.Split(l, "|")
		if len(f) != 8 {
			return nil, fmt.Errorf("demo: history: category spec %q: want 8 fields", l)
		}
		s := &catSpec{season: f[3], hours: f[4], place: f[5], what: strings.Split(f[7], "；")}
		var err error
		if f[6] != "" {
			if s.burst, err = strconv.ParseFloat(f[6], 64); err != nil {
				return nil, fmt.Errorf("demo: history: category spec %s: burst: %w", f[0], err)
			}
		}
		if s.weight, err = strconv.ParseFloat(f[1], 64); err != nil {
			return nil, fmt.Errorf("demo: history: category spec %s: %w", f[0], err)
		}
		mix := f[2]
		for len(mix) > 0 {
			i := strings.IndexByte("phafs", mix[0])
			if i < 0 {
				return nil, fmt.Errorf("demo: history: category spec %s: source %q", f[0], mix[:1])
			}
			j := 1
			for j < len(mix) && mix[j] >= '0' && mix[j] <= '9' {
				j++
			}
			v, err := strconv.Atoi(mix[1:j])
			if err != nil {
				return nil, fmt.Errorf("demo: history: category spec %s: %w", f[0], err)
			}
			s.sources[i] = float64(v)
			mix = mix[j:]
		}
		if _, ok := historySeasons[s.season]; !ok {
			return nil, fmt.Errorf("demo: history: category spec %s: season %q", f[0], s.season)
		}
		if _, ok := historyHours[s.hours]; !ok && s.hours != "" {
			return nil, fmt.Errorf("demo: history: category spec %s: hours %q", f[0], s.hours)
		}
		if place, sites, ok := strings.Cut(s.place, "/"); ok {
			if s.sites, err = strconv.Atoi(sites); err != nil {
				return nil, fmt.Errorf("demo: history: category spec %s: sites: %w", f[0], err)
			}
			s.place = place
		}
		switch s.place {
		case "all", "urban", "rural", "mountain":
		default:
			return nil, fmt.Errorf("demo: history: category spec %s: place %q", f[0], s.place)
		}
		out[f[0]] = s
	}
	return out, nil
}

// attachSpecs gives every leaf category its spec; a leaf without one is
// never reported.
func (w *world) attachSpecs() error {
	specs, err := parseCatSpecs()
	if err != nil {
		return err
	}
	for code, s := range specs {
		c, ok := w.catBy[code]
		if !ok || !c.leaf {
			return fmt.Errorf("demo: history: category spec %s: no such leaf category", code)
		}
		c.spec = s
	}
	return nil
}

// historyHours are daily rhythms: relative weights of the 24 hours of a
// day, Beijing time.
var historyHours = map[string][24]float64{
	// sources
	"patrol":  {0, 0, 0, 0, 0, 0, 0.3, 2, 8, 10, 10, 9, 4, 5, 9, 10, 9, 6, 2, 1, 0.5, 0.3, 0.1, 0},
	"hotline": {1, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 4, 7, 9, 9, 8, 6, 6, 8, 8, 7, 6, 6, 6, 5, 4, 3, 2},
	"app":     {1.5, 0.8, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 5, 6, 6, 6, 5, 5, 6, 6, 6, 6, 7, 8, 8, 7, 5, 3},
	"forum":   {0, 0, 0, 0, 0, 0, 0, 0, 2, 8, 10, 6, 1, 1, 4, 8, 6, 2, 0, 0, 0, 0, 0, 0},
	"sensor":  {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	// categories
	"day":   {0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.8, 3, 7, 9, 9, 8, 5, 6, 8, 9, 8, 6, 3, 2, 1, 0.6, 0.4, 0.3},
	"eve":   {2, 1, 0.4, 0.2, 0.1, 0.2, 0.6, 2, 3, 3, 3, 3, 3, 2, 2, 2.5, 3, 5, 8, 10, 10, 8, 5, 3},
	"night": {6, 3, 1.5, 0.6, 0.3, 0.5, 1, 1.5, 1.5, 1.5, 1.5, 1.5, 2, 1.5, 1.5, 1.5, 1.5, 2, 3, 5, 7, 9, 10, 9},
	"heat":  {2, 1, 0.5, 0.5, 0.6, 1.5, 4, 7, 7, 6, 5, 4, 3, 3, 3, 3, 4, 5, 7, 9, 9, 7, 5, 3},
	"dusk":  {0.3, 0.1, 0, 0, 0, 0.2, 0.8, 2, 3, 3, 3, 3, 3, 3, 4, 5, 7, 9, 9, 7, 4, 2, 1, 0.5},
	"storm": {3, 2, 1.5, 1, 1, 1, 1.5, 2, 2.5, 3, 3, 3, 3.5, 4, 5, 7, 9, 10, 10, 9, 8, 6, 5, 4},
}

// historySeasons are seasonal profiles: a weight for a day, relative to the
// rest of the year (each profile is normalised over the year).
var historySeasons = map[string]func(d *day) float64{
	"flat":      func(d *day) float64 { return 1 },
	"summer":    func(d *day) float64 { return 0.5 + 1.1*d.bump(196, 50) },
	"summereve": func(d *day) float64 { return 0.25 + 1.8*d.bump(196, 45) + 0.4*d.bump(135, 25) },
	"hot":       func(d *day) float64 { return 0.4 + 1.6*d.bump(200, 28) + 3*d.storm },
	"rain":      func(d *day) float64 { return 0.5 + 0.8*d.bump(205, 25) + 6*d.storm },
	"storm":     func(d *day) float64 { return 0.3 + 0.5*d.bump(200, 40) + 14*d.storm },
	"wind":      func(d *day) float64 { return 0.7 + 0.8*d.bump(95, 30) + 3*d.storm },
	"heating":   func(d *day) float64 { return d.heatingLoad() },
	"heatstart": func(d *day) float64 { return d.heatingLoad() + d.heatingStart() },
	"heatleak": func(d *day) float64 {
		switch {
		case d.heating:
			return 0.4 + 0.4*d.heatingLoad() + d.heatingStart()
		case d.month == 11: // filling and pressure tests before the season (注水试压)
			return 1.5
		}
		return 0.03
	},
	"freeze": func(d *day) float64 { return 0.3 + max(0, -d.temp)/3 },
	"winter": func(d *day) float64 {
		if d.heating {
			return 1.5
		}
		return 0.7
	},
	"snow": func(d *day) float64 {
		if d.month >= 11 || d.month <= 3 {
			return 0.1 + 12*d.snow
		}
		return 0.002
	},
	"build": func(d *day) float64 {
		if d.month >= 3 && d.month <= 11 {
			return 1.2
		}
		return 0.35 // earthworks pause in the heating season
	},
	"dust":   func(d *day) float64 { return 0.3 + 2.5*d.bump(105, 30) + 0.8*d.bump(290, 25) },
	"burn":   func(d *day) float64 { return 0.25 + 3*d.bump(300, 18) + 2*d.bump(85, 15) },
	"fire":   func(d *day) float64 { return 0.1 + 3*d.bump(100, 25) + 2*d.bump(310, 20) },
	"thaw":   func(d *day) float64 { return 0.7 + 2*d.bump(80, 20) },
	"spring": func(d *day) float64 { return 0.6 + 2*d.bump(100, 25) },
	"wage":   func(d *day) float64 { return 1 + d.preFestival() },
	"tourist": func(d *day) float64 {
		if d.holiday {
			return 3
		}
		if d.month >= 5 && d.month <= 10 && (d.weekday == 0 || d.weekday == 6) {
			return 1.8
		}
		return 0.7
	},
}

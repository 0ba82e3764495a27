package demo

import (
	"fmt"
	"strings"
)

// categoryTable is the demo's category tree with the district-wide default
// of the responsibility list (权责清单) for every leaf:
//
//	code|name|grade|lead unit|assisting units (comma separated)
//
// grade is r (routine), p (priority) or h (hard); branches carry only code
// and name and default to routine. "CM" is the city-management tree in the
// GB/T 30428.2 manner, "HL" the 12345 hotline tree.
const categoryTable = `
CM|城市管理
CM.01|市容环境
CM.01.01|私搭乱建|r|区城管执法局|区规划自然资源分局
CM.01.02|暴露垃圾|r|区城市管理委|延庆区环卫服务公司
CM.01.03|占道经营|r|区城管执法局|区市场监管局
CM.01.04|道路不洁|r|区城市管理委|延庆区环卫服务公司
CM.01.05|水域不洁|r|区水务局|区生态环境局
CM.01.06|绿地脏乱|r|区园林绿化局|
CM.01.07|废弃车辆|r|区城管执法局|区公安交通支队
CM.01.08|焚烧垃圾树叶|r|区生态环境局|区城管执法局
CM.01.09|餐饮油烟|r|区生态环境局|区市场监管局
CM.02|宣传广告
CM.02.01|非法小广告|r|区城管执法局|
CM.02.02|违规户外广告|r|区城市管理委|区城管执法局
CM.02.03|广告招牌破损|r|区城市管理委|
CM.03|施工管理
CM.03.01|施工扰民|r|区住房城乡建设委|区城管执法局
CM.03.02|工地扬尘|r|区生态环境局|区住房城乡建设委
CM.03.03|道路遗撒|r|区城管执法局|区交通局
CM.03.04|施工占道|r|区交通局|区公安交通支队
CM.03.05|无证掘路|r|区城管执法局|区交通局
CM.04|突发事件
CM.04.01|路面塌陷|p|区交通局|区应急管理局,区公路分局
CM.04.02|自来水管破裂|p|延庆区自来水公司|区水务局
CM.04.03|燃气泄漏|p|北京燃气延庆分公司|区城市管理委,区消防救援支队
CM.04.04|下水道堵塞|r|延庆区排水公司|区水务局
CM.04.05|热力管道破裂|p|延庆区热力公司|区城市管理委
CM.04.06|道路积水|p|区水务局|延庆区排水公司
CM.04.07|道路积雪结冰|p|区城市管理委|区公路分局
CM.04.08|火灾隐患|p|区消防救援支队|区应急管理局
CM.04.09|架空线缆损坏|r|区城市管理委|中国铁塔延庆分公司
CM.05|街面秩序
CM.05.01|无照游商|r|区城管执法局|区市场监管局
CM.05.02|店外经营|r|区城管执法局|
CM.05.03|机动车乱停放|r|区公安交通支队|延庆区静态交通管理公司
CM.05.04|非机动车乱停放|r|区城市管理委|延庆区公共自行车公司
CM.05.05|露天烧烤|r|区城管执法局|区生态环境局
CM.05.06|流浪乞讨|r|区民政局|区公安分局
CM.06|公用设施
CM.06.01|井盖缺损|p|区城市管理委|延庆区排水公司
CM.06.02|路灯不亮|r|延庆区路灯管理所|区城市管理委
CM.06.03|道路破损|r|区交通局|区公路分局
CM.06.04|护栏损坏|r|区交通局|
CM.06.05|公厕问题|r|区城市管理委|延庆区环卫服务公司
CM.06.06|垃圾桶站破损|r|区城市管理委|延庆区环卫服务公司
CM.07|园林绿化
CM.07.01|树木倒伏|p|区园林绿化局|
CM.07.02|绿地破坏|r|区园林绿化局|区城管执法局
CM.07.03|古树名木受损|r|区园林绿化局|
CM.07.04|林地违建|h|区园林绿化局|区规划自然资源分局,区城管执法局
CM.07.05|森林防火隐患|p|区园林绿化局|区应急管理局
CM.08|房屋土地
CM.08.01|违法建设|h|区城管执法局|区规划自然资源分局,区住房城乡建设委
CM.08.02|房屋安全隐患|p|区住房城乡建设委|区应急管理局
CM.08.03|违法占地|h|区规划自然资源分局|区农业农村局
CM.08.04|群租房|r|区住房城乡建设委|区公安分局
CM.09|社会治安
CM.09.01|治安隐患|p|区公安分局|
CM.09.02|邻里纠纷|r|区司法局|区公安分局
CM.09.03|非法营运|r|区交通局|区公安交通支队
HL|12345热线
HL.01|供暖
HL.01.01|不供暖|p|延庆区热力公司|区城市管理委
HL.01.02|温度不达标|r|延庆区热力公司|区城市管理委
HL.01.03|暖气漏水|p|延庆区热力公司|
HL.02|供水
HL.02.01|停水|p|延庆区自来水公司|区水务局
HL.02.02|水质问题|p|区水务局|区卫生健康委
HL.02.03|水压不足|r|延庆区自来水公司|
HL.03|供电
HL.03.01|停电|p|国网北京延庆供电公司|区城市管理委
HL.03.02|电压不稳|r|国网北京延庆供电公司|
HL.03.03|电线老化|r|国网北京延庆供电公司|区住房城乡建设委
HL.04|燃气
HL.04.01|燃气泄漏|p|北京燃气延庆分公司|区消防救援支队
HL.04.02|停气|r|北京燃气延庆分公司|区城市管理委
HL.04.03|燃气收费|r|北京燃气延庆分公司|区发展改革委
HL.05|物业管理
HL.05.01|物业服务|r|区住房城乡建设委|
HL.05.02|电梯故障|p|区市场监管局|区住房城乡建设委
HL.05.03|公共设施维修|r|区住房城乡建设委|
HL.06|噪音扰民
HL.06.01|施工噪音|r|区住房城乡建设委|区城管执法局
HL.06.02|商业噪音|r|区生态环境局|区城管执法局
HL.06.03|生活噪音|r|区公安分局|
HL.07|交通出行
HL.07.01|公交线路|r|区交通局|北京公交延庆客运分公司
HL.07.02|道路拥堵|r|区公安交通支队|区交通局
HL.07.03|停车难|r|区城市管理委|延庆区静态交通管理公司
HL.08|环境卫生
HL.08.01|垃圾清运|r|区城市管理委|延庆区环卫服务公司
HL.08.02|垃圾分类|r|区城市管理委|延庆区再生资源回收公司
HL.08.03|公厕保洁|r|延庆区环卫服务公司|
HL.09|通信网络
HL.09.01|手机信号差|r|区经济和信息化局|中国移动延庆分公司,中国铁塔延庆分公司
HL.09.02|宽带故障|r|中国电信延庆分公司|
HL.10|市场监管
HL.10.01|食品安全|p|区市场监管局|
HL.10.02|价格投诉|r|区市场监管局|区发展改革委
HL.10.03|消费纠纷|r|区市场监管局|区消协
HL.11|农业农村
HL.11.01|农村人居环境|r|区农业农村局|区城市管理委
HL.11.02|土地承包纠纷|h|区农业农村局|区司法局
HL.12|劳动社保
HL.12.01|拖欠工资|h|区人力社保局|区住房城乡建设委
HL.12.02|社保医保|r|区人力社保局|区医保局
`

// townshipDuties are the township rows of the responsibility list: for the
// listed categories, every township is served by the station or utility
// whose name ends in lead (and that serves the township), assisted by the
// one ending in assist, if any.
const townshipDuties = `
CM.01.03|城管执法队|市场监管所
CM.05.01|城管执法队|市场监管所
CM.05.02|城管执法队|
CM.05.05|城管执法队|
CM.02.01|城管执法队|
CM.09.01|派出所|
CM.09.02|派出所|
HL.06.03|派出所|
CM.05.03|交通大队|
CM.09.03|交通大队|城管执法队
CM.04.08|消防救援站|
CM.07.05|林业工作站|消防救援站
HL.10.01|市场监管所|
HL.10.03|市场监管所|
HL.01.01|延庆区热力公司|
HL.01.02|延庆区热力公司|
HL.01.03|延庆区热力公司|
HL.04.01|北京燃气延庆分公司|
HL.04.01|延庆区液化石油气公司|区消防救援支队
HL.02.01|延庆区自来水公司|
HL.02.01|延庆区山区供水服务中心|
`

// category is one node of the tree.
type category struct {
	code, name, parent, grade string
	depth                     int
	lead                      string   // unit name; leaves only
	assists                   []string // unit names
}

func (c category) style() string {
	if strings.HasPrefix(c.code, "HL") {
		return "hotline"
	}
	return "city"
}

// duty is one row of the responsibility list; township "" is the
// district-wide default.
type duty struct {
	category, township string
	lead               string   // unit code
	assists            []string // unit codes
}

// buildCategories parses categoryTable.
func buildCategories() ([]category, error) {
	grades := map[string]string{"": "routine", "r": "routine", "p": "priority", "h": "hard"}
	var out []category
	seen := map[string]bool{}
	for _, line := range lines(categoryTable) {
		f := strings.Split(line, "|")
		for len(f) < 5 {
			f = append(f, "")
		}
		c := category{code: f[0], name: f[1], depth: strings.Count(f[0], ".") + 1, lead: f[3]}
		if i := strings.LastIndex(c.code, "."); i > 0 {
			c.parent = c.code[:i]
			if !seen[c.parent] {
				return nil, fmt.Errorf("demo: category %s before its parent", c.code)
			}
		}
		var ok bool
		if c.grade, ok = grades[f[2]]; !ok {
			return nil, fmt.Errorf("demo: category %s: grade %q", c.code, f[2])
		}
		if f[4] != "" {
			c.assists = strings.Split(f[4], ",")
		}
		seen[c.code] = true
		out = append(out, c)
	}
	return out, nil
}

// buildDuties returns the district-wide row of every leaf category and the
// township rows of townshipDuties, in unit codes.
func buildDuties(cats []category, units []unit, townships []Division) ([]duty, error) {
	byName := map[string]unit{}
	for _, u := range units {
		byName[u.name] = u
	}
	code := func(name string) (string, error) {
		u, ok := byName[name]
		if !ok {
			return "", fmt.Errorf("demo: duty names unknown unit %q", name)
		}
		return u.code, nil
	}
	var out []duty
	for _, c := range cats {
		if c.lead == "" {
			continue
		}
		d := duty{category: c.code}
		var err error
		if d.lead, err = code(c.lead); err != nil {
			return nil, err
		}
		for _, a := range c.assists {
			ac, err := code(a)
			if err != nil {
				return nil, err
			}
			d.assists = append(d.assists, ac)
		}
		out = append(out, d)
	}
	// serving finds the unit whose name ends in suffix and serves township t.
	serving := func(suffix, t string) (unit, bool) {
		if u, ok := byName[suffix]; ok {
			for _, s := range u.townships {
				if s == t {
					return u, true
				}
			}
			return unit{}, false
		}
		for _, u := range units {
			if !strings.HasSuffix(u.name, suffix) {
				continue
			}
			for _, s := range u.townships {
				if s == t {
					return u, true
				}
			}
		}
		return unit{}, false
	}
	have := map[[2]string]bool{}
	for _, line := range lines(townshipDuties) {
		f := strings.Split(line, "|")
		for _, t := range townships {
			lead, ok := serving(f[1], t.Code)
			if !ok || have[[2]string{f[0], t.Code}] {
				continue
			}
			have[[2]string{f[0], t.Code}] = true
			d := duty{category: f[0], township: t.Code, lead: lead.code}
			if f[2] != "" {
				if a, ok := serving(f[2], t.Code); ok {
					d.assists = append(d.assists, a.code)
				} else if a, ok := byName[f[2]]; ok && len(a.townships) == 0 {
					d.assists = append(d.assists, a.code)
				}
			}
			out = append(out, d)
		}
	}
	return out, nil
}

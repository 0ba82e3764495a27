package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// departments are the 74 district departments (区级职能部门) the seed
// document counts, government departments first, then the command center,
// the party organs and the people's organisations. Codes D001… follow this
// order.
const departments = `
区城市管理委
区城管执法局
区水务局
区住房城乡建设委
区市场监管局
区生态环境局
区交通局
区卫生健康委
区应急管理局
区园林绿化局
区民政局
区公安分局
区教委
区发展改革委
区财政局
区人力社保局
区规划自然资源分局
区农业农村局
区文化和旅游局
区商务局
区司法局
区消防救援支队
区税务局
区退役军人局
区医保局
区体育局
区统计局
区审计局
区信访办
区科委
区经济和信息化局
区国资委
区政务服务局
区政府办公室
区公安交通支队
区气象局
区人防办
区地震局
区金融办
区公路分局
区不动产登记中心
区住房公积金管理部
区疾控中心
区卫生监督所
区烟草专卖局
区供销社
区机关事务服务中心
区投资促进服务中心
区融媒体中心
区档案馆
区冬奥办
区河长办
区老龄办
区民宗办
区城市服务管理指挥中心
区委办公室
区委组织部
区委宣传部
区委统战部
区委政法委
区委社会工委
区纪委区监委
区委网信办
区委编办
区委老干部局
区残联
区妇联
团区委
区总工会
区科协
区文联
区红十字会
区工商联
区消协
`

// stationKinds are the field stations (基层站所), 57 in all: one police
// station and one city-management enforcement team per township, then
// stations that each serve a group of townships (by code suffix, the last
// three digits of the township code). Codes S001… follow this order.
const stationKinds = `
派出所|each
城管执法队|each
城区市场监管所|001 002 003
延庆镇市场监管所|100 108
康庄市场监管所|101 109
八达岭市场监管所|102
永宁市场监管所|103 201
旧县市场监管所|104 202
张山营市场监管所|105
四海市场监管所|106 107 203
井庄市场监管所|110 200
城区交通大队|001 002 003 100 105 108
康庄交通大队|101 109
八达岭交通大队|102 110 200
永宁交通大队|103 104 106 107 201 202 203
城区消防救援站|001 002 003 100 105 108
康庄消防救援站|101 109
八达岭消防救援站|102 110 200
永宁消防救援站|103 104 106 107 201 202 203
城区林业工作站|001 002 003 100 104 105 108
八达岭林业工作站|101 102 109
大庄科林业工作站|110 200 103 201
千家店林业工作站|106 107 202 203
`

// utilities are the public-service companies (公共服务企业) with the
// townships they serve ("all" or code suffixes). Codes U001… follow this
// order.
const utilities = `
国网北京延庆供电公司|all
延庆区自来水公司|001 002 003 100 101 102 103 104 105 108 109
北京燃气延庆分公司|001 002 003 100 101 102 103 104 105 108 109
延庆区热力公司|001 002 003 100 101 102 103
中国移动延庆分公司|all
中国联通延庆分公司|all
中国电信延庆分公司|all
歌华有线延庆分公司|all
北京公交延庆客运分公司|all
延庆区环卫服务公司|all
中国铁塔延庆分公司|all
延庆区排水公司|001 002 003 100 101 102 103 104 105 108 109
中国邮政延庆分公司|all
延庆区液化石油气公司|106 107 110 200 201 202 203
延庆区路灯管理所|001 002 003 100 101 102 103
延庆区再生资源回收公司|all
延庆区静态交通管理公司|001 002 003 100 101 102
延庆区公共自行车公司|001 002 003 100
延庆区山区供水服务中心|106 107 110 200 201 202 203
延庆区垃圾综合处理中心|all
中石化北京延庆石油分公司|all
延庆区保障房物业公司|001 002 003 100 101
`

// unit is one row of units with the townships it serves (codes).
type unit struct {
	code, name, kind, phone string
	townships               []string
}

// buildUnits lists the departments, stations and utilities with their codes
// and the townships each station or utility serves.
func buildUnits(townships []Division, r *rand.Rand) ([]unit, error) {
	var out []unit
	add := func(prefix, kind, name string, serves []string) {
		n := 1
		for _, u := range out {
			if u.kind == kind {
				n++
			}
		}
		out = append(out, unit{code: fmt.Sprintf("%s%03d", prefix, n), name: name, kind: kind, phone: unitPhone(r), townships: serves})
	}
	all := make([]string, len(townships))
	for i, t := range townships {
		all[i] = t.Code
	}
	serves := func(spec string) ([]string, error) {
		if spec == "all" {
			return all, nil
		}
		var codes []string
		for _, suffix := range strings.Fields(spec) {
			code := ""
			for _, t := range townships {
				if strings.HasSuffix(t.Code, suffix) {
					code = t.Code
				}
			}
			if code == "" {
				return nil, fmt.Errorf("demo: no township ends in %s", suffix)
			}
			codes = append(codes, code)
		}
		return codes, nil
	}
	for _, name := range lines(departments) {
		add("D", "department", name, nil)
	}
	for _, line := range lines(stationKinds) {
		name, spec, _ := strings.Cut(line, "|")
		if spec == "each" {
			for _, t := range townships {
				add("S", "station", t.Name+name, []string{t.Code})
			}
			continue
		}
		codes, err := serves(spec)
		if err != nil {
			return nil, err
		}
		add("S", "station", name, codes)
	}
	for _, line := range lines(utilities) {
		name, spec, _ := strings.Cut(line, "|")
		codes, err := serves(spec)
		if err != nil {
			return nil, err
		}
		add("U", "utility", name, codes)
	}
	return out, nil
}

// lines returns the non-blank lines of a table constant.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

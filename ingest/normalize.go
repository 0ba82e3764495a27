package ingest

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// addressPrefixes are the district's own prefixes, dropped before
// matching: every address in the platform is in 北京市延庆区. 延庆镇 is a
// township and keeps its name.
var addressPrefixes = []string{"北京市", "北京", "延庆区", "延庆县"}

// NormalizeAddress is an address as the gazetteer compares it: full-width
// forms folded to half-width, spaces and punctuation dropped, the
// 北京市/延庆区 prefixes removed, Chinese numerals in house numbers made
// digits, and the house part written one way: 26号楼1单元201室 (from
// 26栋1单元201, 二十六号楼一单元二〇一室, 26-1-201) or 125号.
func NormalizeAddress(s string) string {
	s = width.Fold.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == ',', r == '，', r == '、', r == '。', r == '(', r == ')', r == '（', r == '）', r == '"', r == '\'':
			continue
		}
		b.WriteRune(r)
	}
	s = b.String()
	for changed := true; changed; {
		changed = false
		for _, p := range addressPrefixes {
			if strings.HasPrefix(s, p) {
				s, changed = s[len(p):], true
			}
		}
	}
	// each rewrite runs only when the text has what it looks for: the
	// regular expressions are most of an import's matching time
	if strings.ContainsAny(s, cnDigits) {
		s = cnNumber.ReplaceAllStringFunc(s, func(m string) string {
			loc := cnNumber.FindStringSubmatchIndex(m)
			num, unit := m[loc[2]:loc[3]], m[loc[4]:loc[5]]
			if n, ok := chineseNumber(num); ok {
				return strconv.Itoa(n) + unit
			}
			return m
		})
	}
	if strings.Contains(s, "-") {
		s = dashedFlat.ReplaceAllString(s, "${1}号楼${2}单元${3}室")
	}
	if strings.ContainsAny(s, "栋幢") || strings.Contains(s, "号号楼") {
		s = buildingWords.Replace(s)
	}
	if strings.Contains(s, "门") {
		s = stairDoor.ReplaceAllString(s, "${1}单元")
	}
	if strings.Contains(s, "楼") {
		s = bareBuilding.ReplaceAllString(s, "${1}号楼${2}")
	}
	if strings.Contains(s, "单元") {
		s = bareFlat.ReplaceAllString(s, "${1}室")
	}
	return s
}

// cnDigits are the runes cnNumber's numbers are made of.
const cnDigits = "零〇一二两三四五六七八九十百"

var (
	buildingWords = strings.NewReplacer("栋", "号楼", "幢", "号楼", "号号楼", "号楼")
	cnNumber      = regexp.MustCompile(`([零〇一二两三四五六七八九十百]+)(号楼|号院|号|栋|幢|单元|门|室|层)`)
	dashedFlat    = regexp.MustCompile(`(\d+)-(\d+)-(\d+)(?:室)?`)
	bareBuilding  = regexp.MustCompile(`(\d+)楼(\d+单元)`)
	stairDoor     = regexp.MustCompile(`(\d+)门`)
	bareFlat      = regexp.MustCompile(`(单元\d+)$`)
)

// chineseNumber reads 一百二十五, 二〇一, 两, 十六 as a number.
func chineseNumber(s string) (int, bool) {
	digit := map[rune]int{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	rs := []rune(s)
	positional := true // 二〇一: digit by digit
	for _, r := range rs {
		if r == '十' || r == '百' {
			positional = false
		}
	}
	if positional {
		n := 0
		for _, r := range rs {
			d, ok := digit[r]
			if !ok {
				return 0, false
			}
			n = n*10 + d
		}
		return n, true
	}
	total, cur := 0, 0
	for _, r := range rs {
		switch r {
		case '百':
			if cur == 0 {
				cur = 1
			}
			total += cur * 100
			cur = 0
		case '十':
			if cur == 0 {
				cur = 1
			}
			total += cur * 10
			cur = 0
		default:
			d, ok := digit[r]
			if !ok {
				return 0, false
			}
			cur = d
		}
	}
	return total + cur, true
}

// houseKey is the house part of a normalised address that follows its
// village: 26号楼1单元201室 or 125号, and "" when there is none.
func houseKey(rest string) string {
	if m := flatKey.FindString(rest); m != "" {
		return m
	}
	if m := numberKey.FindStringSubmatch(rest); m != nil {
		return m[1]
	}
	return ""
}

var (
	flatKey   = regexp.MustCompile(`^\d+号楼\d+单元\d+室`)
	numberKey = regexp.MustCompile(`^(\d+号)(?:[^楼院]|$)`)
)

func widthFold(s string) string { return width.Fold.String(s) }

var flatParts = regexp.MustCompile(`(\d+)号楼(\d+)单元(\d+)室`)

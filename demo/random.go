package demo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
)

// stream returns the random stream called label of the demo with seed:
// every part of the demo draws from its own stream, so a change to one part
// leaves the others as they were.
func stream(seed int64, label string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), hash64(label)))
}

// pgSeed derives the seed PostGIS's ST_GeneratePoints gets for label: an
// int4 in 1..2^31-1 (it must be positive).
func pgSeed(seed int64, label string) int32 {
	h := hash64(fmt.Sprintf("%d/%s", seed, label))
	return int32(h%(1<<31-1)) + 1
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// uniform returns a value in [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// apportion splits total into len(weights) whole parts, each in [lo, hi],
// as close to proportional to the weights as the bounds allow. Ties go to
// the lower index, so the answer depends only on the arguments.
func apportion(total int, weights []float64, lo, hi int) ([]int, error) {
	n := len(weights)
	if n == 0 || total < n*lo || total > n*hi {
		return nil, fmt.Errorf("demo: cannot split %d into %d parts of %d..%d", total, n, lo, hi)
	}
	var sum float64
	for _, w := range weights {
		if w <= 0 {
			return nil, errors.New("demo: apportion: weights must be positive")
		}
		sum += w
	}
	out := make([]int, n)
	rest := make([]float64, n)
	have := 0
	for i, w := range weights {
		q := float64(total) * w / sum
		out[i] = min(max(int(q), lo), hi)
		rest[i] = q - float64(out[i])
		have += out[i]
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for have != total {
		up := have < total
		sort.SliceStable(idx, func(a, b int) bool {
			if up {
				return rest[idx[a]] > rest[idx[b]]
			}
			return rest[idx[a]] < rest[idx[b]]
		})
		for _, i := range idx {
			if have == total {
				break
			}
			switch {
			case up && out[i] < hi:
				out[i]++
				rest[i]--
				have++
			case !up && out[i] > lo:
				out[i]--
				rest[i]++
				have--
			}
		}
	}
	return out, nil
}

// Surnames by how common they are in northern China, most common first;
// given-name characters by the style of name they lean to.
const (
	surnamesCommon = "王李张刘陈杨赵黄周吴"
	surnamesMiddle = "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
	surnamesRare   = "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯史陶贺顾毛郝龚邵万钱严武戴孔汤常温康"
	givenMale      = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦奇固之翰朗伯宏言鸣朋斌栋维启克伦翔旭鹏泽晨辰士建家致树德行时泰盛雄钧冠策腾航"
	givenFemale    = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱霞香月媛艳瑞佳嘉琼勤珍贞莉桂叶璐娅琦晶妍茜秋珊莎锦青倩婷婉娴瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊薇菁梦岚婕馨韵悦昭冰爽茗欣凝晓欢枫芸菲亚宜舒丽阳妮宁敏"
)

// personName returns a plausible Chinese name: a surname and a
// two-character given name.
func personName(r *rand.Rand) string {
	var sur []rune
	switch p := r.Float64(); {
	case p < 0.55:
		sur = []rune(surnamesCommon)
	case p < 0.85:
		sur = []rune(surnamesMiddle)
	default:
		sur = []rune(surnamesRare)
	}
	given := []rune(givenMale)
	if r.IntN(2) == 0 {
		given = []rune(givenFemale)
	}
	a := r.IntN(len(given))
	b := r.IntN(len(given) - 1)
	if b >= a {
		b++
	}
	var sb strings.Builder
	sb.WriteRune(sur[r.IntN(len(sur))])
	sb.WriteRune(given[a])
	sb.WriteRune(given[b])
	return sb.String()
}

// mobilePrefixes are mainland mobile number blocks; mobilePhone adds eight
// random digits, so every number matches ^1[3-9][0-9]{9}$.
const mobilePrefixes = "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 176 177 178 180 181 182 183 185 186 187 188 189 198 199"

func mobilePhone(r *rand.Rand) string {
	prefixes := strings.Fields(mobilePrefixes)
	return fmt.Sprintf("%s%08d", prefixes[r.IntN(len(prefixes))], r.IntN(100_000_000))
}

// unitPhone returns a Beijing landline in 延庆's 6910 block, e.g. 010-69101234.
func unitPhone(r *rand.Rand) string {
	return fmt.Sprintf("010-6910%04d", r.IntN(10_000))
}

// householdSize draws 1..6 people, two- and three-person households most often.
func householdSize(r *rand.Rand) int {
	cum := [...]float64{0.12, 0.42, 0.67, 0.83, 0.93, 1}
	p := r.Float64()
	for i, c := range cum {
		if p < c {
			return i + 1
		}
	}
	return 6
}

// chineseNumber writes 1..99 the way a zone is numbered: 一, 十, 十二, 二十三.
func chineseNumber(n int) string {
	digits := []rune("〇一二三四五六七八九")
	switch {
	case n <= 0 || n >= 100:
		return fmt.Sprint(n)
	case n < 10:
		return string(digits[n])
	case n == 10:
		return "十"
	case n < 20:
		return "十" + string(digits[n%10])
	case n%10 == 0:
		return string(digits[n/10]) + "十"
	default:
		return string(digits[n/10]) + "十" + string(digits[n%10])
	}
}

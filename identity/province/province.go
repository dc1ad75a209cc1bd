// Package province maps a Vietnamese address, as the citizen card's DG13
// "place of residence" spells it, to one of the 34 provincial-level units
// in force since 1 July 2025 (Resolution 202/2025/QH15: 6 centrally run
// cities and 28 provinces). Addresses written before the reorganisation
// name one of the former 63 units; each former unit maps to the unit that
// absorbed it.
//
// Matching ignores case, diacritics, spacing, punctuation and the unit-type
// prefixes ("Tỉnh", "Thành phố", "TP."), so "TP. Hồ Chí Minh", "Ho Chi Minh"
// and "Thành phố Hồ Chí Minh" are the same unit. Only the last
// comma-separated part of an address is considered: addresses run from
// the house number to the province.
package province

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Unit is a provincial-level administrative unit.
type Unit struct {
	// Name is the unit's name without its type, e.g. "Hà Nội", "Lào Cai".
	Name string
	// City is true for the centrally run cities (thành phố trực thuộc
	// trung ương).
	City bool
}

// Units are the 34 provincial-level units in force since 1 July 2025.
var Units = []Unit{
	{"Hà Nội", true}, {"Hồ Chí Minh", true}, {"Hải Phòng", true}, {"Đà Nẵng", true}, {"Cần Thơ", true}, {"Huế", true},
	{"Cao Bằng", false}, {"Điện Biên", false}, {"Hà Tĩnh", false}, {"Lai Châu", false}, {"Lạng Sơn", false},
	{"Nghệ An", false}, {"Quảng Ninh", false}, {"Thanh Hóa", false}, {"Sơn La", false},
	{"Tuyên Quang", false}, {"Lào Cai", false}, {"Thái Nguyên", false}, {"Phú Thọ", false}, {"Bắc Ninh", false},
	{"Hưng Yên", false}, {"Ninh Bình", false}, {"Quảng Trị", false}, {"Quảng Ngãi", false}, {"Gia Lai", false},
	{"Khánh Hòa", false}, {"Lâm Đồng", false}, {"Đắk Lắk", false}, {"Đồng Nai", false}, {"Tây Ninh", false},
	{"Vĩnh Long", false}, {"Đồng Tháp", false}, {"Cà Mau", false}, {"An Giang", false},
}

// Former maps each of the 63 units in force until 30 June 2025 to the unit
// it belongs to now (units that did not merge map to themselves).
var Former = map[string]string{
	// Unchanged.
	"Hà Nội": "Hà Nội", "Thừa Thiên Huế": "Huế", "Lai Châu": "Lai Châu", "Điện Biên": "Điện Biên", "Sơn La": "Sơn La",
	"Lạng Sơn": "Lạng Sơn", "Quảng Ninh": "Quảng Ninh", "Thanh Hóa": "Thanh Hóa", "Nghệ An": "Nghệ An",
	"Hà Tĩnh": "Hà Tĩnh", "Cao Bằng": "Cao Bằng",
	// Merged.
	"Tuyên Quang": "Tuyên Quang", "Hà Giang": "Tuyên Quang",
	"Lào Cai": "Lào Cai", "Yên Bái": "Lào Cai",
	"Thái Nguyên": "Thái Nguyên", "Bắc Kạn": "Thái Nguyên",
	"Phú Thọ": "Phú Thọ", "Vĩnh Phúc": "Phú Thọ", "Hòa Bình": "Phú Thọ",
	"Bắc Ninh": "Bắc Ninh", "Bắc Giang": "Bắc Ninh",
	"Hưng Yên": "Hưng Yên", "Thái Bình": "Hưng Yên",
	"Hải Phòng": "Hải Phòng", "Hải Dương": "Hải Phòng",
	"Ninh Bình": "Ninh Bình", "Hà Nam": "Ninh Bình", "Nam Định": "Ninh Bình",
	"Quảng Trị": "Quảng Trị", "Quảng Bình": "Quảng Trị",
	"Đà Nẵng": "Đà Nẵng", "Quảng Nam": "Đà Nẵng",
	"Quảng Ngãi": "Quảng Ngãi", "Kon Tum": "Quảng Ngãi",
	"Gia Lai": "Gia Lai", "Bình Định": "Gia Lai",
	"Khánh Hòa": "Khánh Hòa", "Ninh Thuận": "Khánh Hòa",
	"Lâm Đồng": "Lâm Đồng", "Đắk Nông": "Lâm Đồng", "Bình Thuận": "Lâm Đồng",
	"Đắk Lắk": "Đắk Lắk", "Phú Yên": "Đắk Lắk",
	"Hồ Chí Minh": "Hồ Chí Minh", "Bình Dương": "Hồ Chí Minh", "Bà Rịa - Vũng Tàu": "Hồ Chí Minh",
	"Đồng Nai": "Đồng Nai", "Bình Phước": "Đồng Nai",
	"Tây Ninh": "Tây Ninh", "Long An": "Tây Ninh",
	"Cần Thơ": "Cần Thơ", "Sóc Trăng": "Cần Thơ", "Hậu Giang": "Cần Thơ",
	"Vĩnh Long": "Vĩnh Long", "Bến Tre": "Vĩnh Long", "Trà Vinh": "Vĩnh Long",
	"Đồng Tháp": "Đồng Tháp", "Tiền Giang": "Đồng Tháp",
	"Cà Mau": "Cà Mau", "Bạc Liêu": "Cà Mau",
	"An Giang": "An Giang", "Kiên Giang": "An Giang",
}

// aliases are other spellings in use.
var aliases = map[string]string{
	"Sài Gòn": "Hồ Chí Minh", "Bà Rịa Vũng Tàu": "Hồ Chí Minh", "Vũng Tàu": "Hồ Chí Minh",
	"Thừa Thiên - Huế": "Huế", "Đắc Lắc": "Đắk Lắk", "Đắk Lắc": "Đắk Lắk", "Đăk Nông": "Lâm Đồng",
	"Đắc Nông": "Lâm Đồng", "Kontum": "Quảng Ngãi", "Bắc Cạn": "Thái Nguyên",
}

var index = func() map[string]*Unit {
	m := map[string]*Unit{}
	byName := map[string]*Unit{}
	for i := range Units {
		byName[Units[i].Name] = &Units[i]
		m[key(Units[i].Name)] = &Units[i]
	}
	for old, now := range Former {
		m[key(old)] = byName[now]
	}
	for alt, now := range aliases {
		m[key(alt)] = byName[now]
	}
	return m
}()

// key folds a name: NFD, marks dropped, đ → d, lower case, letters only,
// unit-type prefixes removed.
func key(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	k := b.String()
	for _, p := range []string{"thanhpho", "tinh", "tp"} {
		if rest, ok := strings.CutPrefix(k, p); ok && index0(rest) {
			return rest
		}
	}
	return k
}

// index0 reports whether rest is a plausible name after a stripped prefix
// (so that "Tịnh Biên" is not cut).
func index0(rest string) bool { return len(rest) >= 2 }

// Lookup returns the current unit a province name (current or former, with
// or without its type) designates.
func Lookup(name string) (Unit, bool) {
	if u, ok := index[key(name)]; ok && u != nil {
		return *u, true
	}
	return Unit{}, false
}

// FromAddress returns the current provincial-level unit of an address whose
// last comma-separated part names the province (as DG13 writes the place
// of residence). Addresses that end in anything else give false.
func FromAddress(addr string) (Unit, bool) {
	addr = strings.TrimSpace(addr)
	if addr == "" || len(addr) > 1024 {
		return Unit{}, false
	}
	parts := strings.FieldsFunc(addr, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	if len(parts) == 0 {
		return Unit{}, false
	}
	return Lookup(parts[len(parts)-1])
}

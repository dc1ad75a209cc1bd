package province

import "testing"

func TestTables(t *testing.T) {
	if len(Units) != 34 {
		t.Fatalf("%d current units, want 34", len(Units))
	}
	cities := 0
	current := map[string]bool{}
	for _, u := range Units {
		if current[u.Name] {
			t.Fatalf("duplicate %s", u.Name)
		}
		current[u.Name] = true
		if u.City {
			cities++
		}
	}
	if cities != 6 {
		t.Fatalf("%d cities, want 6", cities)
	}
	if len(Former) != 63 {
		t.Fatalf("%d former units, want 63", len(Former))
	}
	absorbed := map[string]bool{}
	for old, now := range Former {
		if !current[now] {
			t.Fatalf("%s maps to %s, not a current unit", old, now)
		}
		absorbed[now] = true
	}
	if len(absorbed) != 34 {
		t.Fatalf("former units cover %d current units, want 34", len(absorbed))
	}
	// No two names fold to the same key with different units.
	for old := range Former {
		u, ok := Lookup(old)
		if !ok || u.Name != Former[old] {
			t.Fatalf("Lookup(%q) = %v %v", old, u, ok)
		}
	}
}

func TestFromAddress(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội", "Hà Nội"},
		{"12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh", "Hồ Chí Minh"},
		{"Thôn 3, xã Ea Kao, Buôn Ma Thuột, Tỉnh Đắk Lắk", "Đắk Lắk"},
		{"Tổ 5, phường Yên Thịnh, Yên Bái", "Lào Cai"},
		{"Xã Tịnh Biên, An Giang", "An Giang"},
		{"Phường 7, Thành phố Vũng Tàu, Bà Rịa - Vũng Tàu", "Hồ Chí Minh"},
		{"THON 2, XA HOA BINH, HUYEN CHO MOI, THUA THIEN HUE", "Huế"},
		{"Khu 4, Thị trấn Lương Sơn, Hoà Bình", "Phú Thọ"},
		{"Phường Thuận Hóa, Thành phố Huế", "Huế"},
		{"Phường Ninh Kiều, Cần Thơ", "Cần Thơ"},
		{"Verified by Ministry of Public Security", ""},
		{"Hà Nội, Verified", ""},
		{"", ""},
	}
	for _, tt := range tests {
		u, ok := FromAddress(tt.addr)
		if got := u.Name; got != tt.want || ok != (tt.want != "") {
			t.Errorf("FromAddress(%q) = %q, %v; want %q", tt.addr, got, ok, tt.want)
		}
	}
}

func FuzzFromAddress(f *testing.F) {
	f.Add("Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội")
	f.Add("tp,,,")
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := FromAddress(s); ok {
			if _, known := Lookup(u.Name); !known {
				t.Fatalf("unknown unit %q", u.Name)
			}
		}
	})
}

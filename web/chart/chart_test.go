package chart_test

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"

	"kyso/web/chart"
)

// The SVG is well-formed XML, names itself for screen readers, escapes
// labels and draws one shape per value.
func TestSVG(t *testing.T) {
	for _, c := range []chart.Chart{
		{Title: "Hồ sơ <trực tuyến>", Desc: "số hồ sơ mỗi ngày", Labels: []string{"01/03", "02/03", "03/03"},
			Series: []chart.Series{{Name: "Hồ sơ", Values: []float64{3, 0, 12}, Class: "s1"}, {Name: "Số hóa", Values: []float64{1, 0, 7}, Class: "s2"}}},
		{Title: "Tỷ lệ", Rate: true, Labels: []string{"T1", "T2", "T3"},
			Series: []chart.Series{{Name: "Ký số", Values: []float64{0.5, math.NaN(), 1}, Class: "s1"}}},
		{Title: "Trung vị", Line: true, Unit: " h", Labels: []string{"T1", "T2"},
			Series: []chart.Series{{Name: "Giải quyết", Values: []float64{36.5, math.NaN()}, Class: "s1"}, {Name: "Ký", Values: []float64{math.NaN(), math.NaN()}, Class: "s2"}}},
		{Title: "Empty"},
	} {
		svg := string(c.SVG())
		if err := xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })); err != nil {
			t.Errorf("%s: not well-formed: %v\n%s", c.Title, err, svg)
		}
		if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, "<title id=") {
			t.Errorf("%s: no accessible name", c.Title)
		}
		if strings.Contains(svg, "<trực") {
			t.Errorf("%s: label not escaped", c.Title)
		}
		shapes := strings.Count(svg, "<rect") + strings.Count(svg, "<circle")
		want := 0
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					want++
				}
			}
		}
		if shapes != want {
			t.Errorf("%s: %d shapes for %d values", c.Title, shapes, want)
		}
	}
}

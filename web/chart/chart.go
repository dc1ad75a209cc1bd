// Package chart draws the small charts of Kyso's pages as SVG on the
// server, so that pages need no script and no outside service, print as
// they show, and carry a text alternative: bars for counts over time and
// lines for rates.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Series is one named row of values, one per label.
type Series struct {
	Name   string
	Values []float64
	// Class names the CSS class that colours the series (s1, s2, ...).
	Class string
}

// Chart is a bar or line chart over a shared set of labels.
type Chart struct {
	// Title and Desc become the SVG's <title> and <desc>, read by screen
	// readers.
	Title, Desc string
	Labels      []string
	Series      []Series
	// Rate draws lines on a 0–100 % axis; otherwise bars from zero.
	Rate bool
	// Line draws lines instead of bars on the count axis (NaN: no value).
	Line bool
	// Unit follows the values in tooltips (e.g. " h").
	Unit string
	// Width and Height of the view box; zero takes 360×170.
	Width, Height int
}

const (
	padLeft, padRight, padTop, padBottom = 34, 16, 8, 22
)

// SVG renders the chart as an inline SVG element.
func (c Chart) SVG() template.HTML {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 360
	}
	if h <= 0 {
		h = 170
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" preserveAspectRatio="xMidYMid meet">`, w, h, id(c.Title), id(c.Title))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id(c.Title), esc(c.Title), id(c.Title), esc(c.Desc))
	plotW, plotH := float64(w-padLeft-padRight), float64(h-padTop-padBottom)
	max := 1.0
	if c.Rate {
		max = 1
	} else {
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					max = math.Max(max, v)
				}
			}
		}
		max = 4 * nice(max/4)
	}
	// Grid and axis labels.
	for i := 0; i <= 4; i++ {
		v := max * float64(i) / 4
		y := float64(padTop) + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, w-padRight, y, y)
		label := trim(v)
		if c.Rate {
			label = fmt.Sprintf("%d%%", int(math.Round(v*100)))
		}
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-4, y+4, label)
	}
	n := len(c.Labels)
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := plotW / float64(n)
	// X labels: at most about 6, evenly spread.
	every := int(math.Ceil(float64(n) / 6))
	for i, l := range c.Labels {
		if i%every != 0 {
			continue
		}
		x := float64(padLeft) + slot*(float64(i)+0.5)
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, h-6, esc(l))
	}
	y := func(v float64) float64 { return float64(padTop) + plotH - plotH*math.Min(v, max)/max }
	if c.Rate || c.Line {
		for _, s := range c.Series {
			var pts []string
			for i, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(padLeft)+slot*(float64(i)+0.5), y(v)))
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline class="line %s" points="%s"><title>%s</title></polyline>`, esc(s.Class), strings.Join(pts, " "), esc(s.Name))
			}
			for i, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				val := fmt.Sprintf("%d%%", int(math.Round(v*100)))
				if !c.Rate {
					val = trim(v) + c.Unit
				}
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s: %s</title></circle>`,
					esc(s.Class), float64(padLeft)+slot*(float64(i)+0.5), y(v), esc(s.Name), esc(c.Labels[i]), esc(val))
			}
		}
	} else {
		k := float64(len(c.Series))
		bw := slot * 0.8 / math.Max(k, 1)
		for j, s := range c.Series {
			for i, v := range s.Values {
				x := float64(padLeft) + slot*float64(i) + slot*0.1 + bw*float64(j)
				top := y(v)
				fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
					esc(s.Class), x, top, math.Max(bw-1, 1), float64(padTop)+plotH-top, esc(s.Name), esc(c.Labels[i]), esc(trim(v)+c.Unit))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// nice rounds a grid step up to 1, 2 or 5 times a power of ten, and at
// least 1 (counts have whole steps).
func nice(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// id turns a title into an element id.
func id(s string) string {
	var b strings.Builder
	b.WriteString("c")
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if r >= 'A' && r <= 'Z' {
			b.WriteRune(r + 32)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteRune('-')
		}
	}
	return b.String()
}

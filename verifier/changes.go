package verifier

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"kyso/verifier/pdfscan"
	"kyso/verifier/report"
)

// classifyChanges classifies each incremental update after revision from
// (0-based). Allowed: validation material (/DSS), document time-stamps,
// further signatures, and form filling when DocMDP permits (P ≥ 2, or no
// certification signature). Anything that changes what a page shows — content,
// pages, resources, non-widget annotations, objects overridden by later
// definitions — is not.
func classifyChanges(f *pdfscan.File, from, docMDP int) []report.Change {
	if from < 0 {
		return nil
	}
	var out []report.Change
	for k := from + 1; k < len(f.Revisions); k++ {
		r, p := f.Revisions[k], f.Revisions[k-1]
		if r.Section == p.Section {
			continue // a repeated %%EOF marker, no new section
		}
		if r.Section.Prev != p.StartXref {
			out = append(out, report.Change{Revision: k + 1, Kind: "structure", Detail: "the cross-reference section does not chain to the previous revision"})
		}
		out = append(out, classifyRevision(f, k, docMDP)...)
	}
	if f.Trailing {
		out = append(out, report.Change{Revision: len(f.Revisions) + 1, Kind: "trailing data", Detail: "bytes after the last %%EOF outside every revision"})
	}
	return out
}

type revCtx struct {
	f         *pdfscan.File
	k         int
	docMDP    int
	catalog   map[int]bool
	acroForm  map[int]bool
	dssObjs   map[int]bool
	info      map[int]bool
	allowForm bool
}

func refNum(o pdfscan.Object) (int, bool) {
	if o.Kind == pdfscan.Reference {
		return o.Ref.Num, true
	}
	return 0, false
}

func classifyRevision(f *pdfscan.File, k, docMDP int) []report.Change {
	c := &revCtx{f: f, k: k, docMDP: docMDP, catalog: map[int]bool{}, acroForm: map[int]bool{}, dssObjs: map[int]bool{}, info: map[int]bool{}}
	c.allowForm = docMDP == 0 || docMDP >= 2
	for _, rev := range []int{k - 1, k} {
		tr := f.Trailer(rev)
		if n, ok := refNum(tr.Get("Root")); ok {
			c.catalog[n] = true
		}
		if n, ok := refNum(tr.Get("Info")); ok {
			c.info[n] = true
		}
		root := f.Root(rev)
		if n, ok := refNum(root.Get("AcroForm")); ok {
			c.acroForm[n] = true
		}
		if n, ok := refNum(root.Get("DSS")); ok {
			c.dssObjs[n] = true
		}
		if d := f.ResolveDict(rev, root.Get("DSS")); d != nil {
			c.collectDSS(rev, d)
		}
	}
	var out []report.Change
	add := func(allowed bool, kind, detail string) {
		out = append(out, report.Change{Revision: k + 1, Allowed: allowed, Kind: kind, Detail: detail})
	}
	// A new catalog object swaps the whole document: compare catalogs.
	oldRoot, newRoot := f.Trailer(k-1).Get("Root"), f.Trailer(k).Get("Root")
	if oldRoot.Kind == pdfscan.Reference && newRoot.Kind == pdfscan.Reference && oldRoot.Ref.Num != newRoot.Ref.Num {
		ok, d := c.catalogChange(f.Root(k-1), f.Root(k))
		add(ok, "catalog replaced", d)
	}
	intro := f.Introduced(k)
	nums := make([]int, 0, len(intro))
	for n := range intro {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		prior := intro[n]
		nw, err := f.Get(k, n)
		if err != nil {
			add(false, "unreadable object", fmt.Sprintf("object %d: %v", n, err))
			continue
		}
		if prior < 0 {
			ok, kind, d := c.newObject(n, nw)
			if !ok || kind != "" {
				add(ok, kind, d)
			}
			continue
		}
		old, err := f.Get(k-1, n)
		if err != nil {
			add(false, "unreadable object", fmt.Sprintf("object %d: %v", n, err))
			continue
		}
		if sameObject(f, old, nw) {
			continue
		}
		ok, kind, d := c.changed(n, old, nw)
		add(ok, kind, d)
	}
	// Objects freed by this revision.
	for num, e := range f.Revisions[k].Section.Entries {
		if e.Type != pdfscan.Free || num == 0 {
			continue
		}
		if _, _, was := f.Lookup(k-1, num); was {
			add(false, "object deleted", fmt.Sprintf("object %d deleted", num))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Detail < out[j].Detail })
	return compact(out)
}

// compact merges repeated allowed entries of the same kind.
func compact(in []report.Change) []report.Change {
	var out []report.Change
	seen := map[string]int{}
	for _, c := range in {
		if !c.Allowed {
			out = append(out, c)
			continue
		}
		if i, ok := seen[c.Kind]; ok {
			out[i].Detail += "; " + c.Detail
			continue
		}
		seen[c.Kind] = len(out)
		out = append(out, c)
	}
	return out
}

func (c *revCtx) collectDSS(rev int, d *pdfscan.Dict) {
	var walk func(o pdfscan.Object, depth int)
	walk = func(o pdfscan.Object, depth int) {
		if depth > 6 || len(c.dssObjs) > 100000 {
			return
		}
		switch o.Kind {
		case pdfscan.Reference:
			if c.dssObjs[o.Ref.Num] && depth > 0 {
				return
			}
			c.dssObjs[o.Ref.Num] = true
			if r, err := c.f.Resolve(rev, o); err == nil && r.Kind != pdfscan.Stream {
				walk(r, depth+1)
			}
		case pdfscan.Array:
			for _, x := range o.Array {
				walk(x, depth+1)
			}
		case pdfscan.Dictionary:
			for _, key := range o.Dict.Keys {
				walk(o.Dict.Vals[key], depth+1)
			}
		}
	}
	walk(pdfscan.Object{Kind: pdfscan.Dictionary, Dict: d}, 0)
}

func sameObject(f *pdfscan.File, a, b pdfscan.Object) bool {
	if !pdfscan.Equal(a, b) {
		return false
	}
	if a.Kind == pdfscan.Stream {
		return bytes.Equal(f.Raw(a), f.Raw(b))
	}
	return true
}

func typeOf(o pdfscan.Object) string {
	if o.Kind != pdfscan.Dictionary && o.Kind != pdfscan.Stream {
		return ""
	}
	if t := o.Dict.Name("Type"); t != "" {
		return t
	}
	if o.Dict.Name("Subtype") == "Widget" {
		return "Annot"
	}
	return ""
}

func isSigField(d *pdfscan.Dict) bool { return d.Name("FT") == "Sig" }

// newObject classifies an object that did not exist before.
func (c *revCtx) newObject(n int, o pdfscan.Object) (bool, string, string) {
	switch t := typeOf(o); {
	case t == "DocTimeStamp":
		return true, "document time-stamp added", fmt.Sprintf("object %d", n)
	case t == "Sig":
		if c.docMDP == 1 {
			return false, "signature added", fmt.Sprintf("object %d: the certification signature allows no changes", n)
		}
		return true, "signature added", fmt.Sprintf("object %d", n)
	case c.dssObjs[n] || t == "DSS":
		return true, "validation data (DSS) added", fmt.Sprintf("object %d", n)
	case t == "Page" || t == "Pages":
		return false, "page added", fmt.Sprintf("new page object %d", n)
	case t == "Annot" && o.Dict.Name("Subtype") != "Widget":
		return false, "annotation added", fmt.Sprintf("new %s annotation %d", o.Dict.Name("Subtype"), n)
	case t == "Annot" && isSigField(o.Dict):
		return true, "signature field added", fmt.Sprintf("object %d", n)
	case t == "Annot":
		return c.allowForm, "form field added", fmt.Sprintf("widget %d", n)
	}
	// New objects nobody displays (appearance streams, xref and object
	// streams) are harmless unless a changed object uses them; that change
	// is classified on its own.
	return true, "", ""
}

func keysSubset(keys []string, allowed ...string) bool {
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return false
		}
	}
	return true
}

func (c *revCtx) catalogChange(old, nw *pdfscan.Dict) (bool, string) {
	keys := pdfscan.ChangedKeys(old, nw)
	if keysSubset(keys, "DSS", "AcroForm", "Extensions", "Perms") {
		if slices.Contains(keys, "AcroForm") && old.Get("AcroForm").Kind == pdfscan.Dictionary {
			ok, d := c.acroFormChange(old.Get("AcroForm").Dict, c.f.ResolveDict(c.k, nw.Get("AcroForm")))
			return ok, d
		}
		return true, "catalog updated: " + strings.Join(keys, ", ")
	}
	return false, "catalog changed: " + strings.Join(keys, ", ")
}

func (c *revCtx) acroFormChange(old, nw *pdfscan.Dict) (bool, string) {
	if nw == nil {
		return false, "form removed"
	}
	keys := pdfscan.ChangedKeys(old, nw)
	if !keysSubset(keys, "Fields", "SigFlags", "DR", "DA", "NeedAppearances") {
		return false, "form changed: " + strings.Join(keys, ", ")
	}
	of, _ := c.f.Resolve(c.k-1, old.Get("Fields"))
	nf, _ := c.f.Resolve(c.k, nw.Get("Fields"))
	for _, x := range of.Array {
		if !slices.ContainsFunc(nf.Array, func(y pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			return false, "form fields removed"
		}
	}
	return true, "form fields: " + strings.Join(keys, ", ")
}

// changed classifies an object that an earlier revision defined.
func (c *revCtx) changed(n int, old, nw pdfscan.Object) (bool, string, string) {
	if c.catalog[n] && old.Kind == pdfscan.Dictionary && nw.Kind == pdfscan.Dictionary {
		ok, d := c.catalogChange(old.Dict, nw.Dict)
		return ok, "catalog", d
	}
	if c.acroForm[n] && old.Kind == pdfscan.Dictionary && nw.Kind == pdfscan.Dictionary {
		ok, d := c.acroFormChange(old.Dict, nw.Dict)
		return ok, "form", d
	}
	if c.dssObjs[n] {
		return true, "validation data (DSS) updated", fmt.Sprintf("object %d", n)
	}
	if c.info[n] {
		return true, "document information updated", fmt.Sprintf("object %d (metadata, not displayed)", n)
	}
	if old.Kind != nw.Kind || (old.Kind != pdfscan.Dictionary && old.Kind != pdfscan.Stream) {
		return false, "content changed", fmt.Sprintf("object %d replaced", n)
	}
	ot, nt := typeOf(old), typeOf(nw)
	keys := pdfscan.ChangedKeys(old.Dict, nw.Dict)
	switch {
	case ot == "Page" && nt == "Page" && old.Kind == pdfscan.Dictionary:
		if !keysSubset(keys, "Annots") {
			return false, "page changed", fmt.Sprintf("page object %d: %s", n, strings.Join(keys, ", "))
		}
		return c.annotsChange(n, old.Dict, nw.Dict)
	case ot == "Pages" || nt == "Pages":
		return false, "pages changed", fmt.Sprintf("page tree node %d: %s", n, strings.Join(keys, ", "))
	case ot == "Metadata" && nt == "Metadata":
		return true, "metadata updated", fmt.Sprintf("object %d (XMP, not displayed)", n)
	case isField(old.Dict) && nt == ot && old.Kind == pdfscan.Dictionary:
		if isSigField(old.Dict) && keysSubset(keys, "V", "AP", "AS", "F", "MK") && !old.Dict.Has("V") {
			return true, "signature field signed", fmt.Sprintf("field %d", n)
		}
		if keysSubset(keys, "V", "AP", "AS", "MK") && !isSigField(old.Dict) {
			if c.allowForm {
				return true, "form filled", fmt.Sprintf("field %d", n)
			}
			return false, "form filled", fmt.Sprintf("field %d changed but the certification signature allows no changes", n)
		}
		return false, "form field changed", fmt.Sprintf("field %d: %s", n, strings.Join(keys, ", "))
	}
	kind := ot
	if kind == "" {
		kind = "object"
	}
	return false, "content changed", fmt.Sprintf("%s %d overridden by a later definition", kind, n)
}

func isField(d *pdfscan.Dict) bool {
	return d.Has("FT") || d.Name("Subtype") == "Widget" || d.Has("Parent") && d.Has("T")
}

func (c *revCtx) annotsChange(n int, old, nw *pdfscan.Dict) (bool, string, string) {
	oa, _ := c.f.Resolve(c.k-1, old.Get("Annots"))
	na, _ := c.f.Resolve(c.k, nw.Get("Annots"))
	for _, x := range oa.Array {
		if !slices.ContainsFunc(na.Array, func(y pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			return false, "annotation removed", fmt.Sprintf("page %d", n)
		}
	}
	for _, y := range na.Array {
		if slices.ContainsFunc(oa.Array, func(x pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			continue
		}
		d := c.f.ResolveDict(c.k, y)
		if d == nil {
			return false, "annotation added", fmt.Sprintf("page %d: unreadable annotation", n)
		}
		if d.Name("Subtype") != "Widget" {
			return false, "annotation added", fmt.Sprintf("page %d: %s annotation", n, d.Name("Subtype"))
		}
		if !isSigField(d) && !c.allowForm {
			return false, "form field added", fmt.Sprintf("page %d", n)
		}
	}
	return true, "signature field added", fmt.Sprintf("page %d annotations", n)
}

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

// Change analysis is a whitelist over the object graph, in the spirit of
// pyHanko's difference policy: for each revision after a signed one, every
// object the revision defines anew, changes or frees must be explained by
// one allowed kind of update, and anything unexplained is a modification.
//
// Allowed kinds, each with structural checks:
//   - validation data (/DSS, /VRI: streams of certificates, CRLs and OCSP
//     responses) sharing no object with the rest of the document;
//   - document time-stamps, and new signature fields signed in the same
//     update (a co-signature), except under DocMDP P=1 for the latter;
//   - an empty signature field added without a visible appearance (P≠1);
//   - filling existing fields and signing existing signature fields, with
//     their appearances (P≥2 or no certification; not fields a FieldMDP or
//     /Lock dictionary locks);
//   - annotations other than widgets added or changed (P=3 or no
//     certification);
//   - document information and XMP metadata that nothing else references;
//     structure tree updates (P≠1); catalog /Extensions and /Version.
//
// The rest of what the signed revision reaches from the catalog — pages,
// content streams, resources, fonts, annotations, the AcroForm — changes
// only through those rules. A new object that unchanged signed content
// references (a reference dangling at signing time) is a modification, as
// are repeated dictionary keys in a later revision, a changed signature
// dictionary, /NeedAppearances or /XFA set on the form, and freeing an
// object the signed revision reached.

// maxChangesListed bounds the changes a report lists per revision.
const maxChangesListed = 50

// maxObjectsPerUpdate bounds the objects one revision after a signature
// may define.
const maxObjectsPerUpdate = 20000

// maxChangesReported bounds the changes a report lists over the file.
const maxChangesReported = 500

// maxGraphVisits bounds the object-graph visits of the analysis of one
// revision, and maxFileVisits of the whole file. Beyond them the analysis
// would be partial, so the revision is reported as a modification.
const maxGraphVisits = 2_000_000

const maxFileVisits = 20_000_000

// permissions are the change permissions in force for one revision: the
// strictest DocMDP P of the certification signatures before it, and the
// fields that FieldMDP transforms or /Lock dictionaries lock.
type permissions struct {
	p       int // 0: no certification; else 1, 2 or 3
	lockAll bool
	locked  map[string]bool // fully qualified field names
	except  []map[string]bool
}

func (pm *permissions) isLocked(name string) bool {
	if pm.lockAll || pm.locked[name] {
		return true
	}
	for _, ex := range pm.except {
		if !ex[name] {
			return true
		}
	}
	return false
}

// sigInfo is what change analysis needs to know of one signature.
type sigInfo struct {
	num    int // signature dictionary object number
	rev    int // signed revision (0-based)
	docTS  bool
	docMDP int
	lock   fieldLock
}

// fieldLock is a FieldMDP transform or a /Lock dictionary.
type fieldLock struct {
	action string // All, Include, Exclude
	fields []string
}

// analysis holds the state of the change analysis of one file.
type analysis struct {
	f       *pdfscan.File
	sigs    []sigInfo
	sigNums map[int]int // signature dictionary -> signed revision
	visits  int         // this revision's
	total   int         // the file's
}

// classifyChanges classifies each incremental update after revision from
// (0-based): every object it defines, changes or frees is explained by an
// allowed kind of update or reported as a disallowed change.
func classifyChanges(f *pdfscan.File, from int, sigs []sigInfo) []report.Change {
	if from < 0 {
		return nil
	}
	a := &analysis{f: f, sigs: sigs, sigNums: map[int]int{}}
	for _, s := range sigs {
		a.sigNums[s.num] = s.rev
	}
	var out []report.Change
	for k := from + 1; k < len(f.Revisions); k++ {
		r, p := f.Revisions[k], f.Revisions[k-1]
		if r.Section == p.Section {
			continue // a repeated %%EOF marker, no new section
		}
		var cs []report.Change
		if r.Section.Prev != p.StartXref && !sameSectionOffset(f, r.Section.Prev, p.StartXref) {
			cs = append(cs, report.Change{Revision: k + 1, Kind: "structure", Detail: "the cross-reference section does not chain to the previous revision"})
		}
		cs = append(cs, a.revision(k, a.permsFor(k))...)
		out = append(out, bound(cs)...)
	}
	if f.Trailing {
		out = append(out, report.Change{Revision: len(f.Revisions) + 1, Kind: "trailing data", Detail: "bytes after the last %%EOF outside every revision"})
	}
	if len(out) > maxChangesReported {
		// Keep every revision's first disallowed change, if any.
		var kept []report.Change
		seen := map[int]bool{}
		for _, c := range out {
			if !c.Allowed && !seen[c.Revision] {
				seen[c.Revision] = true
				kept = append(kept, c)
			}
		}
		kept = kept[:min(len(kept), maxChangesReported-1)]
		kept = append(kept, report.Change{Revision: out[len(out)-1].Revision, Allowed: len(kept) == 0, Kind: "more changes", Detail: fmt.Sprintf("%d changes, not all listed", len(out))})
		out = kept
	}
	return out
}

// sameSectionOffset reports whether two offsets differ only by white space
// before the same section.
func sameSectionOffset(f *pdfscan.File, a, b int64) bool {
	if a > b {
		a, b = b, a
	}
	if a < 0 || b > int64(len(f.Data)) || b-a > 64 {
		return false
	}
	return len(bytes.Trim(f.Data[a:b], "\x00\t\n\f\r ")) == 0
}

// bound keeps the report small: disallowed changes first, at most
// maxChangesListed per revision, then one summary entry.
func bound(cs []report.Change) []report.Change {
	cs = compact(cs)
	if len(cs) <= maxChangesListed {
		return cs
	}
	sort.SliceStable(cs, func(i, j int) bool { return !cs[i].Allowed && cs[j].Allowed })
	rest := cs[maxChangesListed:]
	allowed := true
	for _, c := range rest {
		allowed = allowed && c.Allowed
	}
	cs = append(cs[:maxChangesListed:maxChangesListed], report.Change{Revision: rest[0].Revision, Allowed: allowed, Kind: "more changes", Detail: fmt.Sprintf("%d more changes not listed", len(rest))})
	return cs
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
			if n := strings.Count(out[i].Detail, "; "); n < 20 {
				out[i].Detail += "; " + c.Detail
			} else if n == 20 {
				out[i].Detail += "; …"
			}
			continue
		}
		seen[c.Kind] = len(out)
		out = append(out, c)
	}
	return out
}

// permsFor returns the permissions in force for revision k: those of the
// signatures signed in an earlier revision.
func (a *analysis) permsFor(k int) *permissions {
	pm := &permissions{locked: map[string]bool{}}
	for _, s := range a.sigs {
		if s.rev >= k || s.docTS {
			continue
		}
		if s.docMDP > 0 && (pm.p == 0 || s.docMDP < pm.p) {
			pm.p = s.docMDP
		}
		switch s.lock.action {
		case "All":
			pm.lockAll = true
		case "Include":
			for _, n := range s.lock.fields {
				pm.locked[n] = true
			}
		case "Exclude":
			ex := map[string]bool{}
			for _, n := range s.lock.fields {
				ex[n] = true
			}
			pm.except = append(pm.except, ex)
		}
	}
	return pm
}

// revCtx is the analysis of one revision k against revision k-1.
type revCtx struct {
	*analysis
	k     int
	pm    *permissions
	out   []report.Change
	oldRt int // catalog object numbers (-1 when direct)
	newRt int
	// fields maps the field and widget objects of revision k to their fully
	// qualified names; oldFields those of revision k-1.
	fields, oldFields map[int]string
	annots, oldAnnots map[int]bool // annotations listed by pages
	pages, oldPages   map[int]bool // page tree nodes
	// skipAP: annotations whose appearance changed as an allowed update.
	skipAP map[int]bool
	// fresh: new objects an allowed update introduced (with their closure).
	fresh map[int]bool
	// newWidgets: widgets of new fields an allowed update added.
	newWidgets map[int]bool
	explained  map[int]bool
}

func (c *revCtx) add(allowed bool, kind, detail string) {
	c.out = append(c.out, report.Change{Revision: c.k + 1, Allowed: allowed, Kind: kind, Detail: detail})
}

func refNum(o pdfscan.Object) int {
	if o.Kind == pdfscan.Reference {
		return o.Ref.Num
	}
	return -1
}

func (a *analysis) revision(k int, pm *permissions) []report.Change {
	f := a.f
	a.total += a.visits
	a.visits = 0
	if a.total > maxFileVisits {
		return []report.Change{{Revision: k + 1, Kind: "too complex", Detail: "the document's object graph is too large to analyse every revision"}}
	}
	c := &revCtx{analysis: a, k: k, pm: pm, skipAP: map[int]bool{}, fresh: map[int]bool{}, newWidgets: map[int]bool{}, explained: map[int]bool{}}
	c.oldRt, c.newRt = refNum(f.Trailer(k-1).Get("Root")), refNum(f.Trailer(k).Get("Root"))
	c.fields, c.annots, c.pages = c.structure(k)
	c.oldFields, c.oldAnnots, c.oldPages = c.structure(k - 1)

	// What the revision defines: new and changed objects. An update after
	// signing that defines more objects than any honest one (validation
	// data, form filling, a few signatures) is refused without looking at
	// each object, which bounds the work and the report.
	intro := f.Introduced(k)
	if len(intro) > maxObjectsPerUpdate {
		c.add(false, "too many changes", fmt.Sprintf("the revision defines %d objects, more than the %d an update after signing is allowed", len(intro), maxObjectsPerUpdate))
		return c.out
	}
	nums := make([]int, 0, len(intro))
	for n := range intro {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var changed, added []int
	for _, n := range nums {
		nw, err := f.Get(k, n)
		if err != nil {
			c.add(false, "unreadable object", fmt.Sprintf("object %d: %v", n, err))
			c.explained[n] = true
			continue
		}
		if d := pdfscan.Duplicated(nw); d != "" {
			c.add(false, "repeated dictionary key", fmt.Sprintf("object %d repeats /%s: readers disagree on its value", n, d))
			c.explained[n] = true
			continue
		}
		if intro[n] < 0 {
			added = append(added, n)
			continue
		}
		old, err := f.Get(k-1, n)
		if err != nil {
			c.add(false, "unreadable object", fmt.Sprintf("object %d: %v", n, err))
			c.explained[n] = true
			continue
		}
		if !sameObject(f, old, nw) {
			changed = append(changed, n)
		}
	}

	// The trailer and the catalog.
	c.trailer()
	c.catalog()

	// First pass: the structural objects (form, fields, widgets, pages,
	// annotations, signatures), whose allowed changes open the way for
	// the appearance streams and new objects they reference.
	var rest []int
	for _, n := range changed {
		if c.explained[n] {
			continue
		}
		if !c.structural(n) {
			rest = append(rest, n)
		}
	}

	// The document as signed content reaches it: from the catalog, leaving
	// out validation data, metadata, the structure tree, signature values
	// and the appearances of annotations an allowed update changed.
	mainOld := c.reach(k-1, true)
	mainNew := c.reach(k, true)
	allNew := c.reach(k, false)
	dss := c.closure(k, c.catalogKey(k, "DSS"))
	info := c.closure(k, c.f.Trailer(k).Get("Info"))
	xmp := c.closure(k, c.catalogKey(k, "Metadata"))
	st := c.closure(k, c.catalogKey(k, "StructTreeRoot"))
	aps := map[int]bool{}
	for w := range c.skipAP {
		if d := c.f.ResolveDict(k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: w}}); d != nil {
			for n := range c.closure(k, d.Get("AP")) {
				aps[n] = true
			}
		}
	}
	outside := func(n int) bool { return !mainOld[n] && !mainNew[n] }
	for _, n := range rest {
		switch {
		case c.explained[n]:
		case outside(n) && dss[n]:
			c.add(true, "validation data (DSS) updated", fmt.Sprintf("object %d", n))
		case outside(n) && aps[n]:
			c.add(true, "appearance updated", fmt.Sprintf("object %d, appearance of a field filled or signed", n))
		case outside(n) && info[n]:
			c.add(true, "document information updated", fmt.Sprintf("object %d (metadata, not displayed)", n))
		case outside(n) && xmp[n]:
			c.add(true, "metadata updated", fmt.Sprintf("object %d (XMP, not displayed)", n))
		case outside(n) && st[n]:
			c.add(c.pm.p != 1, "structure tree updated", fmt.Sprintf("object %d (logical structure, not displayed)", n))
		case outside(n) && !allNew[n]:
			c.add(true, "unused object changed", fmt.Sprintf("object %d, which nothing references", n))
		default:
			c.add(false, "content changed", fmt.Sprintf("%s %d overridden by a later definition", kindOf(c.f, k, n), n))
		}
	}
	for _, n := range added {
		switch {
		case c.explained[n]:
		case !mainNew[n]:
			// Nothing the signed content shows.
			switch t := kindOf(c.f, k, n); {
			case dss[n]:
				c.add(true, "validation data (DSS) added", fmt.Sprintf("object %d", n))
			case c.sigNums[n] == k && c.isSig(n):
				c.add(true, "signature value added", fmt.Sprintf("object %d", n))
			case t == "XRef stream" || t == "ObjStm stream":
			case info[n] || xmp[n]:
				c.add(true, "metadata added", fmt.Sprintf("object %d (not displayed)", n))
			case aps[n] || c.fresh[n]:
			case st[n]:
				c.add(c.pm.p != 1, "structure tree updated", fmt.Sprintf("object %d (logical structure, not displayed)", n))
			default:
				c.add(true, "unused object added", fmt.Sprintf("object %d, which the signed content does not reference", n))
			}
		case c.fresh[n]:
		default:
			c.add(false, "object defined after signing", fmt.Sprintf("new object %d is referenced by content signed before it existed", n))
		}
	}

	// Objects freed by this revision: nothing the signed revision reached
	// (signature dictionaries included) may go, except old validation data.
	var allOld, dssOld map[int]bool
	for num, e := range f.Revisions[k].Section.Entries {
		if e.Type != pdfscan.Free || num == 0 {
			continue
		}
		if _, _, was := f.Lookup(k-1, num); !was {
			continue
		}
		if allOld == nil {
			allOld = c.reach(k-1, false)
			dssOld = c.closure(k-1, c.catalogKey(k-1, "DSS"))
		}
		if allOld[num] && !(dssOld[num] && !mainOld[num]) {
			c.add(false, "object deleted", fmt.Sprintf("object %d deleted", num))
		}
	}
	if c.visits > maxGraphVisits {
		c.add(false, "too complex", fmt.Sprintf("the object graph of revision %d is too large to analyse", k+1))
	}
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].Detail < c.out[j].Detail })
	return c.out
}

func kindOf(f *pdfscan.File, rev, n int) string {
	o, err := f.Get(rev, n)
	if err != nil {
		return "object"
	}
	if o.Kind == pdfscan.Stream {
		if t := o.Dict.Name("Type"); t != "" {
			return t + " stream"
		}
		return "stream"
	}
	if o.Kind == pdfscan.Dictionary {
		if t := o.Dict.Name("Type"); t != "" {
			return t
		}
	}
	return "object"
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

func (c *revCtx) catalogKey(rev int, key string) pdfscan.Object {
	return c.f.Root(rev).Get(key)
}

// structure returns the fields and widgets (with their qualified names),
// the annotations listed by pages, and the page tree nodes of revision rev.
func (c *revCtx) structure(rev int) (map[int]string, map[int]bool, map[int]bool) {
	f := c.f
	fields, annots, pages := map[int]string{}, map[int]bool{}, map[int]bool{}
	root := f.Root(rev)
	if af := f.ResolveDict(rev, root.Get("AcroForm")); af != nil {
		var walk func(o pdfscan.Object, prefix string, depth int)
		walk = func(o pdfscan.Object, prefix string, depth int) {
			c.visits++
			n := refNum(o)
			if depth > 32 || c.visits > maxGraphVisits || n < 0 {
				return
			}
			if _, seen := fields[n]; seen {
				return
			}
			d := f.ResolveDict(rev, o)
			if d == nil {
				return
			}
			name := prefix
			if t := d.Get("T"); t.Kind == pdfscan.String {
				if name != "" {
					name += "."
				}
				name += pdfText(t.Str)
			}
			fields[n] = name
			if kids, err := f.Resolve(rev, d.Get("Kids")); err == nil && kids.Kind == pdfscan.Array {
				for _, kid := range kids.Array {
					walk(kid, name, depth+1)
				}
			}
		}
		if fs, err := f.Resolve(rev, af.Get("Fields")); err == nil && fs.Kind == pdfscan.Array {
			for _, x := range fs.Array {
				walk(x, "", 0)
			}
		}
	}
	var walkPages func(o pdfscan.Object, depth int)
	walkPages = func(o pdfscan.Object, depth int) {
		c.visits++
		n := refNum(o)
		if depth > 64 || c.visits > maxGraphVisits || n < 0 || pages[n] {
			return
		}
		pages[n] = true
		d := f.ResolveDict(rev, o)
		if d == nil {
			return
		}
		if as, err := f.Resolve(rev, d.Get("Annots")); err == nil && as.Kind == pdfscan.Array {
			for _, x := range as.Array {
				if m := refNum(x); m >= 0 {
					annots[m] = true
				}
			}
		}
		if kids, err := f.Resolve(rev, d.Get("Kids")); err == nil && kids.Kind == pdfscan.Array {
			for _, kid := range kids.Array {
				walkPages(kid, depth+1)
			}
		}
	}
	walkPages(root.Get("Pages"), 0)
	return fields, annots, pages
}

// reach returns the objects reachable from revision rev's trailer; with
// main, only through what signed content shows: from the catalog, leaving
// out /DSS, /Metadata, /StructTreeRoot, signature values and the
// appearances of annotations an allowed update changed.
func (c *revCtx) reach(rev int, main bool) map[int]bool {
	f := c.f
	seen := map[int]bool{}
	var queue []int
	push := func(o pdfscan.Object, from int) {
		var walk func(o pdfscan.Object, depth int)
		walk = func(o pdfscan.Object, depth int) {
			c.visits++
			if depth > 256 || c.visits > maxGraphVisits {
				return
			}
			switch o.Kind {
			case pdfscan.Reference:
				if !seen[o.Ref.Num] {
					seen[o.Ref.Num] = true
					queue = append(queue, o.Ref.Num)
				}
			case pdfscan.Array:
				for _, x := range o.Array {
					walk(x, depth+1)
				}
			case pdfscan.Dictionary, pdfscan.Stream:
				for _, key := range o.Dict.Keys {
					if main && c.skipKey(rev, from, o.Dict, key, depth) {
						continue
					}
					walk(o.Dict.Vals[key], depth+1)
				}
			}
		}
		walk(o, 0)
	}
	tr := f.Trailer(rev)
	if main {
		push(tr.Get("Root"), -2)
	} else {
		push(pdfscan.Object{Kind: pdfscan.Dictionary, Dict: tr}, -3)
	}
	for len(queue) > 0 && c.visits <= maxGraphVisits {
		n := queue[0]
		queue = queue[1:]
		o, err := f.Get(rev, n)
		if err != nil {
			continue
		}
		push(o, n)
	}
	return seen
}

// skipKey says which edges the main reachability leaves out.
func (c *revCtx) skipKey(rev, from int, d *pdfscan.Dict, key string, depth int) bool {
	isRoot := depth == 0 && (from == refNum(c.f.Trailer(rev).Get("Root")) || from == -2)
	switch {
	case isRoot && (key == "DSS" || key == "Metadata" || key == "StructTreeRoot"):
		return true
	case key == "V" && depth == 0:
		_, sig := c.sigNums[refNum(d.Get("V"))]
		return sig
	case key == "AP" && depth == 0 && c.skipAP[from]:
		return true
	}
	return false
}

// closure returns the objects reachable from o in revision rev.
func (c *revCtx) closure(rev int, o pdfscan.Object) map[int]bool {
	seen := map[int]bool{}
	var queue []pdfscan.Object
	queue = append(queue, o)
	for len(queue) > 0 && c.visits <= maxGraphVisits {
		x := queue[0]
		queue = queue[1:]
		c.visits++
		switch x.Kind {
		case pdfscan.Reference:
			if seen[x.Ref.Num] {
				continue
			}
			seen[x.Ref.Num] = true
			if r, err := c.f.Get(rev, x.Ref.Num); err == nil {
				queue = append(queue, r)
			}
		case pdfscan.Array:
			queue = append(queue, x.Array...)
		case pdfscan.Dictionary, pdfscan.Stream:
			for _, k := range x.Dict.Keys {
				queue = append(queue, x.Dict.Vals[k])
			}
		}
	}
	return seen
}

// introduce marks the new objects reachable from o (through new objects
// only) as introduced by an allowed update.
func (c *revCtx) introduce(o pdfscan.Object) {
	var walk func(o pdfscan.Object, depth int)
	walk = func(o pdfscan.Object, depth int) {
		c.visits++
		if depth > 64 || c.visits > maxGraphVisits {
			return
		}
		switch o.Kind {
		case pdfscan.Reference:
			n := o.Ref.Num
			if c.fresh[n] {
				return
			}
			if _, _, existed := c.f.Lookup(c.k-1, n); existed {
				return
			}
			c.fresh[n] = true
			if r, err := c.f.Get(c.k, n); err == nil {
				walk(r, depth+1)
			}
		case pdfscan.Array:
			for _, x := range o.Array {
				walk(x, depth+1)
			}
		case pdfscan.Dictionary, pdfscan.Stream:
			for _, k := range o.Dict.Keys {
				walk(o.Dict.Vals[k], depth+1)
			}
		}
	}
	walk(o, 0)
}

// trailer checks the trailer keys that change what a reader shows.
func (c *revCtx) trailer() {
	old, nw := c.f.Trailer(c.k-1), c.f.Trailer(c.k)
	if !pdfscan.Equal(old.Get("Encrypt"), nw.Get("Encrypt")) {
		c.add(false, "encryption changed", "the trailer's /Encrypt changed")
	}
	if c.oldRt != c.newRt {
		// A new catalog object: compared with the old one as a change.
		c.explained[c.newRt] = true
		c.catalogChange(c.f.Root(c.k-1), c.f.Root(c.k), "catalog replaced")
	}
}

// catalog checks the catalog when its object changed.
func (c *revCtx) catalog() {
	if c.oldRt != c.newRt || c.oldRt < 0 {
		return
	}
	old, err1 := c.f.Get(c.k-1, c.oldRt)
	nw, err2 := c.f.Get(c.k, c.newRt)
	if err1 != nil || err2 != nil || sameObject(c.f, old, nw) {
		return
	}
	c.explained[c.newRt] = true
	if old.Kind != pdfscan.Dictionary || nw.Kind != pdfscan.Dictionary {
		c.add(false, "catalog changed", "the catalog is not a dictionary")
		return
	}
	c.catalogChange(old.Dict, nw.Dict, "catalog updated")
}

func (c *revCtx) catalogChange(old, nw *pdfscan.Dict, kind string) {
	if nw == nil || old == nil {
		c.add(false, "catalog changed", "the catalog is unreadable")
		return
	}
	keys := pdfscan.ChangedKeys(old, nw)
	var bad []string
	for _, key := range keys {
		switch key {
		case "DSS", "Extensions", "Version", "Metadata":
			c.introduce(nw.Get(key))
		case "StructTreeRoot", "MarkInfo":
			if c.pm.p == 1 {
				bad = append(bad, key)
			}
			c.introduce(nw.Get(key))
		case "Names":
			// Only the named appearances annotations use (/AP) may be
			// added or changed, where annotations are allowed.
			on, nn := c.f.ResolveDict(c.k-1, old.Get("Names")), c.f.ResolveDict(c.k, nw.Get("Names"))
			if nn == nil || c.pm.p == 1 || c.pm.p == 2 || !slices.Equal(pdfscan.ChangedKeys(on, nn), []string{"AP"}) {
				bad = append(bad, key)
				continue
			}
			if n := refNum(nw.Get("Names")); n >= 0 {
				c.explained[n] = true
			}
			c.introduce(nn.Get("AP"))
			c.introduce(nw.Get("Names"))
		case "AcroForm":
			c.acroForm(c.f.ResolveDict(c.k-1, old.Get("AcroForm")), c.f.ResolveDict(c.k, nw.Get("AcroForm")))
			if n := refNum(nw.Get("AcroForm")); n >= 0 {
				c.explained[n] = true
			}
			if nw.Get("AcroForm").Kind == pdfscan.Reference {
				if _, _, existed := c.f.Lookup(c.k-1, refNum(nw.Get("AcroForm"))); !existed {
					c.fresh[refNum(nw.Get("AcroForm"))] = true
				}
			}
		default:
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		c.add(false, "catalog changed", strings.Join(bad, ", "))
		return
	}
	if len(keys) > 0 {
		c.add(true, kind, strings.Join(keys, ", "))
	}
}

// acroForm compares the form dictionaries by value (direct or indirect).
func (c *revCtx) acroForm(old, nw *pdfscan.Dict) {
	if old == nil && nw == nil {
		return
	}
	if nw == nil {
		c.add(false, "form removed", "the catalog's /AcroForm was removed")
		return
	}
	if old == nil {
		old = &pdfscan.Dict{Vals: map[string]pdfscan.Object{}}
	}
	keys := pdfscan.ChangedKeys(old, nw)
	for _, key := range keys {
		switch key {
		case "Fields":
			c.fieldsChange(old, nw)
		case "SigFlags":
			c.add(true, "form updated", "/SigFlags")
		case "DA":
			// A default appearance may be added (for new fields' text),
			// not changed.
			if old.Has("DA") {
				c.add(false, "form changed", "the form's /DA changed")
			} else {
				c.add(true, "form updated", "default appearance added")
			}
		case "DR":
			c.resourcesChange(c.f.ResolveDict(c.k-1, old.Get("DR")), c.f.ResolveDict(c.k, nw.Get("DR")))
			c.introduce(nw.Get("DR"))
			if n := refNum(nw.Get("DR")); n >= 0 {
				c.explained[n] = true
			}
		default:
			// /NeedAppearances, /XFA, /DA, /Q, /CO: what readers show of
			// every field, or another form technology.
			c.add(false, "form changed", fmt.Sprintf("the form's /%s changed", key))
		}
	}
}

// resourcesChange allows the form's default resources to grow. Existing
// fonts and encodings may not change: readers draw field text with them
// when they generate appearances. Other default resources (XObjects some
// signers keep there) are drawn by nothing and may change.
func (c *revCtx) resourcesChange(old, nw *pdfscan.Dict) {
	if old == nil {
		c.add(true, "form updated", "default resources added")
		return
	}
	if nw == nil {
		c.add(false, "form changed", "default resources removed")
		return
	}
	for _, key := range old.Keys {
		if key != "Font" && key != "Encoding" {
			continue
		}
		ov, nv := c.f.ResolveDict(c.k-1, old.Get(key)), c.f.ResolveDict(c.k, nw.Get(key))
		if ov == nil {
			if ro, _ := c.f.Resolve(c.k-1, old.Get(key)); !pdfscan.Equal(ro, nw.Get(key)) {
				c.add(false, "form changed", fmt.Sprintf("default resource /%s changed", key))
			}
			continue
		}
		for _, sub := range ov.Keys {
			if nv == nil || !pdfscan.Equal(ov.Get(sub), nv.Get(sub)) {
				c.add(false, "form changed", fmt.Sprintf("default resource /%s/%s changed", key, sub))
			}
		}
	}
	c.add(true, "form updated", "default resources added")
}

// fieldsChange checks the form's field list: old fields stay, new ones
// must be allowed additions.
func (c *revCtx) fieldsChange(old, nw *pdfscan.Dict) {
	of, _ := c.f.Resolve(c.k-1, old.Get("Fields"))
	nf, _ := c.f.Resolve(c.k, nw.Get("Fields"))
	if n := refNum(nw.Get("Fields")); n >= 0 {
		c.explained[n] = true
	}
	for _, x := range of.Array {
		if !slices.ContainsFunc(nf.Array, func(y pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			c.add(false, "form fields removed", fmt.Sprintf("field %v removed", x.Ref))
		}
	}
	for _, y := range nf.Array {
		if slices.ContainsFunc(of.Array, func(x pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			continue
		}
		c.newField(y)
	}
}

// newField checks a field the revision adds to the form.
func (c *revCtx) newField(o pdfscan.Object) {
	n := refNum(o)
	if n < 0 {
		c.add(false, "form field added", "a direct field dictionary")
		return
	}
	if _, _, existed := c.f.Lookup(c.k-1, n); existed {
		if _, was := c.oldFields[n]; !was {
			c.add(false, "form field added", fmt.Sprintf("existing object %d made a field", n))
			return
		}
	}
	d := c.f.ResolveDict(c.k, o)
	if d == nil {
		c.add(false, "form field added", fmt.Sprintf("field %d unreadable", n))
		return
	}
	c.explained[n] = true
	if d.Name("FT") != "Sig" {
		c.add(false, "form field added", fmt.Sprintf("new %s field %d after signing", nonEmpty(d.Name("FT"), "untyped"), n))
		return
	}
	widgets := c.widgetsOf(n, d)
	visible := false
	for _, w := range widgets {
		if c.visible(w) {
			visible = true
		}
	}
	vn := refNum(d.Get("V"))
	rev, signed := c.sigNums[vn]
	switch {
	case signed && rev == c.k && c.isDocTS(vn) && !visible:
		c.add(true, "document time-stamp added", fmt.Sprintf("field %d", n))
	case signed && rev == c.k:
		if c.pm.p == 1 {
			c.add(false, "signature added", fmt.Sprintf("field %d: the certification signature allows no changes", n))
			return
		}
		detail := fmt.Sprintf("field %d", n)
		for _, w := range widgets {
			if c.visible(w) {
				detail += ", " + c.stampDetail(w)
			}
		}
		c.add(true, "signature added", detail)
	case d.Has("V"):
		c.add(false, "signature field added", fmt.Sprintf("field %d holds a value not signed in this revision", n))
		return
	case visible:
		c.add(false, "signature field added", fmt.Sprintf("unsigned field %d has a visible appearance", n))
		return
	case c.pm.p == 1:
		c.add(false, "signature field added", fmt.Sprintf("field %d: the certification signature allows no changes", n))
		return
	default:
		c.add(true, "signature field added", fmt.Sprintf("empty field %d without appearance", n))
	}
	c.introduce(o)
	for _, w := range widgets {
		c.newWidgets[w] = true
	}
}

func (c *revCtx) isSig(n int) bool {
	_, ok := c.sigNums[n]
	return ok
}

func (c *revCtx) isDocTS(n int) bool {
	for _, s := range c.sigs {
		if s.num == n {
			return s.docTS
		}
	}
	return false
}

// widgetsOf returns the widget annotations of a field: itself when merged,
// else its kids.
func (c *revCtx) widgetsOf(n int, d *pdfscan.Dict) []int {
	if d.Name("Subtype") == "Widget" || !d.Has("Kids") {
		return []int{n}
	}
	var out []int
	if kids, err := c.f.Resolve(c.k, d.Get("Kids")); err == nil && kids.Kind == pdfscan.Array {
		for _, kid := range kids.Array {
			if m := refNum(kid); m >= 0 && len(out) < 100 {
				out = append(out, m)
			}
		}
	}
	return out
}

// stampDetail describes a visible signature widget: where it is and, as a
// warning, how much of its page it covers.
func (c *revCtx) stampDetail(w int) string {
	d := c.f.ResolveDict(c.k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: w}})
	r := c.rect(d.Get("Rect"))
	out := fmt.Sprintf("visible stamp at [%g %g %g %g]", r[0], r[1], r[2], r[3])
	page := c.f.ResolveDict(c.k, d.Get("P"))
	mb := c.rect(page.Get("MediaBox"))
	pageArea := (mb[2] - mb[0]) * (mb[3] - mb[1])
	if pageArea <= 0 {
		return out
	}
	x0, y0 := max(min(r[0], r[2]), min(mb[0], mb[2])), max(min(r[1], r[3]), min(mb[1], mb[3]))
	x1, y1 := min(max(r[0], r[2]), max(mb[0], mb[2])), min(max(r[1], r[3]), max(mb[1], mb[3]))
	if x1 > x0 && y1 > y0 {
		if share := (x1 - x0) * (y1 - y0) / abs(pageArea); share > 0.2 {
			out += fmt.Sprintf(" (warning: it covers %.0f%% of its page and may hide signed content)", 100*share)
		}
	}
	return out
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func (c *revCtx) rect(o pdfscan.Object) [4]float64 {
	var v [4]float64
	r, _ := c.f.Resolve(c.k, o)
	if r.Kind != pdfscan.Array || len(r.Array) != 4 {
		return v
	}
	for i, x := range r.Array {
		switch x.Kind {
		case pdfscan.Int:
			v[i] = float64(x.Int)
		case pdfscan.Real:
			v[i] = x.Real
		}
	}
	return v
}

// visible reports whether an annotation may paint something: not hidden,
// with a non-empty rectangle.
func (c *revCtx) visible(n int) bool {
	d := c.f.ResolveDict(c.k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: n}})
	if d == nil {
		return true
	}
	if fl := d.Get("F"); fl.Kind == pdfscan.Int && fl.Int&(2|32) != 0 {
		return false // Hidden or NoView
	}
	r, _ := c.f.Resolve(c.k, d.Get("Rect"))
	if r.Kind != pdfscan.Array || len(r.Array) != 4 {
		return false
	}
	var v [4]float64
	for i, x := range r.Array {
		switch x.Kind {
		case pdfscan.Int:
			v[i] = float64(x.Int)
		case pdfscan.Real:
			v[i] = x.Real
		default:
			return true
		}
	}
	return v[2] != v[0] && v[3] != v[1]
}

// structural classifies a changed form, field, widget, annotation, page or
// signature object; false when n is none of these.
func (c *revCtx) structural(n int) bool {
	f := c.f
	old, _ := f.Get(c.k-1, n)
	nw, _ := f.Get(c.k, n)
	if _, ok := c.sigNums[n]; ok {
		c.add(false, "signature changed", fmt.Sprintf("signature dictionary %d re-emitted with other values", n))
		return true
	}
	if af := refNum(c.f.Root(c.k).Get("AcroForm")); af == n && refNum(c.f.Root(c.k-1).Get("AcroForm")) == n {
		c.explained[n] = true
		c.acroForm(old.Dict, nw.Dict)
		return true
	}
	if old.Kind != pdfscan.Dictionary || nw.Kind != pdfscan.Dictionary {
		if c.annotsArray(n, old, nw) {
			return true
		}
		return false
	}
	keys := pdfscan.ChangedKeys(old.Dict, nw.Dict)
	name, isField := c.oldFields[n]
	switch {
	case c.oldPages[n] && old.Dict.Name("Type") == "Page":
		c.pageChange(n, old.Dict, nw.Dict, keys)
		return true
	case c.oldPages[n]:
		c.add(false, "pages changed", fmt.Sprintf("page tree node %d: %s", n, strings.Join(keys, ", ")))
		return true
	case isField:
		c.fieldChange(n, name, old.Dict, nw.Dict, keys)
		return true
	case c.oldAnnots[n]:
		c.annotChange(n, old.Dict, nw.Dict, keys)
		return true
	}
	return false
}

func (c *revCtx) pageChange(n int, old, nw *pdfscan.Dict, keys []string) {
	for _, key := range keys {
		switch key {
		case "Annots":
			if m := refNum(nw.Get("Annots")); m >= 0 {
				c.explained[m] = true
			}
			c.annotsChange(n, old, nw)
		case "StructParents":
			if c.pm.p == 1 {
				c.add(false, "page changed", fmt.Sprintf("page %d: /StructParents", n))
			}
		default:
			c.add(false, "page changed", fmt.Sprintf("page object %d: /%s", n, key))
		}
	}
}

// annotsArray handles a page's indirect /Annots array being changed.
func (c *revCtx) annotsArray(n int, old, nw pdfscan.Object) bool {
	if old.Kind != pdfscan.Array || nw.Kind != pdfscan.Array {
		return false
	}
	for p := range c.pages {
		d := c.f.ResolveDict(c.k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: p}})
		if d != nil && refNum(d.Get("Annots")) == n {
			c.annotsDiff(p, old.Array, nw.Array)
			return true
		}
	}
	return false
}

func (c *revCtx) annotsChange(page int, old, nw *pdfscan.Dict) {
	oa, _ := c.f.Resolve(c.k-1, old.Get("Annots"))
	na, _ := c.f.Resolve(c.k, nw.Get("Annots"))
	c.annotsDiff(page, oa.Array, na.Array)
}

func (c *revCtx) annotsDiff(page int, oa, na []pdfscan.Object) {
	for _, x := range oa {
		if !slices.ContainsFunc(na, func(y pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			c.add(false, "annotation removed", fmt.Sprintf("page %d: annotation %v removed", page, x.Ref))
		}
	}
	for _, y := range na {
		if slices.ContainsFunc(oa, func(x pdfscan.Object) bool { return pdfscan.Equal(x, y) }) {
			continue
		}
		m := refNum(y)
		d := c.f.ResolveDict(c.k, y)
		if d == nil || m < 0 {
			c.add(false, "annotation added", fmt.Sprintf("page %d: unreadable or direct annotation", page))
			continue
		}
		if _, _, existed := c.f.Lookup(c.k-1, m); existed && !c.oldAnnots[m] {
			c.add(false, "annotation added", fmt.Sprintf("page %d: existing object %d made an annotation", page, m))
			continue
		}
		if d.Name("Subtype") == "Widget" {
			if c.newWidgets[m] || !c.visible(m) && c.pm.p != 1 && c.fields[m] != "" {
				continue // classified with its field
			}
			if _, ok := c.fields[m]; ok && c.newWidgetOfField(m) {
				continue
			}
			c.add(false, "widget added", fmt.Sprintf("page %d: widget %d of no signature added in this revision", page, m))
			continue
		}
		if c.pm.p == 0 || c.pm.p == 3 {
			c.add(true, "annotation added", fmt.Sprintf("page %d: %s annotation %d", page, d.Name("Subtype"), m))
			c.introduce(y)
			continue
		}
		c.add(false, "annotation added", fmt.Sprintf("page %d: %s annotation %d; the certification signature (P=%d) does not allow annotations", page, d.Name("Subtype"), m, c.pm.p))
	}
}

// newWidgetOfField reports whether widget m belongs to a field newField
// accepted (the field's classification may come after the page's).
func (c *revCtx) newWidgetOfField(m int) bool {
	d := c.f.ResolveDict(c.k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: m}})
	if d == nil {
		return false
	}
	parent := refNum(d.Get("Parent"))
	for _, cand := range []int{m, parent} {
		if cand < 0 {
			continue
		}
		if _, existed := c.oldFields[cand]; existed {
			continue
		}
		fd := c.f.ResolveDict(c.k, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: cand}})
		if fd == nil || fd.Name("FT") != "Sig" {
			continue
		}
		vn := refNum(fd.Get("V"))
		if rev, ok := c.sigNums[vn]; ok && rev == c.k && c.pm.p != 1 {
			return true
		}
		if !fd.Has("V") && !c.visible(m) && c.pm.p != 1 {
			return true
		}
	}
	return false
}

// fieldChange classifies a changed field or widget: filling (P≠1, not
// locked) or signing an empty signature field in this revision.
func (c *revCtx) fieldChange(n int, name string, old, nw *pdfscan.Dict, keys []string) {
	sigField := old.Name("FT") == "Sig" || nw.Name("FT") == "Sig"
	if !sigField {
		if p := c.f.ResolveDict(c.k, nw.Get("Parent")); p != nil && p.Name("FT") == "Sig" {
			sigField = true
		}
	}
	var bad []string
	for _, key := range keys {
		switch key {
		case "V", "AP", "AS", "MK", "M":
		case "StructParent":
			if c.pm.p == 1 {
				bad = append(bad, key)
			}
		case "F":
			// Only Print, Locked and LockedContents may change: flags
			// that hide or reveal an annotation change what is shown.
			if of, nf := old.Get("F"), nw.Get("F"); of.Kind != pdfscan.Reference && nf.Kind == pdfscan.Int && (of.Int^nf.Int)&^(4|128|512) == 0 {
				continue
			}
			bad = append(bad, key)
		default:
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		c.add(false, "form field changed", fmt.Sprintf("field %d (%s): /%s", n, name, strings.Join(bad, ", /")))
		return
	}
	if c.pm.isLocked(name) {
		c.add(false, "locked field changed", fmt.Sprintf("field %d (%s) is locked by an earlier signature", n, name))
		return
	}
	if !sigField && slices.Contains(keys, "V") && c.readOnly(old) {
		c.add(false, "read-only field changed", fmt.Sprintf("field %d (%s) is read-only", n, name))
		return
	}
	if sigField {
		vn := refNum(nw.Get("V"))
		changedV := slices.Contains(keys, "V")
		rev, signed := c.sigNums[vn]
		switch {
		case changedV && old.Has("V"):
			c.add(false, "signature field changed", fmt.Sprintf("field %d (%s): its signature was replaced", n, name))
			return
		case changedV && !(signed && rev == c.k):
			c.add(false, "signature field changed", fmt.Sprintf("field %d (%s): value not signed in this revision", n, name))
			return
		case changedV && c.pm.p == 1 && !c.isDocTS(vn):
			c.add(false, "signature field signed", fmt.Sprintf("field %d (%s): the certification signature allows no changes", n, name))
			return
		case !changedV && c.pm.p == 1:
			c.add(false, "signature field changed", fmt.Sprintf("field %d (%s): the certification signature allows no changes", n, name))
			return
		}
		c.skipAP[n] = true
		c.introduce(nw.Get("AP"))
		c.add(true, "signature field signed", fmt.Sprintf("field %d (%s)", n, name))
		return
	}
	if c.pm.p == 1 {
		c.add(false, "form filled", fmt.Sprintf("field %d (%s) changed but the certification signature allows no changes", n, name))
		return
	}
	c.skipAP[n] = true
	c.introduce(nw.Get("AP"))
	c.introduce(nw.Get("V"))
	c.add(true, "form filled", fmt.Sprintf("field %d (%s)", n, name))
}

// readOnly reports whether a field (or the field it inherits from) has the
// ReadOnly flag as signed.
func (c *revCtx) readOnly(d *pdfscan.Dict) bool {
	for i := 0; d != nil && i < 32; i++ {
		if ff := d.Get("Ff"); ff.Kind == pdfscan.Int {
			return ff.Int&1 != 0
		}
		d = c.f.ResolveDict(c.k-1, d.Get("Parent"))
	}
	return false
}

// annotChange classifies a changed annotation that is not a field.
func (c *revCtx) annotChange(n int, old, nw *pdfscan.Dict, keys []string) {
	if old.Name("Subtype") == "Widget" || nw.Name("Subtype") == "Widget" {
		c.add(false, "widget changed", fmt.Sprintf("widget %d of no field: %s", n, strings.Join(keys, ", ")))
		return
	}
	if c.pm.p != 0 && c.pm.p != 3 {
		c.add(false, "annotation changed", fmt.Sprintf("annotation %d; the certification signature (P=%d) does not allow annotations", n, c.pm.p))
		return
	}
	c.skipAP[n] = true
	for _, k := range keys {
		c.introduce(nw.Get(k))
	}
	c.add(true, "annotation changed", fmt.Sprintf("%s annotation %d: %s", nw.Name("Subtype"), n, strings.Join(keys, ", ")))
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

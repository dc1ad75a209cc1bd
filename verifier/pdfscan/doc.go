// Package pdfscan is a strict, bounded scanner of PDF files for signature
// validation: it finds every revision (each prefix ending in %%EOF with a
// valid startxref), parses each revision's cross-reference section (tables,
// streams and hybrids), and loads objects as a given revision sees them.
//
// We wrote our own instead of using github.com/digitorus/pdf because the
// security checks of a signed PDF need what a reader hides: which revision
// defined each object, which later revision overrode it, where exactly a
// value sits in the file (the /Contents gap of a ByteRange), repeated
// dictionary keys, and trailing bytes outside every revision. A reader also
// merges the revisions into one view and is lenient with broken input; this
// scanner works on a byte slice, never reads outside it, and bounds object
// counts, nesting depth, xref chain length and decoded stream size, so no
// input makes it loop or take unbounded memory.
package pdfscan

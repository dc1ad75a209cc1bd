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
// input makes it loop or take unbounded memory; cross-reference stream
// entries are bounded by the file's size, so a small update cannot declare
// a million objects.
//
// Where it must agree with renderers, it reads what they read or refuses:
// of repeated dictionary keys the last value counts (and the repetition is
// recorded for callers to treat as a modification); every standard filter
// of xref, object and data streams is decoded (Flate, LZW, ASCIIHex,
// ASCII85, RunLength, chained, with PNG and TIFF predictors) and any other
// is ErrUnsupportedFilter; a hybrid file's /XRefStm entries complement its
// table as ISO 32000-1 §7.5.8.4 says, and an /XRefStm or an xref section a
// revision declares that cannot be read makes the file unreadable instead
// of being skipped.
package pdfscan

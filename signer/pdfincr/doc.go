// Package pdfincr appends incremental updates to PDF files (ISO 32000-2,
// 7.5.6): new and replaced objects, a cross-reference section (a classic
// table, or a cross-reference stream when the file already uses them) and a
// trailer chaining to the previous section with /Prev. It also reserves a
// signature's /ByteRange and /Contents, hashes the signed ranges as a
// stream and fills in the signature. Existing objects it re-writes (the
// page getting a widget, the form, the catalog) keep their parsed values —
// a real stays a real, strings keep their bytes — so that validators
// comparing revisions see only the additions, and earlier signatures made
// by any tool stay valid.
//
// We wrote it ourselves because github.com/digitorus/pdfsign (v1.0.0-rc2)
// cannot do what PAdES B-LT and B-LTA need and what Kyso needs for large
// files:
//   - it has no Document Security Store: a B-LT revision adding /DSS with
//     certificates, OCSP responses and CRLs is an incremental update that is
//     not a signature at all;
//   - it only reaches a time-stamp authority over HTTP, while Kyso stamps
//     in-process with its own TSA key, for the signature time-stamp and for
//     the /DocTimeStamp of B-LTA (pdfsign can write a document time-stamp,
//     CertType TimeStampSignature, but again only from a TSA URL);
//   - it copies the whole input into an in-memory buffer and writes the
//     output from memory (sign.SignContext.copyInputToOutput and SignPDF),
//     so memory grows with the file. Here the original file is only read
//     through an io.ReaderAt: the appended revision is built in memory (it
//     is small), the byte ranges are hashed by streaming the original and
//     the output is written as original + revision, so peak memory is the
//     size of the revision plus the parser's cross-reference table.
//     Measured on a 50 MB file: pdfsign peaks at about 264 MB of heap
//     (pades.BenchmarkPdfsignLargePDF), this package under 1 MB for a whole
//     B-LTA signature (signer.BenchmarkSignLargePDF).
//
// Parsing uses github.com/digitorus/pdf, which reads objects lazily from an
// io.ReaderAt. Its v0.2.0 lexer loops forever on an array still open at
// "endobj", so Open first scans the file's object syntax (streaming) and
// refuses such documents.
package pdfincr

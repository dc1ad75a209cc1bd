package verifier

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"
	"time"

	"kyso/cms"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// archiveStamp is a valid archive-time-stamp-v3: its time and what its
// hash index covers.
type archiveStamp struct {
	gen time.Time
	idx *cms.ATSHashIndex
}

type archiveStamps []archiveStamp

// covering returns the times of the archive time-stamps whose hash index
// holds the unsigned attribute value (attribute a, one of its values): the
// proofs of existence of that value.
func (as archiveStamps) covering(a cms.Attribute, value []byte) []time.Time {
	var out []time.Time
	for _, s := range as {
		if s.idx.Covers(a, value) {
			out = append(out, s.gen)
		}
	}
	return out
}

// archiveTimeStamps validates the archive time-stamps of a CMS signer
// (ETSI EN 319 122-1 §5.5.3, EN 319 102-1 §5.6.2.2), the latest first so
// each can be judged at the proof of existence later ones give it. For an
// archive-time-stamp-v3 the ats-hash-index-v3 inside its token must still
// match the signature (an element it indexes that was changed or removed
// fails it, HASH_FAILURE), and its imprint is recomputed from the
// eContentType, the content hash, the signer's fields and that index; the
// token is then validated like every time-stamp (TSA chain, revocation,
// algorithms). An archive time-stamp whose imprint, index or token is
// broken fails the signature; one that is intact but invalid otherwise
// gives no proof of existence. The legacy forms (archive-time-stamp and
// -v2 of TS 101 733, or a v3 token with an older hash index) are not
// checked: they are reported INDETERMINATE/NO_POE, and unsupported says
// why, for the caller to leave the signature INDETERMINATE too. It returns
// the valid ones.
func (v *Verifier) archiveTimeStamps(ctx context.Context, c signerCheck, evidence []revocation.Evidence, o *outcome, sig *report.Signature) (valid archiveStamps, unsupported string) {
	type cand struct {
		attr cms.Attribute
		der  []byte
		ts   *cms.TimeStamp
	}
	var cands []cand
	notChecked := func(what string) {
		detail := fmt.Sprintf("archive time-stamp: %s is not supported; it proves nothing", what)
		sig.TimeStamps = append(sig.TimeStamps, report.TimeStamp{Type: "archive", Status: report.Status{MainIndication: report.Indeterminate, SubIndication: report.NoPOE, Detail: detail}})
		o.check("archive time-stamp", errors.New(detail))
		if unsupported == "" {
			unsupported = detail
		}
	}
	for _, a := range c.si.UnsignedAttrs {
		switch {
		case a.Type.Equal(cms.OIDArchiveTimeStampV2):
			for range a.Values {
				notChecked("archive-time-stamp-v2 (ETSI TS 101 733)")
			}
		case a.Type.Equal(cms.OIDArchiveTimeStamp):
			for range a.Values {
				notChecked("the archive-time-stamp of ETSI TS 101 733 V1")
			}
		case a.Type.Equal(cms.OIDArchiveTimeStampV3):
			for _, val := range a.Values {
				ts, _ := cms.ParseTimeStamp(val)
				cands = append(cands, cand{attr: a, der: val, ts: ts})
			}
		}
	}
	if len(cands) == 0 {
		return nil, unsupported
	}
	if len(cands) > maxArchiveTimeStamps {
		// Bounded work: each token means a chain and revocation check.
		detail := fmt.Sprintf("%d archive time-stamps; at most %d are validated, so none proves anything", len(cands), maxArchiveTimeStamps)
		sig.TimeStamps = append(sig.TimeStamps, report.TimeStamp{Type: "archive", Status: report.Status{MainIndication: report.Indeterminate, SubIndication: report.NoPOE, Detail: detail}})
		o.check("archive time-stamp", errors.New(detail))
		return nil, detail
	}
	// Latest first; unreadable tokens last (they fail on their own).
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i].ts, cands[j].ts
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return a.Info.GenTime.After(b.Info.GenTime)
	})
	for _, cd := range cands {
		tsr, stamp, ok := v.archiveTimeStamp(ctx, c, cd.der, cd.ts, evidence, valid.covering(cd.attr, cd.der))
		sig.TimeStamps = append(sig.TimeStamps, tsr)
		switch {
		case ok:
			valid = append(valid, stamp)
			o.check("archive time-stamp", nil)
		case tsr.Status.SubIndication == report.NoPOE:
			o.check("archive time-stamp", errors.New(tsr.Status.Detail))
			if unsupported == "" {
				unsupported = tsr.Status.Detail
			}
		case tsr.Status.MainIndication == report.TotalFailed && (tsr.Status.SubIndication == report.HashFailure ||
			tsr.Status.SubIndication == report.SigCryptoFailure || tsr.Status.SubIndication == report.FormatFailure):
			// The signature or what it archived was altered, or the
			// token is broken.
			o.check("archive time-stamp", errors.New(tsr.Status.Detail))
			o.fail(report.TotalFailed, tsr.Status.SubIndication, "archive time-stamp: "+tsr.Status.Detail)
		default:
			// Intact but without a proof of existence (its TSA revoked,
			// or its status unknown): it proves nothing, and nothing
			// rests on it.
			o.note("archive time-stamp", "failed", tsr.Status.Detail)
		}
	}
	return valid, unsupported
}

// archiveTimeStamp validates one archive-time-stamp-v3 token (ts is its
// parse, nil when unreadable) judged at the earliest of poe.
func (v *Verifier) archiveTimeStamp(ctx context.Context, c signerCheck, der []byte, ts *cms.TimeStamp, evidence []revocation.Evidence, poe []time.Time) (report.TimeStamp, archiveStamp, bool) {
	out := report.TimeStamp{Type: "archive"}
	fail := func(ind report.Indication, sub report.SubIndication, format string, args ...any) (report.TimeStamp, archiveStamp, bool) {
		out.Status = report.Status{MainIndication: ind, SubIndication: sub, Detail: fmt.Sprintf(format, args...)}
		return out, archiveStamp{}, false
	}
	if ts == nil || len(ts.Token.Signers) != 1 {
		// validateTimeStamp reports what is wrong with the token.
		tsr, _, _ := v.validateTimeStamp(ctx, der, nil, "archive", tsContext{})
		if tsr.Status.MainIndication == report.TotalPassed {
			tsr.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "unreadable archive time-stamp"}
		}
		return tsr, archiveStamp{}, false
	}
	out.GenTime = ts.Info.GenTime
	tsi := ts.Token.Signers[0]
	vals := tsi.Unsigned(cms.OIDATSHashIndexV3)
	switch {
	case len(vals) == 0 && (len(tsi.Unsigned(cms.OIDATSHashIndexV2)) > 0 || len(tsi.Unsigned(cms.OIDATSHashIndex)) > 0):
		return fail(report.Indeterminate, report.NoPOE, "archive time-stamp: an ats-hash-index of an earlier version (EN 319 122-1 V1.0.0, TS 101 733) is not supported; it proves nothing")
	case len(vals) == 0:
		return fail(report.TotalFailed, report.FormatFailure, "the archive time-stamp token has no ats-hash-index-v3 attribute")
	case len(vals) > 1:
		return fail(report.TotalFailed, report.FormatFailure, "the archive time-stamp token has %d ats-hash-index-v3 values", len(vals))
	}
	idx, err := cms.ParseATSHashIndexV3(vals[0])
	if err != nil {
		return fail(report.TotalFailed, report.FormatFailure, "ats-hash-index-v3: %v", err)
	}
	if idx.Hash != ts.Info.Hash {
		return fail(report.TotalFailed, report.FormatFailure, "the ats-hash-index-v3 algorithm is not the time-stamp's imprint algorithm")
	}
	if missing := idx.Missing(c.sd, c.si); missing != "" {
		return fail(report.TotalFailed, report.HashFailure, "%s: it was changed or removed after it was archived", missing)
	}
	if !ts.Info.Hash.Available() {
		return fail(report.Indeterminate, report.CryptoConstraintsFailure, "archive time-stamp imprint algorithm unavailable")
	}
	contentHash, err := c.digest(ts.Info.Hash.New)
	if err != nil {
		return fail(report.Indeterminate, report.SignedDataNotFound, "%v", err)
	}
	input, err := c.sd.ArchiveTimeStampV3Input(c.si, contentHash, idx.DER)
	if err != nil {
		return fail(report.TotalFailed, report.FormatFailure, "%v", err)
	}
	tsr, gen, ok := v.validateTimeStamp(ctx, der, input, "archive", tsContext{evidence: evidence, poe: poe})
	if !ok {
		return tsr, archiveStamp{}, false
	}
	return tsr, archiveStamp{gen: gen, idx: idx}, true
}

// maxArchiveTimeStamps bounds the archive time-stamps validated for one
// signer: a renewal every few years stays far below it.
const maxArchiveTimeStamps = 50

// maxCMSCounterDepth bounds counter-signatures of counter-signatures.
const maxCMSCounterDepth = 2

// cmsCounterSignatures validates the counter-signatures (RFC 5652 §11.4
// countersignature unsigned attributes, which CAdES counter-signatures
// are) of signer si like any signer: each signs the countersigned
// SignerInfo's signature value, so one moved from another signature does
// not verify. They are reported as signatures of their own, consistently
// with JAdES counter-signatures; one that cannot be read or validated is
// reported so, never skipped. poeOf gives the proofs of existence of a
// countersignature attribute value (archive time-stamps whose index holds
// it, PDF document time-stamps after it); a nested counter-signature has
// those of the one it is inside.
func (v *Verifier) cmsCounterSignatures(ctx context.Context, c signerCheck, poeOf func(a cms.Attribute, value []byte) []time.Time, depth int) []report.Signature {
	var out []report.Signature
	if ders := c.si.Unsigned(cms.OIDCounterSignature); !spendCounters(ctx, len(ders)) {
		sig := report.Signature{Format: "CMS counter-signature", Status: tooManySigners(len(ders), "counter-signatures")}
		sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
		return append(out, sig)
	}
	var attrs []cms.Attribute
	for _, a := range c.si.UnsignedAttrs {
		if a.Type.Equal(cms.OIDCounterSignature) {
			attrs = append(attrs, a)
		}
	}
	for _, a := range attrs {
		for _, der := range a.Values {
			out = append(out, v.cmsCounterSignature(ctx, c, der, poeOf(a, der), depth)...)
		}
	}
	return out
}

// cmsCounterSignature validates one counter-signature of c's signer and
// those nested in it.
func (v *Verifier) cmsCounterSignature(ctx context.Context, c signerCheck, der []byte, poe []time.Time, depth int) []report.Signature {
	var out []report.Signature
	{
		sig := report.Signature{Format: "CMS counter-signature"}
		csi, err := cms.ParseSignerInfo(der)
		switch {
		case err != nil:
			sig.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "counter-signature: " + err.Error()}
		case depth >= maxCMSCounterDepth:
			sig.Status = report.Status{MainIndication: report.Indeterminate, SubIndication: report.FormatFailure, Detail: fmt.Sprintf("counter-signatures nested more than %d deep are not validated", maxCMSCounterDepth)}
		default:
			value := slices.Clone(c.si.Signature)
			cc := signerCheck{sd: c.sd, si: csi, extraCerts: c.extraCerts, evidence: c.evidence, format: c.format, counter: true,
				poe: poe, poeProof: "archive-time-stamp",
				digest: func(newHash func() hash.Hash) ([]byte, error) {
					h := newHash()
					h.Write(value)
					return h.Sum(nil), nil
				},
				content: func() ([]byte, error) { return value, nil },
			}
			res := v.validateSigner(ctx, cc, &sig)
			if res.essV2 {
				sig.Format = "CAdES counter-signature"
			}
			out = append(out, sig)
			inherited := func(cms.Attribute, []byte) []time.Time { return poe }
			return append(out, v.cmsCounterSignatures(ctx, cc, inherited, depth+1)...)
		}
		sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
		out = append(out, sig)
	}
	return out
}

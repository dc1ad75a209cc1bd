package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"strings"

	"kyso/cms"
	"kyso/verifier/report"
)

// verifyCMS validates a CMS SignedData (attached, or detached with content).
func (v *Verifier) verifyCMS(ctx context.Context, der, detached []byte, rep *report.Report) error {
	sd, err := cms.Parse(der)
	if err != nil {
		if errors.Is(err, cms.ErrFormat) {
			rep.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: err.Error()}
			return nil
		}
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	// Content the user gives is what is verified: an encapsulated content
	// that differs from it fails, whatever the signature says about its own.
	content := sd.EContent
	differs := false
	if detached != nil {
		differs = content != nil && !bytes.Equal(content, detached)
		content = detached
	}
	if len(sd.Signers) > maxSigners {
		rep.Status = tooManySigners(len(sd.Signers), "signer infos")
		return nil
	}
	digests := v.newContentDigests(func(hh hash.Hash) { hh.Write(content) })
	for i, si := range sd.Signers {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("validation stopped: %w", err)
		}
		sig := report.Signature{ID: fmt.Sprintf("Signature%d", i+1), Format: "CMS"}
		if differs {
			sig.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.HashFailure, Detail: "the content given differs from the content the signature carries"}
			sig.Checks = append(sig.Checks, report.Check{Name: "signed content", Result: "failed", Detail: "the encapsulated content is not the content given for verification"})
			sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		if content == nil {
			sig.Status = report.Status{MainIndication: report.Indeterminate, SubIndication: report.SignedDataNotFound, Detail: "detached signature: the signed content was not provided"}
			sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		check := signerCheck{sd: sd, si: si, format: FormatCMS,
			digest:  digests.forSigner(si),
			content: func() ([]byte, error) { return content, nil },
		}
		res := v.validateSigner(ctx, check, &sig)
		if res.essV2 {
			sig.Format = "CAdES"
			sig.Level = "CAdES-BASELINE-B"
			if res.sigTST {
				sig.Level = "CAdES-BASELINE-T"
				// B-LT: the signer's revocation status came from the
				// validation data carried in the SignedData itself.
				if strings.HasPrefix(res.revocSource, "CMS ") {
					sig.Level = "CAdES-BASELINE-LT"
					if res.archived {
						sig.Level = "CAdES-BASELINE-LTA"
					}
				}
			}
		}
		rep.Signatures = append(rep.Signatures, sig)
		for j, cs := range v.cmsCounterSignatures(ctx, check, res.arch.covering, 0) {
			cs.ID = fmt.Sprintf("%s-counter%d", sig.ID, j+1)
			cs.CounterSignature = true
			rep.Signatures = append(rep.Signatures, cs)
		}
	}
	return nil
}

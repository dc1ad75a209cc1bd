package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

var jwsAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

type jwsHeader struct {
	Alg  string   `json:"alg"`
	X5c  []string `json:"x5c"`
	SigT string   `json:"sigT"`
}

// verifyJWS validates a compact JWS whose protected header carries the
// signer's certificate chain (x5c), as JAdES does.
func (v *Verifier) verifyJWS(ctx context.Context, token, detached []byte, rep *report.Report) error {
	sig := report.Signature{ID: "Signature1", Format: "JWS"}
	o := &outcome{sig: &sig}
	defer func() {
		o.finish()
		rep.Signatures = append(rep.Signatures, sig)
	}()
	now := v.validationTime()
	sig.SigningTime = report.SigningTime{Best: now, Proof: "validation-time"}
	parts := bytes.Split(token, []byte("."))
	if len(parts) != 3 {
		o.fail(report.TotalFailed, report.FormatFailure, "not a compact JWS")
		return nil
	}
	hb, err := base64.RawURLEncoding.DecodeString(string(parts[0]))
	var h jwsHeader
	if err == nil {
		err = json.Unmarshal(hb, &h)
	}
	if err != nil {
		o.check("protected header", err)
		o.fail(report.TotalFailed, report.FormatFailure, "protected header unreadable")
		return nil
	}
	var certs []*x509.Certificate
	for _, s := range h.X5c {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			o.fail(report.TotalFailed, report.FormatFailure, "x5c entry is not base64")
			return nil
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			o.fail(report.TotalFailed, report.FormatFailure, "x5c certificate unreadable")
			return nil
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		o.check("signing certificate", fmt.Errorf("no x5c header"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "the JWS carries no signing certificate")
		return nil
	}
	cert := certs[0]
	sig.Signer = signerInfo(cert)
	if t, err := time.Parse(time.RFC3339, h.SigT); err == nil {
		t = t.UTC()
		sig.SigningTime.Claimed = &t
	}
	var obj *jose.JSONWebSignature
	if len(parts[1]) == 0 {
		if detached == nil {
			o.fail(report.Indeterminate, report.SignedDataNotFound, "detached payload not provided")
			return nil
		}
		obj, err = jose.ParseDetached(string(token), detached, jwsAlgs)
	} else {
		obj, err = jose.ParseSigned(string(token), jwsAlgs)
	}
	if err != nil {
		o.check("format", err)
		o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		return nil
	}
	if _, err := obj.Verify(cert.PublicKey); err != nil {
		o.check("signature value", err)
		o.fail(report.TotalFailed, report.SigCryptoFailure, "the signature value does not verify")
		return nil
	}
	o.check("signature value", nil)
	chain, ok := v.chain(o, cert, certs[1:], now, false, x509.ExtKeyUsageAny)
	if !ok {
		return nil
	}
	for i, cc := range chain {
		sig.Chain = append(sig.Chain, certInfo(cc, i == len(chain)-1))
	}
	for i := 0; i+1 < len(chain); i++ {
		r := v.opts.Revocation.Check(ctx, chain[i], chain[i+1], now, nil)
		sig.Revocation = append(sig.Revocation, report.Revocation{Subject: dn(chain[i].Subject), Status: string(r.Status), Source: r.Source, Detail: r.Detail})
		switch r.Status {
		case revocation.Revoked:
			o.fail(report.TotalFailed, report.Revoked, "certificate revoked")
		case revocation.Unknown:
			o.fail(report.Indeterminate, report.TryLater, "revocation status not available")
		}
	}
	return nil
}

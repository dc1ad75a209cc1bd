package signer

import (
	"context"
	"errors"
	"net/http"

	kjose "kyso/jose"
	"kyso/problem"
	"kyso/signer/jws"
)

// MediaJWS is the media type of an extended JWS (JSON serialization).
const MediaJWS = jws.JSONType

// ExtendJWS brings a JAdES signature (JSON serialization; a compact JWS is
// turned into flattened JSON) to JAdES-BASELINE-LTA or renews its archive
// time-stamp (see jws.Extend): validation data for the signer and every
// earlier time-stamp, then an archive time-stamp (arcTst) over the JWS and
// its unsigned properties, so the signature stays verifiable after its
// certificates and the previous time-stamp's TSA certificate expire. The
// protected header, payload and signature value are unchanged. content is
// the signed content of a detached payload (given content must be what was
// signed). The result is in the JSON serialization (MediaJWS).
func ExtendJWS(ctx context.Context, doc, content []byte, d Deps) ([]byte, error) {
	if d.Stamper == nil {
		return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no time-stamp authority is configured")
	}
	if d.Revocation == nil {
		return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no revocation source is configured")
	}
	out, err := jws.Extend(ctx, doc, jws.ExtendOptions{Stamper: d.Stamper, Revocation: d.Revocation, Root: d.Root, Content: content})
	switch {
	case errors.Is(err, kjose.ErrContentMissing):
		return nil, problem.Wrap(http.StatusBadRequest, "content-required", err)
	case errors.Is(err, kjose.ErrContentMismatch):
		return nil, problem.Wrap(http.StatusBadRequest, "content-mismatch", err)
	case errors.Is(err, jws.ErrNotExtendable), errors.Is(err, jws.ErrClearArchived):
		return nil, problem.Wrap(http.StatusBadRequest, "not-extendable", err)
	case errors.Is(err, jws.ErrNoValidationData):
		// As for CAdES: the signer's CA gives no status for it now.
		return nil, problem.Wrap(http.StatusUnprocessableEntity, "revocation-unavailable", err)
	}
	return out, err
}

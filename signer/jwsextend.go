package signer

import (
	"context"
	"errors"
	"net/http"

	"kyso/problem"
	"kyso/signer/jws"
)

// ExtendJWS brings a JAdES signature (JSON serialization; a compact JWS is
// turned into flattened JSON) to JAdES-BASELINE-LTA or renews its archive
// time-stamp: validation data for the signer and every earlier time-stamp,
// then an archive time-stamp (arcTst) over the JWS and its unsigned
// properties, so the signature stays verifiable after its certificates and
// the previous time-stamp's TSA certificate expire. The protected header,
// payload and signature value are unchanged. It returns the JWS and its
// media type.
func ExtendJWS(ctx context.Context, data []byte, d Deps) ([]byte, string, error) {
	if d.Stamper == nil {
		return nil, "", problem.New(http.StatusNotImplemented, "level-unavailable", "no time-stamp authority is configured")
	}
	if d.Revocation == nil {
		return nil, "", problem.New(http.StatusNotImplemented, "level-unavailable", "no revocation source is configured")
	}
	out, err := jws.Extend(ctx, data, jws.ExtendOptions{Stamper: d.Stamper, Revocation: d.Revocation, Root: d.Root})
	switch {
	case errors.Is(err, jws.ErrNotExtendable), errors.Is(err, jws.ErrClearArchived):
		return nil, "", problem.Newf(http.StatusBadRequest, "not-extendable", "%v", err)
	case err != nil:
		return nil, "", err
	}
	return out, jws.JSONType, nil
}

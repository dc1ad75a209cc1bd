// Package signer is Kyso's signing domain: PAdES signatures on PDF
// documents (B-B to B-LTA), CAdES detached signatures on any file and
// JAdES-style JWS on form data, all made with keys that stay in the HSM
// (any crypto.Signer).
//
// The functions here (SignPDF, SealPDF, SignCMS, SignJWS) are what the rest
// of the service calls; they map input problems to *problem.Error values.
// Sole control over citizens' keys (identity assertion, signing PIN,
// signature activation data) lives in kyso/signer/csc, the RFC 3161
// authority in kyso/tsa; the command line is kyso/cli/signcli.
//
// Subpackages: pdfincr (incremental PDF updates; why we wrote our own is in
// its package comment), pades, cades (CMS built over precomputed digests so
// large inputs are hashed as streams), jws, csc, and signertest (test PKI).
package signer

// Wiring (cmd/kyso):
//
//	tsa.Migrate(ctx, db); csc.Migrate(ctx, db)
//	tsaSrv, _ := tsa.New(tsa.Config{Cert: tsaCert, Signer: tsaKey, Policy: policyOID}, db) // ca.CA.TSA()
//	deps := signer.Deps{
//		Stamper:    tsaSrv, // or &tsa.Client{URL: externalTSA}
//		Revocation: signer.CARevocation{OCSPFunc: ca.OCSPResponse, CRLFunc: ca.CRL},
//		Root:       ca.Root(),
//	}
//	svc := csc.New(db, credentialStore, citizenKeys /* credential.Keys */, sealKeyByLabel /* hsm.FindKey */, auditLog, deps, csc.Config{})
//	api.New(apiDeps, …, api.NewSignArea(svc, tsaSrv, log))
//
// and "kyso sign" is signcli.Run(ctx, args, signcli.Deps{OpenKey: …}, stdout, stderr).
// The signing routes are described in api/openapi.json.

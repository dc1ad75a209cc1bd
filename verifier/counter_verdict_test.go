package verifier_test

import (
	"encoding/json"
	"testing"

	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/verifier/report"
)

// Anyone can append {"cSig":"not.a.jws"} to the unprotected etsiU of an
// honest JAdES signature. The counter-signature is reported on its own,
// TOTAL-FAILED/FORMAT_FAILURE, and the signature and the document stay
// TOTAL-PASSED, as in EU DSS.
func TestForgedCounterSignatureLeavesTheVerdict(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	honest := env.sign(t, env.key, "json", signer.BB, formPayload)
	if rep := verifyJWS(t, env.online, honest, nil); rep.Status.MainIndication != report.TotalPassed {
		t.Fatalf("honest JWS: %s", reportText(rep))
	}
	var f map[string]any
	if err := json.Unmarshal(honest, &f); err != nil {
		t.Fatal(err)
	}
	header, _ := f["header"].(map[string]any)
	if header == nil {
		header = map[string]any{}
	}
	etsiU, _ := header["etsiU"].([]any)
	header["etsiU"] = append(etsiU, map[string]any{"cSig": "not.a.jws"})
	f["header"] = header
	forged := mustJSON(t, f)

	rep := verifyJWS(t, env.online, forged, nil)
	if len(rep.Signatures) != 2 {
		t.Fatalf("%d signatures reported: %s", len(rep.Signatures), reportText(rep))
	}
	main, cs := rep.Signatures[0], rep.Signatures[1]
	if cs.ID != "Signature1-counter1" || !cs.CounterSignature || cs.Status.MainIndication != report.TotalFailed || cs.Status.SubIndication != report.FormatFailure {
		t.Fatalf("counter-signature reported as %+v", cs)
	}
	if main.CounterSignature || main.Status.MainIndication != report.TotalPassed || rep.Status.MainIndication != report.TotalPassed {
		t.Fatalf("signature %s, document %s/%s: a counter-signature changed the verdict", main.Status.MainIndication, rep.Status.MainIndication, rep.Status.SubIndication)
	}
}

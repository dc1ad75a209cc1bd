package csc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"kyso/auth"
	"kyso/credential"
	"kyso/signer"
)

// InfoResponse answers info.
type InfoResponse struct {
	Specs       string   `json:"specs"`
	Name        string   `json:"name"`
	Logo        string   `json:"logo"`
	Region      string   `json:"region"`
	Lang        string   `json:"lang"`
	Description string   `json:"description"`
	AuthType    []string `json:"authType"`
	Methods     []string `json:"methods"`
	SignAlgos   struct {
		Algos []string `json:"algos"`
	} `json:"signAlgorithms"`
	SignatureFormats struct {
		Formats []string   `json:"formats"`
		Levels  [][]string `json:"envelope_properties"`
	} `json:"signature_formats"`
	ConformanceLevels []string `json:"conformance_levels"`
}

// Info describes the service.
func (s *Service) Info() InfoResponse {
	r := InfoResponse{
		Specs: "2.0.0.0", Name: "Kyso remote signing", Logo: "", Region: "VN", Lang: "vi-VN",
		Description: "Remote signing with keys held in the HSM, under the citizen's sole control",
		AuthType:    []string{"external"},
		Methods:     []string{"credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash", "signatures/signDoc"},
	}
	r.SignAlgos.Algos = []string{oidRSA, oidSHA256RSA, oidECDSASHA256, oidECDSASHA384}
	r.SignatureFormats.Formats = []string{"P", "C", "J"}
	r.SignatureFormats.Levels = [][]string{{"Certification", "Revision"}, {"Detached"}, {"Attached"}}
	r.ConformanceLevels = []string{"AdES-B-B", "AdES-B-T", "AdES-B-LT", "AdES-B-LTA"}
	return r
}

// Signature algorithm OIDs.
const (
	oidRSA         = "1.2.840.113549.1.1.1"
	oidSHA256RSA   = "1.2.840.113549.1.1.11"
	oidSHA384RSA   = "1.2.840.113549.1.1.12"
	oidSHA512RSA   = "1.2.840.113549.1.1.13"
	oidECDSA       = "1.2.840.10045.2.1"
	oidECDSASHA256 = "1.2.840.10045.4.3.2"
	oidECDSASHA384 = "1.2.840.10045.4.3.3"
	oidECDSASHA512 = "1.2.840.10045.4.3.4"
)

// ListRequest is credentials/list.
type ListRequest struct {
	UserID         string `json:"userID,omitempty"`
	CredentialInfo bool   `json:"credentialInfo,omitempty"`
	Certificates   string `json:"certificates,omitempty"`
	CertInfo       bool   `json:"certInfo,omitempty"`
	AuthInfo       bool   `json:"authInfo,omitempty"`
	OnlyValid      bool   `json:"onlyValid,omitempty"`
}

// ListResponse answers credentials/list.
type ListResponse struct {
	CredentialIDs   []string       `json:"credentialIDs"`
	CredentialInfos []InfoForCreds `json:"credentialInfos,omitempty"`
}

// InfoForCreds is credentials/info's answer, also inside list.
type InfoForCreds struct {
	CredentialID string `json:"credentialID,omitempty"`
	Description  string `json:"description,omitempty"`
	Key          struct {
		Status string   `json:"status"`
		Algo   []string `json:"algo"`
		Len    int      `json:"len"`
		Curve  string   `json:"curve,omitempty"`
	} `json:"key"`
	Cert *struct {
		Status       string   `json:"status,omitempty"`
		Certificates []string `json:"certificates,omitempty"`
		IssuerDN     string   `json:"issuerDN,omitempty"`
		SerialNumber string   `json:"serialNumber,omitempty"`
		SubjectDN    string   `json:"subjectDN,omitempty"`
		ValidFrom    string   `json:"validFrom,omitempty"`
		ValidTo      string   `json:"validTo,omitempty"`
	} `json:"cert,omitempty"`
	Auth *struct {
		Mode       string `json:"mode"`
		Expression string `json:"expression,omitempty"`
		Objects    []struct {
			Type  string `json:"type"`
			ID    string `json:"id"`
			Label string `json:"label,omitempty"`
		} `json:"objects,omitempty"`
	} `json:"auth,omitempty"`
	SCAL string `json:"SCAL"`
	// SCALReason says why the SCAL is what it is (a Kyso extension).
	SCALReason string `json:"scal_reason,omitempty"`
	Multisign  int    `json:"multisign"`
	Lang       string `json:"lang,omitempty"`
}

// List returns the caller's credentials (a citizen's signing credentials,
// an agency's seals).
func (s *Service) List(ctx context.Context, p *auth.Principal, req ListRequest) (*ListResponse, error) {
	if err := s.checkPrincipal(p); err != nil {
		return nil, err
	}
	kind, subject := credential.KindCitizen, p.Subject
	if p.Role == auth.RoleAgency {
		kind, subject = credential.KindSeal, p.AgencyCode
	}
	creds, err := s.creds.ListBySubject(ctx, kind, subject)
	if err != nil {
		return nil, fmt.Errorf("csc: list credentials: %w", err)
	}
	resp := &ListResponse{CredentialIDs: []string{}}
	for i := range creds {
		c := &creds[i]
		if req.OnlyValid && c.Status != credential.StatusActive {
			continue
		}
		resp.CredentialIDs = append(resp.CredentialIDs, c.ID)
		if req.CredentialInfo {
			info, err := s.describe(c, p, req.Certificates, req.CertInfo, req.AuthInfo)
			if err != nil {
				return nil, err
			}
			info.CredentialID = c.ID
			resp.CredentialInfos = append(resp.CredentialInfos, *info)
		}
	}
	return resp, nil
}

// InfoRequest is credentials/info.
type InfoRequest struct {
	CredentialID string `json:"credentialID"`
	Certificates string `json:"certificates,omitempty"`
	CertInfo     bool   `json:"certInfo,omitempty"`
	AuthInfo     bool   `json:"authInfo,omitempty"`
}

// CredentialInfo describes one of the caller's credentials.
func (s *Service) CredentialInfo(ctx context.Context, p *auth.Principal, req InfoRequest) (*InfoForCreds, error) {
	if err := s.checkPrincipal(p); err != nil {
		return nil, err
	}
	if req.CredentialID == "" {
		return nil, badRequest("credentialID is required")
	}
	c, err := s.creds.Get(ctx, req.CredentialID)
	if err != nil {
		return nil, withCSC(err)
	}
	if (p.Role == auth.RoleCitizen && (c.Kind != credential.KindCitizen || c.Subject != p.Subject)) ||
		(p.Role == auth.RoleAgency && (c.Kind != credential.KindSeal || (c.AgencyCode != p.AgencyCode && c.Subject != p.AgencyCode))) {
		return nil, ErrNotOwner
	}
	if req.Certificates == "" {
		req.Certificates = "single"
	}
	return s.describe(c, p, req.Certificates, req.CertInfo, req.AuthInfo || true)
}

// SCAL is the sole control assurance level Kyso claims (CSC API v2: "1"
// or "2"; CEN EN 419 241-1). Signature activation (the SAD bound to the
// hashes, the PIN) is checked by the application, and the citizen's key
// is unwrapped with a key the HSM derives from the PIN; but the
// signature activation module is not a certified tamper-protected
// component (EN 419 221-5 / EN 419 241-2), so SCAL2 is not claimed.
const SCAL = "1"

// SCALReason is published with SCAL in credentials/info.
const SCALReason = "signature activation (SAD bound to the document hashes and the signing PIN) is enforced by the Kyso application; the key is unwrapped in the HSM with a key derived from the PIN, but no certified signature activation module (EN 419 241-2) is used, so SCAL2 is not claimed"

func (s *Service) describe(c *credential.Credential, p *auth.Principal, certs string, certInfo, authInfo bool) (*InfoForCreds, error) {
	info := &InfoForCreds{Description: c.Profile, SCAL: SCAL, SCALReason: SCALReason, Multisign: s.cfg.MaxSignatures, Lang: "vi-VN"}
	cert, err := c.Certificate()
	if err != nil {
		return nil, fmt.Errorf("csc: credential %s: %w", c.ID, err)
	}
	info.Key.Status = "enabled"
	// A citizen's key without its wrapped key material (destroyed, or
	// made before keys were wrapped) or under an expired certificate
	// signs nothing.
	now := s.cfg.Now()
	keyGone := c.Kind == credential.KindCitizen && (len(c.Wrapped) == 0 || !c.KeyDestroyedAt.IsZero())
	if c.Status != credential.StatusActive || keyGone || now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		info.Key.Status = "disabled"
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		info.Key.Algo = []string{oidRSA, oidSHA256RSA}
		info.Key.Len = pub.N.BitLen()
	case *ecdsa.PublicKey:
		info.Key.Algo = []string{oidECDSA, oidECDSASHA256, oidECDSASHA384}
		info.Key.Len = pub.Curve.Params().BitSize
		info.Key.Curve = map[string]string{"P-256": "1.2.840.10045.3.1.7", "P-384": "1.3.132.0.34"}[pub.Curve.Params().Name]
	}
	if certs != "none" || certInfo {
		info.Cert = &struct {
			Status       string   `json:"status,omitempty"`
			Certificates []string `json:"certificates,omitempty"`
			IssuerDN     string   `json:"issuerDN,omitempty"`
			SerialNumber string   `json:"serialNumber,omitempty"`
			SubjectDN    string   `json:"subjectDN,omitempty"`
			ValidFrom    string   `json:"validFrom,omitempty"`
			ValidTo      string   `json:"validTo,omitempty"`
		}{Status: map[bool]string{true: "valid", false: "suspended"}[c.Status == credential.StatusActive]}
		if now.After(cert.NotAfter) {
			info.Cert.Status = "expired"
		}
		if c.Status == credential.StatusRevoked {
			info.Cert.Status = "revoked"
		}
		if certs == "single" || certs == "chain" || certs == "" {
			info.Cert.Certificates = []string{base64.StdEncoding.EncodeToString(c.CertDER)}
			if certs == "chain" {
				for _, d := range c.ChainDER {
					info.Cert.Certificates = append(info.Cert.Certificates, base64.StdEncoding.EncodeToString(d))
				}
			}
		}
		if certInfo {
			info.Cert.IssuerDN = cert.Issuer.String()
			info.Cert.SubjectDN = cert.Subject.String()
			info.Cert.SerialNumber = strings.ToUpper(cert.SerialNumber.Text(16))
			info.Cert.ValidFrom = cert.NotBefore.UTC().Format("20060102150405Z")
			info.Cert.ValidTo = cert.NotAfter.UTC().Format("20060102150405Z")
		}
	}
	if authInfo {
		info.Auth = &struct {
			Mode       string `json:"mode"`
			Expression string `json:"expression,omitempty"`
			Objects    []struct {
				Type  string `json:"type"`
				ID    string `json:"id"`
				Label string `json:"label,omitempty"`
			} `json:"objects,omitempty"`
		}{Mode: "explicit"}
		if c.Kind == credential.KindCitizen {
			info.Auth.Expression = "PIN"
			info.Auth.Objects = append(info.Auth.Objects, struct {
				Type  string `json:"type"`
				ID    string `json:"id"`
				Label string `json:"label,omitempty"`
			}{Type: "Password", ID: "PIN", Label: "Mã PIN ký số"})
		}
	}
	return info, nil
}

// AuthData is one CSC v2 authentication object.
type AuthData struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// AuthorizeRequest is credentials/authorize.
type AuthorizeRequest struct {
	CredentialID     string     `json:"credentialID"`
	NumSignatures    int        `json:"numSignatures"`
	Hashes           []string   `json:"hashes"`
	HashAlgorithmOID string     `json:"hashAlgorithmOID"`
	PIN              string     `json:"PIN,omitempty"`
	AuthData         []AuthData `json:"authData,omitempty"`
	Description      string     `json:"description,omitempty"`
	ClientData       string     `json:"clientData,omitempty"`
}

// AuthorizeResponse carries the SAD.
type AuthorizeResponse struct {
	SAD       string `json:"SAD"`
	ExpiresIn int    `json:"expiresIn"`
}

func (r AuthorizeRequest) pin() string {
	if r.PIN != "" {
		return r.PIN
	}
	for _, a := range r.AuthData {
		if strings.EqualFold(a.ID, "PIN") {
			return a.Value
		}
	}
	return ""
}

func parseHashAlg(oid string) (crypto.Hash, error) {
	if oid == "" {
		return crypto.SHA256, nil
	}
	h, ok := hashOIDs[oid]
	if !ok {
		return 0, badRequest("unsupported hashAlgorithmOID %q", oid)
	}
	return h, nil
}

// Authorize checks the caller, the credential and the PIN and returns a
// SAD for exactly these hashes. client identifies the calling application
// for the audit log.
func (s *Service) Authorize(ctx context.Context, p *auth.Principal, req AuthorizeRequest, client string) (*AuthorizeResponse, error) {
	if err := s.checkPrincipal(p); err != nil {
		return nil, err
	}
	h, err := parseHashAlg(req.HashAlgorithmOID)
	if err != nil {
		return nil, err
	}
	hashes, _, err := normHashes(req.Hashes, h, s.cfg.MaxSignatures)
	if err != nil {
		return nil, err
	}
	if req.NumSignatures != len(req.Hashes) {
		return nil, badRequest("numSignatures must equal the number of hashes")
	}
	c, err := s.credentialFor(ctx, p, req.CredentialID)
	if err != nil {
		return nil, err
	}
	act, err := s.checkPIN(ctx, p, c, req.pin())
	if err != nil {
		return nil, err
	}
	sad, err := s.newSAD(ctx, p, c.ID, h, hashes, clientID(client, req.ClientData), act)
	clear(act)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Append(ctx, auditEvent(p, "signature.authorize", c.ID, map[string]any{"hashes": hashes, "client": clientID(client, req.ClientData)})); err != nil {
		return nil, fmt.Errorf("csc: audit authorize: %w", err)
	}
	return &AuthorizeResponse{SAD: sad, ExpiresIn: int(s.cfg.SADLifetime.Seconds())}, nil
}

func clientID(client, data string) string {
	if data == "" {
		return client
	}
	if len(data) > 200 {
		data = data[:200]
	}
	return client + " " + data
}

// SignHashRequest is signatures/signHash.
type SignHashRequest struct {
	CredentialID     string   `json:"credentialID"`
	SAD              string   `json:"SAD"`
	Hashes           []string `json:"hashes"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID"`
	SignAlgo         string   `json:"signAlgo"`
	SignAlgoParams   string   `json:"signAlgoParams,omitempty"`
	OperationMode    string   `json:"operationMode,omitempty"`
	ClientData       string   `json:"clientData,omitempty"`
}

// SignHashResponse carries the signatures, in the order of the hashes.
type SignHashResponse struct {
	Signatures []string `json:"signatures"`
	// AuditEntries are the ids of the signatures' audit log entries (a
	// Kyso extension): GET /v1/audit/receipts/{id} proves each is logged.
	AuditEntries []string `json:"audit_entries,omitempty"`
}

// redeem consumes the SAD and checks it authorizes this request.
func (s *Service) redeem(ctx context.Context, p *auth.Principal, credID, sad string, h crypto.Hash, hashes []string) (*Activation, error) {
	if err := s.checkPrincipal(p); err != nil {
		return nil, err
	}
	a, err := s.consumeSAD(ctx, sad)
	if err != nil {
		return nil, err
	}
	if a.credentialID != credID || a.subject != p.Subject || a.role != string(p.Role) || a.hashAlg != hashOID(h) ||
		a.hashes != strings.Join(hashes, ",") || a.numSignatures != len(hashes) {
		if err := s.audit.Append(ctx, auditEvent(p, "signature.sad-refused", credID, map[string]any{"reason": "mismatch"})); err != nil {
			return nil, fmt.Errorf("csc: recording a refused SAD: %w", ErrAuditUnavailable)
		}
		return nil, ErrInvalidSAD
	}
	c, err := s.credentialFor(ctx, p, credID)
	if err != nil {
		return nil, err
	}
	act, err := openActivation(sad, a)
	if err != nil {
		return nil, err
	}
	k, err := s.key(ctx, p, c, "", act)
	clear(act)
	if err != nil {
		return nil, err
	}
	return &Activation{Credential: c, Key: k}, nil
}

// SignHash signs the hashes a SAD authorized.
func (s *Service) SignHash(ctx context.Context, p *auth.Principal, req SignHashRequest, client string) (*SignHashResponse, error) {
	h, err := parseHashAlg(req.HashAlgorithmOID)
	if err != nil {
		return nil, err
	}
	hashes, raw, err := normHashes(req.Hashes, h, s.cfg.MaxSignatures)
	if err != nil {
		return nil, err
	}
	act, err := s.redeem(ctx, p, req.CredentialID, req.SAD, h, hashes)
	if err != nil {
		return nil, err
	}
	if err := checkSignAlgo(act, req.SignAlgo, h); err != nil {
		return nil, err
	}
	act.Key.Signer.(*auditedSigner).client = clientID(client, req.ClientData)
	resp := &SignHashResponse{}
	for _, d := range raw {
		sig, err := act.Key.Signer.Sign(rand.Reader, d, h)
		if err != nil {
			return nil, fmt.Errorf("csc: sign hash: %w", err)
		}
		resp.Signatures = append(resp.Signatures, base64.StdEncoding.EncodeToString(sig))
	}
	resp.AuditEntries = act.AuditEntries()
	return resp, nil
}

func checkSignAlgo(act *Activation, algo string, h crypto.Hash) error {
	switch act.Key.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		want := map[crypto.Hash]string{crypto.SHA256: oidSHA256RSA, crypto.SHA384: oidSHA384RSA, crypto.SHA512: oidSHA512RSA}[h]
		if algo == oidRSA || algo == want {
			return nil
		}
	case *ecdsa.PublicKey:
		want := map[crypto.Hash]string{crypto.SHA256: oidECDSASHA256, crypto.SHA384: oidECDSASHA384, crypto.SHA512: oidECDSASHA512}[h]
		if algo == oidECDSA || algo == want {
			return nil
		}
	}
	return badRequest("signAlgo %q does not fit the key and hash algorithm", algo)
}

// Document is one document of signatures/signDoc.
type Document struct {
	Document         string `json:"document"`
	SignatureFormat  string `json:"signature_format"`
	ConformanceLevel string `json:"conformance_level,omitempty"`
	SignAlgo         string `json:"signAlgo,omitempty"`
	SignedEnvelope   string `json:"signed_envelope_property,omitempty"`
}

// SignDocRequest is signatures/signDoc. The SAD must have been authorized
// for the SHA-256 hashes of the documents' bytes.
type SignDocRequest struct {
	CredentialID string     `json:"credentialID"`
	SAD          string     `json:"SAD"`
	Documents    []Document `json:"documents"`
	ClientData   string     `json:"clientData,omitempty"`
}

// SignDocResponse carries signed documents (PAdES, JAdES) and detached
// signatures (CAdES), base64, in request order within each list.
type SignDocResponse struct {
	DocumentWithSignature []string `json:"DocumentWithSignature,omitempty"`
	SignatureObject       []string `json:"SignatureObject,omitempty"`
	// AuditEntries are the ids of the signatures' audit log entries (a
	// Kyso extension).
	AuditEntries []string `json:"audit_entries,omitempty"`
}

// SignDoc signs whole documents as PAdES (P), CAdES detached (C) or JAdES
// (J) at the requested conformance level.
func (s *Service) SignDoc(ctx context.Context, p *auth.Principal, req SignDocRequest, client string) (*SignDocResponse, error) {
	if len(req.Documents) == 0 || len(req.Documents) > s.cfg.MaxSignatures {
		return nil, badRequest("between 1 and %d documents are required", s.cfg.MaxSignatures)
	}
	docs := make([][]byte, len(req.Documents))
	var hashes []string
	for i, d := range req.Documents {
		b, err := base64.StdEncoding.DecodeString(d.Document)
		if err != nil {
			return nil, badRequest("document %d is not base64", i)
		}
		docs[i] = b
		sum := sha256.Sum256(b)
		hashes = append(hashes, base64.StdEncoding.EncodeToString(sum[:]))
	}
	sort.Strings(hashes)
	act, err := s.redeem(ctx, p, req.CredentialID, req.SAD, crypto.SHA256, hashes)
	if err != nil {
		return nil, err
	}
	act.Key.Signer.(*auditedSigner).client = clientID(client, req.ClientData)
	resp := &SignDocResponse{}
	for i, d := range req.Documents {
		level, err := signer.ParseLevel(d.ConformanceLevel)
		if err != nil {
			return nil, withCSC(err)
		}
		switch strings.ToUpper(d.SignatureFormat) {
		case "P":
			var out bytes.Buffer
			err := signer.SignPDF(ctx, act.Key, bytes.NewReader(docs[i]), int64(len(docs[i])), &out, signer.PDFOptions{
				Level: level, Certify: strings.EqualFold(d.SignedEnvelope, "Certification"), Deps: s.deps,
			})
			if err != nil {
				return nil, withCSC(err)
			}
			resp.DocumentWithSignature = append(resp.DocumentWithSignature, base64.StdEncoding.EncodeToString(out.Bytes()))
		case "C":
			sig, err := signer.SignCMS(ctx, act.Key, bytes.NewReader(docs[i]), signer.CMSOptions{Level: level, Deps: s.deps})
			if err != nil {
				return nil, withCSC(err)
			}
			resp.SignatureObject = append(resp.SignatureObject, base64.StdEncoding.EncodeToString(sig))
		case "J":
			sig, _, err := signer.SignJWS(ctx, act.Key, docs[i], signer.JWSOptions{Serialization: "json", Level: level, Deps: s.deps})
			if err != nil {
				return nil, withCSC(err)
			}
			resp.DocumentWithSignature = append(resp.DocumentWithSignature, base64.StdEncoding.EncodeToString(sig))
		default:
			return nil, badRequest("signature_format must be P, C or J")
		}
	}
	resp.AuditEntries = act.AuditEntries()
	return resp, nil
}

func auditEvent(p *auth.Principal, action, credID string, details map[string]any) auditEventT {
	return auditEventT{Actor: p.Subject, Role: string(p.Role), Action: action, Object: "credential:" + credID, Details: details}
}

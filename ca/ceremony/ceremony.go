// Package ceremony runs Kyso's key ceremonies: it creates the CA, OCSP,
// time-stamping, identity-assertion and seal keys in the HSM, certifies
// them, stores the certificates (never keys) and writes them as PEM.
//
// A ceremony never overwrites: Init refuses to run when any of its key
// labels exists in the HSM or any CA certificate is in the store, and
// Rotate picks the next free issuing-CA number. Certificates are linted
// (package lint) before every signature, like every other certificate.
package ceremony

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
	"kyso/ca/lint"
	"kyso/ca/profile"
	"kyso/credential"
	"kyso/hsm"
	"kyso/store"
)

// ErrAlreadyInitialized is returned when Init finds keys or certificates
// of an earlier ceremony.
var ErrAlreadyInitialized = errors.New("ceremony: refusing to overwrite an existing CA")

// Tokens are the HSM tokens of a ceremony: the root CA key lives on a
// token of its own, which only ceremonies open; every other key (issuing
// CAs, OCSP, TSA, identity, seals, TLS) on the service token. Root and
// Service may be the same token (tests, a single-token HSM).
type Tokens struct {
	Root, Service *hsm.HSM
}

func (t Tokens) check() error {
	if t.Root == nil || t.Service == nil {
		return errors.New("ceremony: the root and service tokens must be open")
	}
	return nil
}

type createdKey struct {
	h     *hsm.HSM
	label string
}

type run struct {
	ctx     context.Context
	h       *hsm.HSM // the service token
	root    *hsm.HSM // the root token
	db      *store.DB
	out     io.Writer
	dir     string
	linter  *lint.Linter
	created []createdKey // keys generated in this run, destroyed on failure
	pems    map[string][]byte
	order   []string
}

func newRun(ctx context.Context, t Tokens, db *store.DB, out io.Writer, dir string) (*run, error) {
	if out == nil {
		out = io.Discard
	}
	l, err := lint.New()
	if err != nil {
		return nil, err
	}
	return &run{ctx: ctx, h: t.Service, root: t.Root, db: db, out: out, dir: dir, linter: l, pems: map[string][]byte{}}, nil
}

func (r *run) generate(label, keyType string) (crypto.Signer, error) {
	return r.generateOn(r.h, label, keyType)
}

func (r *run) generateOn(h *hsm.HSM, label, keyType string) (crypto.Signer, error) {
	kt, err := hsm.ParseKeyType(keyType)
	if err != nil {
		return nil, err
	}
	k, err := h.GenerateKey(r.ctx, hsm.KeySpec{Label: label, Type: kt})
	if err != nil {
		return nil, fmt.Errorf("ceremony: generate %s: %w", label, err)
	}
	r.created = append(r.created, createdKey{h, label})
	return k, nil
}

// rollback destroys the keys this run made, so that a failed ceremony can
// be run again.
func (r *run) rollback() {
	for _, k := range r.created {
		_ = k.h.DestroyKey(context.WithoutCancel(r.ctx), k.label)
	}
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func serial() (*big.Int, error) { return ca.NewSerial() }

func (r *run) emit(name, what string, cert *x509.Certificate) {
	fmt.Fprintf(r.out, "%-22s %-26s %s\n    SHA256 Fingerprint=%s\n    not after %s\n", name, what, cert.Subject, ca.Fingerprint(cert.Raw), cert.NotAfter.Format(time.RFC3339))
	r.pems[name] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	r.order = append(r.order, name)
}

func (r *run) emitKey(name, label string, pub crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(der)
	fmt.Fprintf(r.out, "%-22s %-26s public key SHA-256 %s\n", name, label, strings.ToUpper(hex.EncodeToString(sum[:])))
	r.pems[name+".pub"] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	r.order = append(r.order, name+".pub")
	return nil
}

func (r *run) writePEMs() error {
	if r.dir == "" {
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("ceremony: output dir: %w", err)
	}
	for _, name := range r.order {
		path := filepath.Join(r.dir, name+".pem")
		if err := os.WriteFile(path, r.pems[name], 0o644); err != nil {
			return fmt.Errorf("ceremony: write %s: %w", path, err)
		}
	}
	fmt.Fprintf(r.out, "certificates written to %s\n", r.dir)
	return nil
}

// signCA certifies the key of an issuing CA of role (ca.RoleCitizenCA or
// ca.RoleAgencyCA) with the root.
func (r *run) signCA(root *x509.Certificate, rootKey crypto.Signer, role string, kc KeyConfig, pub crypto.PublicKey, baseURL string, notBefore time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	notAfter := notBefore.Add(days(kc.ValidityDays))
	if notAfter.After(root.NotAfter) {
		notAfter = root.NotAfter
	}
	t, err := profile.IssuingTemplate(profile.CAParams{
		Subject:   pkix.Name{Country: []string{"VN"}, Organization: orgs(kc.Organization), CommonName: kc.CommonName},
		PublicKey: pub, Serial: sn, NotBefore: notBefore, NotAfter: notAfter,
		CRLURL: baseURL + "/crl/root/0.crl", CAIssuersURL: baseURL + "/ca/root.crt",
		Issues: profile.Issuer(role),
	})
	if err != nil {
		return nil, err
	}
	return r.sign(t, root, rootKey)
}

func (r *run) sign(t, parent *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	if err := r.linter.Check(t, parent); err != nil {
		return nil, err
	}
	if parent == nil {
		parent = t
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, t.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ceremony: sign %s: %w", t.Subject, err)
	}
	return x509.ParseCertificate(der)
}

func orgs(o string) []string {
	if o == "" {
		return nil
	}
	return []string{o}
}

func csrFor(key crypto.Signer) (*x509.CertificateRequest, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("ceremony: CSR: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

// signResponder certifies the OCSP key as the delegated responder of one
// CA.
func (r *run) signResponder(issuer *x509.Certificate, issuerKey crypto.Signer, issuerName string, kc KeyConfig, ocspKey crypto.Signer, baseURL string, notBefore time.Time) (*x509.Certificate, error) {
	spec, _ := profile.Lookup(profile.OCSPResponder)
	csr, err := csrFor(ocspKey)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	notAfter := notBefore.Add(days(kc.ValidityDays))
	if notAfter.After(issuer.NotAfter) {
		notAfter = issuer.NotAfter
	}
	// Each CA's responder certificate has a name of its own: relying
	// parties (NSS among them) find the responder certificate by the
	// response's ResponderID, and one name for several certificates makes
	// them pick the one certified by another CA.
	cn := responderName(kc.CommonName, issuer.Subject.CommonName)
	t, err := spec.Render(csr, profile.Subject{CommonName: cn, Organization: kc.Organization},
		profile.Params{Serial: sn, NotBefore: notBefore, NotAfter: notAfter, CAIssuersURL: baseURL + "/ca/" + issuerName + ".crt"})
	if err != nil {
		return nil, err
	}
	return r.sign(t, issuer, issuerKey)
}

// responderName names the responder of the CA called issuerCN, within the
// 64 characters a CommonName may have.
func responderName(base, issuerCN string) string {
	name := base + " (" + issuerCN + ")"
	if len(name) > 64 {
		name = base + " (" + issuerCN[:max(0, 64-len(base)-3)] + ")"
	}
	return name
}

// plannedLabels lists every HSM label Init creates.
func plannedLabels(cfg Config) []string {
	labels := []string{ca.LabelRoot, ca.IssuingLabel(ca.RoleCitizenCA, 1), ca.IssuingLabel(ca.RoleAgencyCA, 1),
		ca.LabelOCSP, ca.LabelTSA, ca.LabelIdentity, ca.LabelServiceSeal, audit.LogKeyLabel}
	if len(cfg.TLS.Hosts) > 0 {
		labels = append(labels, ca.LabelTLS)
	}
	for _, a := range cfg.Agencies {
		labels = append(labels, ca.SealLabel(a.Code, 1))
	}
	return labels
}

// Init runs the initial key ceremony described by cfg with every key on
// one token; InitTokens keeps the root key on a token of its own.
func Init(ctx context.Context, cfg Config, h *hsm.HSM, db *store.DB, out io.Writer) error {
	return InitTokens(ctx, cfg, Tokens{Root: h, Service: h}, db, out)
}

// InitTokens runs the initial key ceremony described by cfg: the root key
// on t.Root, every other key on t.Service. The root signs the issuing CAs,
// its OCSP responder and its CRL here, and then only in later ceremonies.
func InitTokens(ctx context.Context, cfg Config, t Tokens, db *store.DB, out io.Writer) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	h := t.Service
	baseURL := strings.TrimRight(cfg.BaseURL, "/")
	if err := ca.Migrate(ctx, db); err != nil {
		return err
	}
	existing, err := ca.ListAuthorities(ctx, db)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return fmt.Errorf("%w: the store already holds %d CA certificates (first: %s)", ErrAlreadyInitialized, len(existing), existing[0].Name)
	}
	var taken []string
	for _, l := range plannedLabels(cfg) {
		tok := h
		if l == ca.LabelRoot {
			tok = t.Root
		}
		_, err := tok.FindKey(ctx, l)
		switch {
		case err == nil:
			taken = append(taken, l)
		case !errors.Is(err, hsm.ErrKeyNotFound):
			return fmt.Errorf("ceremony: look up %s: %w", l, err)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("%w: the HSM already has keys %s", ErrAlreadyInitialized, strings.Join(taken, ", "))
	}
	r, err := newRun(ctx, t, db, out, cfg.OutputDir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.rollback()
		}
	}()
	fmt.Fprintf(r.out, "Kyso key ceremony, %s\n", time.Now().UTC().Format(time.RFC3339))
	now := time.Now().UTC().Add(-time.Minute)

	// Root, on its own token.
	rootKey, err := r.generateOn(t.Root, ca.LabelRoot, cfg.Root.KeyType)
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	rt, err := profile.RootTemplate(profile.CAParams{
		Subject:   pkix.Name{Country: []string{"VN"}, Organization: orgs(cfg.Root.Organization), CommonName: cfg.Root.CommonName},
		PublicKey: rootKey.Public(), Serial: sn, NotBefore: now, NotAfter: now.Add(days(cfg.Root.ValidityDays)),
	})
	if err != nil {
		return err
	}
	root, err := r.sign(rt, nil, rootKey)
	if err != nil {
		return err
	}
	if err := ca.StoreAuthority(ctx, db, ca.AuthorityRecord{Name: "root", Role: ca.RoleRoot, KeyLabel: ca.LabelRoot, Cert: root, ActivateAt: now}); err != nil {
		return err
	}
	r.emit("root", ca.LabelRoot, root)

	// Issuing CAs and their delegated OCSP responders.
	ocspKey, err := r.generate(ca.LabelOCSP, cfg.OCSP.KeyType)
	if err != nil {
		return err
	}
	rootResp, err := r.signResponder(root, rootKey, "root", cfg.OCSP, ocspKey, baseURL, now)
	if err != nil {
		return err
	}
	if err := r.storeResponder(rootResp, "root"); err != nil {
		return err
	}
	for _, ic := range []struct {
		role string
		kc   KeyConfig
	}{{ca.RoleCitizenCA, cfg.CitizenCA}, {ca.RoleAgencyCA, cfg.AgencyCA}} {
		label := ca.IssuingLabel(ic.role, 1)
		key, err := r.generate(label, ic.kc.KeyType)
		if err != nil {
			return err
		}
		cert, err := r.signCA(root, rootKey, ic.role, ic.kc, key.Public(), baseURL, now)
		if err != nil {
			return err
		}
		name := ic.role + "-1"
		if err := ca.StoreAuthority(ctx, db, ca.AuthorityRecord{Name: name, Role: ic.role, KeyLabel: label, Issuer: "root", Cert: cert, ActivateAt: now}); err != nil {
			return err
		}
		if err := ca.RecordIssued(ctx, db, cert, "root", "ca", ""); err != nil {
			return err
		}
		r.emit(name, label, cert)
		resp, err := r.signResponder(cert, key, name, cfg.OCSP, ocspKey, baseURL, now)
		if err != nil {
			return err
		}
		if err := r.storeResponder(resp, name); err != nil {
			return err
		}
	}

	// From here on certificates go through the CA itself.
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		return fmt.Errorf("ceremony: audit log: %w", err)
	}
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: baseURL, CRLShards: cfg.CRLShards, Audit: alog, RootHSM: t.Root,
		Validity: map[profile.Name]time.Duration{
			profile.TimeStamping: days(cfg.TSA.ValidityDays),
			profile.Seal:         days(cfg.ServiceSeal.ValidityDays),
			profile.TLSServer:    days(cfg.TLS.ValidityDays),
		}})
	if err != nil {
		return err
	}
	issueService := func(name, role, label, keyType string, p profile.Name, sub profile.Subject) error {
		key, err := r.generate(label, keyType)
		if err != nil {
			return err
		}
		csr, err := csrFor(key)
		if err != nil {
			return err
		}
		iss, err := c.Issue(ctx, ca.IssueRequest{Profile: p, Subject: sub, CSR: csr, SubjectID: "kyso-" + role})
		if err != nil {
			return fmt.Errorf("ceremony: %s: %w", name, err)
		}
		if err := ca.StoreAuthority(ctx, db, ca.AuthorityRecord{Name: name, Role: role, KeyLabel: label, Issuer: iss.Issuer, Cert: iss.Certificate, ActivateAt: now}); err != nil {
			return err
		}
		r.emit(name, label, iss.Certificate)
		return nil
	}
	if err := issueService("tsa-1", ca.RoleTSA, ca.LabelTSA, cfg.TSA.KeyType, profile.TimeStamping,
		profile.Subject{CommonName: cfg.TSA.CommonName, Organization: cfg.TSA.Organization}); err != nil {
		return err
	}
	if err := issueService("service-seal-1", ca.RoleServiceSeal, ca.LabelServiceSeal, cfg.ServiceSeal.KeyType, profile.Seal,
		profile.Subject{CommonName: cfg.ServiceSeal.CommonName, Organization: cfg.ServiceSeal.Organization, UID: profile.AgencyUID(cfg.ServiceSeal.MNS, cfg.ServiceSeal.MST)}); err != nil {
		return err
	}
	if len(cfg.TLS.Hosts) > 0 {
		sub := profile.Subject{CommonName: cfg.TLS.Hosts[0], Organization: cfg.TLS.Organization}
		for _, host := range cfg.TLS.Hosts {
			if ip := net.ParseIP(host); ip != nil {
				sub.IPAddresses = append(sub.IPAddresses, ip)
			} else {
				sub.DNSNames = append(sub.DNSNames, host)
			}
		}
		if err := issueService("tls-1", ca.RoleTLS, ca.LabelTLS, cfg.TLS.KeyType, profile.TLSServer, sub); err != nil {
			return err
		}
	}

	// The root's CRL: the server never holds the root key, so the
	// ceremony signs it (and `kyso ceremony crl` signs the next).
	if _, err := c.RegenerateCRL(ctx, "root", 0); err != nil {
		return fmt.Errorf("ceremony: root CRL: %w", err)
	}

	// Identity-assertion key: a bare key, published through JWKS.
	idKey, err := r.generate(ca.LabelIdentity, cfg.Identity.KeyType)
	if err != nil {
		return err
	}
	if err := r.emitKey("identity", ca.LabelIdentity, idKey.Public()); err != nil {
		return err
	}
	// The audit log's checkpoint key (Ed25519, signed notes).
	logKey, err := h.GenerateKey(ctx, hsm.KeySpec{Label: audit.LogKeyLabel, Type: hsm.Ed25519})
	if err != nil {
		return fmt.Errorf("ceremony: generate %s: %w", audit.LogKeyLabel, err)
	}
	r.created = append(r.created, createdKey{h, audit.LogKeyLabel})
	if err := r.emitKey("audit-log", audit.LogKeyLabel, logKey.Public()); err != nil {
		return err
	}

	// Agency seals.
	for _, a := range cfg.Agencies {
		if err := r.issueSeal(c, alog, a); err != nil {
			return err
		}
	}
	if err := r.writePEMs(); err != nil {
		return err
	}
	fps := map[string]any{}
	for _, rec := range mustList(ctx, db) {
		fps[rec.Name] = ca.Fingerprint(rec.Cert.Raw)
	}
	if err := alog.Append(ctx, audit.Event{Actor: "ceremony", Role: "system", Action: "ca.ceremony.init", Object: "ca:root", Details: map[string]any{"fingerprints": fps, "agencies": len(cfg.Agencies)}}); err != nil {
		return fmt.Errorf("ceremony: audit: %w", err)
	}
	fmt.Fprintln(r.out, "ceremony complete")
	return nil
}

func mustList(ctx context.Context, db *store.DB) []ca.AuthorityRecord {
	recs, _ := ca.ListAuthorities(ctx, db)
	return recs
}

func (r *run) storeResponder(cert *x509.Certificate, issuer string) error {
	name := "ocsp-" + issuer
	if err := ca.StoreAuthority(r.ctx, r.db, ca.AuthorityRecord{Name: name, Role: ca.RoleOCSP, KeyLabel: ca.LabelOCSP, Issuer: issuer, Cert: cert, ActivateAt: cert.NotBefore}); err != nil {
		return err
	}
	if err := ca.RecordIssued(r.ctx, r.db, cert, issuer, string(profile.OCSPResponder), ""); err != nil {
		return err
	}
	r.emit(name, ca.LabelOCSP, cert)
	return nil
}

// issueSeal creates an agency's seal key, certificate and credential.
func (r *run) issueSeal(c *ca.CA, alog *audit.Log, a Agency) error {
	label := ca.SealLabel(a.Code, 1)
	kt := a.KeyType
	if kt == "" {
		kt = string(hsm.ECP256)
	}
	key, err := r.generate(label, kt)
	if err != nil {
		return err
	}
	csr, err := csrFor(key)
	if err != nil {
		return err
	}
	id, err := credential.NewID()
	if err != nil {
		return err
	}
	// The certificate, the credential and their audit events commit
	// together (the run's rollback destroys the key otherwise).
	var iss *ca.Issued
	err = r.db.InTx(r.ctx, func(tx *sql.Tx) error {
		var err error
		iss, err = c.Issue(r.ctx, ca.IssueRequest{
			Profile: profile.Seal, SubjectID: a.Code, CSR: csr, CredentialID: id, Tx: tx,
			Subject: a.subject(),
		})
		if err != nil {
			return fmt.Errorf("ceremony: seal %s: %w", a.Code, err)
		}
		chain := make([][]byte, 0, len(iss.Chain))
		for _, cc := range iss.Chain {
			chain = append(chain, cc.Raw)
		}
		if err := c.Credentials().Create(r.ctx, tx, credential.Credential{
			ID: id, Kind: credential.KindSeal, Subject: a.Code, AgencyCode: a.Code, Profile: string(profile.Seal),
			KeyLabel: label, KeyType: kt, CertSerial: iss.Serial, CertDER: iss.Certificate.Raw, ChainDER: chain,
		}, ""); err != nil {
			return err
		}
		return alog.AppendTx(r.ctx, tx, audit.Event{Actor: "ceremony", Role: "system", Action: "credential.create", Object: "credential:" + id, Details: map[string]any{
			"serial": iss.Serial, "profile": string(profile.Seal), "key_label": label, "key_type": kt, "agency": a.Code,
		}})
	})
	if err != nil {
		return err
	}
	// A cache: OCSP look-ups sign on demand without it, and the refresh
	// loop fills it in, so a failure here does not undo the seal.
	_ = c.PresignOCSP(r.ctx, iss.Serial)
	r.emit("seal-"+a.Code, label, iss.Certificate)
	return nil
}

// Rotate brings in a new issuing CA for a role: a new HSM key, certified
// by the root, with its own delegated OCSP responder certificate. It is
// published at once and takes over issuance after the overlap; the old CA
// keeps serving revocation status for what it issued.
func Rotate(ctx context.Context, rc RotateConfig, h *hsm.HSM, db *store.DB, out io.Writer) error {
	return RotateTokens(ctx, rc, Tokens{Root: h, Service: h}, db, out)
}

// RotateTokens is Rotate with the root key on t.Root.
func RotateTokens(ctx context.Context, rc RotateConfig, t Tokens, db *store.DB, out io.Writer) (err error) {
	if err := t.check(); err != nil {
		return err
	}
	h := t.Service
	if rc.Role != ca.RoleCitizenCA && rc.Role != ca.RoleAgencyCA {
		return fmt.Errorf("ceremony: rotate: role must be %q or %q", ca.RoleCitizenCA, ca.RoleAgencyCA)
	}
	if rc.Overlap < 0 {
		return errors.New("ceremony: rotate: overlap must not be negative")
	}
	recs, err := ca.ListAuthorities(ctx, db)
	if err != nil {
		return err
	}
	var root *x509.Certificate
	n := 1
	var prev *ca.AuthorityRecord
	for i, rec := range recs {
		switch rec.Role {
		case ca.RoleRoot:
			root = rec.Cert
		case rc.Role:
			n++
			prev = &recs[i]
		}
	}
	if root == nil || prev == nil {
		return fmt.Errorf("ceremony: rotate: %w", ca.ErrNotInitialized)
	}
	def := DevConfig()
	kc := rc.CA
	base := def.CitizenCA
	if rc.Role == ca.RoleAgencyCA {
		base = def.AgencyCA
	}
	if kc.KeyType == "" {
		kc.KeyType = base.KeyType
	}
	if kc.ValidityDays == 0 {
		kc.ValidityDays = base.ValidityDays
	}
	if kc.Organization == "" {
		kc.Organization = firstOrg(prev.Cert)
	}
	if kc.CommonName == "" {
		kc.CommonName = strings.TrimSpace(strings.TrimRight(prev.Cert.Subject.CommonName, "0123456789")) + fmt.Sprintf(" %d", n)
	}
	baseURL := strings.TrimRight(rc.BaseURL, "/")
	if baseURL == "" && len(prev.Cert.CRLDistributionPoints) > 0 {
		baseURL = strings.TrimSuffix(prev.Cert.CRLDistributionPoints[0], "/crl/root/0.crl")
	}
	label := ca.IssuingLabel(rc.Role, n)
	if _, err := h.FindKey(ctx, label); err == nil {
		return fmt.Errorf("%w: the HSM already has key %s", ErrAlreadyInitialized, label)
	} else if !errors.Is(err, hsm.ErrKeyNotFound) {
		return err
	}
	rootKey, err := t.Root.FindKey(ctx, ca.LabelRoot)
	if err != nil {
		return fmt.Errorf("ceremony: root key: %w", err)
	}
	ocspKey, err := h.FindKey(ctx, ca.LabelOCSP)
	if err != nil {
		return fmt.Errorf("ceremony: OCSP key: %w", err)
	}
	r, err := newRun(ctx, t, db, out, rc.OutputDir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.rollback()
		}
	}()
	now := time.Now().UTC().Add(-time.Minute)
	key, err := r.generate(label, kc.KeyType)
	if err != nil {
		return err
	}
	cert, err := r.signCA(root, rootKey, rc.Role, kc, key.Public(), baseURL, now)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%d", rc.Role, n)
	activate := now.Add(rc.Overlap)
	if err := ca.StoreAuthority(ctx, db, ca.AuthorityRecord{Name: name, Role: rc.Role, KeyLabel: label, Issuer: "root", Cert: cert, ActivateAt: activate}); err != nil {
		return err
	}
	if err := ca.RecordIssued(ctx, db, cert, "root", "ca", ""); err != nil {
		return err
	}
	r.emit(name, label, cert)
	def.OCSP.ValidityDays = 365
	resp, err := r.signResponder(cert, key, name, def.OCSP, ocspKey, baseURL, now)
	if err != nil {
		return err
	}
	if err := r.storeResponder(resp, name); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%s takes over issuance from %s at %s\n", name, prev.Name, activate.Format(time.RFC3339))
	if err := r.writePEMs(); err != nil {
		return err
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		return err
	}
	// The root's CRL names the new issuing CA's issuer; sign the next.
	if err := resignRootCRL(ctx, t, db, alog); err != nil {
		return err
	}
	return alog.Append(ctx, audit.Event{Actor: "ceremony", Role: "system", Action: "ca.ceremony.rotate", Object: "ca:" + name, Details: map[string]any{
		"previous": prev.Name, "activate_at": activate.Format(time.RFC3339), "fingerprint": ca.Fingerprint(cert.Raw),
	}})
}

func firstOrg(c *x509.Certificate) string {
	if len(c.Subject.Organization) > 0 {
		return c.Subject.Organization[0]
	}
	return ""
}

// InitIfNeeded runs Init unless the store already holds a CA; it reports
// whether it ran. It is what `make run` uses for the development ceremony.
// A store without a CA on an HSM that has the ceremony's keys is still an
// error (ErrAlreadyInitialized): the keys belong to another store.
func InitIfNeeded(ctx context.Context, cfg Config, h *hsm.HSM, db *store.DB, out io.Writer) (bool, error) {
	return InitIfNeededTokens(ctx, cfg, Tokens{Root: h, Service: h}, db, out)
}

// InitIfNeededTokens is InitIfNeeded with the root key on t.Root.
func InitIfNeededTokens(ctx context.Context, cfg Config, t Tokens, db *store.DB, out io.Writer) (bool, error) {
	if err := ca.Migrate(ctx, db); err != nil {
		return false, err
	}
	recs, err := ca.ListAuthorities(ctx, db)
	if err != nil {
		return false, err
	}
	if len(recs) > 0 {
		_, err := EnsureLogKey(ctx, t.Service, out)
		return false, err
	}
	return true, InitTokens(ctx, cfg, t, db, out)
}

// resignRootCRL signs the root's next CRL with the root key.
func resignRootCRL(ctx context.Context, t Tokens, db *store.DB, alog *audit.Log) error {
	c, err := loadWithRoot(ctx, t, db, alog)
	if err != nil {
		return err
	}
	if _, err := c.RegenerateCRL(ctx, "root", 0); err != nil {
		return fmt.Errorf("ceremony: root CRL: %w", err)
	}
	return nil
}

// loadWithRoot loads the CA with the root key of t.Root.
func loadWithRoot(ctx context.Context, t Tokens, db *store.DB, alog *audit.Log) (*ca.CA, error) {
	recs, err := ca.ListAuthorities(ctx, db)
	if err != nil {
		return nil, err
	}
	// The base URL the root's certificates name its CRL under.
	baseURL := ""
	for _, rec := range recs {
		for _, u := range rec.Cert.CRLDistributionPoints {
			if b, ok := strings.CutSuffix(u, "/crl/root/0.crl"); ok && baseURL == "" {
				baseURL = b
			}
		}
	}
	if baseURL == "" {
		return nil, errors.New("ceremony: no certificate names the root's CRL")
	}
	return ca.Load(ctx, db, t.Service, ca.Config{BaseURL: baseURL, RootHSM: t.Root, Audit: alog})
}

// RevokeCA revokes a certificate the root issued (an issuing CA or the
// root's OCSP responder) with the root key, which re-signs the root's CRL.
func RevokeCA(ctx context.Context, t Tokens, db *store.DB, serial, reason string, out io.Writer) error {
	if err := t.check(); err != nil {
		return err
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		return err
	}
	c, err := loadWithRoot(ctx, t, db, alog)
	if err != nil {
		return err
	}
	info, err := c.Get(ctx, serial)
	if err != nil {
		return err
	}
	if info.Issuer != "root" {
		return fmt.Errorf("ceremony: certificate %s was issued by %s, not the root: kyso ca revoke revokes it", serial, info.Issuer)
	}
	if _, err := c.Revoke(ctx, serial, reason, &auth.Principal{Role: auth.RoleOfficer, Subject: "ceremony", Name: "key ceremony"}); err != nil {
		return err
	}
	if out != nil {
		fmt.Fprintf(out, "certificate %s revoked (%s); the root's CRL is signed anew\n", serial, reason)
	}
	return nil
}

// ResignRootCRL signs the root's next CRL (`kyso ceremony crl`): the
// server holds no root key, so a ceremony does it before the current one's
// nextUpdate (ca.Config.RootCRLValidity after it was signed).
func ResignRootCRL(ctx context.Context, t Tokens, db *store.DB, out io.Writer) error {
	if err := t.check(); err != nil {
		return err
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		return err
	}
	if err := resignRootCRL(ctx, t, db, alog); err != nil {
		return err
	}
	if err := alog.Append(ctx, audit.Event{Actor: "ceremony", Role: "system", Action: "ca.ceremony.crl", Object: "ca:root"}); err != nil {
		return fmt.Errorf("ceremony: audit: %w", err)
	}
	if out != nil {
		fmt.Fprintln(out, "root CRL signed")
	}
	return nil
}

// EnsureLogKey generates the audit log's Ed25519 checkpoint key in the HSM
// when a ceremony that predates it left none; it reports whether it did.
func EnsureLogKey(ctx context.Context, h *hsm.HSM, out io.Writer) (bool, error) {
	_, created, err := LogKey(ctx, h, out)
	return created, err
}

// LogKey returns the audit log's Ed25519 checkpoint key (audit.LogKeyLabel),
// generating it in the HSM first when the token has none, as on an
// install whose ceremony predates the log. An existing key is never
// replaced: every checkpoint published so far is signed by it. created
// reports whether the key was generated now; out (when not nil) is told
// its public key fingerprint.
func LogKey(ctx context.Context, h *hsm.HSM, out io.Writer) (key crypto.Signer, created bool, err error) {
	if h == nil {
		return nil, false, errors.New("ceremony: the HSM must be configured")
	}
	k, err := h.FindKey(ctx, audit.LogKeyLabel)
	if err == nil {
		if k.Type() != hsm.Ed25519 {
			return nil, false, fmt.Errorf("ceremony: the token's %s is a %s key, not Ed25519; refusing to replace it", audit.LogKeyLabel, k.Type())
		}
		return k, false, nil
	}
	if !errors.Is(err, hsm.ErrKeyNotFound) {
		return nil, false, fmt.Errorf("ceremony: look up %s: %w", audit.LogKeyLabel, err)
	}
	k, err = h.GenerateKey(ctx, hsm.KeySpec{Label: audit.LogKeyLabel, Type: hsm.Ed25519})
	if err != nil {
		return nil, false, fmt.Errorf("ceremony: generate %s: %w", audit.LogKeyLabel, err)
	}
	if out != nil {
		der, _ := x509.MarshalPKIXPublicKey(k.Public())
		sum := sha256.Sum256(der)
		fmt.Fprintf(out, "%-22s %-26s public key SHA-256 %s\n", "audit-log", audit.LogKeyLabel, strings.ToUpper(hex.EncodeToString(sum[:])))
	}
	return k, true, nil
}

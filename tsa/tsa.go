package tsa

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/store"
)

// Media types of RFC 3161 over HTTP.
const (
	QueryType = "application/timestamp-query"
	ReplyType = "application/timestamp-reply"
)

// maxRequest bounds the size of a time-stamp request body.
const maxRequest = 16 << 10

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the TSA tables.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fsSub()
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "tsa", sub)
}

// Config configures a Server.
type Config struct {
	Cert *x509.Certificate
	// Chain holds the TSA certificate's issuers (root excluded) added to
	// tokens when the requester asks for certificates.
	Chain  []*x509.Certificate
	Signer crypto.Signer
	// Policy is the TSA policy OID put in every token.
	Policy asn1.ObjectIdentifier
	// Accuracy of the clock, 1s when zero.
	Accuracy time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	Log *slog.Logger
}

// Server is an RFC 3161 time-stamp authority.
type Server struct {
	cfg Config
	db  *store.DB
}

// ErrRejected is returned by Stamp when the request cannot be granted.
var ErrRejected = errors.New("tsa: request rejected")

// New returns a Server. db records serial numbers; run Migrate first.
func New(cfg Config, db *store.DB) (*Server, error) {
	if cfg.Cert == nil || cfg.Signer == nil || len(cfg.Policy) == 0 || db == nil {
		return nil, errors.New("tsa: certificate, signer, policy and store are required")
	}
	if cfg.Accuracy == 0 {
		cfg.Accuracy = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, db: db}, nil
}

// Certificate returns the TSA certificate.
func (s *Server) Certificate() *x509.Certificate { return s.cfg.Cert }

func acceptedHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// Stamp returns a TimeStampToken (DER ContentInfo) over digest, recording
// its serial number. The TSA certificate is included.
func (s *Server) Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	_, token, err := s.respond(ctx, &timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true, Nonce: nonce})
	if err != nil {
		return nil, err
	}
	if token == nil {
		return nil, ErrRejected
	}
	return token, nil
}

// Respond answers a DER TimeStampReq with a DER TimeStampResp. Requests
// that cannot be granted get a rejection response, not an error; errors
// are internal failures.
func (s *Server) Respond(ctx context.Context, reqDER []byte) ([]byte, error) {
	req, err := timestamp.ParseRequest(reqDER)
	if err != nil {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadDataFormat)
	}
	resp, _, err := s.respond(ctx, req)
	return resp, err
}

// respond answers req: a granted response and its token, or a rejection
// (and no token).
func (s *Server) respond(ctx context.Context, req *timestamp.Request) ([]byte, []byte, error) {
	reject := func(info timestamp.FailureInfo) ([]byte, []byte, error) {
		resp, err := timestamp.CreateErrorResponse(timestamp.Rejection, info)
		return resp, nil, err
	}
	if !acceptedHash(req.HashAlgorithm) {
		return reject(timestamp.BadAlgorithm)
	}
	if len(req.HashedMessage) != req.HashAlgorithm.Size() {
		return reject(timestamp.BadDataFormat)
	}
	if len(req.TSAPolicyOID) > 0 && !req.TSAPolicyOID.Equal(s.cfg.Policy) {
		return reject(timestamp.UnacceptedPolicy)
	}
	// This TSA recognises no request extension; RFC 3161 §2.4.1 asks for
	// unacceptedExtension whenever a request carries one it does not
	// recognise, critical or not.
	if len(req.Extensions) > 0 {
		return reject(timestamp.UnacceptedExtension)
	}
	// A random 160-bit serial, recorded; drawn again in the (practically
	// impossible) case of a collision.
	for attempt := 0; attempt < 3; attempt++ {
		serial, err := newSerial()
		if err != nil {
			return nil, nil, err
		}
		now := s.cfg.Now().UTC().Truncate(time.Second)
		token, err := s.token(tokenRequest{hash: req.HashAlgorithm, hashed: req.HashedMessage, nonce: req.Nonce, serial: serial, genTime: now, certs: req.Certificates})
		if err != nil {
			return nil, nil, err
		}
		resp, err := granted(token)
		if err != nil {
			return nil, nil, fmt.Errorf("tsa: encode response: %w", err)
		}
		nonce := ""
		if req.Nonce != nil {
			nonce = req.Nonce.Text(16)
		}
		_, err = s.db.ExecContext(ctx,
			`INSERT INTO tsa_tokens (serial, issued_ms, policy, hash_alg, digest, nonce) VALUES ($1, $2, $3, $4, $5, $6)`,
			serial.Text(16), now.UnixMilli(), s.cfg.Policy.String(), req.HashAlgorithm.String(),
			hex.EncodeToString(req.HashedMessage), nonce)
		if store.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("tsa: record serial: %w", err)
		}
		s.cfg.Log.InfoContext(ctx, "time-stamp issued", "serial", serial.Text(16), "hash", req.HashAlgorithm.String())
		return resp, token, nil
	}
	return nil, nil, errors.New("tsa: could not draw a unique serial number")
}

// ServeHTTP implements POST /tsa.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != QueryType {
		http.Error(w, "content type must be "+QueryType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	if len(body) > maxRequest {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	resp, err := s.Respond(r.Context(), body)
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "time-stamp failed", "err", err)
		resp, err = timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.SystemFailure)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", ReplyType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

// SerialRecorded reports whether a serial (hex) was issued by this TSA.
func (s *Server) SerialRecorded(ctx context.Context, serial *big.Int) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM tsa_tokens WHERE serial = $1`, serial.Text(16)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

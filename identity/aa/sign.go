package aa

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"
)

// SignRSA produces an ISO/IEC 9796-2 scheme 1 signature over nonce the way
// a chip does (partial message recovery, M1 random). It exists for test
// cards; h = SHA-1 uses the 0xBC trailer, others 0x??CC.
func SignRSA(rand io.Reader, key *rsa.PrivateKey, h crypto.Hash, nonce []byte) ([]byte, error) {
	k := (key.N.BitLen() - 1 + 7) / 8
	t := 2
	if h == crypto.SHA1 {
		t = 1
	}
	hl := h.Size()
	m1len := k - 1 - hl - t
	if m1len < 8 {
		return nil, errors.New("aa: modulus too small")
	}
	f := make([]byte, k)
	f[0] = 0x6A
	m1 := f[1 : 1+m1len]
	if _, err := io.ReadFull(rand, m1); err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(m1)
	d.Write(nonce)
	copy(f[1+m1len:], d.Sum(nil))
	if t == 1 {
		f[k-1] = 0xBC
	} else {
		f[k-2], f[k-1] = TrailerID(h), 0xCC
	}
	m := new(big.Int).SetBytes(f)
	s := new(big.Int).Exp(m, key.D, key.N)
	// ISO/IEC 9796-2: send min(s, n-s).
	if alt := new(big.Int).Sub(key.N, s); alt.Cmp(s) < 0 {
		s = alt
	}
	return s.FillBytes(make([]byte, (key.N.BitLen()+7)/8)), nil
}

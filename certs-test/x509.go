package certstest

import (
	"crypto/rsa"
	"crypto/x509"
)

func x509MarshalPKCS1(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }

func x509ParsePKCS1(der []byte) (*rsa.PrivateKey, error) { return x509.ParsePKCS1PrivateKey(der) }

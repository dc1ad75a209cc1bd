package ca

// SetBeforeOCSPStore installs a hook run between signing a pre-signed OCSP
// response and storing it, to reproduce races between replicas.
func SetBeforeOCSPStore(c *CA, f func(der []byte)) { c.beforeOCSPStore = f }

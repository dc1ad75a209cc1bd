// Package hsmtest gives tests a fresh SoftHSM2 token and an open *hsm.HSM
// on it.
//
// SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize, and does not see
// tokens that another process creates afterwards. So each test process gets
// its own token directory and configuration file, under os.TempDir() and
// named after the process id, and every test gets a new token in it,
// initialised through PKCS#11 from within the process (C_InitToken on the
// free slot, then C_InitPIN), which also keeps the PINs off command lines.
// Directories left by test processes that have exited are removed.
package hsmtest

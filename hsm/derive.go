package hsm

/*
#include <stdlib.h>
#include <string.h>

// The layout of CK_KEY_DERIVATION_STRING_DATA (PKCS#11 v2.40 section
// 2.43.2), with CK_ULONG as unsigned long as on every Unix platform.
typedef struct {
	unsigned char *pData;
	unsigned long ulLen;
} kyso_string_data;

static kyso_string_data *kyso_new_string_data(void *data, unsigned long len) {
	kyso_string_data *p = malloc(sizeof(kyso_string_data));
	if (p == NULL) {
		return NULL;
	}
	p->pData = data;
	p->ulLen = len;
	return p;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// stringDataParam returns the mechanism parameter CK_KEY_DERIVATION_STRING_DATA
// for data, as the bytes of the C structure. The structure points at a copy
// of data in C memory, which stays valid until free is called; free zeroes
// the copy before releasing it. miekg/pkcs11 has no constructor for this
// parameter (used by CKM_AES_ECB_ENCRYPT_DATA), so it is built here.
func stringDataParam(data []byte) (param []byte, free func(), err error) {
	if len(data) == 0 {
		return nil, nil, errors.New("hsm: empty derivation data")
	}
	buf := C.CBytes(data)
	if buf == nil {
		return nil, nil, errors.New("hsm: out of memory")
	}
	s := C.kyso_new_string_data(buf, C.ulong(len(data)))
	if s == nil {
		C.free(buf)
		return nil, nil, errors.New("hsm: out of memory")
	}
	param = C.GoBytes(unsafe.Pointer(s), C.int(C.sizeof_kyso_string_data))
	free = func() {
		C.memset(buf, 0, C.size_t(len(data)))
		C.free(buf)
		C.free(unsafe.Pointer(s))
	}
	return param, free, nil
}

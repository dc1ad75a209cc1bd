// Package tsa is Kyso's RFC 3161 time-stamp authority and its client.
//
// Server answers application/timestamp-query requests with
// application/timestamp-reply responses signed by the TSA key (an HSM key in
// production, any crypto.Signer here), under one policy OID, with a
// configured accuracy, echoing the requester's nonce. Every token's serial
// number is recorded in the store (table tsa_tokens) before the reply is
// returned, which also guarantees serials are unique. Server.Stamp gives
// other packages an in-process time-stamp without HTTP.
//
// Client sends requests to an external TSA over HTTP and checks the reply
// (status, message imprint, nonce) before handing out the token.
//
// Tokens (TSTInfo in CMS SignedData, SHA-256, signing-certificate-v2 per
// RFC 5816) are encoded and signed with kyso/cms, the one CMS
// implementation; requests, rejections and the client's replies use
// github.com/digitorus/timestamp.
package tsa

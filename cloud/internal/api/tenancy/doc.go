// Package tenancy manages tenants, their API keys and their webhook signing
// secrets: creation, key rotation with a grace period, revocation, secret
// rotation, and authentication of a presented key. The admin API and the
// offline `livegate-cloud tenant` commands are both thin callers of Service.
//
// Keys (iksk_live_… / iksk_test_…) and webhook secrets (whsec_…) carry 256
// random bits and are returned once. Keys are stored as SHA-256 hashes and
// looked up by hash; webhook secrets are sealed with the master key because
// the delivery worker must read them back to sign.
package tenancy

// Package storetest is the one conformance suite every store.Store
// implementation passes. An implementation's test calls
//
//	storetest.Run(t, func(t *testing.T) store.Store { … a fresh, empty store … })
//
// and gets a subtest per method and rule of the store contract: sentinel
// errors (wrapped, tested with errors.Is), idempotency keys per tenant,
// update functions whose error writes nothing, version bumps, expiry
// ordering, delivery leases that two concurrent claimers never share and
// that expire, delivery filters, API key lookup by hash, and many
// goroutines writing at once. The open function is called once per subtest;
// the store it returns is closed by the suite (Close must be idempotent).
package storetest

package api

import (
	"encoding/base64"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
)

// RedactRequest is the (optional) body of the redact routes.
type RedactRequest struct {
	Scope  string `json:"scope,omitempty" doc:"all (default): the biometric data and every personal field; biometrics: the photo, audit frames, recording and embeddings only." enum:"all,biometrics"`
	Reason string `json:"reason,omitempty" doc:"Why, recorded in the signed receipt: at most 200 printable ASCII characters, e.g. a ticket number. Default: request."`
}

// DeletionReceiptList is the body of GET /v1/deletion-receipts.
type DeletionReceiptList struct {
	Receipts  []*core.DeletionReceipt `json:"receipts" doc:"Your tenant's deletion trail in order (seq ascending), each entry chained to the one before by prev_hash."`
	NextAfter *int64                  `json:"next_after" doc:"Pass as ?after= for the next page; null at the end of the trail."`
}

// DeletionKeys is the body of GET /v1/deletion-keys.
type DeletionKeys struct {
	Keys []DeletionKey `json:"keys"`
}

// DeletionKey is a key that verifies deletion receipts.
type DeletionKey struct {
	KeyID     string `json:"key_id" doc:"The key_id receipts signed with it carry."`
	Algorithm string `json:"alg" enum:"Ed25519"`
	PublicKey string `json:"public_key" doc:"The 32-byte Ed25519 public key, base64url without padding."`
}

// redactBody decodes the optional body of a redact route.
func redactBody(c *fiber.Ctx, by string) (lifecycle.RedactRequest, error) {
	var req RedactRequest
	if err := decode(c, &req); err != nil {
		return lifecycle.RedactRequest{}, err
	}
	return lifecycle.RedactRequest{Scope: req.Scope, Reason: req.Reason, By: by}, nil
}

// redactedBy names who asked: the API key's id, or "legacy_key".
func redactedBy(p lifecycle.Principal) string {
	if p.Kind == lifecycle.PrincipalTenant {
		return p.KeyID
	}
	return "legacy_key"
}

func (s *Server) sendReceipt(c *fiber.Ctx, id string, req lifecycle.RedactRequest) error {
	_, rec, err := s.cfg.Sessions.Redact(c.UserContext(), id, req)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(rec)
}

// redactSession: POST /api/v1/session/{id}/redact.
func (s *Server) redactSession(c *fiber.Ctx) error {
	sess, p, err := s.ownedSession(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	req, err := redactBody(c, redactedBy(p))
	if err != nil {
		return err
	}
	return s.sendReceipt(c, sess.ID, req)
}

// redactVerification: POST /v1/sessions/{id}/redact.
func (s *Server) redactVerification(c *fiber.Ctx) error {
	sess, err := s.verificationSession(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	p, _ := s.principal(c)
	req, err := redactBody(c, redactedBy(p))
	if err != nil {
		return err
	}
	return s.sendReceipt(c, sess.ID, req)
}

// redactEphemeral: POST /api/sessions/{id}/redact, with the device's token.
func (s *Server) redactEphemeral(c *fiber.Ctx) error {
	sess, err := s.deviceSession(c.UserContext(), rawAuthorization(c), sessionParam(c))
	if err != nil {
		return err
	}
	req, err := redactBody(c, sess.EphemeralDevice)
	if err != nil {
		return err
	}
	return s.sendReceipt(c, sess.ID, req)
}

// receiptPrincipal authenticates a key that may read its tenant's
// receipts (the legacy key reads those of its sessions).
func (s *Server) receiptPrincipal(c *fiber.Ctx) (lifecycle.Principal, error) {
	p, err := s.principal(c)
	if err != nil {
		return p, err
	}
	return p, needScope(p, core.ScopeSessionsRead)
}

// getReceipt: GET /v1/deletion-receipts/{id}.
func (s *Server) getReceipt(c *fiber.Ctx) error {
	p, err := s.receiptPrincipal(c)
	if err != nil {
		return err
	}
	rec, err := s.cfg.Sessions.Receipt(c.UserContext(), p.TenantID, c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(rec)
}

// listReceipts: GET /v1/deletion-receipts.
func (s *Server) listReceipts(c *fiber.Ctx) error {
	p, err := s.receiptPrincipal(c)
	if err != nil {
		return err
	}
	after, limit := int64(0), 100
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return apierr.New(apierr.InvalidQuery, "query parameter \"after\" must be a sequence number ≥ 0, got %q", v)
		}
		after = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return apierr.New(apierr.InvalidQuery, "query parameter \"limit\" must be 1–1000, got %q", v)
		}
		limit = n
	}
	rs, err := s.cfg.Sessions.Receipts(c.UserContext(), p.TenantID, after, limit)
	if err != nil {
		return err
	}
	out := DeletionReceiptList{Receipts: rs}
	if out.Receipts == nil {
		out.Receipts = []*core.DeletionReceipt{}
	}
	if len(rs) == limit {
		next := rs[len(rs)-1].Seq
		out.NextAfter = &next
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// deletionKeys: GET /v1/deletion-keys.
func (s *Server) deletionKeys(c *fiber.Ctx) error {
	id, pub := s.cfg.Sessions.ReceiptKey()
	return c.JSON(DeletionKeys{Keys: []DeletionKey{{KeyID: id, Algorithm: "Ed25519", PublicKey: base64.RawURLEncoding.EncodeToString(pub)}}})
}

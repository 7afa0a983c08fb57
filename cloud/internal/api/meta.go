package api

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/openapi"
)

func (s *Server) healthz(c *fiber.Ctx) error { return c.JSON(Health{Status: "ok"}) }

func (s *Server) readyz(c *fiber.Ctx) error {
	if err := s.cfg.Store.Ping(c.UserContext()); err != nil {
		return apierr.Wrap(apierr.StoreUnavailable, err, "store not ready")
	}
	return c.JSON(Health{Status: "ok"})
}

func (s *Server) openapiJSON(c *fiber.Ctx) error {
	b, err := s.OpenAPI()
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "OpenAPI document unavailable")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}

// docsPage sets the headers of a documentation page and returns the nonce
// its inline style and script carry. The Content-Security-Policy allows
// nothing else: no external asset, no other script, and requests (the
// try-it panels' fetch) to this origin only.
func docsPage(c *fiber.Ctx) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawStdEncoding.EncodeToString(b[:])
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; "+
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	return nonce
}

func (s *Server) docsAPI(c *fiber.Ctx) error {
	if _, err := s.OpenAPI(); err != nil {
		return apierr.Wrap(apierr.Internal, err, "OpenAPI document unavailable")
	}
	nonce := docsPage(c)
	b, err := openapi.RenderAPI(s.spec, nonce)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "rendering the API page failed")
	}
	return c.Send(b)
}

func (s *Server) docsErrors(c *fiber.Ctx) error {
	b, err := openapi.RenderErrorCodes("livegate-cloud API", docsPage(c))
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "rendering the error codes failed")
	}
	return c.Send(b)
}

func (s *Server) docsRateLimits(c *fiber.Ctx) error {
	b, err := openapi.RenderRateLimits(s.rateLimits(), docsPage(c))
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "rendering the rate limits failed")
	}
	return c.Send(b)
}

// rateLimits are the limits the server applies, route by route: the
// request rate limit as its limiter counts it (by rateScope, the function
// the middleware asks), and each route's own limits.
func (s *Server) rateLimits() openapi.RateLimits {
	rl := openapi.RateLimits{Title: "livegate-cloud API", Limit: s.cfg.RateLimit, Window: s.limiter.Window()}
	for _, op := range s.Operations() {
		rl.Routes = append(rl.Routes, openapi.RouteLimit{Operation: op, Per: rateScope(op.Method, op.Path)})
	}
	return rl
}

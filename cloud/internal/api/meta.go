package api

import (
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

func (s *Server) docsAPI(c *fiber.Ctx) error {
	if _, err := s.OpenAPI(); err != nil {
		return apierr.Wrap(apierr.Internal, err, "OpenAPI document unavailable")
	}
	b, err := openapi.RenderAPI(s.spec)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "rendering the API page failed")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(b)
}

func (s *Server) docsErrors(c *fiber.Ctx) error {
	b, err := openapi.RenderErrorCodes("livegate-cloud API")
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "rendering the error codes failed")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(b)
}

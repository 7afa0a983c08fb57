package api

import "github.com/gofiber/fiber/v2"

// hsts sets Strict-Transport-Security to value on responses to requests
// that came over TLS. The connection decides, not X-Forwarded-Proto: behind
// a TLS-terminating proxy, the proxy sends the header.
func hsts(value string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Context().IsTLS() {
			c.Set(fiber.HeaderStrictTransportSecurity, value)
		}
		return c.Next()
	}
}

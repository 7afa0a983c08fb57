package web

import (
	"github.com/gofiber/fiber/v2"
)

// The start page (GET /start): it creates a direct session and opens its
// capture page, solving the server's proof-of-work challenge in a Web
// Worker first when the server runs with --captcha pow.
var (
	startHTML, _   = assets.ReadFile("assets/start.html")
	startJS, _     = assets.ReadFile("assets/start.js")
	powWorkerJS, _ = assets.ReadFile("assets/pow-worker.js")
)

// startCSP allows only this origin's scripts, workers and fetches.
const startCSP = "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"

// StartPage serves GET /start.
func StartPage(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", startCSP)
	c.Set("Referrer-Policy", "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(startHTML)
}

// StartScript serves GET /start/start.js.
func StartScript(c *fiber.Ctx) error { return sendJS(c, startJS) }

// PowWorker serves GET /start/pow-worker.js, the proof-of-work solver.
func PowWorker(c *fiber.Ctx) error { return sendJS(c, powWorkerJS) }

func sendJS(c *fiber.Ctx, b []byte) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(b)
}

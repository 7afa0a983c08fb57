package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/captcha"
)

// The abuse-protection codes of the direct-session route (docs/api.md,
// "Abuse protection").
var (
	CodeCaptchaRequired = apierr.Register("captcha.required", http.StatusForbidden,
		"This server protects POST /api/v1/session (--captcha): send a solution in the X-Captcha header. With --captcha pow, get a challenge from GET /api/v1/captcha/challenge and solve it (the hosted start page /start does so in the background); nothing was created.")
	CodeCaptchaInvalid = apierr.Register("captcha.invalid", http.StatusForbidden,
		"The X-Captcha solution is malformed, its signature or number is wrong, or hCaptcha/Turnstile refused the token: get a new challenge and solve it again; nothing was created.")
	CodeCaptchaExpired = apierr.Register("captcha.expired", http.StatusForbidden,
		"The proof-of-work challenge is past its expiry (5 minutes after it was issued): get a new one; nothing was created.")
	CodeCaptchaReplayed = apierr.Register("captcha.replayed", http.StatusConflict,
		"This solution was already used: each solves one session creation. Get a new challenge; nothing was created.")
	CodeCaptchaUnavailable = apierr.Register("captcha.unavailable", http.StatusServiceUnavailable,
		"The hCaptcha or Turnstile verification service could not be asked (--captcha hcaptcha|turnstile); retry later; nothing was created.")
	CodeCaptchaDisabled = apierr.Register("captcha.not_enabled", http.StatusNotFound,
		"This server issues no proof-of-work challenges (it runs without --captcha pow): create direct sessions without X-Captcha.")
)

// challenger is what the challenge route needs of the configured verifier
// (*captcha.PoW).
type challenger interface {
	NewChallenge(addr string) (captcha.Challenge, error)
}

// captchaChallenge: GET /api/v1/captcha/challenge (no key).
func (s *Server) captchaChallenge(c *fiber.Ctx) error {
	ch, ok := s.cfg.Captcha.(challenger)
	if !ok {
		return apierr.New(CodeCaptchaDisabled, "this server issues no proof-of-work challenges")
	}
	out, err := ch.NewChallenge(c.IP())
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "internal error")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// checkCaptcha verifies the X-Captcha header when a verifier is configured.
func (s *Server) checkCaptcha(c *fiber.Ctx) error {
	if s.cfg.Captcha == nil {
		return nil
	}
	err := s.cfg.Captcha.Verify(c.UserContext(), c.Get(captcha.Header), c.IP())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, captcha.ErrRequired):
		return apierr.New(CodeCaptchaRequired, "send a %s solution in the %s header (GET /api/v1/captcha/challenge for proof of work)", s.cfg.Captcha.Kind(), captcha.Header)
	case errors.Is(err, captcha.ErrExpired):
		return apierr.Wrap(CodeCaptchaExpired, err, "the challenge has expired; get a new one")
	case errors.Is(err, captcha.ErrReplayed):
		return apierr.Wrap(CodeCaptchaReplayed, err, "this solution was already used; get a new challenge")
	case errors.Is(err, captcha.ErrUnavailable):
		return apierr.Wrap(CodeCaptchaUnavailable, err, "the %s verification service could not be asked; retry later", s.cfg.Captcha.Kind())
	}
	return apierr.Wrap(CodeCaptchaInvalid, err, "the %s solution is not valid", s.cfg.Captcha.Kind())
}

package api

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/web"
	"livegate.dev/cloud/internal/web/i18n"
	"livegate.dev/cloud/internal/webhook"
)

// admin wraps an admin handler with the admin token check.
func (s *Server) admin(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.requireAdmin(c); err != nil {
			return err
		}
		return h(c)
	}
}

func (s *Server) createTenant(c *fiber.Ctx) error {
	var req CreateTenantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return apierr.New(apierr.MissingField, "field \"name\" is required")
	}
	if req.Mode == "" {
		return apierr.New(apierr.MissingField, "field \"mode\" is required (live or test)")
	}
	nt, err := s.cfg.Tenants.CreateScoped(c.UserContext(), req.Name, core.TenantMode(req.Mode), req.Scopes)
	if err != nil {
		return err
	}
	c.Locals(localTenantID, nt.Tenant.ID)
	return c.Status(fiber.StatusCreated).JSON(TenantCreated{
		TenantID: nt.Tenant.ID, Name: nt.Tenant.Name, Mode: nt.Tenant.Mode, CreatedAt: nt.Tenant.CreatedAt,
		KeyID: nt.KeyID, APIKey: nt.APIKey, WebhookSecret: nt.WebhookSecret, Scopes: scopesView(req.Scopes),
	})
}

// ViewTenant is a tenant as the admin API shows it (no secrets).
func ViewTenant(t *core.Tenant) TenantView {
	th := t.Settings.CaptureThrottle.Effective()
	fmAccept, fmReview := t.Settings.Verification.Facematch()
	v := TenantView{TenantID: t.ID, Name: t.Name, Mode: t.Mode, CreatedAt: t.CreatedAt, Disabled: t.Disabled, WebhookSecrets: []SecretView{},
		Settings: SettingsView{CaptureThrottle: CaptureThrottleView{UserLimit: th.UserLimit, AddressLimit: th.AddressLimit,
			WindowSeconds: int(th.Window / time.Second), CooldownSeconds: int(th.Cooldown / time.Second), TestExempt: th.TestExempt},
			Verification: VerificationView{LivenessReviewBelow: t.Settings.Verification.LivenessReviewBelow,
				FacematchAccept: fmAccept, FacematchReviewFrom: fmReview}}}
	ret := t.Settings.Retention.Effective()
	v.Settings.Retention = RetentionView{BiometricDays: int(ret.Biometrics / (24 * time.Hour)), DataDays: int(ret.Data / (24 * time.Hour))}
	for _, s := range t.WebhookSecrets {
		v.WebhookSecrets = append(v.WebhookSecrets, SecretView{CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
	}
	v.CapturePage = viewCapturePage(t.CapturePage)
	return v
}

func viewCapturePage(p core.CapturePage) CapturePageView {
	v := CapturePageView{BrandName: p.BrandName, AccentColor: p.AccentColor, PolicyURL: p.PolicyURL, Messages: p.Messages, Languages: i18n.Languages()}
	if v.AccentColor == "" {
		v.AccentColor = web.DefaultAccent
	}
	if v.Messages == nil {
		v.Messages = map[string]map[string]string{}
	}
	for lang := range p.Messages {
		if !slices.Contains(v.Languages, lang) {
			v.Languages = append(v.Languages, lang)
		}
	}
	slices.Sort(v.Languages)
	if l := p.Logo; l != nil {
		v.Logo = &LogoView{Width: l.Width, Height: l.Height, Bytes: len(l.PNG), SHA256: l.SHA256, UpdatedAt: l.UpdatedAt}
	}
	return v
}

// putCapturePage: PUT /admin/v1/tenants/{id}/capture-page replaces the
// page's brand name, accent colour and texts; the logo stays.
func (s *Server) putCapturePage(c *fiber.Ctx) error {
	id := tenantParam(c)
	var req CapturePageSettings
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := web.CheckPage(core.CapturePage{BrandName: req.BrandName, AccentColor: req.AccentColor, PolicyURL: req.PolicyURL, Messages: req.Messages})
	if err != nil {
		return err
	}
	t, err := s.cfg.Tenants.SetCapturePage(c.UserContext(), id, func(cp *core.CapturePage) {
		p.Logo = cp.Logo
		*cp = p
	})
	if err != nil {
		return err
	}
	return c.JSON(ViewTenant(t))
}

// putLogo: PUT /admin/v1/tenants/{id}/capture-page/logo: the body is the
// image, which the server re-encodes (web.ProcessLogo).
func (s *Server) putLogo(c *fiber.Ctx) error {
	id := tenantParam(c)
	if _, err := s.cfg.Tenants.Get(c.UserContext(), id); err != nil {
		return err // an unknown tenant before any decoding
	}
	if strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return apierr.New(web.CodeLogoType, "send the image itself as the body (curl --data-binary @logo.png -H 'Content-Type: image/png'), not a multipart form")
	}
	logo, err := web.ProcessLogo(c.Body())
	if err != nil {
		return err
	}
	logo.UpdatedAt = s.cfg.Clock.Now().UTC()
	t, err := s.cfg.Tenants.SetCapturePage(c.UserContext(), id, func(cp *core.CapturePage) { cp.Logo = logo })
	if err != nil {
		return err
	}
	return c.JSON(ViewTenant(t))
}

// deleteLogo: DELETE /admin/v1/tenants/{id}/capture-page/logo.
func (s *Server) deleteLogo(c *fiber.Ctx) error {
	t, err := s.cfg.Tenants.SetCapturePage(c.UserContext(), tenantParam(c), func(cp *core.CapturePage) { cp.Logo = nil })
	if err != nil {
		return err
	}
	return c.JSON(ViewTenant(t))
}

func (s *Server) listTenants(c *fiber.Ctx) error {
	ts, err := s.cfg.Tenants.List(c.UserContext())
	if err != nil {
		return err
	}
	out := TenantList{Tenants: []TenantView{}}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, ViewTenant(t))
	}
	return c.JSON(out)
}

func tenantParam(c *fiber.Ctx) string {
	id := strings.Clone(c.Params("id"))
	c.Locals(localTenantID, id)
	return id
}

func (s *Server) getTenant(c *fiber.Ctx) error {
	t, err := s.cfg.Tenants.Get(c.UserContext(), tenantParam(c))
	if err != nil {
		return err
	}
	return c.JSON(ViewTenant(t))
}

// putTenantSettings: PUT /admin/v1/tenants/{id}/settings replaces the
// tenant's settings.
func (s *Server) putTenantSettings(c *fiber.Ctx) error {
	id := tenantParam(c)
	var req TenantSettings
	if err := decode(c, &req); err != nil {
		return err
	}
	var set core.TenantSettings
	if th := req.CaptureThrottle; th != nil {
		set.CaptureThrottle = core.CaptureThrottle{UserLimit: th.UserLimit, AddressLimit: th.AddressLimit,
			WindowSeconds: th.WindowSeconds, CooldownSeconds: th.CooldownSeconds, TestExempt: th.TestExempt}
	}
	if v := req.Verification; v != nil {
		set.Verification = core.VerificationSettings{LivenessReviewBelow: v.LivenessReviewBelow,
			FacematchAccept: v.FacematchAccept, FacematchReviewFrom: v.FacematchReviewFrom}
	}
	if r := req.Retention; r != nil {
		set.Retention = core.RetentionSettings{BiometricDays: r.BiometricDays, DataDays: r.DataDays}
	}
	t, err := s.cfg.Tenants.SetSettings(c.UserContext(), id, set)
	if err != nil {
		return err
	}
	return c.JSON(ViewTenant(t))
}

func (s *Server) keyView(k *core.APIKey) KeyView { return ViewKey(k, s.cfg.Clock.Now()) }

// ViewKey is an API key as the admin API shows it (no hash), usable at now.
func ViewKey(k *core.APIKey, now time.Time) KeyView {
	return KeyView{KeyID: k.ID, Prefix: k.Prefix, Mode: k.Mode, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
		ExpiresAt: k.ExpiresAt, Usable: k.Usable(now), Scopes: scopesView(k.Scopes)}
}

// scopesView lists a key's scopes: every scope for a key made without a
// list.
func scopesView(scopes []string) []string {
	if scopes == nil {
		return append([]string{}, core.Scopes...)
	}
	return append([]string{}, scopes...)
}

func (s *Server) listKeys(c *fiber.Ctx) error {
	ks, err := s.cfg.Tenants.Keys(c.UserContext(), tenantParam(c))
	if err != nil {
		return err
	}
	out := KeyList{Keys: []KeyView{}}
	for _, k := range ks {
		out.Keys = append(out.Keys, s.keyView(k))
	}
	return c.JSON(out)
}

func grace(req RotateRequest, def time.Duration) (time.Duration, error) {
	if req.GracePeriodSeconds == nil {
		return def, nil
	}
	g := *req.GracePeriodSeconds
	if g < 0 || g > 90*24*3600 {
		return 0, apierr.New(apierr.InvalidField, "field \"grace_period_seconds\" must be between 0 and 7776000 (90 days)")
	}
	return time.Duration(g) * time.Second, nil
}

func (s *Server) rotateKey(c *fiber.Ctx) error {
	var req RotateKeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	g, err := grace(RotateRequest{GracePeriodSeconds: req.GracePeriodSeconds}, 0)
	if err != nil {
		return err
	}
	key, k, err := s.cfg.Tenants.RotateKeyScoped(c.UserContext(), tenantParam(c), g, req.Scopes)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(KeyRotated{KeyID: k.ID, APIKey: key, Prefix: k.Prefix, Mode: k.Mode,
		CreatedAt: k.CreatedAt, PreviousKeysExpireAt: k.CreatedAt.Add(g), Scopes: scopesView(k.Scopes)})
}

func (s *Server) revokeKey(c *fiber.Ctx) error {
	k, err := s.cfg.Tenants.RevokeKey(c.UserContext(), tenantParam(c), strings.Clone(c.Params("key_id")))
	if err != nil {
		return err
	}
	return c.JSON(s.keyView(k))
}

func (s *Server) rotateSecret(c *fiber.Ctx) error {
	var req RotateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	g, err := grace(req, 24*time.Hour)
	if err != nil {
		return err
	}
	sec, t, err := s.cfg.Tenants.RotateWebhookSecret(c.UserContext(), tenantParam(c), g)
	if err != nil {
		return err
	}
	created := t.WebhookSecrets[0].CreatedAt
	return c.Status(fiber.StatusCreated).JSON(SecretRotated{WebhookSecret: sec, CreatedAt: created, PreviousExpiresAt: created.Add(g)})
}

func deliveryView(d *core.Delivery) DeliveryView {
	host := ""
	if u, err := url.Parse(d.URL); err == nil {
		host = u.Host
	}
	return DeliveryView{DeliveryID: d.ID, Type: d.Type, SessionID: d.SessionID, TenantID: d.TenantID, Host: host,
		State: d.State, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt,
		DeliveredAt: d.DeliveredAt, LastStatus: d.LastStatus, LastError: d.LastError, Body: d.Body}
}

func (s *Server) listDeliveries(c *fiber.Ctx) error {
	f := store.DeliveryFilter{
		State:     core.DeliveryState(c.Query("state")),
		TenantID:  strings.Clone(c.Query("tenant_id")),
		SessionID: strings.Clone(c.Query("session_id")),
	}
	switch f.State {
	case "", core.DeliveryPending, core.DeliveryDelivered, core.DeliveryDead:
	default:
		return apierr.New(apierr.InvalidQuery, "query parameter \"state\" must be pending, delivered or dead, got %q", f.State)
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return apierr.New(apierr.InvalidQuery, "query parameter \"limit\" must be an integer from 1 to 1000, got %q", l)
		}
		f.Limit = n
	}
	ds, err := s.cfg.Store.ListDeliveries(c.UserContext(), f)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "listing deliveries failed")
	}
	out := DeliveryList{Deliveries: []DeliveryView{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryView(d))
	}
	return c.JSON(out)
}

func (s *Server) getDelivery(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	d, err := s.cfg.Store.GetDelivery(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(apierr.DeliveryNotFound, "delivery %s not found", id)
	}
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "reading delivery failed")
	}
	return c.JSON(deliveryView(d))
}

func (s *Server) replayDelivery(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	d, err := s.cfg.Replay(c.UserContext(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.New(apierr.DeliveryNotFound, "delivery %s not found", id)
	case errors.Is(err, webhook.ErrNotReplayable):
		return apierr.New(apierr.DeliveryPending, "delivery %s is still pending: the worker will deliver it", id)
	case err != nil:
		return apierr.Wrap(apierr.Internal, err, "replaying delivery failed")
	}
	if s.cfg.Notifier != nil {
		s.cfg.Notifier.Notify()
	}
	return c.Status(fiber.StatusAccepted).JSON(deliveryView(d))
}

package fleetapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/jsonbody"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/fleet"
	"livegate.dev/cloud/internal/fleet/provision"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/proto"
)

// Options configures the hook.
type Options struct {
	// DataDir holds the device CA. Required.
	DataDir string
	// MQTTAddr is the embedded broker's listen address. Optional. Default: ":8883".
	MQTTAddr string
	// MQTTURL selects an external broker instead. Optional.
	MQTTURL string
	// PublicBrokerURL is told to devices. Optional (see fleet.Config).
	PublicBrokerURL string
	// AdminToken authenticates the admin routes (LIVEGATE_ADMIN_TOKEN). Optional: without it they answer auth.admin_disabled.
	AdminToken string
	// Link, when set, is joined to the fleet once it is built: parts of
	// other hooks (the OTA rollouts) send commands through it and receive
	// the devices' command responses and telemetry. Optional.
	Link *fleet.Link
	// URLs vets device webhook URLs. Optional. Default: the daemon's
	// policy (daemon.Parts.URLs), so --dev lets loopback http:// webhook
	// URLs through for devices as it does for API-created sessions.
	URLs interface {
		CheckURL(ctx context.Context, raw string) error
	}
}

// CreateEnrollmentRequest is the body of POST /admin/v1/devices/enrollments.
type CreateEnrollmentRequest struct {
	TenantID   string `json:"tenant_id" doc:"The tenant the device belongs to (ten_…)."`
	DeviceID   string `json:"device_id" doc:"The device id: 1–64 of [A-Za-z0-9_-]; its MQTT client id and topic level."`
	Name       string `json:"name,omitempty" doc:"A label for the device."`
	WebhookURL string `json:"webhook_url,omitempty" doc:"https URL receiving session.completed for the sessions the device decides on its own." format:"uri"`
}

// EnrollmentCreated is the one-time token, shown once.
type EnrollmentCreated struct {
	Token     string    `json:"token" doc:"The one-time enrollment token (stored hashed; shown once)."`
	DeviceID  string    `json:"device_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Device is a device as the admin API shows it.
type Device struct {
	ID              string     `json:"id"`
	TenantID        string     `json:"tenant_id"`
	Name            string     `json:"name,omitempty"`
	Status          string     `json:"status" doc:"online, offline, stopped, or unknown before the first status message."`
	LastSeen        *time.Time `json:"last_seen,omitempty"`
	FirmwareVersion string     `json:"firmware_version,omitempty"`
	ModelsVersion   string     `json:"models_version,omitempty"`
	OutboxDepth     int        `json:"outbox_depth" doc:"Results waiting on the device for the cloud's ack."`
	ClockSkewMillis int64      `json:"clock_skew_ms" doc:"Device minus cloud clock."`
	Credential      string     `json:"credential" doc:"certificate or password."`
	EnrolledAt      *time.Time `json:"enrolled_at,omitempty"`
	RevokedAt       *time.Time `json:"revoked_at,omitempty"`
}

// DeviceList is GET /admin/v1/devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// AssignRequest is the body of POST /admin/v1/devices/{id}/assign.
type AssignRequest struct {
	SessionID string `json:"session_id" doc:"A pending session of the device's tenant."`
}

// AssignResult names the command sent.
type AssignResult struct {
	CommandID string `json:"command_id"`
	SessionID string `json:"session_id"`
	DeviceID  string `json:"device_id"`
}

// Error codes of the fleet routes (in the one registry, docs/error-codes.md).
var (
	CodeDeviceNotFound = apierr.Register("device.not_found", http.StatusNotFound, "No device with this id.")
	CodeDeviceExists   = apierr.Register("device.exists", http.StatusConflict, "A device with this id already exists or has a pending enrollment.")
)

func view(d *store.Device) Device {
	out := Device{ID: d.ID, TenantID: d.TenantID, Name: d.Name, Status: d.Status, LastSeen: d.LastSeen,
		FirmwareVersion: d.FirmwareVersion, ModelsVersion: d.ModelsVersion, OutboxDepth: d.OutboxDepth,
		ClockSkewMillis: d.ClockSkewMillis, EnrolledAt: d.EnrolledAt, RevokedAt: d.RevokedAt, Credential: "password"}
	if out.Status == "" {
		out.Status = "unknown"
	}
	if len(d.CertFingerprint) > 0 {
		out.Credential = "certificate"
	}
	return out
}

// Hook returns the daemon.Options.Routes hook.
func Hook(o Options) func(daemon.Parts) ([]api.Route, func() error, error) {
	return func(p daemon.Parts) ([]api.Route, func() error, error) {
		if o.URLs == nil {
			o.URLs = p.URLs
		}
		m := hmac.New(sha256.New, p.MasterKey)
		m.Write([]byte("livegate device CA key v1"))
		sealer, err := secret.New(m.Sum(nil))
		if err != nil {
			return nil, nil, err
		}
		// Notifier: a device's session.completed webhook leaves as soon as
		// its result is stored, not at the webhook worker's next poll.
		fc := fleet.Config{Store: p.Store, DataDir: o.DataDir, Sealer: sealer, MQTTAddr: o.MQTTAddr,
			MQTTURL: o.MQTTURL, PublicBrokerURL: o.PublicBrokerURL, Notifier: p.Webhooks, Clock: p.Clock, Logger: p.Logger}
		if o.Link != nil {
			fc.Listener = o.Link
		}
		f, err := fleet.New(fc)
		if err != nil {
			return nil, nil, err
		}
		if o.Link != nil {
			o.Link.SetFleet(f)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); f.Run(ctx) }()
		if p.Sessions != nil {
			p.Sessions.SetAssigner(f) // device_id on POST /api/v1/managed-session
		}
		h := &handlers{o: o, f: f, st: p.Store}
		return h.routes(), func() error {
			if o.Link != nil {
				o.Link.SetFleet(nil)
			}
			cancel()
			wg.Wait()
			return nil
		}, nil
	}
}

type handlers struct {
	o  Options
	f  *fleet.Fleet
	st store.Store
}

func (h *handlers) admin(next fiber.Handler) fiber.Handler {
	sum := sha256.Sum256([]byte(h.o.AdminToken))
	return func(c *fiber.Ctx) error {
		if h.o.AdminToken == "" {
			return apierr.New(apierr.AdminDisabled, "the admin API is disabled: set LIVEGATE_ADMIN_TOKEN to enable it")
		}
		tok, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(got[:], sum[:]) != 1 {
			return apierr.New(apierr.AdminInvalid, "send Authorization: Bearer <admin token>")
		}
		return next(c)
	}
}

func decode(c *fiber.Ctx, v any) error {
	if ct := c.Get(fiber.HeaderContentType); len(c.Body()) > 0 && ct != "" && !strings.HasPrefix(strings.ToLower(ct), fiber.MIMEApplicationJSON) {
		return apierr.New(apierr.UnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
	}
	if err := jsonbody.Decode(c.Body(), v); err != nil {
		return err
	}
	return nil
}

func storeErr(what string, err error, notFound apierr.Code) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(notFound, err, "%s not found", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrClosed):
		return apierr.Wrap(apierr.StoreUnavailable, err, "%s: the store cannot serve", what)
	}
	return apierr.Wrap(apierr.Internal, err, "%s failed", what)
}

func (h *handlers) createEnrollment(c *fiber.Ctx) error {
	var req CreateEnrollmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	switch {
	case req.TenantID == "":
		return apierr.New(apierr.MissingField, "field \"tenant_id\" is required")
	case req.DeviceID == "":
		return apierr.New(apierr.MissingField, "field \"device_id\" is required")
	}
	if err := proto.ValidDeviceID(req.DeviceID); err != nil {
		return apierr.New(apierr.InvalidField, "field \"device_id\": %s", err.Error())
	}
	if _, err := h.st.GetTenant(c.UserContext(), req.TenantID); err != nil {
		return storeErr("tenant "+req.TenantID, err, apierr.TenantNotFound)
	}
	if req.WebhookURL != "" {
		if err := h.o.URLs.CheckURL(c.UserContext(), req.WebhookURL); err != nil {
			return urlErr(err)
		}
	}
	e, err := h.f.Provision.CreateEnrollment(c.UserContext(), req.TenantID, req.DeviceID, req.Name, req.WebhookURL)
	if errors.Is(err, store.ErrExists) {
		return apierr.Wrap(CodeDeviceExists, err, "field \"device_id\": device %s already exists or has a pending enrollment", req.DeviceID)
	}
	if err != nil {
		return storeErr("enrollment", err, apierr.TenantNotFound)
	}
	return c.Status(fiber.StatusCreated).JSON(EnrollmentCreated{Token: e.Token, DeviceID: e.DeviceID, ExpiresAt: e.ExpiresAt})
}

func urlErr(err error) error {
	code := apierr.URLInvalid
	var ne *netguard.Error
	if errors.As(err, &ne) {
		switch ne.Code {
		case netguard.CodeSchemeNotAllowed:
			code = apierr.URLSchemeNotAllowed
		case netguard.CodeHostNotAllowed:
			code = apierr.URLHostNotAllowed
		case netguard.CodeHostUnresolvable:
			code = apierr.URLHostUnresolvable
		}
		return apierr.Wrap(code, err, "webhook_url refused: %s", ne.Message)
	}
	return apierr.Wrap(code, err, "webhook_url refused")
}

func (h *handlers) enroll(c *fiber.Ctx) error {
	var req proto.EnrollRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return apierr.New(apierr.MissingField, "field \"token\" is required")
	}
	res, err := h.f.Provision.Enroll(c.UserContext(), &req)
	if errors.Is(err, provision.ErrBadToken) {
		return apierr.Wrap(apierr.AuthInvalid, err, "the enrollment token is unknown, used or expired")
	}
	if err != nil {
		if _, isStore := apierr.As(err); !isStore && !errors.Is(err, store.ErrExists) && strings.Contains(err.Error(), "csr") {
			return apierr.Wrap(apierr.InvalidField, err, "field \"csr\": %s", err.Error())
		}
		return storeErr("enrollment", err, apierr.AuthInvalid)
	}
	return c.JSON(res)
}

func (h *handlers) list(c *fiber.Ctx) error {
	ds, err := h.st.ListDevices(c.UserContext(), c.Query("tenant_id"))
	if err != nil {
		return storeErr("devices", err, apierr.TenantNotFound)
	}
	out := DeviceList{Devices: make([]Device, 0, len(ds))}
	for _, d := range ds {
		out.Devices = append(out.Devices, view(d))
	}
	return c.JSON(out)
}

func (h *handlers) revoke(c *fiber.Ctx) error {
	d, err := h.f.Provision.Revoke(c.UserContext(), c.Params("id"))
	if err != nil {
		return storeErr("device "+c.Params("id"), err, CodeDeviceNotFound)
	}
	return c.JSON(view(d))
}

func (h *handlers) assign(c *fiber.Ctx) error {
	var req AssignRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.SessionID == "" {
		return apierr.New(apierr.MissingField, "field \"session_id\" is required")
	}
	ctx := c.UserContext()
	dev := c.Params("id")
	d, err := h.st.GetDevice(ctx, dev)
	if err != nil {
		return storeErr("device "+dev, err, CodeDeviceNotFound)
	}
	var sess *core.Session
	_, err = h.st.UpdateSession(ctx, req.SessionID, func(s *core.Session) ([]*core.Delivery, error) {
		if s.TenantID != d.TenantID {
			return nil, apierr.New(apierr.SessionNotFound, "no session %s for the device's tenant", req.SessionID)
		}
		if s.Status.Terminal() {
			return nil, apierr.New(apierr.SessionTerminal, "session %s is %s", req.SessionID, s.Status)
		}
		s.DeviceID = d.ID
		sess = s
		return nil, nil
	})
	if err != nil {
		if _, ok := apierr.As(err); ok {
			return err
		}
		return storeErr("session "+req.SessionID, err, apierr.SessionNotFound)
	}
	id, err := h.f.AssignSession(ctx, sess)
	if err != nil {
		return apierr.Wrap(apierr.StoreUnavailable, err, "the assign command could not be sent")
	}
	return c.JSON(AssignResult{CommandID: id, SessionID: sess.ID, DeviceID: d.ID})
}

const tag = "Devices"

func (h *handlers) routes() []api.Route {
	admin := []string{openapi.SecAdmin}
	adminErrs := func(extra ...apierr.Code) []apierr.Code {
		return append([]apierr.Code{apierr.AdminDisabled, apierr.AdminInvalid}, extra...)
	}
	pathID := openapi.Param{Name: "id", In: "path", Description: "Device id."}
	return []api.Route{
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/devices/enrollments", ID: "createDeviceEnrollment", Tag: tag,
			Summary:     "Create a one-time enrollment token for a device",
			Description: "The token is shown once, stored hashed and expires after 24 h. The device exchanges it once at POST /api/v1/devices/enroll.",
			Security:    admin, Body: CreateEnrollmentRequest{}, Example: `{"tenant_id": "ten_…", "device_id": "lobby-1", "name": "Lobby turnstile"}`,
			Responses: []openapi.Response{{Status: 201, Description: "Created; the token is shown once.", Body: EnrollmentCreated{}}},
			Errors: adminErrs(apierr.MissingField, apierr.InvalidField, CodeDeviceExists, apierr.TenantNotFound, apierr.URLInvalid,
				apierr.URLSchemeNotAllowed, apierr.URLHostNotAllowed, apierr.URLHostUnresolvable)}, Handler: h.admin(h.createEnrollment)},
		{Operation: openapi.Operation{Method: "POST", Path: "/api/v1/devices/enroll", ID: "enrollDevice", Tag: tag,
			Summary: "Exchange an enrollment token for device credentials",
			Description: "Once per token. With a csr (PEM, ECDSA P-256) the device gets a client certificate from the device CA for mutual TLS " +
				"(preferred); without, a generated password (shown once, stored hashed). Also returns the CA certificate and the broker URL.",
			Body: proto.EnrollRequest{}, Example: `{"token": "the one-time enrollment token"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The credentials.", Body: proto.EnrollResponse{}}},
			Errors:    []apierr.Code{apierr.MissingField, apierr.InvalidField, apierr.AuthInvalid}}, Handler: h.enroll},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/devices", ID: "listDevices", Tag: tag,
			Summary:   "List devices with status, last seen, versions and outbox depth",
			Security:  admin,
			Params:    []openapi.Param{{Name: "tenant_id", In: "query", Description: "Only this tenant's devices."}},
			Responses: []openapi.Response{{Status: 200, Description: "Devices by id.", Body: DeviceList{}}},
			Errors:    adminErrs()}, Handler: h.admin(h.list)},
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/devices/{id}/revoke", ID: "revokeDevice", Tag: tag,
			Summary:     "Revoke a device's credentials",
			Description: "The embedded broker drops its connection at once and refuses it afterwards; its results are refused.",
			Security:    admin, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The revoked device.", Body: Device{}}},
			Errors:    adminErrs(CodeDeviceNotFound)}, Handler: h.admin(h.revoke)},
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/devices/{id}/assign", ID: "assignDeviceSession", Tag: tag,
			Summary: "Send a pending session to a kiosk (flow 3)",
			Description: "Sets the session's device_id and sends the assign_session command (QoS 1, queued while the kiosk is offline, " +
				"expiring with the session). The kiosk's result completes the session and fires session.completed.",
			Security: admin, Params: []openapi.Param{pathID}, Body: AssignRequest{}, Example: `{"session_id": "ses_…"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The command sent.", Body: AssignResult{}}},
			Errors:    adminErrs(apierr.MissingField, CodeDeviceNotFound, apierr.SessionNotFound, apierr.SessionTerminal)}, Handler: h.admin(h.assign)},
	}
}

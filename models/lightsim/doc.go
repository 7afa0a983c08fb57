// Package lightsim simulates the light a capture side emits towards the
// user (the hosted page's screen on a phone or laptop, a kiosk's LEDs)
// reflected by the surface in front of the camera, so that recorded clips
// can be evaluated as if the analyzer's light sequence had been shown while
// they were filmed.
//
// The physics, with the assumed values documented on Params and in
// docs/liveness.md ("Light response: the reflection model"):
//
//   - The emitter is a small Lambertian source of luminance L (cd/m², at
//     full white) and area A (m²) at distance d (m) from the face, seen at
//     incidence θ. Its illuminance on the face is E = L·A·cos θ / d²
//     (the small-source approximation; for a disc of the same area it
//     overestimates by the factor 1 + A/(π d²), 7 % for a laptop screen at
//     0.5 m, 2 % for a phone at 0.35 m).
//   - The surface reflects diffusely with albedo ρ and may emit light of
//     its own (a screen replaying a face: luminance L_self). Its apparent
//     luminance is ρ·(E_ambient + E_emitted)/π + L_self, so the relative
//     change of its brightness at full white is
//     S = ρ·E / (ρ·E_ambient + π·L_self) (Params.Strength). For a surface
//     that does not emit (skin, paper) the albedo cancels: S = E/E_ambient,
//     whatever the skin tone; the albedo sets how many grey levels that
//     relative change is worth, which the recorded frame already carries.
//   - Colour: the emitted light is (R, G, B)×Intensity, each a linear
//     fraction of the display's primary at full drive. Camera channel c
//     responds to primary p with weight M[c][p] (CameraResponse: a diagonal
//     of 1 − CrossTalk, the rest spread over the neighbouring primaries;
//     each row sums to 1, so full white changes every channel by S). The
//     ambient light is taken as white-balanced (equal in every channel).
//   - The face region (an ellipse, soft edged) gets the change, spread
//     over it by the surface's relief (Params.Shade): a face is an
//     ellipsoid whose points turned away from the emitter (cheeks toward
//     the ears, the forehead's top, the jaw) receive cos θ of the light,
//     softened by ReliefContrast (skin's subsurface scattering); a print
//     held flat receives it evenly; a sheet bent round the head falls off
//     from side to side only. The mean over the region is Strength. The
//     background, BackgroundDistance away from the emitter, gets
//     (Distance/BackgroundDistance)² of the mean.
//   - Time: a frame stamped t shows the light emitted during
//     [t − latency − exposure, t − latency] (the step edge is smoothed over
//     one exposure). Auto-exposure: the camera gain moves towards the value
//     that cancels the metered brightness change (centre- and
//     face-weighted) with time constant AutoExposureMS, measured on the
//     previous frame and applied to the next.
//   - Pixels are sRGB: decoded to linear light, multiplied, re-encoded.
//
// A Schedule records the light emitted over time (its At is the LightFunc a
// Renderer reads); a Log is the JSON record a capture side keeps of the
// light it emitted in a session (plan and per-frame light), which replays a
// stored session (livegate-face liveness --light-log).
//
// Not modelled (docs/liveness.md says where this may be wrong): specular
// highlights of the emitter on skin, subsurface scattering, the camera's
// white balance adapting to the colour, rolling-shutter colour changes in
// mid-frame, sensor noise beyond the recorded clip's own.
package lightsim

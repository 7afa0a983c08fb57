package eval

import (
	"fmt"
	"math"
	"strings"

	"livegate.dev/models/corpus"
	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
)

// Condition is how the samples of a corpus are presented to the analyzer.
type Condition string

// Conditions.
const (
	// ConditionLabelled runs every sample as its label says: its mode,
	// its challenges and its light ("follow" samples lit by lightsim, see
	// Options.Reflection). The default; its results carry no condition.
	ConditionLabelled Condition = ""
	// ConditionPassive runs the passive samples recorded without light
	// (label mode passive, no light field) as recorded, the capture side
	// controlling no light.
	ConditionPassive Condition = "passive"
	// ConditionPassiveLight runs the passive samples with the analyzer's
	// light sequence emitted: bona fide faces lit by lightsim (skin), each
	// attack lit as its instrument reflects (SurfaceFor). Samples labelled
	// with a light field keep their meaning: "follow" lit as a face,
	// "recorded" and "none" as generated.
	ConditionPassiveLight Condition = "passive-light"
	// ConditionActive runs the samples labelled active, as labelled.
	ConditionActive Condition = "active"
)

// Name is the condition's name in reports ("labelled" for
// ConditionLabelled).
func (c Condition) Name() string {
	if c == ConditionLabelled {
		return "labelled"
	}
	return string(c)
}

// ParseConditions parses a comma-separated list of condition names
// (labelled, passive, passive-light, active); an empty string is no
// condition.
func ParseConditions(s string) ([]Condition, error) {
	var out []Condition
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		var c Condition
		switch f {
		case "":
			continue
		case "labelled", "labeled":
			c = ConditionLabelled
		case string(ConditionPassive), string(ConditionPassiveLight), string(ConditionActive):
			c = Condition(f)
		default:
			return nil, fmt.Errorf("eval: condition %q: want labelled, passive, passive-light or active", f)
		}
		for _, o := range out {
			if o == c {
				return nil, fmt.Errorf("eval: condition %q given twice", f)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// SurfaceFor is the surface an attack species puts in front of the camera
// under ConditionPassiveLight: a print, a print on a stand, a cut-out and
// an eyehole mask are paper (a print in front of a screen reflects its
// light as skin does; the mask is lit as paper throughout, the wearer's
// eyes seen through its holes too, a simplification); a screen replay is screen glass (its own emission dominates);
// injected streams reflect nothing. A species this list does not know
// reflects nothing either (ok false), which favours the analyzer: add it.
func SurfaceFor(species string) (s lightsim.Surface, ok bool) {
	switch species {
	case corpus.SpeciesPrint, corpus.SpeciesPrintStand, corpus.SpeciesCutout, corpus.SpeciesEyeholeMask:
		return lightsim.Paper, true
	case corpus.SpeciesScreenReplay, corpus.SpeciesScreenFullFrame:
		return lightsim.Screen, true
	case corpus.SpeciesInjectionStill, corpus.SpeciesInjectionLoop, corpus.SpeciesInjectionLoopNoisy:
		return lightsim.None, true
	}
	if strings.HasPrefix(species, "injection_") {
		return lightsim.None, true
	}
	return lightsim.None, false
}

// lighting says how one sample's frames are lit.
type lighting struct {
	// light: the capture side emits the analyzer's sequence and reports it.
	light bool
	// sim lights the frames with lightsim (nil: frames as recorded).
	sim  *lightsim.Params
	face lightsim.Ellipse
	// tint lights them with corpus.Tint and the label's fields (legacy).
	tint bool
}

// presentation is one sample in one condition.
type presentation struct {
	cond Condition
	cfg  liveness.Config
	lit  lighting
}

// reflection is the reflection model the options ask for.
func (o *Options) reflection() lightsim.Params {
	if o.Reflection != nil {
		return *o.Reflection
	}
	return lightsim.DefaultParams()
}

// skin is the reflection model of a live face: Options.Reflection when its
// surface is skin (its albedo kept), else its emitter, room and camera with
// skin's defaults.
func (o *Options) skin() lightsim.Params {
	if o.Reflection != nil && o.Reflection.Surface == lightsim.Skin {
		return *o.Reflection
	}
	return o.reflection().WithSurface(lightsim.Skin)
}

// present decides whether label l is part of condition c and how it is
// shown; ok false leaves it out of c.
func present(l corpus.Label, c Condition, o *Options) (p presentation, ok bool, err error) {
	cfg, err := Config(l)
	if err != nil {
		return p, false, err
	}
	p = presentation{cond: c, cfg: cfg}
	passive := l.Mode == string(liveness.Passive)
	switch c {
	case ConditionLabelled:
		p.lit, err = labelledLighting(l, o)
		return p, true, err
	case ConditionPassive:
		if !passive || l.Light != "" {
			return p, false, nil
		}
		p.cfg.LightControlled = false
		return p, true, nil
	case ConditionActive:
		if l.Mode != string(liveness.Active) {
			return p, false, nil
		}
		p.lit, err = labelledLighting(l, o)
		return p, true, err
	case ConditionPassiveLight:
		if !passive {
			return p, false, nil
		}
		p.cfg.LightControlled = true
		p.lit.light = true
		switch {
		case l.Light == corpus.LightRecorded || l.Light == corpus.LightNone:
			// Lit (or not) at generation time.
		case l.Label == corpus.BonaFide:
			skin := dimRoom(o.skin(), l)
			p.lit.sim = &skin
		default:
			s, _ := SurfaceFor(l.Species)
			q := o.reflection().WithSurface(s)
			p.lit.sim = &q
		}
		return p, true, nil
	}
	return p, false, fmt.Errorf("eval: condition %q unknown", c)
}

// dimRoom lowers the ambient light of a dim-room bona fide sample (kind
// dim) by the exposure it was rendered at: the screen's light is then a
// larger share of what the face reflects (lightsim: S = ρE/(ρE_amb +
// πL_self)). The exposure is an upper bound on the room's share of the
// nominal ambient — a camera that raised its gain saw a darker room still —
// so the strength used is the weakest the sample is consistent with.
func dimRoom(p lightsim.Params, l corpus.Label) lightsim.Params {
	if e := l.Params["exposure"]; l.Kind == corpus.KindDim && e > 0 && e < 1 {
		p.AmbientLux *= e
	}
	return p
}

// labelledLighting is the lighting of a sample run as labelled: "follow"
// samples are lit by lightsim with Options.Reflection; without it, a label
// that carries the generator's tint strength (light_strength, on 8-bit
// sRGB values) is lit at the equivalent linear strength
// (1 + light_strength)^2.2 − 1 over an ellipse around its light_cx,
// light_cy and light_sigma, and one without is lit with the defaults. With
// Options.LegacyTint, corpus.Tint as before.
func labelledLighting(l corpus.Label, o *Options) (lighting, error) {
	var lit lighting
	if l.Light == "" {
		return lit, nil
	}
	lit.light = true
	if l.Light != corpus.LightFollow {
		return lit, nil
	}
	if o.LegacyTint && l.LightStrength > 0 {
		lit.tint = true
		return lit, nil
	}
	p := o.reflection()
	if o.Reflection == nil && l.LightStrength > 0 {
		q, err := p.WithStrength(math.Pow(1+l.LightStrength, 2.2) - 1)
		if err != nil {
			return lit, fmt.Errorf("eval: %s: light_strength %g: %w", l.Path, l.LightStrength, err)
		}
		p = q
		if l.LightSigma > 0 {
			lit.face = lightsim.Ellipse{CX: l.LightCX, CY: l.LightCY, RX: 1.5 * l.LightSigma, RY: 1.5 * l.LightSigma, Soft: 0.6}
		}
	}
	lit.sim = &p
	return lit, nil
}

package openapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"livegate.dev/cloud/internal/api/apierr"
)

//go:embed assets
var assets embed.FS

var (
	tmplAPI        = template.Must(template.ParseFS(assets, "assets/api.html.tmpl"))
	tmplErrors     = template.Must(template.ParseFS(assets, "assets/errors.html.tmpl"))
	tmplRateLimits = template.Must(template.ParseFS(assets, "assets/ratelimits.html.tmpl"))
)

func css() template.CSS { return template.CSS(asset("assets/style.css")) }

// script is the try-it panels' JavaScript, inlined into /docs/api.
func script() template.JS { return template.JS(asset("assets/tryit.js")) }

func asset(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

type viewField struct {
	Name, Type, Ref, Description string
	Required                     bool
	Enum                         []string
}

type viewSchema struct {
	Name, Description, Type string
	Fields                  []viewField
}

type viewParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type viewResponse struct {
	Status, Description, SchemaName, ContentType string
	Codes                                        []string
}

type viewOp struct {
	ID, Method, MethodLower, Path, Summary, Description string
	Security                                            []string
	Params                                              []viewParam
	Body                                                *viewSchema
	Responses                                           []viewResponse
	// Try-it panel: the bearer credential's label ("" for none), the
	// request body's example as it prefills the panel and its height.
	Credential  string
	Example     string
	ExampleRows int
}

type viewTag struct {
	Name string
	Ops  []viewOp
}

// RenderAPI renders doc (as Build made it) as the /docs/api HTML page.
// nonce is the Content-Security-Policy nonce of its style and script.
func RenderAPI(doc map[string]any, nonce string) ([]byte, error) {
	info, _ := doc["info"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	paths, _ := doc["paths"].(map[string]any)

	tags := map[string]*viewTag{}
	var tagOrder []string
	pathKeys := sortedKeys(paths)
	for _, p := range pathKeys {
		methods, _ := paths[p].(map[string]any)
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			o, ok := methods[m].(map[string]any)
			if !ok {
				continue
			}
			op := viewOp{ID: str(o["operationId"]), Method: strings.ToUpper(m), MethodLower: m, Path: p,
				Summary: str(o["summary"]), Description: str(o["description"])}
			for _, s := range o["security"].([]any) {
				for k := range s.(map[string]any) {
					op.Security = append(op.Security, k)
				}
			}
			op.Credential = credentialLabel(op.Security)
			if ps, ok := o["parameters"].([]any); ok {
				for _, pa := range ps {
					pm := pa.(map[string]any)
					op.Params = append(op.Params, viewParam{Name: str(pm["name"]), In: str(pm["in"]),
						Type: typeName(pm["schema"]), Description: str(pm["description"]), Required: pm["required"] == true})
				}
			}
			if rb, ok := o["requestBody"].(map[string]any); ok {
				mt := rb["content"].(map[string]any)["application/json"].(map[string]any)
				name := refName(mt["schema"])
				v := schemaView(name, schemas[name])
				op.Body = &v
				op.Example = "{}"
				if ex, ok := mt["example"].(json.RawMessage); ok {
					var buf bytes.Buffer
					if err := json.Indent(&buf, ex, "", "  "); err != nil {
						return nil, fmt.Errorf("openapi: %s: example: %w", op.ID, err)
					}
					op.Example = buf.String()
				}
				op.ExampleRows = min(max(strings.Count(op.Example, "\n")+2, 3), 16)
			}
			resps := o["responses"].(map[string]any)
			for _, code := range sortedKeys(resps) {
				r := resps[code].(map[string]any)
				vr := viewResponse{Status: code, Description: str(r["description"])}
				if cs, ok := r["x-error-codes"].([]string); ok {
					vr.Codes = cs
					vr.Description = http.StatusText(atoi(code))
				}
				if c, ok := r["content"].(map[string]any); ok {
					for ct, mt := range c {
						vr.ContentType = ct
						vr.SchemaName = refName(mt.(map[string]any)["schema"])
					}
				}
				op.Responses = append(op.Responses, vr)
			}
			tag := o["tags"].([]string)[0]
			if tags[tag] == nil {
				tags[tag] = &viewTag{Name: tag}
				tagOrder = append(tagOrder, tag)
			}
			tags[tag].Ops = append(tags[tag].Ops, op)
		}
	}
	sort.Strings(tagOrder)
	var vtags []viewTag
	for _, t := range tagOrder {
		vtags = append(vtags, *tags[t])
	}
	var vschemas []viewSchema
	for _, name := range sortedKeys(schemas) {
		vschemas = append(vschemas, schemaView(name, schemas[name]))
	}
	type viewHook struct{ Name, Summary, SchemaName string }
	var hooks []viewHook
	if wh, ok := doc["webhooks"].(map[string]any); ok {
		for _, name := range sortedKeys(wh) {
			post, _ := wh[name].(map[string]any)["post"].(map[string]any)
			rb, _ := post["requestBody"].(map[string]any)
			var schema any
			if rb != nil {
				schema = rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
			}
			hooks = append(hooks, viewHook{Name: name, Summary: str(post["summary"]), SchemaName: refName(schema)})
		}
	}
	var buf bytes.Buffer
	err := tmplAPI.Execute(&buf, map[string]any{
		"Webhooks": hooks,
		"Title":    str(info["title"]), "Version": str(info["version"]), "Description": str(info["description"]),
		"OpenAPI": str(doc["openapi"]), "CSS": css(), "Script": script(), "Nonce": nonce, "Tags": vtags, "Schemas": vschemas,
	})
	if err != nil {
		return nil, fmt.Errorf("openapi: rendering API page: %w", err)
	}
	return buf.Bytes(), nil
}

// credentialLabel names the bearer credential an operation's try-it panel
// asks for ("" when it takes none; a session token goes in ?token=).
func credentialLabel(security []string) string {
	has := func(s string) bool { return contains(security, s) }
	switch {
	case has(SecAdmin):
		return "Admin token"
	case has(SecAPIKey) && has(SecSessionToken):
		return "API key (or leave it empty and fill in token)"
	case has(SecAPIKey):
		return "API key"
	}
	return ""
}

// RenderErrorCodes renders the error-code reference page. nonce is the
// Content-Security-Policy nonce of its style.
func RenderErrorCodes(title, nonce string) ([]byte, error) {
	type row struct {
		apierr.Code
		StatusText string
	}
	var rows []row
	for _, c := range apierr.Codes() {
		rows = append(rows, row{c, http.StatusText(c.Status)})
	}
	var buf bytes.Buffer
	if err := tmplErrors.Execute(&buf, map[string]any{"Title": title, "CSS": css(), "Nonce": nonce, "Codes": rows}); err != nil {
		return nil, fmt.Errorf("openapi: rendering error codes: %w", err)
	}
	return buf.Bytes(), nil
}

func schemaView(name string, s any) viewSchema {
	v := viewSchema{Name: name}
	m, ok := s.(Schema)
	if !ok {
		return v
	}
	v.Description = str(m["description"])
	v.Type = typeName(m)
	props, _ := m["properties"].(map[string]any)
	order, _ := m["x-order"].([]string)
	req := map[string]bool{}
	if r, ok := m["required"].([]string); ok {
		for _, n := range r {
			req[n] = true
		}
	}
	for _, n := range order {
		p := props[n]
		f := viewField{Name: n, Type: typeName(p), Ref: refName(p), Required: req[n]}
		if pm, ok := p.(Schema); ok {
			f.Description = str(pm["description"])
			if e, ok := pm["enum"].([]any); ok {
				for _, x := range e {
					if x == nil {
						f.Enum = append(f.Enum, "null")
					} else {
						f.Enum = append(f.Enum, fmt.Sprint(x))
					}
				}
			}
		}
		v.Fields = append(v.Fields, f)
	}
	return v
}

func typeName(s any) string {
	m, ok := s.(Schema)
	if !ok {
		return "any"
	}
	if r := refName(m); r != "" {
		return r
	}
	if one, ok := m["oneOf"].([]any); ok && len(one) == 2 {
		return typeName(one[0]) + " | null"
	}
	switch t := m["type"].(type) {
	case string:
		switch t {
		case "array":
			return "array of " + typeName(m["items"])
		case "object":
			if ap, ok := m["additionalProperties"].(Schema); ok {
				return "map of " + typeName(ap)
			}
		case "string":
			if f, ok := m["format"].(string); ok {
				return "string (" + f + ")"
			}
		}
		return t
	case []string:
		return strings.Join(t, " | ")
	}
	return "any"
}

func refName(s any) string {
	m, ok := s.(Schema)
	if !ok {
		return ""
	}
	r, _ := m["$ref"].(string)
	return strings.TrimPrefix(r, "#/components/schemas/")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func atoi(s string) int {
	n := 0
	fmt.Sscanf(s, "%d", &n)
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

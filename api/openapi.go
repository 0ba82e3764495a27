package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// openapiFragments are the pieces of the OpenAPI 3.1 document of /api/v1:
// openapi/base.yaml (info, servers, security, the shared components: the
// Error schema api/errors.go writes, the paging parameters and the Link
// header) and one fragment per area, each a YAML mapping with `paths:`
// (relative to /api/v1) and optionally `components:` (e.g. `schemas:`),
// names prefixed by the area. Adding a route means adding its path to a
// fragment: TestOpenAPIMatchesRoutes fails otherwise.
//
//go:embed openapi/*.yaml
var openapiFragments embed.FS

// OpenAPIDocument assembles the OpenAPI document from the fragments in
// fsys (*.yaml at its root): base.yaml first, then every other fragment
// in name order, their paths and each components section merged into
// one. A path, or a component name within its section, defined twice is
// an error naming both files, as is a fragment key other than paths and
// components. The answer is JSON.
func OpenAPIDocument(fsys fs.FS) ([]byte, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, "base.yaml") {
		return nil, fmt.Errorf("openapi: no base.yaml")
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "base.yaml" })
	slices.Sort(names)
	names = append([]string{"base.yaml"}, names...)

	var doc map[string]any
	pathFrom := map[string]string{} // path -> file
	compFrom := map[string]string{} // section/name -> file
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var frag map[string]any
		if err := yaml.Unmarshal(b, &frag); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
		frag, err = plainMap(frag)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
		if name == "base.yaml" {
			doc = frag
			if doc["paths"] == nil {
				doc["paths"] = map[string]any{}
			}
			if doc["components"] == nil {
				doc["components"] = map[string]any{}
			}
			for p := range doc["paths"].(map[string]any) {
				pathFrom[p] = name
			}
			for sec, v := range doc["components"].(map[string]any) {
				m, _ := v.(map[string]any)
				for n := range m {
					compFrom[sec+"/"+n] = name
				}
			}
			continue
		}
		for k := range frag {
			if k != "paths" && k != "components" {
				return nil, fmt.Errorf("openapi: %s: a fragment has paths: and components: only, not %q", name, k)
			}
		}
		paths, _ := frag["paths"].(map[string]any)
		if frag["paths"] != nil && paths == nil {
			return nil, fmt.Errorf("openapi: %s: paths: must be a mapping", name)
		}
		dst := doc["paths"].(map[string]any)
		for p, item := range paths {
			if prev, ok := pathFrom[p]; ok {
				return nil, fmt.Errorf("openapi: path %s is defined in both %s and %s", p, prev, name)
			}
			pathFrom[p], dst[p] = name, item
		}
		comps, _ := frag["components"].(map[string]any)
		if frag["components"] != nil && comps == nil {
			return nil, fmt.Errorf("openapi: %s: components: must be a mapping", name)
		}
		dstc := doc["components"].(map[string]any)
		for sec, v := range comps {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("openapi: %s: components.%s must be a mapping", name, sec)
			}
			if dstc[sec] == nil {
				dstc[sec] = map[string]any{}
			}
			into := dstc[sec].(map[string]any)
			for n, def := range m {
				if prev, ok := compFrom[sec+"/"+n]; ok {
					return nil, fmt.Errorf("openapi: components.%s.%s is defined in both %s and %s", sec, n, prev, name)
				}
				compFrom[sec+"/"+n], into[n] = name, def
			}
		}
	}
	withDefaultError(doc["paths"].(map[string]any))
	return json.Marshal(doc)
}

// withDefaultError gives every operation that lists no default answer
// the error shape as its default: any route may answer it (401 without a
// token, 429 and 503 from the edge), whatever its fragment lists.
func withDefaultError(paths map[string]any) {
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			o, ok := op.(map[string]any)
			if !ok || !slices.Contains([]string{"get", "put", "post", "delete", "patch"}, method) {
				continue
			}
			rs, _ := o["responses"].(map[string]any)
			if rs == nil {
				rs = map[string]any{}
				o["responses"] = rs
			}
			if rs["default"] == nil {
				rs["default"] = map[string]any{"$ref": "#/components/responses/Error"}
			}
		}
	}
}

// plainMap turns what the YAML decoder gives (maps with any keys) into
// map[string]any all the way down, as JSON needs.
func plainMap(m map[string]any) (map[string]any, error) {
	v, err := plain(m)
	if err != nil {
		return nil, err
	}
	out, _ := v.(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func plain(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			p, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			p, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = p
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			p, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	return v, nil
}

// mustOpenAPI is the embedded fragments' document; fragments that do not
// merge are a defect of the build, caught by every test that starts a
// server.
func mustOpenAPI() []byte {
	sub, err := fs.Sub(openapiFragments, "openapi")
	if err == nil {
		var doc []byte
		if doc, err = OpenAPIDocument(sub); err == nil {
			return doc
		}
	}
	panic("api: the OpenAPI fragments do not merge: " + err.Error())
}

// openapiJSON: GET /api/v1/openapi.json -> the OpenAPI 3.1 document of
// /api/v1, assembled from api/openapi/*.yaml. Public, like the API's
// reference page.
func (s *Server) openapiJSON(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", s.openapi)
}

// docsCSP is the reference page's Content-Security-Policy: Redoc's one
// script from this origin, its styles injected at run time (styled-
// components: 'unsafe-inline' for styles only), its search worker made
// from a Blob, and the document from this origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// redocScript is where `npm run build` puts Redoc's standalone bundle
// (frontend/scripts/copy-redoc.mjs): served from this origin, no CDN.
const redocScript = "/docs/redoc.standalone.js"

// apiDocsPage is the reference page: Redoc renders the document.
var apiDocsPage = []byte(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>whistlegrid API v1 参考</title>
</head>
<body>
<redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="` + redocScript + `"></script>
</body>
</html>
`)

// apiDocs: GET /api/docs -> the readable reference of /api/v1, Redoc
// rendering /api/v1/openapi.json in the browser, offline.
func (s *Server) apiDocs(c *gin.Context) {
	c.Header("Content-Security-Policy", docsCSP)
	c.Data(http.StatusOK, "text/html; charset=utf-8", apiDocsPage)
}

// Package docs embeds the documents the ledger serves: the OpenAPI
// description of the HTTP API (served at /api/openapi.yaml) and the
// AsyncAPI description of what it publishes on NATS.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// AsyncAPI is docs/asyncapi.yaml.
//
//go:embed asyncapi.yaml
var AsyncAPI []byte

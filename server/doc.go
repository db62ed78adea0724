// Package server is `vsdb serve`: an HTTP API over the same engine the
// shell uses, for notebooks and other programs.
//
//	POST /v1/query   {"statement": "..."}  → a table as JSON, or the
//	                 result tensors as a safetensors stream
//	GET  /v1/tensor?model=M&name=N          → one tensor as safetensors
//	GET  /v1/health                         → {"status": "ok"}
//	GET  /metrics                           → Prometheus text format
//
// Errors are JSON {"error", "line", "column"} with a 4xx/5xx status. Many
// requests run at once, each on its own snapshot; writes (INGEST, COMPRESS,
// FUSE ... INTO, DELETE) are serialized by the store. With a token every
// request must carry "Authorization: Bearer TOKEN"; file paths in INGEST
// and EXPORT are confined to the operator's root folder. docs/openapi.yaml
// describes the API.
package server

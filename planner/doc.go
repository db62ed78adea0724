// Package planner turns a parsed statement into a plan and runs it.
//
// The path is AST → logical plan (plain data: what the statement asks) →
// ordered rewrite rules (resolve selectors through the catalog, pair FUSE
// inputs, choose bitmap indexes, estimate costs) → physical plan (the same
// data, now complete) → operators that execute it against Storage.
//
// The planner reaches storage only through the Catalog and Storage
// interfaces it declares here, so it is tested against an in-memory fake.
// It imports query, tensor and kernel, never engine or lsm.
package planner

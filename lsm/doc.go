// Package lsm is vsdb's storage layer on Pebble v2: the options vsdb opens
// Pebble with, the key layout, the stored records, bulk loading of chunks
// through sstable ingestion, the access-count merge operator and recovery of
// ingests that never committed.
//
// Key layout (all integers big-endian so keys sort numerically):
//
//	"s" "seq"                          → sequence record (next model and tensor id)
//	"m" name                           → ModelRecord (JSON), only for committed models
//	"n" modelID tensorName             → tensorID (4 bytes)
//	"t" tensorID                       → TensorRecord (JSON)
//	"c" tensorID chunkIndex            → encoded chunk bytes
//	"x" kind 0x00 value                → roaring bitmap of tensor ids
//	"p" modelID                        → pending ingest: the tensor id range it may have written
//	"r" tensorID                       → access count (merge operator, uint64 LE)
//	"s" "tier", "s" "node"             → the object store's address and this node's id (tier.go)
//	"h" sha256                         → a chunk cached from the object store (chunkcache.go)
//	"i" sha256                         → its size and hit count (uint64 LE each)
//
// A model becomes visible only when its ModelRecord, tensor records, name
// keys and bitmaps commit in one batch; chunks written before that are
// unreachable until then and are removed at the next Open if the commit
// never happened.
package lsm

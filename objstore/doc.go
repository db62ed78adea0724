// Package objstore is vsdb's view of an S3-compatible object store: a
// bucket and a key prefix holding immutable objects. It knows nothing of
// tensors or models; package lsm decides what the objects are.
//
// Bucket is the interface; S3 implements it with minio-go v7 (AWS S3, GCS
// in S3 mode, Ceph RGW, SeaweedFS, MinIO ...), Mem in memory for tests,
// with faults to inject. Retry wraps any Bucket with retries, exponential
// backoff with jitter and an overall deadline, so that a store that is down
// or slow ends in one clear error rather than a hang.
package objstore

# Source this: builds SeaweedFS's weed (the S3-compatible object server the
# object-store tests run against) from the Go module proxy once, caches it
# under .cache/weed, and exports VSDB_WEED. tools/weed is a module that
# requires github.com/seaweedfs/seaweedfs at a pinned version (a plain
# `go install` of it is refused because of its replace directives). The
# first build takes a few minutes.
_vsdb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_weed_version=$(awk '/^require github.com\/seaweedfs\/seaweedfs/ {print $3}' "$_vsdb_root/tools/weed/go.mod")
VSDB_WEED="$_vsdb_root/.cache/weed/weed-$_weed_version"
if [ ! -x "$VSDB_WEED" ]; then
  echo "building weed $_weed_version (SeaweedFS, for the object-store tests; a few minutes, once)" >&2
  mkdir -p "$_vsdb_root/.cache/weed"
  (cd "$_vsdb_root/tools/weed" && go build -o "$VSDB_WEED.tmp" github.com/seaweedfs/seaweedfs/weed) && mv "$VSDB_WEED.tmp" "$VSDB_WEED"
fi
export VSDB_WEED
unset _vsdb_root _weed_version

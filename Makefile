# Convenience targets; README.md's commands are the reference.
.PHONY: test demo crash-long meta-long fuzz

test:            ## every test, as CI runs them
	bash scripts/test.sh

demo:            ## the main job on the default store
	bash scripts/demo.sh

crash-long:      ## 1000 SIGKILL crash points (the default test run does 100)
	VSDB_CRASH_POINTS=1000 go test -count=1 -timeout 3h -run '^TestCrashPoints$$' -v ./cmd/vsdb

meta-long:       ## a long metamorphic run (the default test run is short)
	VSDB_META_OPS=5000 go test -count=1 -timeout 3h -run 'Metamorphic' -v ./engine

fuzz:            ## every fuzz target, FUZZTIME each (default 5m)
	bash scripts/fuzz.sh

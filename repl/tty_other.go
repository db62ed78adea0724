//go:build !linux

package repl

// holdKeys does nothing outside Linux (see tty_linux.go): there, a Ctrl-D
// typed while a statement runs may end the shell's input.
func holdKeys(int) (restore func()) { return func() {} }

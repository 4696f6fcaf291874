// Package pause waits a duration unless a context ends first: the one way
// vpngw's retries, rate limits, ticks, test clocks and the emulator's
// injected latency wait. It imports only the standard library, so any
// package may use it.
package pause

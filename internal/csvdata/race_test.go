//go:build race

package csvdata

const raceEnabled = true

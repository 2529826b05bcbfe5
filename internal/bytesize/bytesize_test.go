package bytesize

import "testing"

func TestParse(t *testing.T) {
	for text, want := range map[string]int64{
		"0": 0, "1000": 1000, "500MB": 500_000_000, "2GiB": 2 << 30, "1.5KiB": 1536, " 16 MiB ": 16 << 20, "7B": 7,
	} {
		if got, err := Parse(text); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"", "big", "-1MB", "1TB", "1e30GB", "MB"} {
		if got, err := Parse(text); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", text, got)
		}
	}
}

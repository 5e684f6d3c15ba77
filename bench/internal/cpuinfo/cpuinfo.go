// Package cpuinfo names the CPU a benchmark ran on: every speed figure
// depends on it, and on the matrix-unit extensions it has (bf16 and int8
// dot products in hardware).
package cpuinfo

import (
	"os"
	"strings"
)

// Model is /proc/cpuinfo's first "model name" ("?" when unreadable).
func Model() string {
	if v, ok := field("model name"); ok {
		return v
	}
	return "?"
}

// Flags says, for each extension the bench's rates depend on, whether
// the CPU reports it.
func Flags() string {
	line, _ := field("flags")
	have := map[string]bool{}
	for _, fl := range strings.Fields(line) {
		have[fl] = true
	}
	var parts []string
	for _, fl := range []string{"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"} {
		mark := "no"
		if have[fl] {
			mark = "yes"
		}
		parts = append(parts, fl+" "+mark)
	}
	return "flags: " + strings.Join(parts, ", ")
}

// field is the value of the first /proc/cpuinfo line starting with key.
func field(key string) (string, bool) {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, key) {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v), true
			}
		}
	}
	return "", false
}
